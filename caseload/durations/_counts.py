"""Aggregation shared by the survival estimators: counts per (group, time).

Every estimator in :mod:`caseload.durations` works on the same few arrays per
group: the distinct exit times, the number at risk just before each of them,
the exits per cause and the censored rows. They are computed here once, in one
vectorised pass (``np.unique``/``bincount``), never with a loop over rows.

Risk-set convention (as R's ``survival`` counting process ``(start, stop]``):
a row with entry time ``e`` and duration ``d`` is at risk at time ``t`` when
``e < t <= d``. A row that enters at ``t`` is not at risk for exits at ``t``.
Without entry times every row is at risk from time 0 (``entry = -inf``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__: list[str] = []

# Integer-valued durations spanning at most this many distinct values use a
# bincount instead of a sort (O(n) instead of O(n log n)).
_DENSE_RANGE = 5_000_000


class _Chunks:
    """Chunks of one array, joined on first use (only at-risk tables and plots need them)."""

    def __init__(self, parts: list[np.ndarray]):
        self._parts, self._joined = parts, None

    def array(self) -> np.ndarray:
        if self._joined is None:
            self._joined = np.concatenate(self._parts) if self._parts else np.empty(0)
            self._parts = None
        return self._joined


class _GroupSelection:
    """The values of one group in shared arrays, selected when first needed.

    ``codes=None``: every value (a single group).
    """

    def __init__(self, values, codes, group: int):
        self._values, self._codes, self._group = values, codes, group

    def values(self) -> np.ndarray:
        v = self._values.array() if isinstance(self._values, _Chunks) else self._values
        if self._codes is None:
            return v
        c = self._codes.array() if isinstance(self._codes, _Chunks) else self._codes
        return v[c == self._group]


@dataclass
class GroupCounts:
    """Counts of one group at its distinct observed times (exits or censorings)."""

    label: object
    time: np.ndarray          # distinct durations with an exit or censoring, ascending
    at_risk: np.ndarray       # weighted number at risk just before ``time``
    events: np.ndarray        # (len(time), n_causes) weighted exits per cause
    censored: np.ndarray      # weighted censorings at ``time``
    n: float                  # weighted rows in the group
    n_late: float             # weighted rows with entry > 0
    has_entry: bool = False   # entry times were given
    zero_entries: float = 0.0  # weighted rows with entry == 0
    entries: object = None    # non-zero entry times (selected and sorted on first use)
    entry_weights: object = None

    @property
    def n_events(self) -> np.ndarray:
        return self.events.sum(axis=1)

    def _sorted_entries(self) -> tuple[np.ndarray, np.ndarray]:
        # sorted only when needed (at-risk tables, plots): fitting stays O(n)
        if not getattr(self, "_sorted", False):
            e = self.entries if self.entries is not None else np.empty(0)
            e = e.values() if isinstance(e, _GroupSelection) else e
            w = self.entry_weights
            w = w.values() if isinstance(w, _GroupSelection) else (np.ones(e.size) if w is None else w)
            order = np.argsort(e, kind="stable")
            self.entries, self.entry_weights = e[order], w[order]
            self._tail = np.concatenate([np.cumsum(self.entry_weights[::-1])[::-1], [0.0]])
            self._sorted = True
        return self.entries, self._tail

    def at_risk_at(self, times) -> np.ndarray:
        """Number at risk at arbitrary ``times``: #(entry < t <= duration)."""
        times = np.asarray(times, dtype="float64")
        removed = self.n_events + self.censored
        # rows with duration >= t = total removed at table times >= t
        tail = np.concatenate([np.cumsum(removed[::-1])[::-1], [0.0]])
        n_dur = tail[np.searchsorted(self.time, times, side="left")]
        if self.has_entry:
            e, etail = self._sorted_entries()
            n_dur = n_dur - etail[np.searchsorted(e, times, side="left")] - self.zero_entries * (times <= 0)
        return n_dur


def as_float_array(values, name: str, bounds: bool = False):
    """A 1-d float array; a clear error for text or missing values.

    With ``bounds=True`` returns ``(array, min, max)``: the two passes that check
    the values are finite give the bounds the counting needs, so they are not
    taken again (each is a full pass over millions of rows).
    """
    try:
        arr = np.asarray(values, dtype="float64").ravel()
    except (TypeError, ValueError) as exc:
        raise CaseloadError(f"'{name}' must be numeric.", column=name,
                            fix=f"Convert '{name}' to numbers (days or years) first.") from exc
    if arr.size == 0:
        return (arr, np.nan, np.nan) if bounds else arr
    if bounds:
        # NaN propagates into min and max, inf shows in them: no mask over all rows
        lo, hi = arr.min(), arr.max()
        ok = np.isfinite(lo) and np.isfinite(hi)
    else:
        # NaN and inf propagate into the sum (one pass; an overflow to inf only costs the mask below)
        ok = np.isfinite(arr.sum())
    if not ok:
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CaseloadError(f"'{name}' has {int(bad.sum())} missing or infinite value(s), first at position {i}.",
                                column=name, fix="Drop those rows or fill them; use pd.isnull to find them.")
    return (arr, lo, hi) if bounds else arr


def group_codes(by, n: int) -> tuple[np.ndarray, list]:
    """Integer codes 0..G-1 and the group labels (category order, else sorted)."""
    if by is None:
        return np.zeros(n, dtype=np.int64), ["all"]
    if isinstance(by, pd.DataFrame):
        if by.shape[1] == 1:
            by = by.iloc[:, 0]
        else:
            by = by.astype(str).agg(" / ".join, axis=1)
    if isinstance(by, (pd.Series, pd.Categorical, pd.Index)) and isinstance(by.dtype, pd.CategoricalDtype):
        cat = by.array if isinstance(by, (pd.Series, pd.Index)) else by
        codes = np.asarray(cat.codes)  # int8/int16: widened chunk by chunk where used
        if len(codes) != n:
            raise CaseloadError(f"'by' has {len(codes)} values but there are {n} durations.", column="by",
                                fix="Pass one group label per row.")
        if codes.size and codes.min() < 0:
            raise CaseloadError(f"'by' has {int((codes < 0).sum())} missing group label(s).", column="by",
                                fix="Drop rows without a group or give them an explicit label.")
        # categories without rows are dropped after counting
        return codes, list(cat.categories)
    values = pd.Series(np.asarray(by, dtype=object) if not isinstance(by, pd.Series) else by.to_numpy())
    if len(values) != n:
        raise CaseloadError(f"'by' has {len(values)} values but there are {n} durations.", column="by",
                            fix="Pass one group label per row.")
    if values.isna().any():
        raise CaseloadError(f"'by' has {int(values.isna().sum())} missing group label(s).", column="by",
                            fix="Drop rows without a group or give them an explicit label.")
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:  # mixed types cannot be sorted
        codes, labels = pd.factorize(values, sort=False)
    return codes.astype(np.int64), list(labels)


_CHUNK = 1 << 19  # rows per pass: temporaries stay small and are reused, not page-faulted anew


class _NotWhole(Exception):
    """Raised inside the counting pass when a duration is not a whole number."""


_DENSE_BINS = 1 << 21  # largest (groups x times x outcomes) table counted directly


def _time_index(duration: np.ndarray, dense_ok: bool = True, bounds=None):
    """The candidate times ``ut`` and two maps: row durations -> index in ``ut``, and any
    values -> index of the last time in ``ut`` <= value (-1 when none).

    Whole-number durations (days, months) index a table of every value 0..max
    directly: no sort and no separate pass (times without rows are dropped
    after counting). Other durations are sorted (``np.unique``).
    """
    lo, hi = bounds if bounds is not None else (duration.min(), duration.max())
    if dense_ok and lo >= 0 and hi <= _DENSE_RANGE:
        hi_int = int(hi)
        ut = np.arange(hi_int + 1, dtype="float64")

        def index_of(d, sl, scale=1):
            as_int = d.astype(np.int64)
            if not (as_int == d).all():
                raise _NotWhole
            if scale != 1:
                as_int *= scale
            return as_int

        def last_at_or_before(values):
            v = np.asarray(values, dtype="float64")
            k = np.minimum(v, hi_int).astype(np.int64)  # entries lie below their duration, so <= hi
            if v.size and v.min() >= 0:  # the usual case: truncation times are not negative
                return k
            return np.where(v >= 0, k, -1)

        return ut, index_of, last_at_or_before
    ut = np.unique(duration)
    return (ut, lambda d, sl, scale=1: np.searchsorted(ut, d, side="left") * scale,
            lambda values: np.searchsorted(ut, values, side="right") - 1)


def aggregate(duration, cause_code, n_causes: int, entry=None, by=None, weights=None) -> list[GroupCounts]:
    """Counts per group and distinct time, in one vectorised pass over the rows.

    Parameters
    ----------
    duration : array of float
        Time of exit or censoring.
    cause_code : array of int or bool
        int: ``-1`` censored, else the cause index ``0..n_causes-1``; bool (one
        cause): True for an exit.
    entry : array of float, optional
        Entry (left-truncation) time; rows are at risk on ``(entry, duration]``.
    by : array-like, optional
        Group label per row.
    weights : array of float, optional
        Case weights (default 1).
    """
    duration, d_lo, d_hi = as_float_array(duration, "durations", bounds=True)
    n = duration.size
    if n == 0:
        raise CaseloadError("no rows to estimate from.", fix="Check the filters that selected the spells.")
    if d_lo < 0:
        raise CaseloadError(f"'durations' has {int((duration < 0).sum())} negative value(s).", column="durations",
                            fix="An end date before the start date is a data error; correct or drop those spells.")
    cause_code = np.asarray(cause_code).ravel()
    if cause_code.size != n:
        raise CaseloadError(f"the event column has {cause_code.size} values but there are {n} durations.",
                            column="event_observed", fix="Pass one event value per row.")
    w = None
    if weights is not None:
        w = as_float_array(weights, "weights")
        if (w < 0).any():
            raise CaseloadError("'weights' must be non-negative.", column="weights", fix="Drop negative weights.")
    e = None
    if entry is not None:
        e = as_float_array(entry, "entry")
        if e.size != n:
            raise CaseloadError(f"'entry' has {e.size} values but there are {n} durations.", column="entry",
                                fix="Pass one entry time per row (0 when not left-truncated).")
    codes, labels = group_codes(by, n)
    G = len(labels)

    K1 = n_causes + 1
    # a direct table pays off while it is not larger than the data (else sorting is cheaper)
    dense_ok = G * (float(d_hi) + 1) * K1 <= min(_DENSE_BINS, max(n, 1 << 16))
    try:
        return _count(duration, cause_code, n_causes, e, codes, labels, w, dense_ok, (d_lo, d_hi))
    except _NotWhole:
        return _count(duration, cause_code, n_causes, e, codes, labels, w, False, (d_lo, d_hi))


def _count(duration, cause_code, n_causes, e, codes, labels, w, dense_ok, bounds=None) -> list[GroupCounts]:
    n = duration.size
    G = len(labels)
    ut, index_of, last_at_or_before = _time_index(duration, dense_ok, bounds)
    T = ut.size
    # one integer per (group, time, outcome) and a single bincount: outcome 0 = censored,
    # 1..K = cause (a boolean event column is outcome 0/1 as it stands)
    K1 = n_causes + 1
    counts = np.zeros(G * T * K1, dtype="float64")
    out = np.zeros(G * T, dtype="float64")
    late = np.zeros(G)
    nonzero_n = np.zeros(G)
    e_parts, c_parts, w_parts = [], [], []
    buf = np.empty(min(n, _CHUNK), dtype=np.int64)
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        d = duration[sl]
        cell = index_of(d, sl, K1)  # = time index * K1
        if G > 1:
            # widen the small group codes and scale them in one ufunc pass into a reused buffer
            part = buf[:cell.size]
            np.multiply(codes[sl], T * K1, out=part, dtype=np.int64, casting="unsafe")
            cell += part
        oc = cause_code[sl]
        cell += oc if oc.dtype == bool else oc.astype(np.int64) + 1
        wc = None if w is None else w[sl]
        counts += np.bincount(cell, weights=wc, minlength=counts.size)
        if e is None:
            continue
        ec = e[sl]
        bad = ec >= d
        if bad.any():
            i = s + int(np.flatnonzero(bad)[0])
            raise CaseloadError(
                f"{int((e >= duration).sum())} row(s) have an entry time not before their duration (first at "
                f"position {i}: entry {e[i]!r}, duration {duration[i]!r}); such a row is never at risk.",
                column="entry", fix="Drop spells that ended before the observation window started.")
        # rows entering at 0 (most of them) are counted in one go below; the others one by one
        nz = np.flatnonzero(ec != 0)
        e_nz = ec[nz]
        c_nz = codes[sl][nz].astype(np.int64, copy=False) if G > 1 else np.zeros(nz.size, dtype=np.int64)
        w_nz = None if wc is None else wc[nz]
        last = last_at_or_before(e_nz)  # the row is not at risk at that time nor before
        c_keep, w_keep = c_nz, w_nz
        if last.size and last.min() < 0:  # entered before the first time: nothing to remove
            keep = last >= 0
            last, c_keep = last[keep], c_nz[keep]
            w_keep = None if w_nz is None else w_nz[keep]
        if G > 1:
            last += c_keep * T
        out += np.bincount(last, weights=w_keep, minlength=out.size)
        in_group = np.bincount(c_nz, weights=w_nz, minlength=G)
        nonzero_n += in_group
        if e_nz.size and e_nz.min() > 0:
            late += in_group
        else:
            pos = e_nz > 0
            late += np.bincount(c_nz[pos], weights=None if w_nz is None else w_nz[pos], minlength=G)
        e_parts.append(e_nz)
        c_parts.append(c_nz)
        w_parts.append(w_nz)

    counts = counts.reshape(G, T, K1)
    removed = counts.sum(axis=2)
    ev = counts[:, :, 1:]
    n_group = removed.sum(axis=1)
    # at risk at ut[j] = #(duration >= ut[j]) - #(entry >= ut[j])
    at_risk = np.cumsum(removed[:, ::-1], axis=1)[:, ::-1]
    zero = np.zeros(G)
    if e is not None:
        out = out.reshape(G, T)
        zero = n_group - nonzero_n
        last0 = int(last_at_or_before(np.array([0.0]))[0])
        if last0 >= 0:
            out[:, last0] += zero
        at_risk = at_risk - np.cumsum(out[:, ::-1], axis=1)[:, ::-1]
        e_nz, c_nz = _Chunks(e_parts), _Chunks(c_parts)
        w_nz = None if w is None else _Chunks(w_parts)

    result = []
    for g, label in enumerate(labels):
        if removed[g].sum() == 0:  # an unused category
            continue
        present = removed[g] > 0
        events = ev[g][present].astype("float64")
        entries = entry_w = None
        if e is not None and G == 1:
            entries = _GroupSelection(e_nz, None, 0)
            entry_w = None if w is None else _GroupSelection(w_nz, None, 0)
        elif e is not None:
            # selected per group only when at-risk counts are asked for
            entries = _GroupSelection(e_nz, c_nz, g)
            entry_w = None if w is None else _GroupSelection(w_nz, c_nz, g)
        result.append(GroupCounts(
            label=label, time=ut[present], at_risk=at_risk[g][present].astype("float64"), events=events,
            censored=removed[g][present] - events.sum(axis=1), n=float(n_group[g]), n_late=float(late[g]),
            has_entry=e is not None, zero_entries=float(zero[g]), entries=entries, entry_weights=entry_w,
        ))
    return result


def step_at(times_table: np.ndarray, values: np.ndarray, times, start: float = 1.0) -> np.ndarray:
    """Evaluate a right-continuous step function (value ``start`` before the first time)."""
    idx = np.searchsorted(times_table, np.asarray(times, dtype="float64"), side="right") - 1
    padded = np.concatenate([[start], values])
    return padded[idx + 1]
