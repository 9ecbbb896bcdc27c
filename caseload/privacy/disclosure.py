"""Disclosure control: primary and secondary suppression of small cells, percentages on
suppressed bases, and tidy tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.privacy.bsn import _plain

# ------------------------------------------------------------ disclosure control


@dataclass
class SuppressionResult:
    """A table after small-cell suppression.

    Attributes
    ----------
    table : DataFrame
        The counts as float, ``NaN`` where suppressed (publish as an empty cell or a
        dot).
    suppressed : DataFrame or Series of bool
        True where a cell is suppressed (primary or secondary).
    primary : DataFrame or Series of bool
        True where the cell itself is a small count.
    threshold : int
        Counts from 1 to ``threshold - 1`` were suppressed.
    n_primary, n_secondary : int
        Number of primary and of complementary (secondary) suppressions.
    unprotected : list
        Suppressed cells that no complementary suppression can protect (the table has
        no other cell to pair them with); empty in practice. Their value still follows
        from the totals: do not publish those totals.
    """

    table: pd.DataFrame
    suppressed: pd.DataFrame | pd.Series
    primary: pd.DataFrame | pd.Series
    threshold: int
    n_primary: int
    n_secondary: int
    unprotected: list = field(default_factory=list)

    def note(self, lang: str = "nl") -> str:
        """The suppression rule in one sentence, for the footer of a table or figure."""
        k = self.threshold - 1
        if lang == "nl":
            return (f"Aantallen van 1 tot en met {k} zijn niet getoond, en zo nodig ook "
                    "andere cellen, zodat ze niet uit de totalen terug te rekenen zijn.")
        return (f"Counts of 1 to {k} are not shown, nor, where needed, other cells from "
                "which they could be recomputed using the totals.")


def _bridges(n_nodes: int, edges: Sequence[tuple[int, int]]) -> set[int]:
    """Indices of the bridges of a multigraph (Tarjan's algorithm, iterative).

    A bridge is an edge on no cycle. In the graph whose nodes are the published sums
    (one per row and per column) and whose edges are the suppressed cells, a cell's
    value is determined by the sums exactly when its edge is a bridge.
    """
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        adj[u].append((v, k))
        adj[v].append((u, k))
    disc = [-1] * n_nodes
    low = [0] * n_nodes
    clock = 0
    found: set[int] = set()
    for root in range(n_nodes):
        if disc[root] != -1 or not adj[root]:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            u, parent_edge, it = stack[-1]
            for v, k in it:
                if k == parent_edge:
                    continue
                if disc[v] == -1:
                    disc[v] = low[v] = clock
                    clock += 1
                    stack.append((v, k, iter(adj[v])))
                    break
                low[u] = min(low[u], disc[v])
            else:
                stack.pop()
                if stack:
                    p = stack[-1][0]
                    low[p] = min(low[p], low[u])
                    if low[u] > disc[p]:
                        found.add(parent_edge)
    return found


def _cheapest_path(n_nodes, edges, costs, start, goal, banned):
    """Edge indices of the cheapest path from ``start`` to ``goal`` (Dijkstra).

    ``costs`` are tuples compared lexicographically and added element-wise; ``banned``
    is the edge that must not be used. None if ``goal`` cannot be reached.
    """
    import heapq

    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        if k == banned or costs[k] is None:
            continue
        adj[u].append((v, k))
        adj[v].append((u, k))
    zero = (0,) * len(next(c for c in costs if c is not None))
    best = {start: zero}
    via: dict[int, tuple[int, int]] = {}
    heap = [(zero, start)]
    while heap:
        cost, u = heapq.heappop(heap)
        if u == goal:
            break
        if cost > best.get(u, cost):
            continue
        for v, k in adj[u]:
            new = tuple(a + b for a, b in zip(cost, costs[k], strict=True))
            if v not in best or new < best[v]:
                best[v] = new
                via[v] = (u, k)
                heapq.heappush(heap, (new, v))
    if goal not in best:
        return None
    path, node = [], goal
    while node != start:
        node, k = via[node]
        path.append(k)
    return path


def _protect(n_nodes, edges, values, is_total, primary, suppress_zeros):
    """Complementary suppression on the sums graph until no suppressed cell is a bridge.

    Returns the final boolean mask over the edges and the list of edges that could not
    be protected.
    """
    suppressed = np.asarray(primary, dtype=bool).copy()
    unprotected: set[int] = set()
    while True:
        cells = np.flatnonzero(suppressed)
        sub = [edges[k] for k in cells]
        bridges = sorted(
            (int(cells[b]) for b in _bridges(n_nodes, sub)),
            # Protect primary cells first, then complements; smaller counts first.
            key=lambda k: (not primary[k], values[k], k),
        )
        bridges = [k for k in bridges if k not in unprotected]
        if not bridges:
            return suppressed, sorted(unprotected)
        k = bridges[0]
        costs = [
            (0, 0, 0.0, 0) if suppressed[j] else
            (int(is_total[j]), int(values[j] == 0 and not suppress_zeros), float(values[j]), 1)
            for j in range(len(edges))
        ]
        path = _cheapest_path(n_nodes, edges, costs, edges[k][0], edges[k][1], banned=k)
        if path is None:
            unprotected.add(k)
            continue
        suppressed[path] = True


def _count_frame(table: pd.DataFrame, what: str) -> np.ndarray:
    values = table.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise CaseloadError(
            f"{what}: counts must be non-negative numbers without gaps.",
            row=_plain(table.index[r]),
            column=_plain(table.columns[c]),
            value=_plain(table.iat[r, c]),
            fix="fill structural gaps with 0 before suppression (pivot_table(fill_value=0)).",
        )
    return values


def suppress_small_cells(
    table: pd.DataFrame,
    threshold: int = 5,
    *,
    row_total: Hashable | None = None,
    col_total: Hashable | None = None,
    secondary: bool = True,
    suppress_zeros: bool = False,
    forced=None,
) -> SuppressionResult:
    """Small-cell suppression of a two-way count table, with complementary cells.

    Parameters
    ----------
    table : DataFrame
        Counts (index x columns), e.g. clients by ladder step and municipality.
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are suppressed (primary suppression).
    row_total : label, optional
        Label of the total *row* (holding the column totals), e.g. ``"Totaal"``.
    col_total : label, optional
        Label of the total *column* (holding the row totals).
    secondary : bool, default True
        Add complementary suppressions so that no suppressed cell can be recomputed
        from the totals.
    suppress_zeros : bool, default False
        Also suppress zero counts. Off by default: under the usual threshold rule a zero
        discloses nothing about a person (there is nobody in the cell), and zeros are
        often structural (no statushouders in an age band they cannot be in). Switch on
        when "nobody in this group did X" would itself be sensitive.
    forced : array-like of bool, optional
        Cells to suppress in any case (complements chosen by the relation audit of
        :mod:`caseload.privacy.audit`); they count as secondary suppressions.

    Returns
    -------
    SuppressionResult
        ``table`` with NaN in suppressed cells, the ``suppressed`` and ``primary``
        masks, their counts, and ``note(lang)`` for the footer.

    Notes
    -----
    *Primary.* Cells (totals included) with ``0 < n < threshold``.

    *Secondary (complementary) suppression.* Every row and every column is a published
    sum: either its total is in the table, or it could be added up from another
    publication, so the method assumes every row and column total is known (a
    one-row table has no column sums). Think of a graph whose nodes are these sums and
    whose edges are the suppressed cells (a cell joins its row and its column). A
    suppressed cell can be recomputed exactly from the published numbers if and only if
    its edge lies on no cycle (is a *bridge*); the total row and column are part of the
    graph too. The method repeatedly takes a bridge (primary cells first, smallest
    first) and suppresses the cheapest set of further cells that closes a cycle through
    it -- for a cell in the body of the table that is usually the rectangle of the
    classic hypercube method: one cell in its row, one in its column, and the cell
    where those cross. "Cheapest" prefers, in this order, cells that are not totals,
    non-zero cells, the smallest sum of counts, and the fewest cells. It stops when no
    suppressed cell is a bridge. This guarantees:

    - no suppressed cell can be recomputed exactly from the table and its row and
      column totals, even by combining several rows and columns;
    - hence every row and column with a suppressed cell has at least two.

    It does not guarantee a minimal number of suppressions (that is an integer
    programme, as in tau-Argus's optimal method), nor a minimum width of the interval
    in which an attacker can place a suppressed value: with small complements the
    interval can be narrow (a 2 paired with a 3 shows the pair adds up to 5). It knows
    only this table: if the same counts are published in another table with a
    different breakdown, protect the tables together.

    Examples
    --------
    >>> t = pd.DataFrame({"A": [20, 3, 15], "B": [12, 30, 9], "C": [8, 11, 25]},
    ...                  index=["x", "y", "z"])
    >>> res = suppress_small_cells(t)
    >>> int(res.n_primary), int(res.n_secondary)
    (1, 3)
    >>> res.table.isna().sum().tolist()
    [2, 0, 2]
    """
    if threshold < 1:
        raise CaseloadError("the suppression threshold must be at least 1.",
                            value=threshold, fix="use e.g. threshold=5.")
    for name, label, axis in (("row_total", row_total, table.index),
                              ("col_total", col_total, table.columns)):
        if label is not None and sum(lab == label for lab in axis) != 1:
            raise CaseloadError(
                f"{name} {label!r} must be the label of exactly one "
                f"{'row' if name == 'row_total' else 'column'} of the table.",
                fix=f"pass one of {list(axis)[:10]!r}, or None if the table has no total.",
            )
    values = _count_frame(table, "suppress_small_cells")
    if suppress_zeros:
        primary = values < threshold
    else:
        primary = (values > 0) & (values < threshold)
    start = primary | (np.asarray(forced, dtype=bool) if forced is not None else False)
    suppressed = start.copy()
    unprotected: list = []
    if secondary and start.any():
        suppressed, unprotected = _secondary_2d(table, values, start, row_total, col_total,
                                                suppress_zeros)
    masked = pd.DataFrame(np.where(suppressed, np.nan, values), index=table.index,
                          columns=table.columns)
    supp = pd.DataFrame(suppressed, index=table.index, columns=table.columns)
    prim = pd.DataFrame(primary, index=table.index, columns=table.columns)
    if unprotected:
        warnings.warn(
            f"{len(unprotected)} suppressed cell(s) cannot be protected by complementary "
            "suppression (no other cell to pair them with); do not publish their totals.",
            UserWarning, stacklevel=2,
        )
    return SuppressionResult(masked, supp, prim, threshold, int(primary.sum()),
                             int((suppressed & ~primary).sum()), unprotected)


def _secondary_2d(table, values, primary, row_total, col_total, suppress_zeros):
    """Map a 2-D table (with optional margins) onto the sums graph and protect it."""
    nrow, ncol = values.shape
    row_is_total = np.array([lab == row_total for lab in table.index]) if row_total is not None \
        else np.zeros(nrow, dtype=bool)
    col_is_total = np.array([lab == col_total for lab in table.columns]) \
        if col_total is not None else np.zeros(ncol, dtype=bool)
    m = int((~row_is_total).sum())
    n = int((~col_is_total).sum())
    # Which sums exist: rows add up to a (explicit or implied) row total when there is a
    # total column or at least two columns; likewise for columns.
    row_sums = col_total is not None or n >= 2
    col_sums = row_total is not None or m >= 2
    free = (m + 1) + (n + 1)
    row_node = np.where(row_is_total, m, np.cumsum(~row_is_total) - 1)
    col_node = np.where(col_is_total, n, np.cumsum(~col_is_total) - 1)
    edges, vals, is_total, prim, where = [], [], [], [], []
    for i in range(nrow):
        for j in range(ncol):
            u = int(row_node[i]) if row_sums else free
            v = (m + 1) + int(col_node[j]) if col_sums else free
            edges.append((u, v))
            vals.append(values[i, j])
            is_total.append(bool(row_is_total[i] or col_is_total[j]))
            prim.append(bool(primary[i, j]))
            where.append((i, j))
    mask, unprotected = _protect(free + 1, edges, vals, is_total, prim, suppress_zeros)
    out = np.zeros_like(primary)
    for k, (i, j) in enumerate(where):
        out[i, j] = mask[k]
    return out, [(_plain(table.index[where[k][0]]), _plain(table.columns[where[k][1]]))
                 for k in unprotected]


def _align(other, like, what: str, axis: str | None):
    """``other`` (DataFrame, Series or scalar) broadcast to the shape of ``like``."""
    if isinstance(other, SuppressionResult):
        other = other.table
    if not isinstance(other, pd.Series | pd.DataFrame):
        return pd.DataFrame(other, index=like.index, columns=like.columns) \
            if isinstance(like, pd.DataFrame) else pd.Series(other, index=like.index)
    if isinstance(like, pd.Series):
        if isinstance(other, pd.DataFrame):
            raise CaseloadError(f"{what} is a table but the percentages are a single column.",
                                fix=f"pass {what} as a Series with the same index.")
        return other.reindex(like.index)
    if isinstance(other, pd.DataFrame):
        return other.reindex(index=like.index, columns=like.columns)
    if axis is None:
        on_index = other.index.equals(like.index)
        on_columns = other.index.equals(like.columns)
        if on_index == on_columns:
            raise CaseloadError(
                f"cannot tell whether {what} holds one value per row or per column.",
                fix="pass axis='index' (one base per row) or axis='columns'.",
            )
        axis = "index" if on_index else "columns"
    if axis == "index":
        arr = np.repeat(other.reindex(like.index).to_numpy()[:, None], len(like.columns), axis=1)
    else:
        arr = np.repeat(other.reindex(like.columns).to_numpy()[None, :], len(like.index), axis=0)
    return pd.DataFrame(arr, index=like.index, columns=like.columns)


def suppress_percentages(
    pct_table: pd.DataFrame | pd.Series,
    base_counts,
    threshold: int = 5,
    *,
    suppressed=None,
    scale: float = 100.0,
    axis: str | None = None,
):
    """Blank percentages that would disclose a small count.

    A percentage is blanked (NaN) when

    - its base (denominator) is below ``threshold`` or is itself missing/suppressed --
      "50% of 2 clients" discloses a person, and a percentage on a suppressed base
      would let the base be recomputed;
    - the count it was computed from is suppressed (``suppressed`` mask);
    - the count it implies, ``round(pct / scale * base)``, lies between 1 and
      ``threshold - 1``: 3% of 100 discloses 3 people as surely as the count does.

    Parameters
    ----------
    pct_table : DataFrame or Series
        Percentages (0-100 with the default ``scale``; use ``scale=1`` for shares).
    base_counts : DataFrame, Series, scalar or SuppressionResult
        The denominators: a table like ``pct_table``, or one base per row or per column
        (a Series on the index or on the columns of ``pct_table``).
    threshold : int, default 5
        Same threshold as for the counts.
    suppressed : DataFrame, Series or SuppressionResult, optional
        Suppression mask of the numerator counts, e.g. from :func:`suppress_small_cells`
        on the count table the percentages come from. Pass it whenever percentages of a
        row add up to 100%: it carries the complementary suppressions, without which a
        single blanked percentage is 100 minus the others.
    scale : float, default 100
        100 for percentages, 1 for proportions.
    axis : {"index", "columns"}, optional
        Where a Series of bases belongs when that cannot be told from its labels.

    Returns
    -------
    DataFrame or Series
        ``pct_table`` as float with NaN where blanked.

    Examples
    --------
    >>> pct = pd.Series([50.0, 3.0, 40.0], index=["a", "b", "c"])
    >>> base = pd.Series([2, 100, 50], index=["a", "b", "c"])
    >>> suppress_percentages(pct, base).tolist()
    [nan, nan, 40.0]
    """
    pct = pct_table.astype(float)
    base = _align(base_counts, pct, "base_counts", axis).apply(pd.to_numeric, errors="coerce") \
        if isinstance(pct, pd.DataFrame) else pd.to_numeric(
            _align(base_counts, pct, "base_counts", axis), errors="coerce")
    base_v = base.to_numpy(dtype=float, na_value=np.nan)
    pct_v = pct.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        blank = ~(base_v >= threshold)
        implied = np.rint(pct_v / scale * base_v)
        blank |= (implied >= 1) & (implied < threshold)
    if suppressed is not None:
        mask = suppressed.suppressed if isinstance(suppressed, SuppressionResult) else suppressed
        mask = _align(mask, pct, "suppressed", axis)
        blank |= mask.fillna(False).to_numpy(dtype=bool)
    out = pct.copy()
    out[:] = np.where(blank, np.nan, pct_v)
    return out


def _groupings(by) -> list[list[Hashable]]:
    if by is None:
        return [[]]
    if isinstance(by, str) or not isinstance(by, Sequence):
        return [[by]]
    by = list(by)
    if by and all(isinstance(b, list | tuple) for b in by):
        return [list(b) for b in by]
    return [by]


def suppress_long(
    df: pd.DataFrame,
    count_col: str,
    by=None,
    threshold: int = 5,
    *,
    secondary: bool = True,
    suppress_zeros: bool = False,
    forced=None,
) -> SuppressionResult:
    """Small-cell suppression of a tidy table with one count column.

    Parameters
    ----------
    df : DataFrame
        One row per cell (e.g. municipality, sector, ``n``); no total rows.
    count_col : str
        The count column.
    by : column, list of columns, or list of such lists, optional
        The groupings whose sums are published (or can be added up by a reader):
        ``"municipality"`` means the counts of each municipality add up to a published
        municipal total; ``[["municipality"], ["sector"]]`` means totals per
        municipality and per sector are both known. None: the whole column adds up to
        a published grand total.
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are suppressed.
    secondary : bool, default True
        Add complementary suppressions within the groupings.
    suppress_zeros : bool, default False
        See :func:`suppress_small_cells`.
    forced : array-like of bool, optional
        Rows whose count is suppressed in any case (see :func:`suppress_small_cells`).

    Returns
    -------
    SuppressionResult
        ``table`` is ``df`` with ``count_col`` as float and NaN where suppressed; the
        masks are Series on ``df.index``.

    Notes
    -----
    What is guaranteed, by the number of groupings:

    - one grouping (or None): every group has no suppressed count or at least two, so
      no suppressed count follows from its group total;
    - two groupings (two-way totals): no suppressed count can be recomputed exactly from
      the group totals of both groupings together -- the same graph method and
      guarantee as :func:`suppress_small_cells`;
    - three or more: every group of every grouping has none or at least two suppressed
      counts (greedy, smallest complements first, repeated until stable); combinations
      of groupings are not checked.

    A group of a single row cannot be protected (its total is the count); such cells
    are listed in ``unprotected`` and a warning says not to publish their totals.
    """
    if count_col not in df.columns:
        raise CaseloadError("the count column is not in the table.", column=count_col,
                            fix=f"pass one of {list(df.columns)!r}.")
    groupings = _groupings(by)
    for cols in groupings:
        for c in cols:
            if c not in df.columns:
                raise CaseloadError("a grouping column of `by` is not in the table.",
                                    column=c, fix=f"pass columns of {list(df.columns)!r}.")
    values = _count_frame(df[[count_col]], "suppress_long")[:, 0]
    primary = (values < threshold) if suppress_zeros else (values > 0) & (values < threshold)
    start = primary | (np.asarray(forced, dtype=bool) if forced is not None else False)
    suppressed = start.copy()
    unprotected: list = []
    codes = [
        df.groupby(cols, dropna=False, sort=False).ngroup().to_numpy() if cols
        else np.zeros(len(df), dtype=np.int64)
        for cols in groupings
    ]
    if secondary and start.any():
        if len(groupings) <= 2:
            g1 = int(codes[0].max()) + 1 if len(df) else 0
            free = g1 + (int(codes[1].max()) + 1 if len(codes) == 2 else 0)
            second = g1 + codes[1] if len(codes) == 2 else np.full(len(df), free)
            edges = list(zip(codes[0].tolist(), second.tolist(), strict=True))
            suppressed, bad = _protect(free + 1, edges, values.tolist(), [False] * len(df),
                                       start.tolist(), suppress_zeros)
            unprotected = [_plain(df.index[k]) for k in bad]
        else:
            suppressed, bad = _greedy_groups(codes, values, start, suppress_zeros)
            unprotected = [_plain(df.index[k]) for k in bad]
    table = df.copy()
    table[count_col] = np.where(suppressed, np.nan, values)
    if unprotected:
        warnings.warn(
            f"{len(unprotected)} suppressed count(s) are the only row of their group and "
            "cannot be protected; do not publish the totals of those groups.",
            UserWarning, stacklevel=2,
        )
    return SuppressionResult(
        table, pd.Series(suppressed, index=df.index, name="suppressed"),
        pd.Series(primary, index=df.index, name="primary"), threshold,
        int(primary.sum()), int((suppressed & ~primary).sum()), unprotected,
    )


def _greedy_groups(codes, values, primary, suppress_zeros):
    """At least two suppressed cells in every group that has one (any number of groupings)."""
    suppressed = primary.copy()
    # Zero counts are complements of last resort (see suppress_small_cells).
    is_zero = ((values == 0) & (not suppress_zeros)).astype(int)
    alone: set[int] = set()
    changed = True
    while changed:
        changed = False
        for code in codes:
            counts = np.bincount(code, weights=suppressed, minlength=code.max() + 1)
            for g in np.flatnonzero(counts == 1):
                members = np.flatnonzero((code == g) & ~suppressed)
                if len(members) == 0:
                    alone.update(np.flatnonzero((code == g) & suppressed).tolist())
                    continue
                pick = members[np.lexsort((members, values[members], is_zero[members]))[0]]
                suppressed[pick] = True
                changed = True
    return suppressed, sorted(alone)
