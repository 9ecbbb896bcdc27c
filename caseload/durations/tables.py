"""From spells to durations: the estimator input, and the elapsed-duration table.

:func:`spell_durations` is the bridge between the canonical tables and the
estimators (Kaplan-Meier, Aalen-Johansen, Cox) used by the CLI, the notebooks,
the KPI module and the batch refresh. :func:`elapsed_duration_table` is the
table municipalities make by hand (Losser 2015): the mean *elapsed* duration of
the stock on a peildatum, by age band. It is length-biased (long spells are
more likely to be in a stock); report it beside the Kaplan-Meier estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import AGE_BANDS_LOSSER, CLIENTS, SPELLS, WORK_END_REASONS, age_band
from caseload.schema.labels import label_table, pick_label, report_text
from caseload.settings import DEFAULT_AGE_RULE

__all__ = ["spell_durations", "elapsed_duration_table", "observation_start", "age_at", "age_rule_text",
           "AGE_RULES", "DEFAULT_AGE_RULE", "DAYS_PER_YEAR", "EVENT_WORK", "EVENT_OTHER"]

DAYS_PER_YEAR = 365.25
EVENT_WORK = "werk"
EVENT_OTHER = "overig"


def _need(df: pd.DataFrame, table: str, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CaseloadError(f"the {table} table has no column {missing[0]!r}.", column=missing[0],
                            fix=f"Pass the canonical {table} table (caseload.read_extract(...).{table}).")


def _positions(keys, ids) -> np.ndarray:
    """Position in ``keys`` (unique ids) of each of ``ids``; -1 when absent or missing.

    One shared factorisation instead of a string index lookup: pyarrow, object and
    Python-string ids compare as text without converting millions of values.
    """
    k = pd.Series(keys).reset_index(drop=True)
    i = pd.Series(ids).reset_index(drop=True)
    if k.dtype != i.dtype:
        k, i = k.astype("string[pyarrow]"), i.astype("string[pyarrow]")
    codes, uniques = pd.factorize(pd.concat([k, i], ignore_index=True))
    kc, ic = codes[:len(k)], codes[len(k):]
    lookup = np.full(len(uniques) + 1, -1, dtype="int64")  # last slot: missing ids (code -1)
    have = kc >= 0
    lookup[kc[have][::-1]] = np.flatnonzero(have)[::-1]  # first occurrence wins, as drop_duplicates
    return lookup[ic]


def _take(values, pos: np.ndarray):
    """``values[pos]`` with missing (pd.NA/NaN) where ``pos`` is -1."""
    arr = pd.array(values) if not isinstance(values, pd.api.extensions.ExtensionArray) else values
    return arr.take(pos, allow_fill=True)


AGE_RULES = ("birth_date", "mid_year", "calendar_year")
"""How an age is computed (``[durations] age_rule``); see :func:`age_at`."""


_AGE_RULE_TEXT = label_table("values.age_rule")
_W = label_table("report.durations")  # headers and texts of this package


def check_age_rule(rule: str) -> str:
    """``rule`` when it is one of :data:`AGE_RULES`, else a clear error."""
    if rule not in AGE_RULES:
        raise CaseloadError(f"unknown age rule {rule!r}.", value=rule,
                            fix=f"Use one of {', '.join(AGE_RULES)} (config key [durations] age_rule).")
    return rule


def age_rule_text(rule: str, lang: str = "nl") -> str:
    """One sentence naming the age rule, for a table's method text.

    >>> age_rule_text("mid_year", "en")
    "age in whole years counted from 1 July of the birth year (as 'Sturen op bijstand')"
    """
    return pick_label(_AGE_RULE_TEXT[check_age_rule(rule)], lang)


def age_at(clients: pd.DataFrame, dates, client_id, rule: str = DEFAULT_AGE_RULE) -> np.ndarray:
    """Age in whole years of each ``client_id`` at ``dates``.

    Parameters
    ----------
    clients : DataFrame
        ``client_id``, ``birth_year`` and optionally ``birth_date``.
    dates : date-like or array of dates
        One date, or one per client id.
    client_id : array-like
        The client of each age.
    rule : {"birth_date", "mid_year", "calendar_year"}
        ``"birth_date"`` (default): the exact age (completed years since the
        date of birth) where ``birth_date`` is known, else ``"mid_year"``.
        ``"mid_year"``: completed years since 1 July of the birth year, i.e.
        ``year(date) - birth_year``, minus 1 before 1 July; the rule of the VNG
        "Sturen op bijstand" script. With only a birth year it is the best
        guess of the true age: off by at most half a year either way, and
        right on average. ``"calendar_year"``: ``year(date) - birth_year``, the
        age reached in the date's calendar year (on average half a year too
        high; caseload's rule before the age rules existed).

    Returns
    -------
    ndarray of float
        NaN for unknown clients, missing dates or missing birth years.

    Examples
    --------
    >>> c = pd.DataFrame({"client_id": ["a"], "birth_year": [1990]})
    >>> [float(age_at(c, d, ["a"], rule=r)[0]) for r in ("calendar_year", "mid_year")
    ...  for d in ("2020-06-30", "2020-07-01")]
    [30.0, 30.0, 29.0, 30.0]
    """
    check_age_rule(rule)
    _need(clients, "clients", [CLIENTS.client_id, CLIENTS.birth_year])
    c = clients.drop_duplicates(CLIENTS.client_id).set_index(CLIENTS.client_id)
    ids = pd.Series(client_id)
    pos = _positions(c.index, ids)
    found = pos >= 0
    dates = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[ns]")
    if dates.size == 1 and ids.size > 1:
        dates = np.repeat(dates, ids.size)
    by = pd.to_numeric(c[CLIENTS.birth_year], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    age = np.full(ids.size, np.nan)
    dy, dm, _ = _ymd(dates[found])
    age[found] = dy - by[pos[found]]
    if rule != "calendar_year":
        age[found] -= dm < 7  # not yet 1 July: the year since 1 July of the birth year is not complete
    if rule == "birth_date" and CLIENTS.birth_date in c.columns:
        bd = pd.to_datetime(c[CLIENTS.birth_date]).to_numpy(dtype="datetime64[ns]")[np.where(found, pos, 0)]
        have = found & ~np.isnat(bd)
        if have.any():
            (dy, dm, dd), (by_, bm, bday) = _ymd(dates[have]), _ymd(bd[have])
            before_birthday = (dm < bm) | ((dm == bm) & (dd < bday))
            age[have] = dy - by_ - before_birthday
    age[np.isnat(dates)] = np.nan
    return age


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calendar year, month and day of datetime64 values (numpy only, no Series accessors)."""
    months = d.astype("datetime64[M]")
    year = months.astype("int64") // 12 + 1970
    month = months.astype("int64") % 12 + 1
    day = (d.astype("datetime64[D]") - months.astype("datetime64[D]")).astype("int64") + 1
    return year, month, day


def observation_start(spells: pd.DataFrame) -> pd.Timestamp | None:
    """Infer the first day an extract covers: the first of the month of its earliest end date.

    An extract holds every spell that was running at some day of its window,
    with the spell's original start date. Spells that ended before the window
    are absent, so no end date lies before the window start, while exits start
    right after it. Returns None when no spell has ended.

    Examples
    --------
    >>> s = pd.DataFrame({"start_date": pd.to_datetime(["1999-05-01", "2008-03-01"]),
    ...                   "end_date": pd.to_datetime(["2008-01-20", None])})
    >>> observation_start(s)
    Timestamp('2008-01-01 00:00:00')
    """
    _need(spells, "spells", [SPELLS.end_date])
    end = pd.to_datetime(spells[SPELLS.end_date]).dropna()
    if end.empty:
        return None
    return end.min().to_period("M").to_timestamp()


def spell_durations(
    spells: pd.DataFrame,
    clients: pd.DataFrame,
    peildatum,
    window_start=None,
    bands=AGE_BANDS_LOSSER,
    age_rule: str = DEFAULT_AGE_RULE,
) -> pd.DataFrame:
    """One row per spell observed in the window, ready for the survival estimators.

    Parameters
    ----------
    spells, clients : DataFrame
        Canonical tables.
    peildatum : date-like
        End of observation: spells still open (or ending after it) are censored here.
    window_start : date-like, optional
        Start of the observation window (e.g. the first month the extract
        covers). Spells that started before it are left-truncated: they enter
        the risk set at ``entry`` (their elapsed duration at the window start);
        spells that ended before it are dropped (never observed). Default: no
        truncation (all spells observed from their start).
    bands : sequence of (low, high)
        Inclusive age bands for ``age_band`` (age at spell start).
    age_rule : {"birth_date", "mid_year", "calendar_year"}
        How ``age_at_start`` is computed (:func:`age_at`).

    Returns
    -------
    DataFrame
        ``spell_id, client_id, municipality, benefit, start_date, end_date,
        duration_days, duration_years, entry_days, entry_years, exited, event,
        end_reason, age_at_start, age_band, sex, household, inflow_reason,
        inflow_year``.

    Notes
    -----
    Units: ``duration_days`` counts calendar days on benefit including the
    first and the last day (``end_date - start_date + 1``; ``peildatum`` for
    censored spells), so it is at least 1; ``duration_years`` is days / 365.25.
    ``entry_days = window_start - start_date`` (days already on benefit before
    the window) for earlier starts, else 0; a row is at risk on
    ``(entry, duration]``. ``event`` is ``"werk"`` (end reason ``werk`` or
    ``werk_deels``), ``"overig"`` (any other end, also unknown) or missing
    (censored). ``client_id`` is the pseudonym, for linking only: never publish
    this table. ``attrs["age_rule"]`` names the age rule.
    """
    check_age_rule(age_rule)
    _need(spells, "spells", [SPELLS.spell_id, SPELLS.client_id, SPELLS.start_date, SPELLS.end_date])
    peil = pd.Timestamp(peildatum)
    start = pd.to_datetime(spells[SPELLS.start_date])
    end = pd.to_datetime(spells[SPELLS.end_date])
    keep = (start <= peil).to_numpy()
    if window_start is not None:
        ws = pd.Timestamp(window_start)
        if ws > peil:
            raise CaseloadError(f"window_start {ws.date()} is after the peildatum {peil.date()}.",
                                fix="Use a window start on or before the peildatum.")
        keep &= (end.isna() | (end >= ws)).to_numpy()
    s = spells.loc[keep]
    start, end = start[keep], end[keep]
    exited = (end.notna() & (end <= peil)).to_numpy()
    stop = end.where(exited, peil)
    duration = (stop - start).dt.days.to_numpy() + 1
    if (duration < 1).any():
        raise CaseloadError(f"{int((duration < 1).sum())} spell(s) end before they start.", column=SPELLS.end_date,
                            fix="Correct the dates in the extract or drop those spells.")
    if window_start is None:
        entry = np.zeros(len(s), dtype="int64")
    else:
        entry = np.clip((ws - start).dt.days.to_numpy(), 0, None)
    reason = (s[SPELLS.end_reason].astype("string") if SPELLS.end_reason in s.columns
              else pd.Series(pd.NA, index=s.index, dtype="string"))
    work = reason.isin(list(WORK_END_REASONS)).to_numpy()
    event = np.where(~exited, None, np.where(work, EVENT_WORK, EVENT_OTHER))
    age = age_at(clients, start.reset_index(drop=True), s[SPELLS.client_id].reset_index(drop=True), rule=age_rule)
    cl = clients.drop_duplicates(CLIENTS.client_id).set_index(CLIENTS.client_id)
    pos = _positions(cl.index, s[SPELLS.client_id])

    def client_col(name):
        if name not in cl.columns:
            return pd.Series(pd.NA, index=range(len(s)), dtype="string").to_numpy()
        return np.asarray(_take(cl[name].array, pos))

    household = client_col(CLIENTS.household)
    if SPELLS.household in s.columns:
        hh = s[SPELLS.household].to_numpy()
        household = np.where(pd.isna(hh), household, hh)
    out = pd.DataFrame({
        "spell_id": s[SPELLS.spell_id].to_numpy(),
        "client_id": s[SPELLS.client_id].to_numpy(),
        "municipality": s[SPELLS.municipality].to_numpy() if SPELLS.municipality in s.columns else pd.NA,
        "benefit": s[SPELLS.benefit].to_numpy() if SPELLS.benefit in s.columns else pd.NA,
        "start_date": start.to_numpy(),
        "end_date": end.to_numpy(),
        "duration_days": duration.astype("int64"),
        "duration_years": duration / DAYS_PER_YEAR,
        "entry_days": entry.astype("int64"),
        "entry_years": entry / DAYS_PER_YEAR,
        "exited": exited,
        "event": pd.array(event, dtype="string"),
        "end_reason": reason.where(exited, pd.NA).to_numpy(),
        "age_at_start": age,
        "age_band": age_band(age, bands),
        "sex": client_col(CLIENTS.sex),
        "household": household,
        "inflow_reason": s[SPELLS.inflow_reason].to_numpy() if SPELLS.inflow_reason in s.columns else pd.NA,
        "inflow_year": start.dt.year.to_numpy(),
    })
    out.attrs["age_rule"] = age_rule
    return out


def elapsed_duration_table(
    spells: pd.DataFrame,
    clients: pd.DataFrame,
    peildatum,
    bands=AGE_BANDS_LOSSER,
    lang: str = "nl",
    age_rule: str = DEFAULT_AGE_RULE,
) -> pd.DataFrame:
    """The Losser table: stock on ``peildatum`` by age band, share and mean elapsed duration.

    Parameters
    ----------
    spells, clients : DataFrame
        Canonical tables.
    peildatum : date-like
        The stock is every spell with ``start <= peildatum`` and no end or an end
        after it (as :func:`caseload.flows.stock_at`).
    bands : sequence of (low, high)
        Inclusive age bands; persons outside every band are left out (their
        number is in ``table.attrs["outside_bands"]``).
    lang : {"nl", "en"}
        Headers and labels.
    age_rule : {"birth_date", "mid_year", "calendar_year"}
        How the age on the peildatum is computed (:func:`age_at`).

    Returns
    -------
    DataFrame
        ``Leeftijd, Verdeling, Duur uitkering in jaren, Aantal`` (English:
        ``Age, Share, Duration on benefit in years, Count``), one row per band
        and a last row ``Totaal`` with share 1 and the overall mean
        (``Gemiddeld`` in the source). ``Verdeling`` is a fraction.

    Notes
    -----
    Age is the age on the peildatum by ``age_rule``; ``attrs["method"]``
    names the rule. Elapsed duration
    is ``(peildatum - start_date) / 365.25`` in years. Because long spells are
    over-represented in a stock, this mean is larger than the mean completed
    duration; see :class:`~caseload.durations.KaplanMeier`.
    """
    from caseload.flows import stock_at

    check_age_rule(age_rule)
    _need(spells, "spells", [SPELLS.client_id, SPELLS.start_date, SPELLS.end_date])
    peil = pd.Timestamp(peildatum)
    stock = stock_at(spells, peil)
    age = age_at(clients, peil, stock[SPELLS.client_id].reset_index(drop=True), rule=age_rule)
    elapsed = (peil - pd.to_datetime(stock[SPELLS.start_date])).dt.days.to_numpy() / DAYS_PER_YEAR
    band = age_band(age, bands, suffix=" " + pick_label(_W["years_suffix"], lang))
    inside = ~pd.isna(band)
    df = pd.DataFrame({"band": band[inside], "elapsed": elapsed[inside]})
    g = df.groupby("band", observed=False)["elapsed"].agg(["size", "mean"])
    total = g["size"].sum()
    cols = [pick_label(_W[k], lang) for k in ("col_age", "col_share", "col_duration", "col_count")]
    table = pd.DataFrame({
        cols[0]: [str(b) for b in g.index] + [report_text("total", lang)],
        cols[1]: list(g["size"] / total if total else g["size"] * np.nan) + [1.0 if total else np.nan],
        cols[2]: list(g["mean"]) + [df["elapsed"].mean()],
        cols[3]: list(g["size"].astype("int64")) + [int(total)],
    })
    table.attrs.update({"peildatum": peil, "outside_bands": int((~inside).sum()), "age_rule": age_rule,
                        "method": pick_label(_W["elapsed_method"], lang, age=age_rule_text(age_rule, lang))})
    return table
