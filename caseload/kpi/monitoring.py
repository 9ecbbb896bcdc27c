"""Monitoring tables of a re-integration report (as in the Werkplein Drentsche Aa annual account 2018).

Stadskanaal/Veendam list what a monitoring report contains: participants per
activity; composition by age, education, sex and limitation; outflow results
(regular work, banenafspraak, sheltered work, school) and dropout with its reasons;
duration of activities and whole trajectories; outflow by sector; sheltered places
realised. Each function here returns one tidy table ready to publish, with Dutch
headers and labels (English with ``lang="en"``).

A period is given as ``period_start`` and ``period_end`` (inclusive); without them
the whole extract up to the peildatum is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.kpi.outflow import DAYS_PER_MONTH, _peildatum, _require
from caseload.schema import (
    ACTIVITIES,
    ACTIVITY_OUTCOME,
    CLIENTS,
    EDUCATION,
    INSTRUMENT,
    MARKET,
    SEX,
    age_band,
)
from caseload.schema.labels import label_table

__all__ = [
    "WORK_OUTCOMES",
    "participants_per_activity",
    "composition",
    "outflow_by_destination",
    "outflow_by_sector",
    "dropout",
    "dropout_reasons",
    "activity_durations",
    "trajectories",
    "trajectory_durations",
    "sheltered_places",
]

WORK_OUTCOMES = ("regulier_werk", "banenafspraak", "beschut_werk")
"""Activity outcomes that are work (regular, jobs agreement, sheltered)."""

_H = label_table("headers.monitoring")


def _w(key: str, lang: str) -> str:
    nl, en = _H[key]
    return nl if lang == "nl" else en


def _label(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    return df.rename(columns={k: _w(k, lang) for k in df.columns if k in _H})


def _bounds(activities, period_start, period_end, peildatum):
    peil = _peildatum(peildatum, activities)
    start = pd.Timestamp(period_start) if period_start is not None else pd.Timestamp.min
    end = pd.Timestamp(period_end) if period_end is not None else peil
    end = min(end, peil)
    if start > end:
        raise CaseloadError(f"period_start {start.date()} is after the period end {end.date()}.",
                            fix="Give period_start <= period_end <= peildatum.")
    return start, end, peil


def _ended_in(a: pd.DataFrame, start, end) -> pd.Series:
    e = a[ACTIVITIES.end_date]
    return e.notna() & (e >= start) & (e <= end)


def _active_on(a: pd.DataFrame, day) -> pd.Series:
    e = a[ACTIVITIES.end_date]
    return (a[ACTIVITIES.start_date] <= day) & (e.isna() | (e >= day))


def _instrument_label(codes: pd.Series, lang: str) -> pd.Series:
    return codes.map(lambda c: INSTRUMENT.label(c, lang))


def participants_per_activity(activities: pd.DataFrame, *, period_start=None, period_end=None,
                              peildatum=None, lang: str = "nl") -> pd.DataFrame:
    """Participants, starts, ends and ongoing activities per instrument in a period.

    Participants are distinct clients with the instrument active at some day in
    the period; ``ongoing`` counts activities active on the last day of the period.
    A total row counts distinct clients over all instruments.
    """
    _require(activities, [ACTIVITIES.client_id, ACTIVITIES.instrument, ACTIVITIES.start_date,
                          ACTIVITIES.end_date], "activities")
    start, end, _ = _bounds(activities, period_start, period_end, peildatum)
    a = activities
    e = a[ACTIVITIES.end_date]
    active = (a[ACTIVITIES.start_date] <= end) & (e.isna() | (e >= start))
    started = (a[ACTIVITIES.start_date] >= start) & (a[ACTIVITIES.start_date] <= end)
    frame = pd.DataFrame({
        "instrument": a[ACTIVITIES.instrument].to_numpy(),
        "client": a[ACTIVITIES.client_id].to_numpy(),
        "active": active.to_numpy(), "started": started.to_numpy(),
        "ended": _ended_in(a, start, end).to_numpy(), "ongoing": _active_on(a, end).to_numpy(),
    })
    present = set(pd.unique(frame["instrument"].dropna()))
    order = [c for c in INSTRUMENT.codes if c in present] + sorted(present - set(INSTRUMENT.codes))
    rows = []
    for code in order:
        g = frame[frame["instrument"] == code]
        rows.append({"instrument": INSTRUMENT.label(code, lang),
                     "participants": g.loc[g["active"], "client"].nunique(),
                     "started": int(g["started"].sum()), "ended": int(g["ended"].sum()),
                     "ongoing": int(g["ongoing"].sum())})
    rows.append({"instrument": _w("total", lang),
                 "participants": frame.loc[frame["active"], "client"].nunique(),
                 "started": int(frame["started"].sum()), "ended": int(frame["ended"].sum()),
                 "ongoing": int(frame["ongoing"].sum())})
    return _label(pd.DataFrame(rows), lang)


def composition(clients: pd.DataFrame, *, client_ids: Sequence[str] | None = None, peildatum=None,
                age_bands: Sequence[tuple[int, int]] = ((15, 26), (27, 44), (45, 64), (65, 120)),
                lang: str = "nl", age_rule: str = "birth_date") -> pd.DataFrame:
    """Composition of a group of clients by age band, education, sex and work limitation.

    Parameters
    ----------
    clients : DataFrame
        Canonical clients.
    client_ids : list of str, optional
        The group (e.g. participants of an activity); default all clients.
    peildatum : date-like, optional
        Date at which age is computed.
    age_bands : list of (lo, hi)
        Inclusive age bands.
    age_rule : {"birth_date", "mid_year", "calendar_year"}
        How the age on the peildatum is computed (:func:`caseload.durations.age_at`).

    Returns
    -------
    DataFrame
        Long table: characteristic, category, count, share (within characteristic).
    """
    _require(clients, [CLIENTS.client_id, CLIENTS.birth_year], "clients")
    peil = _peildatum(peildatum, clients)
    c = clients if client_ids is None else clients[clients[CLIENTS.client_id].isin(list(client_ids))]
    c = c.drop_duplicates(CLIENTS.client_id)
    unknown = _w("unknown", lang)
    from caseload.durations.tables import age_at

    age = pd.Series(age_at(c, peil, c[CLIENTS.client_id].to_numpy(), rule=age_rule), index=c.index)
    suffix = _w("age_suffix", lang)
    bands = age_band(age.to_numpy(), bands=tuple(age_bands), suffix=suffix)
    # An open top band reads "65 jaar en ouder" rather than "65-120 jaar".
    bands = bands.rename_categories({f"{lo}-{hi}{suffix}": f"{lo}{suffix} {_w('age_open', lang)}"
                                     for lo, hi in age_bands if hi >= 100})
    parts = {
        "age": (pd.Series(bands).astype(object).fillna(unknown), list(bands.categories) + [unknown]),
    }
    if CLIENTS.education in c:
        lab = c[CLIENTS.education].map(lambda v: EDUCATION.label(v, lang), na_action="ignore")
        parts["education"] = (lab.fillna(unknown), [EDUCATION.label(k, lang) for k in EDUCATION] + [unknown])
    if CLIENTS.sex in c:
        lab = c[CLIENTS.sex].map(lambda v: SEX.label(v, lang), na_action="ignore")
        parts["sex"] = (lab.fillna(unknown), [SEX.label(k, lang) for k in SEX] + [unknown])
    if CLIENTS.work_limitation in c:
        wl = c[CLIENTS.work_limitation].astype("boolean")
        lab = wl.map({True: _w("yes", lang), False: _w("no", lang)}).astype(object)
        parts["work_limitation"] = (lab.fillna(unknown), [_w("yes", lang), _w("no", lang), unknown])
    rows = []
    for key, (values, order) in parts.items():
        counts = pd.Series(np.asarray(values, dtype=object)).value_counts()
        order = list(dict.fromkeys(order))
        for cat in order:
            n = int(counts.get(cat, 0))
            if n == 0 and cat == unknown:
                continue
            rows.append({"characteristic": _w(key, lang), "category": cat, "count": n,
                         "share": n / len(c) if len(c) else np.nan})
    return _label(pd.DataFrame(rows, columns=["characteristic", "category", "count", "share"]), lang)


def outflow_by_destination(activities: pd.DataFrame, *, period_start=None, period_end=None,
                           peildatum=None, by_instrument: bool = False, lang: str = "nl") -> pd.DataFrame:
    """Outcomes of activities ended in a period (regular work, banenafspraak, sheltered, school...).

    Returns counts and shares of ended activities per outcome (optionally per instrument).
    Ended activities without a recorded outcome are shown as unknown.
    """
    _require(activities, [ACTIVITIES.instrument, ACTIVITIES.end_date, ACTIVITIES.outcome], "activities")
    start, end, _ = _bounds(activities, period_start, period_end, peildatum)
    a = activities.loc[_ended_in(activities, start, end)]
    unknown = _w("unknown", lang)
    dest = a[ACTIVITIES.outcome].map(lambda v: ACTIVITY_OUTCOME.label(v, lang), na_action="ignore").fillna(unknown)
    order = [ACTIVITY_OUTCOME.label(k, lang) for k in ACTIVITY_OUTCOME if k != "lopend"] + [unknown]
    frame = pd.DataFrame({"destination": pd.Categorical(dest, categories=list(dict.fromkeys(
        order + sorted(set(dest) - set(order))))), "instrument": _instrument_label(a[ACTIVITIES.instrument], lang)})
    keys = ["instrument", "destination"] if by_instrument else ["destination"]
    out = frame.groupby(keys, observed=True).size().rename("count").reset_index()
    total = out.groupby("instrument")["count"].transform("sum") if by_instrument else out["count"].sum()
    out["share"] = out["count"] / total
    out["destination"] = out["destination"].astype(str)
    return _label(out, lang)


def outflow_by_sector(activities: pd.DataFrame, *, period_start=None, period_end=None,
                      peildatum=None, lang: str = "nl") -> pd.DataFrame:
    """Exits to work (regular, banenafspraak, sheltered) from activities, by sector.

    Counts activities ended in the period with a work outcome, per sector and
    destination; a sector missing in the data is shown as unknown.
    """
    _require(activities, [ACTIVITIES.end_date, ACTIVITIES.outcome, ACTIVITIES.sector], "activities")
    start, end, _ = _bounds(activities, period_start, period_end, peildatum)
    a = activities.loc[_ended_in(activities, start, end) & activities[ACTIVITIES.outcome].isin(WORK_OUTCOMES)]
    unknown = _w("unknown", lang)
    frame = pd.DataFrame({
        "sector": a[ACTIVITIES.sector].map(lambda v: MARKET.label(v, lang), na_action="ignore").fillna(unknown),
        "destination": a[ACTIVITIES.outcome].map(lambda v: ACTIVITY_OUTCOME.label(v, lang)),
    })
    out = frame.pivot_table(index="sector", columns="destination", aggfunc="size", fill_value=0)
    out = out.reindex(columns=[ACTIVITY_OUTCOME.label(k, lang) for k in WORK_OUTCOMES], fill_value=0)
    out["total"] = out.sum(axis=1)
    out = out.sort_values(["total"], ascending=False, kind="stable")
    out["share"] = out["total"] / out["total"].sum() if len(out) else np.nan
    out = out.reset_index()
    out.columns.name = None
    return _label(out, lang)


def dropout(activities: pd.DataFrame, *, period_start=None, period_end=None, peildatum=None,
            lang: str = "nl") -> pd.DataFrame:
    """Dropout size per instrument: ended activities, dropouts (outcome ``uitval``), share."""
    _require(activities, [ACTIVITIES.instrument, ACTIVITIES.end_date, ACTIVITIES.outcome], "activities")
    start, end, _ = _bounds(activities, period_start, period_end, peildatum)
    a = activities.loc[_ended_in(activities, start, end)]
    frame = pd.DataFrame({"instrument": a[ACTIVITIES.instrument].to_numpy(),
                          "drop": (a[ACTIVITIES.outcome] == "uitval").fillna(False).to_numpy()})
    g = frame.groupby("instrument")["drop"].agg(["size", "sum"])
    order = [c for c in INSTRUMENT.codes if c in g.index] + sorted(set(g.index) - set(INSTRUMENT.codes))
    g = g.reindex(order)
    out = pd.DataFrame({"instrument": [INSTRUMENT.label(c, lang) for c in g.index],
                        "ended": g["size"].to_numpy(int), "dropouts": g["sum"].to_numpy(int)})
    total = pd.DataFrame([{"instrument": _w("total", lang), "ended": int(out["ended"].sum()),
                           "dropouts": int(out["dropouts"].sum())}])
    out = pd.concat([out, total], ignore_index=True)
    out["dropout_share"] = out["dropouts"] / out["ended"].where(out["ended"] > 0)
    return _label(out, lang)


def dropout_reasons(activities: pd.DataFrame, *, period_start=None, period_end=None, peildatum=None,
                    lang: str = "nl") -> pd.DataFrame:
    """Reasons for dropout among activities ended in the period with outcome ``uitval``."""
    _require(activities, [ACTIVITIES.end_date, ACTIVITIES.outcome, ACTIVITIES.dropout_reason], "activities")
    start, end, _ = _bounds(activities, period_start, period_end, peildatum)
    a = activities.loc[_ended_in(activities, start, end) & (activities[ACTIVITIES.outcome] == "uitval")]
    reason = a[ACTIVITIES.dropout_reason].astype(object).fillna(_w("unknown", lang))
    out = reason.value_counts().rename_axis("reason").rename("count").reset_index()
    out = out.sort_values(["count", "reason"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["share"] = out["count"] / out["count"].sum() if len(out) else np.nan
    return _label(out, lang)


def _months(start: pd.Series, end: pd.Series) -> pd.Series:
    return ((end - start).dt.days + 1) / DAYS_PER_MONTH


def _duration_row(months: pd.Series) -> dict:
    return {"n_completed": int(months.size), "mean_months": months.mean(),
            "median_months": months.median(), "p25_months": months.quantile(0.25),
            "p75_months": months.quantile(0.75)}


def activity_durations(activities: pd.DataFrame, *, peildatum=None, lang: str = "nl") -> pd.DataFrame:
    """Duration of completed activities per instrument (months), and how many are ongoing.

    Durations count start and end day. Ongoing activities are counted but not in
    the durations (their duration is not yet known).
    """
    _require(activities, [ACTIVITIES.instrument, ACTIVITIES.start_date, ACTIVITIES.end_date], "activities")
    peil = _peildatum(peildatum, activities)
    a = activities
    done = a[ACTIVITIES.end_date].notna() & (a[ACTIVITIES.end_date] <= peil)
    months = _months(a[ACTIVITIES.start_date], a[ACTIVITIES.end_date])
    rows = []
    codes = [c for c in INSTRUMENT.codes if c in set(a[ACTIVITIES.instrument].dropna().unique())]
    for code in codes:
        sel = a[ACTIVITIES.instrument] == code
        rows.append({"instrument": INSTRUMENT.label(code, lang), **_duration_row(months[sel & done]),
                     "ongoing": int((sel & ~done).sum())})
    rows.append({"instrument": _w("total", lang), **_duration_row(months[done]),
                 "ongoing": int((~done).sum())})
    return _label(pd.DataFrame(rows), lang)


def trajectories(activities: pd.DataFrame, *, peildatum=None, gap_days: int = 31) -> pd.DataFrame:
    """Join each client's activities into trajectories.

    An activity that starts at most ``gap_days`` after the latest end so far of the
    client's current trajectory continues it; otherwise a new trajectory starts.

    Returns
    -------
    DataFrame
        One row per trajectory: client_id, trajectory (number per client),
        start_date, end_date (NaT while an activity is ongoing), n_activities.
    """
    _require(activities, [ACTIVITIES.client_id, ACTIVITIES.start_date, ACTIVITIES.end_date], "activities")
    peil = _peildatum(peildatum, activities)
    a = activities[[ACTIVITIES.client_id, ACTIVITIES.start_date, ACTIVITIES.end_date]].copy()
    a = a.sort_values([ACTIVITIES.client_id, ACTIVITIES.start_date], kind="stable")
    open_ = a[ACTIVITIES.end_date].isna() | (a[ACTIVITIES.end_date] > peil)
    end = a[ACTIVITIES.end_date].where(~open_, peil + pd.Timedelta(days=10 ** 4))
    # Running maximum of end dates per client: a later activity that starts before it overlaps.
    run_end = end.groupby(a[ACTIVITIES.client_id]).cummax()
    prev_end = run_end.groupby(a[ACTIVITIES.client_id]).shift()
    new = prev_end.isna() | ((a[ACTIVITIES.start_date] - prev_end).dt.days > gap_days)
    a["trajectory"] = new.astype(int).groupby(a[ACTIVITIES.client_id]).cumsum()
    a["_end"] = end
    a["_open"] = open_
    g = a.groupby([ACTIVITIES.client_id, "trajectory"], sort=False)
    out = g.agg(start_date=(ACTIVITIES.start_date, "min"), end_date=("_end", "max"),
                ongoing=("_open", "any"), n_activities=(ACTIVITIES.start_date, "size")).reset_index()
    out.loc[out["ongoing"], "end_date"] = pd.NaT
    return out.drop(columns="ongoing")


def trajectory_durations(activities: pd.DataFrame, *, peildatum=None, gap_days: int = 31,
                         lang: str = "nl") -> pd.DataFrame:
    """Duration of whole trajectories (consecutive activities of a client, see :func:`trajectories`).

    Returns one row: completed trajectories, their mean, median and quartile
    durations in months, ongoing trajectories and the mean number of activities.
    """
    tr = trajectories(activities, peildatum=peildatum, gap_days=gap_days)
    done = tr["end_date"].notna()
    months = _months(tr.loc[done, "start_date"], tr.loc[done, "end_date"])
    row = {**_duration_row(months), "ongoing": int((~done).sum()),
           "mean_activities": tr["n_activities"].mean() if len(tr) else np.nan}
    return _label(pd.DataFrame([row]), lang)


def sheltered_places(activities: pd.DataFrame, targets: pd.DataFrame | None = None, *,
                     peildatum=None, instrument: str = "beschut_werk", lang: str = "nl") -> pd.DataFrame:
    """Sheltered-work places realised at each year end versus the target (taakstelling).

    Parameters
    ----------
    activities : DataFrame
        Canonical activities; a place is an activity with ``instrument`` active on
        31 December (on the peildatum for the peildatum's own year).
    targets : DataFrame, optional
        Columns ``year`` and ``target`` (the municipal taakstelling), e.g. from
        :mod:`caseload.forecast`. Without it only realised places are shown.
    instrument : str, default "beschut_werk"

    Returns
    -------
    DataFrame
        year, reference date, realised, and with targets: target, difference
        (realised - target), realisation (realised / target).
    """
    _require(activities, [ACTIVITIES.instrument, ACTIVITIES.start_date, ACTIVITIES.end_date], "activities")
    peil = _peildatum(peildatum, activities)
    a = activities.loc[activities[ACTIVITIES.instrument] == instrument]
    if targets is not None:
        _require(targets, ["year", "target"], "targets")
        years = sorted(int(y) for y in targets["year"] if int(y) <= peil.year)
    else:
        first = a[ACTIVITIES.start_date].min()
        years = list(range(first.year, peil.year + 1)) if pd.notna(first) else []
    rows = []
    for y in years:
        day = min(pd.Timestamp(year=y, month=12, day=31), peil)
        rows.append({"year": y, "reference_date": day.date().isoformat(),
                     "realised": int(_active_on(a, day).sum())})
    out = pd.DataFrame(rows, columns=["year", "reference_date", "realised"])
    if targets is not None:
        t = targets.assign(year=targets["year"].astype(int)).set_index("year")["target"]
        out["target"] = out["year"].map(t).astype("float64")
        out["difference"] = out["realised"] - out["target"]
        out["realisation"] = out["realised"] / out["target"].where(out["target"] > 0)
    return _label(out, lang)
