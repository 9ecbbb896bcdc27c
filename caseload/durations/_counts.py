"""Aggregation shared by the survival estimators: counts per (group, time).

Every estimator in :mod:`caseload.durations` works on the same few arrays per
group: the distinct exit times, the number at risk just before each of them,
the exits per cause and the censored rows. They are computed here once, in one
vectorised pass (``np.unique``/``bincount``), never with a loop over rows.

Risk-set convention (as R's ``survival`` counting process ``(start, stop]``):
a row with entry time ``e`` and duration ``d`` is at risk at time ``t`` when
``e < t <= d``. A row that enters at ``t`` is not at risk for exits at ``t``.
Without entry times every row is at risk from time 0 (``entry = -inf``).

This is the one convention of Kaplan-Meier, Aalen-Johansen and Cox. The two
first count with it directly (:func:`aggregate`); the Cox model is fitted by
statsmodels' ``PHReg``, whose risk set is closed on the left (``e <= t <= d``),
and gets its entries through :func:`open_entry`, which moves every positive
entry to the next floating-point number, so that ``PHReg`` sees exactly these
risk sets.
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


class _Entries:
    """Entry times of all rows, kept by reference (as lifelines keeps its inputs).

    Fitting needs only the counts of rows entering per time, taken in the counting
    pass. The per-group summaries (rows entering late, rows entering at 0) and the
    sorted non-zero entry times (at-risk counts at arbitrary times, plots) are
    computed here on first use, once for all groups.
    """

    def __init__(self, entry: np.ndarray, codes, weights, n_groups: int):
        self._e, self._codes, self._w, self._G = entry, codes, weights, n_groups
        self._late = self._zero = None
        self._sorted: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _per_group(self, mask: np.ndarray) -> np.ndarray:
        w = None if self._w is None else self._w[mask]
        if self._codes is None:
            return np.array([float(mask.sum()) if w is None else float(w.sum())])
        return np.bincount(self._codes[mask], weights=w, minlength=self._G).astype("float64")

    def late(self, g: int) -> float:
        if self._late is None:
            self._late = self._per_group(self._e > 0)
        return float(self._late[g])

    def zero(self, g: int) -> float:
        if self._zero is None:
            self._zero = self._per_group(self._e == 0)
        return float(self._zero[g])

    def sorted(self, g: int) -> tuple[np.ndarray, np.ndarray]:
        """Non-zero entry times of group ``g`` ascending, and the weighted count at or after each."""
        if g not in self._sorted:
            keep = self._e != 0
            if self._codes is not None:
                keep &= self._codes == g
            e = self._e[keep]
            w = np.ones(e.size) if self._w is None else self._w[keep]
            order = np.argsort(e, kind="stable")
            e, w = e[order], w[order]
            self._sorted[g] = (e, np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]]))
        return self._sorted[g]


@dataclass
class GroupCounts:
    """Counts of one group at its distinct observed times (exits or censorings)."""

    label: object
    time: np.ndarray          # distinct durations with an exit or censoring, ascending
    at_risk: np.ndarray       # weighted number at risk just before ``time``
    events: np.ndarray        # (len(time), n_causes) weighted exits per cause
    censored: np.ndarray      # weighted censorings at ``time``
    n: float                  # weighted rows in the group
    entry_source: _Entries | None = None  # entry times were given
    group: int = 0            # index of this group in ``entry_source``

    @property
    def has_entry(self) -> bool:
        return self.entry_source is not None

    @property
    def n_late(self) -> float:
        """Weighted rows with entry > 0."""
        return self.entry_source.late(self.group) if self.has_entry else 0.0

    @property
    def zero_entries(self) -> float:
        """Weighted rows with entry == 0."""
        return self.entry_source.zero(self.group) if self.has_entry else 0.0

    @property
    def n_events(self) -> np.ndarray:
        return self.events.sum(axis=1)

    def at_risk_at(self, times) -> np.ndarray:
        """Number at risk at arbitrary ``times``: #(entry < t <= duration)."""
        times = np.asarray(times, dtype="float64")
        removed = self.n_events + self.censored
        # rows with duration >= t = total removed at table times >= t
        tail = np.concatenate([np.cumsum(removed[::-1])[::-1], [0.0]])
        n_dur = tail[np.searchsorted(self.time, times, side="left")]
        if self.has_entry:
            # sorted only when needed (at-risk tables, plots): fitting stays O(n)
            e, etail = self.entry_source.sorted(self.group)
            n_dur = n_dur - etail[np.searchsorted(e, times, side="left")] - self.zero_entries * (times <= 0)
        return n_dur


def open_entry(entry, duration) -> np.ndarray:
    """Entry times for a tool whose risk set is closed on the left (``entry <= t``), such that
    its risk sets are this module's ``entry < t <= duration``.

    Every positive entry ``e`` becomes the next floating-point number above it,
    ``np.nextafter(e, inf)``. For any observed time ``t``, ``t >= next(e)``
    exactly when ``t > e`` (no float lies between ``e`` and ``next(e)``), so a
    closed-left tool then has exactly the half-open risk sets: a row entering
    at an exit time ``t`` is not at risk for that exit, and nothing else
    changes. No tolerance or time unit is involved (the shift is one unit in
    the last place: 1.8e-15 for an entry of 8 days, 2.2e-16 for 1.5 years).
    Zero entries stay 0: nothing exits at or before 0 (durations are positive).

    Parameters
    ----------
    entry, duration : array of float
        Entry (left-truncation) time and exit or censoring time per row.

    Returns
    -------
    ndarray
        The shifted entry times.

    Raises
    ------
    CaseloadError
        A row whose entry is not before its duration (it is never at risk), or
        a negative entry.

    Examples
    --------
    >>> e = open_entry([0.0, 2.0, 1.0], [3.0, 4.0, 2.0])
    >>> bool(e[0] == 0.0), bool(2.0 < e[1] < 2.0 + 1e-12), bool(1.0 < e[2] < 2.0)
    (True, True, True)
    """
    e = np.asarray(entry, dtype="float64").ravel()
    d = np.asarray(duration, dtype="float64").ravel()
    bad = e >= d
    if bad.any():
        raise _entry_error(e, d, int(np.flatnonzero(bad)[0]))
    if (e < 0).any():
        raise CaseloadError(f"'entry' has {int((e < 0).sum())} negative value(s).", column="entry",
                            fix="Entry times are the time already on benefit when observation starts: 0 or more.")
    return np.where(e > 0, np.nextafter(e, np.inf), e)


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


_CHUNK = 1 << 18  # rows per pass: temporaries stay in cache and are reused, not page-faulted anew


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
    ut = np.unique(duration).astype("float64", copy=False)
    return (ut, lambda d, sl, scale=1: np.searchsorted(ut, d, side="left") * scale,
            lambda values: np.searchsorted(ut, values, side="right") - 1)


def aggregate(duration, cause_code, n_causes: int, entry=None, by=None, weights=None) -> list[GroupCounts]:
    """Counts per group and distinct time, in one vectorised pass over the rows.

    Parameters
    ----------
    duration : array of float or int
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
    raw = np.asarray(duration)
    if raw.dtype.kind in "iuf" and raw.size:
        # the usual case (whole days or months, entries >= 0) is counted in one pass without a
        # separate validation pass: the counting checks what it relies on and hands anything
        # else (fractions, negative or missing values, wide ranges) to the general pass below
        n = raw.size
        cause = np.asarray(cause_code).ravel()
        e = w = None
        fast = cause.size == n
        if fast and entry is not None:
            try:
                e = np.asarray(entry, dtype="float64").ravel()
            except (TypeError, ValueError):
                fast = False
            fast = fast and e.size == n
        if fast and weights is not None:
            w = as_float_array(weights, "weights")
            fast = w.size == n and not (w < 0).any()
        if fast:
            codes, labels = group_codes(by, n)
            try:
                return _count_dense(raw.ravel(), cause, n_causes, e, codes, labels, w)
            except _NotDense:
                pass
    duration, d_lo, d_hi = as_float_array(raw, "durations", bounds=True)
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


def _entry_error(e, duration, i) -> CaseloadError:
    return CaseloadError(
        f"{int((e >= duration).sum())} row(s) have an entry time not before their duration (first at "
        f"position {i}: entry {e[i]!r}, duration {duration[i]!r}); such a row is never at risk.",
        column="entry", fix="Drop spells that ended before the observation window started.")


def _reverse_cumsum(x: np.ndarray) -> np.ndarray:
    return np.cumsum(x[:, ::-1], axis=1)[:, ::-1]


class _NotDense(Exception):
    """The rows do not fit the one-pass count; the general pass takes them (and reports errors)."""


def _accumulate(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    """``total + part`` for bincount results of different lengths (the longer one is reused)."""
    if part.size > total.size:
        part[:total.size] += total
        return part
    total[:part.size] += part
    return total


def _count_dense(duration, cause_code, n_causes, e, codes, labels, w) -> list[GroupCounts]:
    """Whole-number durations >= 0 (and entries >= 0): a table of every time 0..max, by bincount.

    Per row one count in cell (time, group, outcome) of the exit table (outcome
    0 = censored, 1..K = cause) and, with entry times, one in cell (floor(entry),
    group) of the entry table: the last time at which the row is not yet at
    risk. At risk at whole time ``t``: #(duration >= t) - #(floor(entry) >= t).
    Time is the slowest index, so neither table needs the largest duration in
    advance (no extra pass) and rows with nearby durations share cache lines.
    Cells are int32 (the table is at most ``_DENSE_BINS`` long): half the memory
    traffic of int64. The checks it relies on are made in the same pass; it
    raises ``_NotDense`` for anything else (a fraction; a negative, missing or
    too large value; an entry not before its duration).

    Examples
    --------
    The one-pass count and the general (sorting) pass agree:

    >>> d, ev, en = np.array([3, 1, 4, 1, 5]), np.array([1, 0, 1, 1, 0], bool), np.array([0, 0, .5, 0, 2.5])
    >>> codes, labels = group_codes(None, 5)
    >>> [(g.time.tolist(), g.at_risk.tolist()) for g in _count_dense(d, ev, 1, en, codes, labels, None)]
    [([1.0, 3.0, 4.0, 5.0], [4.0, 3.0, 2.0, 1.0])]
    >>> [(g.time.tolist(), g.at_risk.tolist()) for g in _count(d, ev, 1, en, codes, labels, None, False)]
    [([1.0, 3.0, 4.0, 5.0], [4.0, 3.0, 2.0, 1.0])]
    >>> _count_dense(d + 0.5, ev, 1, en, codes, labels, None)
    Traceback (most recent call last):
    ...
    caseload.durations._counts._NotDense
    """
    G = len(labels)
    K1 = n_causes + 1
    # largest time for which a direct table pays off (else sorting is cheaper)
    max_time = min(_DENSE_BINS, max(duration.size, 1 << 16)) // (G * K1 + (G if e is not None else 0)) - 1
    if max_time < 0:
        raise _NotDense
    with np.errstate(invalid="ignore"):  # NaN, inf and overflow in the casts are caught by the checks
        exits, entered = _dense_pass(duration, cause_code, e, codes, w, G, K1, max_time)
    return _dense_groups(exits, entered, labels, e, codes, w, G, K1)


def _dense_pass(duration, cause_code, e, codes, w, G: int, K1: int, max_time: int):
    """The bincounts of ``_count_dense``, chunk by chunk into reused buffers."""
    n = duration.size
    GK = G * K1
    m = min(n, _CHUNK)
    cells = np.empty(m, dtype=np.int32)
    small = np.empty(m, dtype=np.int8 if GK <= 127 else np.int32)
    ok = np.empty(m, dtype=bool)
    exits = np.zeros(0, dtype=np.int64)
    entered = np.zeros(0, dtype=np.int64)
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        d = duration[sl]
        k = d.size
        a = cells[:k]
        np.copyto(a, d, casting="unsafe")  # truncation; the comparison catches fractions, NaN and overflow
        if not np.equal(a, d, out=ok[:k]).all():
            raise _NotDense
        # negative values read as unsigned are huge: one pass checks 0 <= time <= max_time (before
        # scaling, which could wrap around)
        if a.view(np.uint32).max() > max_time:
            raise _NotDense
        a *= GK
        # group and outcome in one small integer: (group * K1 + outcome)
        sm = small[:k]
        if G > 1:
            np.multiply(codes[sl], K1, out=sm, casting="unsafe")
        else:
            sm[:] = 0
        oc = cause_code[sl]
        if oc.dtype == bool:
            sm += oc
        else:
            np.add(sm, oc, out=sm, casting="unsafe")
            sm += 1
        a += sm
        exits = _accumulate(exits, np.bincount(a, weights=None if w is None else w[sl]))
        if e is None:
            continue
        ec = e[sl]
        if not ec.min() >= 0 or np.greater_equal(ec, d, out=ok[:k]).any():  # also NaN
            raise _NotDense  # the general pass names the error
        b = cells[:k]  # the exit cells are counted: reuse the buffer
        np.copyto(b, ec, casting="unsafe")  # floor of an entry >= 0 (and < duration)
        if G > 1:
            b *= G
            b += codes[sl]
        entered = _accumulate(entered, np.bincount(b, weights=None if w is None else w[sl]))
    return exits, entered


def _dense_groups(exits, entered, labels, e, codes, w, G: int, K1: int) -> list[GroupCounts]:
    """The (group, time) tables of ``_count_dense`` as ``GroupCounts``."""
    GK = G * K1
    T = -(-exits.size // GK)
    table = np.zeros(T * GK, dtype=exits.dtype)
    table[:exits.size] = exits
    table = table.reshape(T, G, K1)
    removed = table[:, :, 0].copy()  # (time, group), contiguous
    for k in range(1, K1):
        removed += table[:, :, k]
    net = removed
    src = None
    if e is not None:
        net = removed.copy()
        net.ravel()[:entered.size] -= entered
        src = _Entries(e, codes if G > 1 else None, w, G)
    # at risk at t: #(duration >= t) - #(floor(entry) >= t), a cumulative sum from the end
    at_risk = np.cumsum(net[::-1], axis=0)[::-1]
    return _groups(labels, np.arange(T, dtype="float64"), removed.T, table[:, :, 1:].transpose(1, 0, 2),
                   at_risk.T, src)


def _groups(labels, ut, removed, ev, at_risk, src) -> list[GroupCounts]:
    """One ``GroupCounts`` per used group from the (group, time) tables."""
    n_group = removed.sum(axis=1)
    result = []
    for g, label in enumerate(labels):
        if n_group[g] == 0:  # an unused category
            continue
        present = removed[g] > 0
        events = ev[g][present].astype("float64")
        result.append(GroupCounts(
            label=label, time=ut[present], at_risk=at_risk[g][present].astype("float64"), events=events,
            censored=removed[g][present].astype("float64") - events.sum(axis=1), n=float(n_group[g]),
            entry_source=src, group=g,
        ))
    return result


def _count(duration, cause_code, n_causes, e, codes, labels, w, dense_ok, bounds=None) -> list[GroupCounts]:
    """The general counting pass: sorted times, fractional durations, negative entry times."""
    n = duration.size
    G = len(labels)
    ut, index_of, last_at_or_before = _time_index(duration, dense_ok, bounds)
    T = ut.size
    # one integer per (group, time, outcome) and a single bincount: outcome 0 = censored,
    # 1..K = cause (a boolean event column is outcome 0/1 as it stands)
    K1 = n_causes + 1
    counts = np.zeros(G * T * K1, dtype="float64")
    out = np.zeros(G * T, dtype="float64")
    nonzero_n = np.zeros(G)
    buf = np.empty(min(n, _CHUNK), dtype=np.int64)
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        d = duration[sl]
        cell = index_of(d, sl, K1)  # = time index * K1
        if G > 1:
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
            raise _entry_error(e, duration, s + int(np.flatnonzero(bad)[0]))
        # rows entering at 0 (most of them) are counted in one go below; the others one by one
        nz = np.flatnonzero(ec != 0)
        c_nz = codes[sl][nz].astype(np.int64, copy=False) if G > 1 else np.zeros(nz.size, dtype=np.int64)
        w_nz = None if wc is None else wc[nz]
        last = last_at_or_before(ec[nz])  # the row is not at risk at that time nor before
        if last.size and last.min() < 0:  # entered before the first time: nothing to remove
            keep = last >= 0
            last, c_keep = last[keep], c_nz[keep]
            w_keep = None if w_nz is None else w_nz[keep]
        else:
            c_keep, w_keep = c_nz, w_nz
        if G > 1:
            last += c_keep * T
        out += np.bincount(last, weights=w_keep, minlength=out.size)
        nonzero_n += np.bincount(c_nz, weights=w_nz, minlength=G)

    counts = counts.reshape(G, T, K1)
    removed = counts.sum(axis=2)
    # at risk at ut[j] = #(duration >= ut[j]) - #(entry >= ut[j])
    at_risk = _reverse_cumsum(removed)
    src = None
    if e is not None:
        out = out.reshape(G, T)
        last0 = int(last_at_or_before(np.array([0.0]))[0])
        if last0 >= 0:
            out[:, last0] += removed.sum(axis=1) - nonzero_n  # the rows entering at 0
        at_risk = at_risk - _reverse_cumsum(out)
        src = _Entries(e, codes if G > 1 else None, w, G)
    return _groups(labels, ut, removed, counts[:, :, 1:], at_risk, src)


def step_at(times_table: np.ndarray, values: np.ndarray, times, start: float = 1.0) -> np.ndarray:
    """Evaluate a right-continuous step function (value ``start`` before the first time)."""
    idx = np.searchsorted(times_table, np.asarray(times, dtype="float64"), side="right") - 1
    padded = np.concatenate([[start], values])
    return padded[idx + 1]
