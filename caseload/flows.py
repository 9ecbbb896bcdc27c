"""Monthly stock, inflow and outflow of benefits, per municipality (or any grouping).

Month-end rule (the one CBS uses for its monthly bijstand stock): a spell is in
the stock at the end of month ``t`` (last day ``T``) when

    start_date <= T  and  (end_date is empty  or  end_date > T)

Its inflow month is the month of ``start_date``, its outflow month the month of
``end_date``. Then, exactly and for every month,

    stock(t) = stock(t - 1) + inflow(t) - outflow(t)

(a spell that starts and ends within one month is one inflow and one outflow and
never in a month-end stock).

The counting is vectorised: every spell is one inflow event and at most one
outflow event; events are counted per (group, month) with one ``bincount`` and
the stock is the cumulative sum, starting from the spells already open when the
window starts. No loop over months.

Units: ``"persons"`` counts spells (the loader consolidates payment periods into
one spell per benefit, so a person has one open spell at a time; a person with
two simultaneous benefits counts twice). ``"households"`` counts distinct
dossiers (``dossier_id``; a couple is one household): the spells of a dossier are
first merged into non-overlapping periods, so a household is in the stock when
any of its members' spells is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import END_REASON, SPELLS

__all__ = ["monthly_flows", "stock_at", "household_spells"]

_UNKNOWN_REASON = "onbekend"
_NS_PER_DAY = 86_400 * 10**9


def _period(month_number) -> pd.arrays.PeriodArray:
    """Monthly periods from months since 1970-01 (Period ordinals), without parsing dates."""
    return pd.arrays.PeriodArray(np.asarray(month_number, dtype="int64"), dtype=pd.PeriodDtype("M"))


def _datetimes(column: pd.Series) -> np.ndarray:
    if column.dtype == "datetime64[ns]":
        return column.to_numpy()
    return pd.to_datetime(column).to_numpy(dtype="datetime64[ns]")


def _check_columns(spells: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in spells.columns]
    if missing:
        raise CaseloadError(f"the spells table has no column {missing[0]!r}.", column=missing[0],
                            fix="Pass the canonical spells table (caseload.read_extract(...).spells).")


def household_spells(spells: pd.DataFrame, by=("municipality",)) -> pd.DataFrame:
    """Merge the spells of each household (dossier) into non-overlapping periods.

    Spells whose periods touch or overlap (``next start <= current end``) become
    one period; its end reason is that of the spell that ends last. Rows without
    a ``dossier_id`` are their own household (keyed by ``client_id``).

    Returns
    -------
    DataFrame
        ``*by, dossier_id, start_date, end_date, end_reason``.
    """
    by = list(by)
    _check_columns(spells, [*by, SPELLS.start_date, SPELLS.end_date, SPELLS.client_id])
    dossier = spells[SPELLS.dossier_id] if SPELLS.dossier_id in spells.columns else pd.Series(pd.NA, index=spells.index)
    key = dossier.astype("string").fillna("client:" + spells[SPELLS.client_id].astype("string"))
    far = pd.Timestamp.max.normalize()
    df = pd.DataFrame({**{c: spells[c].to_numpy() for c in by}, "dossier_id": key.to_numpy(),
                       "start_date": pd.to_datetime(spells[SPELLS.start_date]).to_numpy(),
                       "end_date": pd.to_datetime(spells[SPELLS.end_date]).fillna(far).to_numpy(),
                       "end_reason": (spells[SPELLS.end_reason].to_numpy() if SPELLS.end_reason in spells.columns
                                      else np.full(len(spells), None, dtype=object))})
    keys = [*by, "dossier_id"]
    df = df.sort_values([*keys, "start_date", "end_date"], kind="mergesort").reset_index(drop=True)
    running_end = df.groupby(keys, sort=False, dropna=False)["end_date"].cummax()
    prev_end = running_end.groupby([df[k] for k in keys], sort=False, dropna=False).shift(1)
    new_period = prev_end.isna() | (df["start_date"] > prev_end)
    period = new_period.cumsum()
    # the end reason of a merged period is that of the spell reaching the latest end
    last = df.assign(_p=period.to_numpy()).sort_values(["_p", "end_date"], kind="mergesort").groupby("_p").tail(1)
    out = df.groupby(period.to_numpy(), sort=True).agg(
        **{c: (c, "first") for c in keys}, start_date=("start_date", "min"), end_date=("end_date", "max"))
    out["end_reason"] = last.set_index("_p")["end_reason"].reindex(out.index).to_numpy()
    out["end_date"] = out["end_date"].where(out["end_date"] < far)
    return out.reset_index(drop=True)


def monthly_flows(
    spells: pd.DataFrame,
    *,
    start=None,
    end=None,
    by=("municipality",),
    unit: str = "persons",
    tidy: bool = False,
) -> pd.DataFrame:
    """Monthly stock at month end, inflow and outflow (total and per end reason).

    Parameters
    ----------
    spells : DataFrame
        Canonical spells (``start_date``, ``end_date``, ``end_reason``, the ``by``
        columns, and ``dossier_id`` for households).
    start, end : date-like or Period, optional
        First and last month of the window. Default: the month of the earliest
        start, and the month of the peildatum (or of the latest date).
    by : sequence of str, default ("municipality",)
        Grouping columns; ``()`` for one series.
    unit : {"persons", "households"}
        Count spells, or distinct dossiers (see module notes).
    tidy : bool, default False
        Return long form ``*by, month, measure, value`` instead of wide columns.

    Returns
    -------
    DataFrame
        One row per group and month: ``*by, month`` (``pandas.Period``, freq
        ``M``; the stock is at the month's last day), ``stock, inflow, outflow``
        and ``outflow_<end_reason>`` for every code of :data:`END_REASON` plus
        ``outflow_onbekend`` (ended without a reason). Groups without any spell
        in the window are absent.

    Examples
    --------
    >>> spells = pd.DataFrame({"municipality": ["GM0168"] * 3,
    ...     "start_date": pd.to_datetime(["2024-01-15", "2024-02-01", "2024-02-10"]),
    ...     "end_date": pd.to_datetime([None, "2024-02-20", "2024-03-31"]),
    ...     "end_reason": [None, "werk", "verhuizing"]})
    >>> monthly_flows(spells, start="2024-01", end="2024-03")[["month", "stock", "inflow", "outflow"]]
         month  stock  inflow  outflow
    0  2024-01      1       1        0
    1  2024-02      2       2        1
    2  2024-03      1       0        1
    """
    by = list(by) if not isinstance(by, str) else [by]
    if unit not in ("persons", "households"):
        raise CaseloadError(f"unknown unit {unit!r}.", value=unit, fix="Use unit='persons' or unit='households'.")
    _check_columns(spells, [*by, SPELLS.start_date, SPELLS.end_date])
    if unit == "households":
        spells = household_spells(spells, by=by)

    starts = _datetimes(spells[SPELLS.start_date])
    ends = _datetimes(spells[SPELLS.end_date])
    if np.isnat(starts).any():
        raise CaseloadError("some spells have no start_date.", column=SPELLS.start_date,
                            fix="Every spell needs a start date; correct or drop those rows.")
    closed = ~np.isnat(ends)
    bad = ends < starts  # NaT compares False
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        sid = spells[SPELLS.spell_id].iloc[i] if SPELLS.spell_id in spells.columns else i
        raise CaseloadError(f"{int(bad.sum())} spell(s) end before they start (first: spell {sid}).",
                            column=SPELLS.end_date, fix="Correct the dates in the extract or drop those spells.")
    # whole days since 1970; months through a small day -> month table (numpy's
    # datetime64[M] cast does calendar arithmetic per row and is 10x slower)
    s_day = starts.view(np.int64) // _NS_PER_DAY
    e_day = ends[closed].view(np.int64) // _NS_PER_DAY  # closed spells only
    d0 = int(s_day.min())
    d1 = int(max(s_day.max(), e_day.max() if e_day.size else d0))
    month_of_day = np.arange(d0, d1 + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)

    if start is None:
        first = int(month_of_day[0])
    else:
        first = int(pd.Period(start, freq="M").ordinal)
    if end is None:
        if SPELLS.peildatum in spells.columns and spells[SPELLS.peildatum].notna().any():
            last = int(pd.Period(pd.to_datetime(spells[SPELLS.peildatum]).max(), freq="M").ordinal)
        else:
            last = int(month_of_day[-1])
    else:
        last = int(pd.Period(end, freq="M").ordinal)
    if last < first:
        raise CaseloadError(f"the window ends ({_period([last])[0]}) before it starts ({_period([first])[0]}).",
                            fix="Pass start <= end.")
    M = last - first + 1
    B = M + 2  # bucket 0: before the window, 1..M: the months, M+1: after the window
    bucket_of_day = np.clip(month_of_day - first + 1, 0, M + 1)

    # group codes: one integer per combination of the by-columns
    codes = np.zeros(len(spells), dtype=np.int64)
    levels = []
    for i, col in enumerate(by):
        c, u = pd.factorize(spells[col], sort=True)
        if c.size and c.min() < 0:
            raise CaseloadError(f"{int((c < 0).sum())} spell(s) have no {col!r}.", column=col,
                                fix=f"Fill {col!r} (e.g. from the config's extract.municipality).")
        codes = c.astype(np.int64, copy=False) if i == 0 else codes * len(u) + c
        levels.append(u)  # an Index with the column's dtype
    if len(by) > 1:  # keep only the combinations that occur
        used, codes = np.unique(codes, return_inverse=True)
    else:
        used = np.arange(len(levels[0])) if by else np.zeros(1, dtype=np.int64)
    group_frame = {}
    rem = used.copy()
    for col, u in zip(reversed(by), reversed(levels), strict=True):
        group_frame[col] = u.take(rem % len(u)).array
        rem = rem // len(u)
    group_frame = {c: group_frame[c] for c in by}
    G = used.size

    s_idx = bucket_of_day[s_day - d0]
    e_idx = bucket_of_day[e_day - d0]
    inflow = np.bincount(codes * B + s_idx, minlength=G * B).reshape(G, B)
    out_cell = codes[closed] * B + e_idx

    reasons = [*END_REASON.codes, _UNKNOWN_REASON]
    if SPELLS.end_reason in spells.columns:
        # codes against the fixed code list (a lookup, cheaper than factorizing); missing or
        # unknown reasons get -1 and are counted as onbekend
        rcode = pd.Categorical(spells[SPELLS.end_reason], categories=reasons[:-1]).codes[closed].astype(np.int64)
        rcode[rcode < 0] = len(reasons) - 1
    else:
        rcode = np.full(int(closed.sum()), len(reasons) - 1, dtype=np.int64)
    R = len(reasons)
    out_cell *= R
    out_cell += rcode
    by_reason = np.bincount(out_cell, minlength=G * B * R).reshape(G, B, R)
    outflow = by_reason.sum(axis=2)
    stock = np.cumsum(inflow - outflow, axis=1)

    sl = slice(1, M + 1)
    frame = {c: v.take(np.repeat(np.arange(G), M)) for c, v in group_frame.items()}
    frame["month"] = _period(np.tile(np.arange(first, last + 1), G))
    frame["stock"] = stock[:, sl].ravel()
    frame["inflow"] = inflow[:, sl].ravel()
    frame["outflow"] = outflow[:, sl].ravel()
    for r, reason in enumerate(reasons):
        frame[f"outflow_{reason}"] = by_reason[:, sl, r].ravel()
    result = pd.DataFrame(frame)
    if tidy:
        result = result.melt(id_vars=[*by, "month"], var_name="measure", value_name="value")
    return result


def stock_at(spells: pd.DataFrame, peildatum) -> pd.DataFrame:
    """The spells in the stock at ``peildatum``: ``start <= peildatum`` and no end or end after it.

    Returns the matching rows of ``spells`` (count them with ``len`` or
    ``groupby``); the same rule as the month-end stock of :func:`monthly_flows`.
    """
    _check_columns(spells, [SPELLS.start_date, SPELLS.end_date])
    p = pd.Timestamp(peildatum)
    start = pd.to_datetime(spells[SPELLS.start_date])
    end = pd.to_datetime(spells[SPELLS.end_date])
    return spells[(start <= p) & (end.isna() | (end > p))]
