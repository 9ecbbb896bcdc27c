"""Candidate pipeline: how many A-candidates per profile-market combination, per quarter.

Employers are told how many candidates per profile-market combination (PMC)
will be available (Drechtsteden 2019). Clients move between the groups C (not
yet placeable), B (placeable within 3-6 months) and A (can work now), and leave
the benefit for work or for another reason. We treat the quarterly moves as a
Markov chain with states ``A, B, C`` and two absorbing exits ``werk`` and
``uitstroom_overig``:

.. math::

    v_{k} = v_{k-1} P + u_k

with :math:`v_k` the expected number per state after quarter :math:`k`,
:math:`P` the quarterly transition matrix and :math:`u_k` an optional inflow.
A client keeps the PMC. Clients move independently, so the count in A after
:math:`k` quarters is a sum of Bernoulli variables with variance
:math:`\\sum_s n_s p^{(k)}_{sA}(1 - p^{(k)}_{sA})`; the intervals are the normal
approximation to it (they show chance variation, not uncertainty in :math:`P`).

:func:`transition_matrix` estimates :math:`P` from an extract: a client's group
at the end of each quarter is the latest assessment's group (carried forward)
while on benefit; a benefit that ends in the quarter counts as ``werk`` when the
end reason is ``werk`` or ``werk_deels``, else ``uitstroom_overig``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from caseload.errors import CaseloadError
from caseload.schema import WORK_END_REASONS

__all__ = ["transition_matrix", "project_candidates", "STATES", "GROUPS"]

GROUPS = ["A", "B", "C"]
_CHUNK = 1_000_000  # candidate (client, period end) pairs per chunk of transition_matrix
STATES = ["A", "B", "C", "werk", "uitstroom_overig"]


def _check_columns(assessments: pd.DataFrame, spells: pd.DataFrame, segment: str) -> None:
    for col in ("client_id", "assessed_on", segment):
        if col not in assessments.columns:
            raise CaseloadError(f"assessments lack the column '{col}'.", column=col,
                                fix="Pass the canonical assessments table or name the group column with segment=.")
    for col in ("client_id", "start_date", "end_date", "end_reason"):
        if col not in spells.columns:
            raise CaseloadError(f"spells lack the column '{col}'.", column=col,
                                fix="Pass the canonical spells table.")


class _Latest:
    """Latest row per client on or before a period end, by binary search.

    Rows are sorted by client, then time (stable: among equal times the last row of
    the table wins, as with :func:`pandas.merge_asof`). A row's time is replaced by
    the index of the first period end on or after it, so that the (client, period)
    pair fits one int64 key: ``time <= ends[k]`` exactly when that index is ``<= k``.
    """

    def __init__(self, code: np.ndarray, time: np.ndarray, ends: np.ndarray):
        self.order = np.lexsort((time, code))
        self.code = code[self.order]
        self.base = len(ends) + 1
        self.key = self.code.astype("int64") * self.base + np.searchsorted(ends, time[self.order], side="left")

    def rows(self, code: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Row (in the original table) of the latest match per query; -1: none."""
        pos = np.searchsorted(self.key, code.astype("int64") * self.base + k, side="right") - 1
        ok = pos >= 0
        ok[ok] = self.code[pos[ok]] == code[ok]
        return np.where(ok, self.order[np.maximum(pos, 0)], -1)


def _period_ends(first, peildatum, freq: str) -> np.ndarray:
    periods = pd.period_range(first, pd.Timestamp(peildatum), freq=freq)
    ends = pd.DatetimeIndex(periods.end_time.normalize()).astype("datetime64[ns]")
    # The last complete period only: a period still running at the peildatum is left out.
    return ends[ends <= pd.Timestamp(peildatum)].to_numpy()


def _transition_counts(assessments: pd.DataFrame, spells: pd.DataFrame, segment: str, freq: str,
                       peildatum=None) -> pd.DataFrame:
    """Counts of moves between consecutive period ends, from A/B/C to every state.

    A client's state at a period end: the group of the latest assessment with a
    group on or before it, while on benefit (the latest spell started on or before
    it has not ended by then); ``werk`` / ``uitstroom_overig`` when that spell ended
    within the period. A move counts when the state at one period end is A, B or C
    and the state at the next is known. Only the (client, period end) pairs that can
    be in A, B or C are built (within a spell, after the client's first
    assessment): the full client x period panel (35 million rows at 500,000
    clients) is not needed to count the moves out of them.
    """
    _check_columns(assessments, spells, segment)
    group = assessments[segment]
    ass = assessments.loc[group.isin(GROUPS).to_numpy() & assessments["assessed_on"].notna().to_numpy(),
                          ["client_id", "assessed_on", segment]]
    if ass.empty:
        raise CaseloadError(f"no assessment has a group A, B or C in '{segment}'.", column=segment,
                            fix="Fill the caseworker's group or pass the segmentation output.")
    a_time = pd.to_datetime(ass["assessed_on"]).astype("datetime64[ns]").to_numpy()
    if peildatum is None:
        peildatum = pd.concat([spells["start_date"], spells["end_date"], ass["assessed_on"]]).max()
    ends = _period_ends(a_time.min(), peildatum, freq)
    n_ends = len(ends)
    counts = np.zeros((len(GROUPS), len(STATES)), dtype="int64")
    if n_ends < 2:
        return _counts_frame(counts)

    # Integer client codes of the clients with a group; other clients' spells never matter.
    a_code, clients = pd.factorize(ass["client_id"])
    g_code = pd.Categorical(ass[segment].astype("object"), categories=GROUPS).codes.astype("int8")
    s_code = pd.Index(clients).get_indexer(spells["client_id"])
    use = (s_code >= 0) & spells["start_date"].notna().to_numpy()
    s_code = s_code[use]
    s_start = spells["start_date"].to_numpy("datetime64[ns]")[use]
    s_end = spells["end_date"].to_numpy("datetime64[ns]")[use]
    s_work = spells["end_reason"].isin(WORK_END_REASONS).to_numpy()[use]
    latest_a = _Latest(a_code, a_time, ends)
    latest_s = _Latest(s_code, s_start, ends)

    # Candidates: the period ends within a spell (from its start, or the client's first
    # assessment if later, to before its end), except the last (it has no successor).
    first_ass = pd.Series(a_time).groupby(a_code).min().to_numpy("datetime64[ns]")
    k0 = np.searchsorted(ends, np.maximum(s_start, first_ass[s_code]), side="left")
    k1 = np.where(np.isnat(s_end), n_ends, np.searchsorted(ends, s_end, side="left"))
    n = np.clip(np.minimum(k1, n_ends - 1) - k0, 0, None)
    order = np.lexsort((k0, s_code))
    n, k0, sc = n[order], k0[order], s_code[order].astype("int64")
    del order

    def state(c: np.ndarray, k: np.ndarray) -> np.ndarray:
        """State code at period end ``k``: 0-2 the group, 3 werk, 4 other exit, -1 none."""
        t, prev = ends[k], ends[np.maximum(k - 1, 0)]
        a_row = latest_a.rows(c, k)
        s_row = latest_s.rows(c, k)
        has_s = s_row >= 0
        s_row = np.maximum(s_row, 0)
        end = np.where(has_s, s_end[s_row], np.datetime64("NaT"))
        ended = ~np.isnat(end)
        on = has_s & (~ended | (end > t))
        exited = ended & (end > prev) & (end <= t)
        out = np.full(len(k), -1, dtype="int8")
        sel = on & (a_row >= 0)
        out[sel] = g_code[a_row[sel]]
        work = s_work[s_row]
        out[exited & work] = 3
        out[exited & ~work] = 4
        return out

    def count(n: np.ndarray, k0: np.ndarray, sc: np.ndarray) -> None:
        """Add the moves of the candidates of these spells (whole clients) to ``counts``."""
        # In client and start order the keys come out sorted unless two spells of a
        # client overlap (then a pair comes twice); only then is a sort needed.
        start_at = np.repeat(np.cumsum(n) - n - k0, n)
        key = np.repeat(sc * n_ends, n) + (np.arange(len(start_at)) - start_at)
        del start_at
        if len(key) > 1 and not (key[1:] > key[:-1]).all():
            key = np.unique(key)
        c, k = key // n_ends, key % n_ends
        frm = state(c, k)
        # Where the next period end is a candidate too (most of a spell), its state is
        # already known; only at the end of a run is the next state looked up.
        to = np.full(len(k), -1, dtype="int8")
        run_on = np.r_[key[1:] == key[:-1] + 1, False]
        to[run_on] = frm[1:][run_on[:-1]]
        look = np.flatnonzero(~run_on & (frm >= 0))
        to[look] = state(c[look], k[look] + 1)
        ok = (frm >= 0) & (to >= 0)
        np.add.at(counts, (frm[ok], to[ok]), 1)

    # In chunks of whole clients with about a million candidates each, so that memory
    # stays flat however large the extract (the moves of a client stay in one chunk).
    cum = np.cumsum(n)
    lo = 0
    while lo < len(n):
        hi = int(np.searchsorted(cum, (cum[lo - 1] if lo else 0) + _CHUNK, side="right"))
        hi = max(hi, lo + 1)
        if hi < len(n):
            hi += int(np.searchsorted(sc[hi:], sc[hi - 1], side="right"))  # to the client's end
        count(n[lo:hi], k0[lo:hi], sc[lo:hi])
        lo = hi
    return _counts_frame(counts)


def _counts_frame(counts: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(counts, index=pd.Index(GROUPS, name="from"), columns=pd.Index(STATES, name="to"))


def transition_matrix(assessments: pd.DataFrame, spells: pd.DataFrame, freq: str = "Q",
                      segment: str = "caseworker_segment", peildatum=None) -> pd.DataFrame:
    """Quarterly transition probabilities between A, B, C and exit, from an extract.

    Parameters
    ----------
    assessments : DataFrame
        ``client_id, assessed_on`` and a group column (A/B/C).
    spells : DataFrame
        ``client_id, start_date, end_date, end_reason``.
    freq : str, default "Q"
        Period of a step (pandas period alias: ``"Q"`` quarter, ``"M"`` month).
    segment : str, default "caseworker_segment"
        Column with the group; e.g. the segmentation's output merged in.
    peildatum : date-like, optional
        Last date of the data; default the latest date in the tables.

    Returns
    -------
    DataFrame
        Index ``A, B, C`` (from), columns ``A, B, C, werk, uitstroom_overig`` (to),
        rows summing to 1. ``attrs["counts"]`` holds the transition counts and
        ``attrs["n_transitions"]`` their total.
    """
    counts = _transition_counts(assessments, spells, segment, freq, peildatum)
    totals = counts.sum(axis=1)
    empty = totals[totals == 0]
    if len(empty):
        raise CaseloadError(f"no transitions observed from group(s) {list(empty.index)}.",
                            column=segment, fix="Use a longer history or pass a transition matrix by hand.")
    probs = counts.div(totals, axis=0)
    probs.index.name, probs.columns.name = "from", "to"
    probs.attrs["counts"] = counts
    probs.attrs["n_transitions"] = int(totals.sum())
    return probs


def _full_matrix(transitions: pd.DataFrame) -> np.ndarray:
    p = transitions.reindex(index=GROUPS, columns=STATES).astype(float)
    if p.isna().any().any():
        raise CaseloadError("transition matrix lacks rows A, B, C or columns "
                            f"{STATES}.", fix="Pass the output of transition_matrix() or a full table.")
    if (p.to_numpy() < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise CaseloadError("transition probabilities must be >= 0 and each row must sum to 1.",
                            value=p.sum(axis=1).round(4).to_dict(), fix="Normalise the rows.")
    full = np.zeros((5, 5))
    full[:3] = p.to_numpy()
    full[3, 3] = full[4, 4] = 1.0  # exits are absorbing
    return full


def project_candidates(current: pd.DataFrame, transitions: pd.DataFrame, quarters: int = 4,
                       inflow: pd.DataFrame | None = None, level=(80, 95), start=None) -> pd.DataFrame:
    """Expected A-candidates per PMC in each of the next quarters (Markov chain).

    Parameters
    ----------
    current : DataFrame
        Either one row per client with ``segment`` and ``pmc`` (and optionally
        ``municipality``), or counts with an extra column ``n``.
    transitions : DataFrame
        Quarterly probabilities, index ``A, B, C``, columns ``A, B, C, werk,
        uitstroom_overig`` (as from :func:`transition_matrix`).
    quarters : int, default 4
    inflow : DataFrame, optional
        New clients per quarter: ``segment, pmc[, municipality], n``, added at the
        start of every quarter.
    level : sequence of int, default (80, 95)
        Interval levels (chance variation of the count, normal approximation).
    start : date-like, optional
        Peildatum; labels the quarters (``2026K1``). Default: quarter numbers only.

    Returns
    -------
    DataFrame
        ``[municipality,] pmc, quarter, period, A, lo_<l>, hi_<l>, B, C, werk``
        where A, B, C are expected counts at the end of the quarter and ``werk``
        the expected cumulative exits to work.
    """
    for col in ("segment", "pmc"):
        if col not in current.columns:
            raise CaseloadError(f"current table lacks the column '{col}'.", column=col,
                                fix="Pass one row per client with segment and pmc (segmentation output).")
    if quarters < 1:
        raise CaseloadError(f"quarters must be at least 1, got {quarters}.", value=quarters,
                            fix="Pass e.g. quarters=4.")
    P = _full_matrix(transitions)
    keys = ["municipality", "pmc"] if "municipality" in current.columns else ["pmc"]

    def counts(df: pd.DataFrame) -> pd.DataFrame:
        # Plain strings: categorical keys (segmentation output) would add empty combinations.
        df = df.astype({k: "string" for k in (*keys, "segment")})
        df = df[df["segment"].isin(GROUPS)]
        n = df["n"] if "n" in df.columns else pd.Series(1, index=df.index)
        c = df.assign(n=n).groupby([*keys, "segment"])["n"].sum().unstack("segment")
        return c.reindex(columns=GROUPS, fill_value=0).fillna(0)

    now = counts(current)
    add = counts(inflow) if inflow is not None else None
    if add is not None:
        now = now.reindex(now.index.union(add.index), fill_value=0)
        add = add.reindex(now.index, fill_value=0)
    levels = sorted({int(x) for x in level})
    z = {lv: norm.ppf(0.5 + lv / 200) for lv in levels}
    powers = [np.linalg.matrix_power(P, k) for k in range(quarters + 1)]
    labels = None
    if start is not None:
        first = pd.Period(pd.Timestamp(start), freq="Q") + 1
        labels = [str(first + k).replace("Q", "K") for k in range(quarters)]
    rows = []
    for key, n0 in now.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        n0 = np.concatenate([n0.to_numpy(dtype=float), [0.0, 0.0]])
        u = (np.concatenate([add.loc[key if len(key) > 1 else key[0]].to_numpy(dtype=float), [0.0, 0.0]])
             if add is not None else np.zeros(5))
        for k in range(1, quarters + 1):
            # Cohorts: the current stock moved k steps, each quarter's inflow k - j + 1 steps.
            mean = n0 @ powers[k]
            var_a = n0 @ (powers[k][:, 0] * (1 - powers[k][:, 0]))
            for j in range(1, k + 1):
                mean = mean + u @ powers[k - j + 1]
                var_a += u @ (powers[k - j + 1][:, 0] * (1 - powers[k - j + 1][:, 0]))
            row = dict(zip(keys, key, strict=True))
            row.update({"quarter": k, "period": labels[k - 1] if labels else str(k), "A": mean[0]})
            sd = np.sqrt(max(var_a, 0.0))
            for lv in levels:
                row[f"lo_{lv}"] = max(mean[0] - z[lv] * sd, 0.0)
                row[f"hi_{lv}"] = mean[0] + z[lv] * sd
            row.update({"B": mean[1], "C": mean[2], "werk": mean[3]})
            rows.append(row)
    return pd.DataFrame(rows)
