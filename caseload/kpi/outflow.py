"""Outcome KPIs on spells: outflow to work within N months, durability, revolving door.

The outcome agreement of Werkplein Drentsche Aa (annual account 2018) ("of clients judged able to work, 71%
left for work within two years; target 80%") is a cumulative incidence: the chance
that a spell ends *in work* within N months when other exits (move, partner income,
education, ...) compete with it and recent spells are still open (censored). The
Aalen-Johansen estimate from :mod:`caseload.durations` handles both; the naive share
that analysts often compute (exits to work among spells observed for N months) is
reported beside it so the difference is visible.

Durability and revolving door look forward from an exit: did the client start a new
spell within a window? Exits whose window has not yet passed at the peildatum are
*too recent to judge*: they are left out and counted, never treated as success.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import ASSESSMENTS, CLIENTS, SPELLS, WORK_END_REASONS
from caseload.schema.labels import label_table

__all__ = [
    "DAYS_PER_MONTH",
    "select_cohort",
    "first_segment",
    "judge_against_target",
    "outflow_to_work",
    "durability",
    "revolving_door",
    "spells_per_client",
    "JUDGEMENT",
]

DAYS_PER_MONTH = 365.25 / 12
"""Average month length used to turn day counts into months."""

JUDGEMENT: dict[str, tuple[str, str]] = label_table("values.judgement")
"""Judgement codes of :func:`judge_against_target` with Dutch and English labels."""


def _as_list(value) -> list | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def _require(df: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CaseloadError(
            f"table '{table}' lacks column(s) {', '.join(missing)}.",
            column=missing[0],
            fix=f"Pass the canonical {table} table (see caseload.schema) or a frame with these columns.",
        )


def _peildatum(peildatum, *frames: pd.DataFrame) -> pd.Timestamp:
    if peildatum is not None:
        return pd.Timestamp(peildatum)
    for df in frames:
        if df is not None and "peildatum" in df.columns and df["peildatum"].notna().any():
            return pd.Timestamp(df["peildatum"].max())
    raise CaseloadError(
        "no peildatum given and the tables have no 'peildatum' column.",
        fix="Pass peildatum='YYYY-MM-DD' (the reference date of the extract).",
    )


# --------------------------------------------------------------------------- cohort


def _id_codes(*ids: pd.Series) -> list[np.ndarray]:
    """Client ids of several tables as integer codes of one shared factorisation.

    Integer keys make ``merge_asof(by=...)`` fast and free of dtype mismatches
    (object, string or pyarrow ids); a missing id gets one code of its own, so
    missing ids match each other as the text "<NA>" did.
    """
    same = all(i.dtype == ids[0].dtype for i in ids)
    parts = [i.reset_index(drop=True) if same else i.astype("string[pyarrow]").reset_index(drop=True) for i in ids]
    codes, _ = pd.factorize(pd.concat(parts, ignore_index=True), use_na_sentinel=False)
    out, pos = [], 0
    for i in ids:
        out.append(codes[pos:pos + len(i)].astype("int64"))
        pos += len(i)
    return out


def first_segment(spells: pd.DataFrame, assessments: pd.DataFrame) -> pd.Series:
    """The caseworker segment of each spell's first assessment on or after its start.

    "Clients judged able to work" (Werkplein Drentsche Aa, annual account 2018) are read as segment A or B at
    the first assessment within the spell (the intake assessment). Spells without an
    assessment on or after their start get the client's latest assessment before the
    start; spells with no assessment at all get ``<NA>``.

    Returns
    -------
    Series
        Segment code per spell, aligned to ``spells.index``.
    """
    _require(assessments, [ASSESSMENTS.client_id, ASSESSMENTS.assessed_on, ASSESSMENTS.caseworker_segment],
             "assessments")
    a = assessments[[ASSESSMENTS.client_id, ASSESSMENTS.assessed_on, ASSESSMENTS.caseworker_segment]]
    a = a.dropna(subset=[ASSESSMENTS.caseworker_segment, ASSESSMENTS.assessed_on])
    s = spells[[SPELLS.client_id, SPELLS.start_date]].copy()
    s["_row"] = np.arange(len(s))
    s = s.dropna(subset=[SPELLS.start_date]).sort_values(SPELLS.start_date)
    a = a.sort_values(ASSESSMENTS.assessed_on).rename(columns={ASSESSMENTS.assessed_on: SPELLS.start_date})
    # merge_asof needs identical key dtypes; ids may come as object, string or pyarrow strings.
    s[SPELLS.client_id], a[SPELLS.client_id] = _id_codes(s[SPELLS.client_id], a[SPELLS.client_id])
    a[SPELLS.start_date] = a[SPELLS.start_date].astype("datetime64[ns]")
    s[SPELLS.start_date] = s[SPELLS.start_date].astype("datetime64[ns]")
    after = pd.merge_asof(s, a, on=SPELLS.start_date, by=SPELLS.client_id, direction="forward")
    before = pd.merge_asof(s, a, on=SPELLS.start_date, by=SPELLS.client_id, direction="backward")
    seg = after[ASSESSMENTS.caseworker_segment].fillna(before[ASSESSMENTS.caseworker_segment])
    out = pd.Series(pd.NA, index=range(len(spells)), dtype="string")
    out.iloc[after["_row"].to_numpy()] = seg.astype("string").to_numpy()
    out.index = spells.index
    return out


def select_cohort(
    spells: pd.DataFrame,
    *,
    inflow_start=None,
    inflow_end=None,
    municipality: str | Sequence[str] | None = None,
    clients: pd.DataFrame | None = None,
    new_target_group: bool | None = None,
    assessments: pd.DataFrame | None = None,
    segments: Sequence[str] | None = None,
    mask: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Spells of a cohort: started in an inflow period, optionally filtered.

    Parameters
    ----------
    spells : DataFrame
        Canonical spells.
    inflow_start, inflow_end : date-like, optional
        Inclusive bounds on ``start_date``.
    municipality : str or list of str, optional
        CBS code(s) of the spell's municipality.
    clients : DataFrame, optional
        Canonical clients; needed for ``new_target_group``.
    new_target_group : bool, optional
        Keep only clients in (True) or outside (False) the new target groups.
    assessments : DataFrame, optional
        Canonical assessments; needed for ``segments``.
    segments : list of str, optional
        Keep spells whose first assessment within the spell has one of these
        caseworker segments (see :func:`first_segment`). ``["A", "B"]`` is the
        "judged able to work" population of the outcome agreement.
    mask : boolean array or Series, optional
        Any further selection, aligned to ``spells`` (e.g. ``spells.benefit == "PW"``).

    Returns
    -------
    DataFrame
        The selected spells, with a ``segment`` column when ``assessments`` is given.
    """
    _require(spells, [SPELLS.client_id, SPELLS.start_date], "spells")
    keep = pd.Series(True, index=spells.index)
    if mask is not None:
        m = pd.Series(np.asarray(mask, dtype=bool), index=spells.index) if not isinstance(mask, pd.Series) \
            else mask.reindex(spells.index).fillna(False).astype(bool)
        keep &= m
    start = spells[SPELLS.start_date]
    if inflow_start is not None:
        keep &= start >= pd.Timestamp(inflow_start)
    if inflow_end is not None:
        keep &= start <= pd.Timestamp(inflow_end)
    munis = _as_list(municipality)
    if munis is not None:
        _require(spells, [SPELLS.municipality], "spells")
        keep &= spells[SPELLS.municipality].isin(munis)
    if new_target_group is not None:
        if clients is None:
            raise CaseloadError("new_target_group needs the clients table.",
                                fix="Pass clients=caseload.clients.")
        _require(clients, [CLIENTS.client_id, CLIENTS.new_target_group], "clients")
        flag = clients.set_index(CLIENTS.client_id)[CLIENTS.new_target_group].astype("boolean")
        keep &= spells[SPELLS.client_id].map(flag).fillna(False).astype(bool) == bool(new_target_group)
    if segments is not None and assessments is None:
        raise CaseloadError("segments needs the assessments table.",
                            fix="Pass assessments=caseload.assessments.")
    # a spell's segment depends on its own client and start only: look it up for the
    # selected spells, not for the whole extract
    out = spells.loc[keep.to_numpy()].copy()
    if assessments is not None:
        out["segment"] = first_segment(out, assessments)
    if segments is not None:
        out = out.loc[out["segment"].isin(list(segments)).fillna(False).astype(bool).to_numpy()]
    return out


# --------------------------------------------------------------------------- judgement


def judge_against_target(lower, upper, target: float) -> np.ndarray:
    """Judge interval estimates against a target.

    ``onder_doel`` when the upper bound is below the target, ``boven_doel`` when the
    lower bound is above it, otherwise ``niet_verschillend``; ``onbekend`` when a
    bound is missing. Labels: :data:`JUDGEMENT`.
    """
    lower = np.asarray(lower, dtype="float64")
    upper = np.asarray(upper, dtype="float64")
    out = np.full(lower.shape, "niet_verschillend", dtype=object)
    out[upper < target] = "onder_doel"
    out[lower > target] = "boven_doel"
    out[np.isnan(lower) | np.isnan(upper)] = "onbekend"
    return out


# --------------------------------------------------------------------------- outflow to work


def _spell_durations(cohort: pd.DataFrame, peildatum: pd.Timestamp) -> pd.DataFrame:
    """Months on benefit and cause of exit per spell ('werk', 'overig' or censored).

    Uses :func:`caseload.durations.tables.spell_durations` so that durations and
    causes are defined exactly as in the duration analyses (days counted
    inclusive, ``werk`` = end reason werk or werk_deels). Ages are not needed
    here, so a clients frame with only the ids is passed.
    """
    from caseload.durations.tables import spell_durations

    ids = cohort[SPELLS.client_id].drop_duplicates()
    stub = pd.DataFrame({CLIENTS.client_id: ids.to_numpy(),
                         CLIENTS.birth_year: pd.array([pd.NA] * len(ids), dtype="Int64")})
    sd = spell_durations(cohort, stub, peildatum)
    observed = sd["exited"].to_numpy(dtype=bool)
    cause = np.where(observed, sd["event"].astype(object).to_numpy(), None)
    return pd.DataFrame({"duration": sd["duration_days"].to_numpy(dtype="float64") / DAYS_PER_MONTH,
                         "cause": cause, "observed": observed}, index=cohort.index)


def _cif_work(d: pd.DataFrame, months: float, alpha: float) -> tuple[float, float, float]:
    """Aalen-Johansen cumulative incidence of cause 'werk' at ``months`` with interval.

    With no exit to work at all the estimate is 0 and the upper bound unknown
    (NaN): a log(-log) interval does not exist there, and claiming (0, 0) would
    judge the cohort below any target with false certainty. With every spell
    censored nothing is known (all NaN).
    """
    from caseload.durations import AalenJohansen

    event = d["cause"].where(d["observed"], None).to_numpy()
    if not d["observed"].any():
        return np.nan, np.nan, np.nan
    aj = AalenJohansen(alpha=alpha).fit(d["duration"].to_numpy(dtype="float64"), event)
    if "werk" not in aj.causes_:
        return 0.0, 0.0, np.nan
    at = aj.at([months], cause="werk")
    return float(at["estimate"].iloc[0]), float(at["lower"].iloc[0]), float(at["upper"].iloc[0])


def outflow_to_work(
    cohort: pd.DataFrame,
    *,
    peildatum=None,
    months: float = 24,
    target: float | None = 0.80,
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of a cohort that exits to work within ``months``, with interval and judgement.

    Parameters
    ----------
    cohort : DataFrame
        Spells of the cohort (see :func:`select_cohort`), with ``start_date``,
        ``end_date`` (NaT = open) and ``end_reason``.
    peildatum : date-like, optional
        Reference date; default the cohort's ``peildatum`` column.
    months : float, default 24
        Horizon N.
    target : float or None, default 0.80
        Target share; ``None`` skips the judgement.
    by : str or list of str, optional
        Columns to report groups separately (municipality, segment, inflow year...).
    alpha : float, default 0.05
        1 - confidence level of the interval.

    Returns
    -------
    DataFrame
        One row per group: ``n_spells``, ``n_work`` (exits to work within N months),
        ``n_other`` (other exits within N months), ``n_censored`` (open and followed
        less than N months), ``n_at_risk`` (still on benefit after N months),
        ``estimate``, ``lower_<level>``, ``upper_<level>``
        (Aalen-Johansen cumulative incidence of exit to work at N months, other exits
        competing), ``naive_share`` and ``naive_n`` (exits to work within N months
        among spells observed N months or exited before), ``target`` and
        ``judgement`` (codes of :data:`JUDGEMENT`).

    Notes
    -----
    An exit counts as "to work" when ``end_reason`` is ``werk`` or ``werk_deels``.
    Durations are in months of 365.25/12 days, counting the end day. The estimate
    comes from :class:`caseload.durations.AalenJohansen`. When ``n_at_risk`` is 0
    and spells were censored before N months, nobody was followed that long: the
    estimate is the one at the last follow-up time, a lower bound for N months.
    """
    _require(cohort, [SPELLS.start_date, SPELLS.end_date, SPELLS.end_reason], "spells")
    peil = _peildatum(peildatum, cohort)
    level = f"{1 - alpha:g}"
    by_cols = _as_list(by) or []
    if cohort.empty:
        raise CaseloadError("the cohort has no spells.",
                            fix="Widen the inflow period or loosen the filters of select_cohort.")
    late = cohort[SPELLS.start_date] > peil
    if late.any():
        raise CaseloadError(f"{int(late.sum())} spell(s) of the cohort start after the peildatum {peil.date()}.",
                            column=SPELLS.start_date,
                            fix="End the inflow period on or before the peildatum (select_cohort inflow_end).")
    d = _spell_durations(cohort, peil)
    for c in by_cols:
        d[c] = cohort[c].to_numpy()
    groups = d.groupby(by_cols, dropna=False, sort=True) if by_cols else [((), d)]
    rows = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        within = g["duration"] <= months
        exited = g["observed"] & within
        n_work = int((exited & (g["cause"] == "werk")).sum())
        n_other = int((exited & (g["cause"] == "overig")).sum())
        n_cens = int((~g["observed"] & (g["duration"] < months)).sum())
        n_risk = int((g["duration"] > months).sum())
        naive_n = len(g) - n_cens
        est, lo, hi = _cif_work(g, months, alpha)
        rows.append({
            **dict(zip(by_cols, key, strict=True)),
            "n_spells": len(g), "n_work": n_work, "n_other": n_other, "n_censored": n_cens, "n_at_risk": n_risk,
            "estimate": est, f"lower_{level}": lo, f"upper_{level}": hi,
            "naive_share": n_work / naive_n if naive_n else np.nan, "naive_n": naive_n,
        })
    out = pd.DataFrame(rows)
    out.insert(len(by_cols), "months", months)
    if target is not None:
        out["target"] = target
        out["judgement"] = judge_against_target(out[f"lower_{level}"], out[f"upper_{level}"], target)
    out.attrs.update(peildatum=peil, alpha=alpha, months=months,
                     method="Aalen-Johansen cumulatieve incidentie van uitstroom naar werk, "
                            "andere uitstroom als concurrerend risico, lopende uitkeringen gecensureerd")
    return out


# --------------------------------------------------------------------------- returns to benefit


def _next_start(spells: pd.DataFrame, rows: np.ndarray | None = None) -> pd.Series:
    """Start date of the client's next spell that starts after this spell's end.

    ``rows`` (boolean, aligned to ``spells``) limits the look-up to those spells
    (the exits judged); the others get NaT. Every spell counts as a next start.
    """
    s = spells[[SPELLS.client_id, SPELLS.start_date, SPELLS.end_date]].copy()
    s[SPELLS.client_id] = _id_codes(s[SPELLS.client_id])[0]
    s["_row"] = np.arange(len(s))
    ended = s if rows is None else s.loc[np.asarray(rows, dtype=bool)]
    ended = ended.dropna(subset=[SPELLS.end_date]).sort_values(SPELLS.end_date)
    starts = s[[SPELLS.client_id, SPELLS.start_date]].dropna().sort_values(SPELLS.start_date)
    starts = starts.rename(columns={SPELLS.start_date: "_next"})
    starts["_key"] = starts["_next"]
    ended = ended.assign(_key=ended[SPELLS.end_date] + pd.Timedelta(days=1))
    ended["_key"] = ended["_key"].astype("datetime64[ns]")
    starts["_key"] = starts["_key"].astype("datetime64[ns]")
    m = pd.merge_asof(ended.sort_values("_key"), starts, on="_key", by=SPELLS.client_id,
                      direction="forward")
    out = pd.Series(pd.NaT, index=range(len(spells)), dtype="datetime64[ns]")
    out.iloc[m["_row"].to_numpy()] = m["_next"].to_numpy()
    out.index = spells.index
    return out


def _returns(spells, exits_mask, windows, peil, by_cols, alpha, outcome: str) -> pd.DataFrame:
    from statsmodels.stats.proportion import proportion_confint

    level = f"{1 - alpha:g}"
    nxt = _next_start(spells, exits_mask)
    ex = spells.loc[exits_mask].copy()
    ex["_next"] = nxt.loc[exits_mask]
    rows = []
    groups = ex.groupby(by_cols, dropna=False, sort=True) if by_cols else [((), ex)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        for w in windows:
            horizon = g[SPELLS.end_date] + pd.DateOffset(months=w)
            returned = g["_next"].notna() & (g["_next"] <= horizon)
            # Leave out every exit whose window is not over, returned or not: keeping the
            # early returners alone would bias the share of returns upward.
            too_recent = horizon > peil
            judged = ~too_recent
            n_j = int(judged.sum())
            n_ret = int((returned & judged).sum())
            k = n_ret if outcome == "returned" else n_j - n_ret
            lo, hi = proportion_confint(k, n_j, alpha=alpha, method="wilson") if n_j else (np.nan, np.nan)
            rows.append({
                **dict(zip(by_cols, key, strict=True)), "months": w, "n_exits": len(g),
                "n_too_recent": int(too_recent.sum()), "n_judged": n_j,
                "n_returned": n_ret, "n_durable": n_j - n_ret,
                "share": k / n_j if n_j else np.nan, f"lower_{level}": lo, f"upper_{level}": hi,
            })
    return pd.DataFrame(rows, columns=[*by_cols, "months", "n_exits", "n_too_recent", "n_judged", "n_returned",
                                       "n_durable", "share", f"lower_{level}", f"upper_{level}"])


def _prepare_exits(spells, peildatum):
    _require(spells, [SPELLS.client_id, SPELLS.start_date, SPELLS.end_date, SPELLS.end_reason], "spells")
    peil = _peildatum(peildatum, spells)
    s = spells.reset_index(drop=True)
    ended = s[SPELLS.end_date].notna() & (s[SPELLS.end_date] <= peil)
    return s, peil, ended


def durability(
    spells: pd.DataFrame,
    *,
    peildatum=None,
    windows: Sequence[int] = (3, 6),
    by: str | Sequence[str] | None = None,
    exit_mask: pd.Series | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Durability of exits to work: share without a new benefit within 3 and 6 months.

    Parameters
    ----------
    spells : DataFrame
        All spells of the clients (returns are looked up among them).
    peildatum : date-like, optional
        Reference date; default from the ``peildatum`` column.
    windows : list of int, default (3, 6)
        Windows in calendar months after the end date.
    by : str or list of str, optional
        Columns of ``spells`` to group by (e.g. ``municipality``, ``end_reason``).
    exit_mask : boolean Series, optional
        Further restrict the exits judged (aligned to ``spells``), e.g. exits in 2024.
    alpha : float, default 0.05
        For the Wilson interval of the share.

    Returns
    -------
    DataFrame
        One row per group and window: ``n_exits`` (exits to work), ``n_too_recent``
        (end date + window after the peildatum and no return seen yet: left out),
        ``n_judged``, ``n_returned``, ``n_durable``, ``share`` (= n_durable /
        n_judged) with ``lower_<level>``, ``upper_<level>``.

    Notes
    -----
    An exit to work is a spell ended at or before the peildatum with end reason
    ``werk`` or ``werk_deels``. It is durable for a window of w months when the
    client has no spell starting after the end date and on or before end date + w
    months. Only benefit records are seen: a client who lost the job but did not
    reclaim benefit counts as durable.
    """
    s, peil, ended = _prepare_exits(spells, peildatum)
    mask = ended & s[SPELLS.end_reason].isin(WORK_END_REASONS).fillna(False)
    if exit_mask is not None:
        mask &= pd.Series(np.asarray(exit_mask, dtype=bool))
    out = _returns(s, mask.to_numpy(), windows, peil, _as_list(by) or [], alpha, outcome="durable")
    out.attrs.update(peildatum=peil, alpha=alpha,
                     method="geen nieuwe uitkering binnen de termijn na uitstroom naar werk; "
                            "te recente uitstroom niet meegeteld")
    return out


def revolving_door(
    spells: pd.DataFrame,
    *,
    peildatum=None,
    months: int = 12,
    exits: str = "all",
    exclude_reasons: Sequence[str] = ("overlijden", "aow"),
    by: str | Sequence[str] | None = None,
    exit_mask: pd.Series | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Revolving door: share of exits that return to benefit within ``months``.

    Parameters
    ----------
    spells : DataFrame
        All spells.
    months : int, default 12
        Return window in calendar months after the end date.
    exits : {"all", "work"}
        Judge all exits, or only exits to work.
    exclude_reasons : list of str, default ("overlijden", "aow")
        End reasons after which a return to this benefit is impossible.
    by, exit_mask, alpha, peildatum
        As in :func:`durability`.

    Returns
    -------
    DataFrame
        Columns as :func:`durability`; ``share`` is ``n_returned / n_judged``.
    """
    if exits not in ("all", "work"):
        raise CaseloadError(f"exits must be 'all' or 'work', not {exits!r}.", value=exits,
                            fix="Use exits='all' or exits='work'.")
    s, peil, ended = _prepare_exits(spells, peildatum)
    reason = s[SPELLS.end_reason]
    mask = ended & ~reason.isin(list(exclude_reasons)).fillna(False)
    if exits == "work":
        mask &= reason.isin(WORK_END_REASONS).fillna(False)
    if exit_mask is not None:
        mask &= pd.Series(np.asarray(exit_mask, dtype=bool))
    out = _returns(s, mask.to_numpy(), [months], peil, _as_list(by) or [], alpha, outcome="returned")
    out.attrs.update(peildatum=peil, alpha=alpha,
                     method=f"nieuwe uitkering binnen {months} maanden na uitstroom; "
                            "te recente uitstroom niet meegeteld")
    return out


def spells_per_client(spells: pd.DataFrame, *, by: str | Sequence[str] | None = None,
                      top: int = 5) -> pd.DataFrame:
    """Distribution of the number of spells per client.

    Parameters
    ----------
    spells : DataFrame
        Canonical spells.
    by : str or list of str, optional
        Columns to group clients by (taken from each client's last spell).
    top : int, default 5
        Counts of ``top`` or more spells are pooled in one row ``"5+"``.

    Returns
    -------
    DataFrame
        ``n_spells`` (``"1"``, ``"2"``, ..., ``"5+"``), ``n_clients``, ``share``.
    """
    _require(spells, [SPELLS.client_id, SPELLS.start_date], "spells")
    by_cols = _as_list(by) or []
    cols = list(dict.fromkeys([SPELLS.client_id, SPELLS.start_date, *by_cols]))
    last = spells[cols].sort_values(SPELLS.start_date).groupby(SPELLS.client_id, sort=False)
    per = last.size().rename("k").to_frame()
    for c in by_cols:
        per[c] = last[c].last()
    labels = [str(i) for i in range(1, top)] + [f"{top}+"]
    per["n_spells"] = pd.Categorical.from_codes(np.minimum(per["k"].to_numpy(), top) - 1, categories=labels,
                                                ordered=True)
    out = per.groupby([*by_cols, "n_spells"], observed=False).size().rename("n_clients").reset_index()
    total = out.groupby(by_cols)["n_clients"].transform("sum") if by_cols else out["n_clients"].sum()
    out["share"] = out["n_clients"] / total
    out["n_spells"] = out["n_spells"].astype(str)
    return out
