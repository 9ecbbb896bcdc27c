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
    entry_time: np.ndarray    # distinct entry times, ascending (empty without entry)
    entry_count: np.ndarray   # weighted rows per entry time

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
        if self.entry_time.size:
            etail = np.concatenate([np.cumsum(self.entry_count[::-1])[::-1], [0.0]])
            n_dur = n_dur - etail[np.searchsorted(self.entry_time, times, side="left")]
        return n_dur


def as_float_array(values, name: str) -> np.ndarray:
    """A 1-d float array; a clear error for text or missing values."""
    try:
        arr = np.asarray(values, dtype="float64").ravel()
    except (TypeError, ValueError) as exc:
        raise CaseloadError(f"'{name}' must be numeric.", column=name,
                            fix=f"Convert '{name}' to numbers (days or years) first.") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CaseloadError(f"'{name}' has {int(bad.sum())} missing or infinite value(s), first at position {i}.",
                            column=name, fix="Drop those rows or fill them; use pd.isnull to find them.")
    return arr


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
        cat = pd.Categorical(by)
        codes = np.asarray(cat.codes, dtype=np.int64)
        if (codes < 0).any():
            raise CaseloadError(f"'by' has {int((codes < 0).sum())} missing group label(s).", column="by",
                                fix="Drop rows without a group or give them an explicit label.")
        used = np.flatnonzero(np.bincount(codes, minlength=len(cat.categories)))
        remap = np.full(len(cat.categories), -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        return remap[codes], [cat.categories[i] for i in used]
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


def _distinct_times(duration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct durations and the index of each row's duration among them."""
    lo, hi = duration.min(), duration.max()
    if hi - lo <= _DENSE_RANGE and np.array_equal(duration, np.floor(duration)):
        offset = (duration - lo).astype(np.int64)
        present = np.bincount(offset, minlength=int(hi - lo) + 1) > 0
        position = np.cumsum(present) - 1
        return np.flatnonzero(present).astype("float64") + lo, position[offset]
    return np.unique(duration, return_inverse=True)


def aggregate(duration, cause_code, n_causes: int, entry=None, by=None, weights=None) -> list[GroupCounts]:
    """Counts per group and distinct time, in one pass.

    Parameters
    ----------
    duration : array of float
        Time of exit or censoring.
    cause_code : array of int
        ``-1`` censored, else the cause index ``0..n_causes-1``.
    entry : array of float, optional
        Entry (left-truncation) time; rows are at risk on ``(entry, duration]``.
    by : array-like, optional
        Group label per row.
    weights : array of float, optional
        Case weights (default 1).
    """
    duration = as_float_array(duration, "durations")
    n = duration.size
    if n == 0:
        raise CaseloadError("no rows to estimate from.", fix="Check the filters that selected the spells.")
    if (duration < 0).any():
        raise CaseloadError(f"'durations' has {int((duration < 0).sum())} negative value(s).", column="durations",
                            fix="An end date before the start date is a data error; correct or drop those spells.")
    cause_code = np.asarray(cause_code, dtype=np.int64).ravel()
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
        bad = e >= duration
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise CaseloadError(
                f"{int(bad.sum())} row(s) have an entry time not before their duration (first at position {i}: "
                f"entry {e[i]!r}, duration {duration[i]!r}); such a row is never at risk.",
                column="entry", fix="Drop spells that ended before the observation window started.")
    codes, labels = group_codes(by, n)
    G = len(labels)

    ut, t_idx = _distinct_times(duration)
    T = ut.size
    cell = codes * T + t_idx
    removed = np.bincount(cell, weights=w, minlength=G * T).reshape(G, T)
    observed = cause_code >= 0
    if n_causes == 1:
        ev = np.bincount(cell[observed], weights=None if w is None else w[observed],
                         minlength=G * T).reshape(G, T, 1)
    else:
        ev = np.bincount(cell[observed] * n_causes + cause_code[observed],
                         weights=None if w is None else w[observed],
                         minlength=G * T * n_causes).reshape(G, T, n_causes)
    # at risk at ut[j] = #(duration >= ut[j]) - #(entry >= ut[j])
    at_risk = np.cumsum(removed[:, ::-1], axis=1)[:, ::-1]
    if e is not None:
        # last distinct time <= entry: the row is not at risk there nor before
        last = np.searchsorted(ut, e, side="right") - 1
        keep = last >= 0
        out = np.bincount(codes[keep] * T + last[keep], weights=None if w is None else w[keep],
                          minlength=G * T).reshape(G, T)
        at_risk = at_risk - np.cumsum(out[:, ::-1], axis=1)[:, ::-1]
    n_group = np.bincount(codes, weights=w, minlength=G)

    result = []
    for g, label in enumerate(labels):
        present = removed[g] > 0
        events = ev[g][present].astype("float64")
        if e is not None:
            mask = codes == g
            et, inv = np.unique(e[mask], return_inverse=True)
            ec = np.bincount(inv, weights=None if w is None else w[mask], minlength=et.size).astype("float64")
            late = float(ec[et > 0].sum())
        else:
            et, ec, late = np.empty(0), np.empty(0), 0.0
        result.append(GroupCounts(
            label=label, time=ut[present], at_risk=at_risk[g][present].astype("float64"), events=events,
            censored=removed[g][present] - events.sum(axis=1), n=float(n_group[g]), n_late=late,
            entry_time=et, entry_count=ec,
        ))
    return result


def step_at(times_table: np.ndarray, values: np.ndarray, times, start: float = 1.0) -> np.ndarray:
    """Evaluate a right-continuous step function (value ``start`` before the first time)."""
    idx = np.searchsorted(times_table, np.asarray(times, dtype="float64"), side="right") - 1
    padded = np.concatenate([[start], values])
    return padded[idx + 1]
