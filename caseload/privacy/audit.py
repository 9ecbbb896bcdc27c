"""Disclosure audit by linear programming: how far can a reader narrow a suppressed cell?

Every published table declares the linear relations a reader knows between its cells and
the cells of the other tables in the same report (:class:`Relation`): totals, identities
such as stock(t) = stock(t-1) + inflow(t) - outflow(t), derived columns such as
contacts = clients x contacts per client, the same count in another table. Given the
published values, these relations and non-negativity of counts, the audit computes for
every suppressed cell the smallest and the largest value it can take (two linear
programmes per cell, solved with :func:`scipy.optimize.linprog`, method ``"highs"``;
integrality is not imposed, which can only widen an interval). A cell is *disclosed*
when that interval is narrower than the protection level.

This is the audit Statistics Netherlands runs on its tables in tau-ARGUS. It checks what
is declared: a relation that is published but not declared is not taken into account.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from caseload.errors import CaseloadError

#: Interval widths below the protection level by less than this count as wide enough
#: (the solver's tolerance).
TOLERANCE = 1e-6


class AuditError(CaseloadError):
    """The published values contradict the declared relations, or a relation is malformed."""


# ------------------------------------------------------------------ relations


@dataclass(frozen=True)
class Cell:
    """One cell of a published table.

    Parameters
    ----------
    table : str
        Name of the table (``tables/<table>.csv``).
    row : int or str
        Row position (0 = first data row) or the label of the row in the table's first
        column (resolved when the report is written).
    column : str or int
        Column name in the unlabelled data, or its position.
    """

    table: str
    row: int | str
    column: str | int


@dataclass(frozen=True)
class Relation:
    """A linear relation ``sum(coef * cell) (== or <=) rhs`` that a reader of the report knows.

    Parameters
    ----------
    terms : sequence of (Cell, float)
    op : {"==", "<="}
    rhs : float
    kind : str
        What it is, for the audit listing: ``"total"``, ``"identity"``, ``"derived"``,
        ``"same_count"``, ``"bound"``.
    note : str
        One line in words, e.g. ``"stock(t) = stock(t-1) + inflow(t) - outflow(t)"``.
    """

    terms: tuple[tuple[Cell, float], ...]
    op: Literal["==", "<="] = "=="
    rhs: float = 0.0
    kind: str = "total"
    note: str = ""

    def __post_init__(self) -> None:
        if self.op not in ("==", "<="):
            raise AuditError(f"relation operator {self.op!r} is not '==' or '<='.",
                             fix="Write a >= b as -a <= -b.")
        object.__setattr__(self, "terms", tuple((c, float(k)) for c, k in self.terms))


def sum_relation(parts: Iterable[Cell], total: Cell, *, note: str = "", kind: str = "total") -> Relation:
    """``sum(parts) == total``."""
    return Relation(tuple((c, 1.0) for c in parts) + ((total, -1.0),), "==", 0.0, kind, note)


def same_count(a: Cell, b: Cell, *, note: str = "") -> Relation:
    """The same number published twice: ``a == b``."""
    return Relation(((a, 1.0), (b, -1.0)), "==", 0.0, "same_count", note)


def at_most(part: Cell, whole: Cell, *, note: str = "") -> Relation:
    """``part <= whole`` (e.g. outflow to work <= outflow)."""
    return Relation(((part, 1.0), (whole, -1.0)), "<=", 0.0, "bound", note)


def column_sums(table: str, columns: Sequence[str], rows: Sequence[int], total_row: int, *,
                note: str = "") -> list[Relation]:
    """For each column: the rows add up to the total row."""
    return [sum_relation([Cell(table, r, c) for r in rows], Cell(table, total_row, c),
                         note=note or f"{c}: rows add up to the total row")
            for c in columns]


def row_sums(table: str, columns: Sequence[str], total_column: str, rows: Sequence[int], *,
             note: str = "") -> list[Relation]:
    """For each row: the columns add up to the total column."""
    return [sum_relation([Cell(table, r, c) for c in columns], Cell(table, r, total_column),
                         note=note or f"row {r}: columns add up to {total_column}")
            for r in rows]


def stock_identity(table: str, stock: str, inflow: str, outflow: str, n_rows: int, *,
                   previous: Cell | Sequence[Cell] | None = None) -> list[Relation]:
    """stock(t) = stock(t-1) + inflow(t) - outflow(t) for consecutive rows.

    ``previous``: the cell(s) that add up to the stock before the first row, when the
    report publishes it elsewhere (e.g. year-end stocks per municipality).
    """
    note = f"{stock}(t) = {stock}(t-1) + {inflow}(t) - {outflow}(t)"
    out = []
    for t in range(1, n_rows):
        out.append(Relation(((Cell(table, t, stock), 1.0), (Cell(table, t - 1, stock), -1.0),
                             (Cell(table, t, inflow), -1.0), (Cell(table, t, outflow), 1.0)),
                            "==", 0.0, "identity", note))
    if previous is not None and n_rows:
        prev = [previous] if isinstance(previous, Cell) else list(previous)
        out.append(Relation(((Cell(table, 0, stock), 1.0), *((c, -1.0) for c in prev),
                             (Cell(table, 0, inflow), -1.0), (Cell(table, 0, outflow), 1.0)),
                            "==", 0.0, "identity", note))
    return out


def product_relations(table: str, target: str, base: str, factors: Mapping[int, float], *,
                      note: str = "") -> list[Relation]:
    """Derived column: ``target(r) == factor(r) * base(r)`` for the rows in ``factors``.

    The factors are published constants (e.g. contacts per client per year).
    """
    return [Relation(((Cell(table, r, target), 1.0), (Cell(table, r, base), -float(f))), "==",
                     0.0, "derived", note or f"{target} = factor x {base}")
            for r, f in factors.items() if np.isfinite(f)]


# ------------------------------------------------------------------ the audit


@dataclass
class PublishedTable:
    """A table as the reader sees it, for the audit.

    Parameters
    ----------
    name : str
    values : ndarray of float, shape (rows, columns)
        Published numbers; NaN where nothing (or no number) is shown.
    suppressed : ndarray of bool, same shape
        True where a value was suppressed by disclosure control.
    halfwidth : ndarray of float, shape (columns,)
        Half a unit of the last published decimal per column (0 for exact counts): the
        true value lies within +- this of the published one.
    nonnegative : ndarray of bool, shape (columns,)
        Columns whose true values cannot be negative (counts, derived amounts).
    columns : list of str
        Column headers, for the listing.
    row_labels : list of str
        The first column's text per row, for the listing.
    protect : ndarray of bool, shape (columns,), optional
        Columns whose suppressed cells must keep an interval of at least the
        protection level: the counts of persons (default all). Other suppressed
        cells (a percentage or an amount derived from a count) are listed with their
        interval; their count is what is protected, through the relations.
    """

    name: str
    values: np.ndarray
    suppressed: np.ndarray
    halfwidth: np.ndarray
    nonnegative: np.ndarray
    columns: list[str] = field(default_factory=list)
    row_labels: list[str] = field(default_factory=list)
    protect: np.ndarray | None = None


@dataclass(frozen=True)
class CellInterval:
    """The feasible interval of one suppressed cell."""

    table: str
    row: int
    column: int
    low: float
    high: float
    disclosed: bool
    relations: int

    @property
    def width(self) -> float:
        return self.high - self.low


def _narrow(low: float, high: float, protection: float) -> bool:
    """Disclosed: an interval narrower than the protection level, unless it is [0, 0].

    A count the relations pin to zero reveals nobody, and zeros are published anyway.
    """
    return bool(high - low < protection - TOLERANCE and high > TOLERANCE)


def resolve_cell(cell: Cell, tables: Mapping[str, PublishedTable],
                 row_labels: Mapping[str, Sequence[str]] | None = None,
                 column_names: Mapping[str, Sequence[str]] | None = None) -> tuple[str, int, int]:
    """(table, row position, column position) of a :class:`Cell`; a clear error when absent."""
    if cell.table not in tables:
        raise AuditError(f"a relation refers to table {cell.table!r}, which is not in the report.",
                         fix="Declare relations only with tables of the same report.")
    t = tables[cell.table]
    row, col = cell.row, cell.column
    if isinstance(row, str):
        labels = list((row_labels or {}).get(cell.table, []))
        hits = [i for i, lab in enumerate(labels) if lab == row]
        if len(hits) != 1:
            raise AuditError(f"table {cell.table!r}: row label {row!r} occurs {len(hits)} times "
                             "in the first column.", fix="Refer to the row by its position.")
        row = hits[0]
    if isinstance(col, str):
        names = list((column_names or {}).get(cell.table, t.columns))
        if col not in names:
            raise AuditError(f"table {cell.table!r}: a relation names column {col!r}, which it "
                             f"does not have (columns: {names}).", fix="Name an existing column.")
        col = names.index(col)
    if not (0 <= int(row) < t.values.shape[0] and 0 <= int(col) < t.values.shape[1]):
        raise AuditError(f"table {cell.table!r}: a relation refers to row {row}, column {col}, "
                         f"outside the table ({t.values.shape[0]} x {t.values.shape[1]}).",
                         fix="Declare relations on the rows the table has.")
    return cell.table, int(row), int(col)


def audit_cells(tables: Mapping[str, PublishedTable],
                relations: Sequence[tuple[Sequence[tuple[tuple[str, int, int], float]], str, float]],
                protection: float, *, cache: dict | None = None,
                counts_only: bool = False, only: set | None = None) -> list[CellInterval]:
    """Feasible interval of every suppressed cell under the relations (scipy HiGHS).

    Parameters
    ----------
    tables : mapping of name to PublishedTable
    relations : sequence of (terms, op, rhs)
        Resolved relations: ``terms`` are ((table, row, column), coefficient) pairs.
    protection : float
        A suppressed count is disclosed when ``high - low < protection``.
    cache : dict, optional
        Intervals of earlier calls by linear programme; pass the same dict to calls
        that repeat most programmes (the rounds of complementary suppression).
    counts_only : bool
        Solve only for the cells that are judged (``protect``); the others get an
        infinite interval. For the rounds of complementary suppression.
    only : set of (table, row, column), optional
        Solve only for these cells (the others get an infinite interval).

    Returns
    -------
    list of CellInterval
        One per suppressed cell, in table order. A cell in no relation gets the
        interval [0, inf) (or (-inf, inf) in a column that may be negative).

    Raises
    ------
    AuditError
        When the published values contradict the relations (no value of the suppressed
        cells satisfies them): a relation is declared wrongly.
    """
    from scipy.optimize import linprog
    from scipy.sparse import csr_array

    # Variables: every cell that occurs in a relation; union-find into independent parts.
    index: dict[tuple[str, int, int], int] = {}
    rel_vars: list[list[tuple[int, float]]] = []
    for terms, _op, _rhs in relations:
        row = []
        for key, coef in terms:
            if key not in index:
                index[key] = len(index)
            row.append((index[key], float(coef)))
        rel_vars.append(row)
    parent = list(range(len(index)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in rel_vars:
        for (a, _), (b, _) in zip(row, row[1:], strict=False):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    keys = list(index)
    bounds: list[tuple[float | None, float | None]] = []
    unknown = np.zeros(len(keys), dtype=bool)
    for i, (name, r, c) in enumerate(keys):
        t = tables[name]
        lo = 0.0 if t.nonnegative[c] else None
        if t.suppressed[r, c] or not np.isfinite(t.values[r, c]):
            bounds.append((lo, None))
            unknown[i] = bool(t.suppressed[r, c]) and not (
                counts_only and t.protect is not None and not t.protect[c]) and (
                only is None or (name, r, c) in only)
        else:
            h = float(t.halfwidth[c])
            v = float(t.values[r, c])
            bounds.append((v - h if lo is None else max(lo, v - h), v + h))
    n_rel = np.zeros(len(keys), dtype=int)
    for row in rel_vars:
        for i, _ in row:
            n_rel[i] += 1
    components: dict[int, list[int]] = {}
    for i in range(len(keys)):
        components.setdefault(find(i), []).append(i)
    rel_of: dict[int, list[int]] = {}
    for k, row in enumerate(rel_vars):
        rel_of.setdefault(find(row[0][0]), []).append(k)
    found: dict[tuple[str, int, int], tuple[float, float]] = {}
    for k, row in enumerate(rel_vars):
        # A relation between published cells only: check that it holds (within rounding).
        lows, highs = [], []
        for i, coef in row:
            lo, hi = bounds[i]
            if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)) \
                    or keys[i] and tables[keys[i][0]].suppressed[keys[i][1], keys[i][2]]:
                break
            lows.append(min(coef * lo, coef * hi))
            highs.append(max(coef * lo, coef * hi))
        else:
            _terms, op, rhs = relations[k]
            slack = 1e-7 * (1 + sum(abs(x) for x in highs))
            if sum(lows) > rhs + slack or (op == "==" and sum(highs) < rhs - slack):
                name, r, c = keys[row[0][0]]
                raise AuditError(
                    f"table {name!r}: the published values contradict a declared relation "
                    f"(row {r + 1}): the terms add up to {sum(lows):g}..{sum(highs):g}, not {rhs:g}.",
                    fix="Check the relations declared for this table (a total over other rows, "
                        "a rounding not declared in the decimals).")
    for root, members in components.items():
        if not unknown[members].any():
            continue
        local = {g: j for j, g in enumerate(members)}
        eq_r, eq_c, eq_v, b_eq, ub_r, ub_c, ub_v, b_ub = [], [], [], [], [], [], [], []
        for k in rel_of.get(root, []):
            terms, op, rhs = relations[k]
            rr, cc, vv, bb = (eq_r, eq_c, eq_v, b_eq) if op == "==" else (ub_r, ub_c, ub_v, b_ub)
            for gi, coef in rel_vars[k]:
                rr.append(len(bb))
                cc.append(local[gi])
                vv.append(coef)
            bb.append(float(rhs))
        n = len(members)
        signature = (counts_only, tuple(keys[g] for g in members if unknown[g]), tuple(keys[g] for g in members), tuple(bounds[g] for g in members),
                     tuple((tuple(relations[k][0]), relations[k][1], relations[k][2])
                           for k in rel_of.get(root, [])))
        if cache is not None and signature in cache:
            found.update(cache[signature])
            continue
        before = set(found)
        a_eq = csr_array((eq_v, (eq_r, eq_c)), shape=(len(b_eq), n)) if b_eq else None
        a_ub = csr_array((ub_v, (ub_r, ub_c)), shape=(len(b_ub), n)) if b_ub else None
        if n * (len(b_eq) + len(b_ub)) <= 250_000:  # small: dense is faster to hand over
            a_eq = a_eq.toarray() if a_eq is not None else None
            a_ub = a_ub.toarray() if a_ub is not None else None
        bnds = [bounds[g] for g in members]
        for g in members:
            if not unknown[g]:
                continue
            ends = {}
            for sign in (-1.0, 1.0):  # the maximum first
                if sign == 1.0 and counts_only and (
                        math.isinf(ends[-1.0]) or ends[-1.0] <= TOLERANCE
                        or ends[-1.0] - (bounds[g][0] or 0.0) < protection):
                    # Settled without the minimum: unbounded above (wide) or narrower than the
                    # protection level even from the lower bound (disclosed).
                    ends[1.0] = bounds[g][0] if bounds[g][0] is not None else -math.inf
                    continue
                cvec = np.zeros(n)
                cvec[local[g]] = sign
                res = linprog(cvec, A_ub=a_ub, b_ub=b_ub or None, A_eq=a_eq, b_eq=b_eq or None,
                              bounds=bnds, method="highs")
                if res.status == 2:
                    name, r, c = keys[g]
                    raise AuditError(
                        f"table {name!r}: the published values contradict the declared relations "
                        f"around row {r + 1}, column {tables[name].columns[c] if tables[name].columns else c}"
                        " (no value of the suppressed cells satisfies them).",
                        fix="Check the relations declared for this table (a total over other rows, "
                            "a rounding not declared in the decimals).")
                if res.status == 3:  # unbounded in this direction
                    ends[sign] = -sign * math.inf
                elif res.status != 0:
                    raise AuditError(f"the linear programme for table {keys[g][0]!r} did not solve: "
                                     f"{res.message}", fix="Report this as a bug.")
                else:
                    ends[sign] = sign * float(res.fun)
            found[keys[g]] = (ends[1.0], ends[-1.0])
        if cache is not None:
            cache[signature] = {k: v for k, v in found.items() if k not in before}
    out = []
    for name, t in tables.items():
        for r, c in zip(*np.nonzero(t.suppressed), strict=True):
            key = (name, int(r), int(c))
            if key in found:
                lo, hi = found[key]
                k = int(n_rel[index[key]])
            else:
                lo, hi, k = (0.0 if t.nonnegative[c] else -math.inf), math.inf, 0
            judged = t.protect is None or bool(t.protect[c])
            out.append(CellInterval(name, int(r), int(c), lo, hi,
                                    judged and _narrow(lo, hi, protection), k))
    return out


# ------------------------------------------------------------------ a report folder

#: The file in a report folder that holds the relations and the suppressed cells.
RELATIONS_FILE = "relations.json"


@dataclass
class AuditReport:
    """The audit of one report folder."""

    report_dir: str
    protection_level: float
    intervals: list[CellInterval]
    tables: dict[str, PublishedTable]
    n_relations: int
    seconds: float

    @property
    def disclosed(self) -> list[CellInterval]:
        return [iv for iv in self.intervals if iv.disclosed]

    def summary(self) -> str:
        return (f"{len(self.intervals)} suppressed cells in {len(self.tables)} tables, "
                f"{self.n_relations} relations, protection level {self.protection_level:g}: "
                f"{len(self.disclosed)} disclosed ({self.seconds:.2f} s).")


def _number(text: str, decimal_comma: bool) -> float:
    s = text.strip()
    if s in ("", "x", "X", ".", "-", "NA", "nan"):
        return math.nan
    if decimal_comma:
        s = s.replace(".", "").replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return math.nan


def _read_published_csv(path, rows: int, columns: int) -> tuple[list[str], np.ndarray, list[str]]:
    """The numbers of a published CSV (comma or semicolon separated; decimal point or comma)."""
    import csv
    import io

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditError(f"cannot read the published table: {exc}", file=str(path),
                         fix="Audit a complete report folder written by `caseload refresh`.") from None
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    # newline="" keeps a CR or LF inside a quoted text cell in its cell (csv module docs).
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    header, data = (lines[0] if lines else []), lines[1:]
    if len(data) != rows or any(len(r) != columns for r in data):
        raise AuditError(f"the table has {len(data)} data rows, relations.json expects {rows} "
                         f"rows of {columns} columns.", file=str(path),
                         fix="The report folder was changed after it was written; refresh it.")
    values = np.array([[_number(v, sep == ";") for v in r] for r in data], dtype=float)
    return header, values.reshape(rows, columns), [r[0] if r else "" for r in data]



def published_tables(root, meta: dict, prefix: str = "") -> tuple[dict[str, PublishedTable], list[CellInterval]]:
    """The tables of a report folder as its ``relations.json`` (``meta``) describes them.

    Numbers come from ``tables/*.csv``, or inline for the Kernpunten pseudo-table; a cell
    listed as suppressed that holds a number is returned in the second list (disclosed,
    interval of width 0) and counts as published. Table names get ``prefix`` (the joint audit of several reports).
    """
    from pathlib import Path

    root = Path(root)
    tables: dict[str, PublishedTable] = {}
    leaked: list[CellInterval] = []
    for name, spec in meta["tables"].items():
        if spec.get("file") is None:  # numbers printed in the text (the Kernpunten), inline
            values = np.asarray(spec["values"], dtype=float).reshape(int(spec["rows"]),
                                                                     int(spec["columns"]))
            header, labels = list(spec["column_names"]), list(spec["row_labels"])
        else:
            header, values, labels = _read_published_csv(root / spec["file"], int(spec["rows"]),
                                                         int(spec["columns"]))
        name = prefix + name
        supp = np.zeros(values.shape, dtype=bool)
        for r, c in spec["suppressed"]:
            if np.isfinite(values[r, c]):  # a leaked value is known exactly, not a variable
                leaked.append(CellInterval(name, r, c, values[r, c], values[r, c], True, 0))
            else:
                supp[r, c] = True
        tables[name] = PublishedTable(name, values, supp, np.asarray(spec["halfwidth"], dtype=float),
                                      np.asarray(spec["nonnegative"], dtype=bool), header, labels,
                                      np.asarray(spec["protect"], dtype=bool))
    return tables, leaked

def audit_report(report_dir, protection: float | None = None) -> AuditReport:
    """Audit a published report folder: every suppressed cell's interval under its relations.

    Reads ``relations.json`` (written by :func:`caseload.publish.write_report`) and the
    published numbers from ``tables/*.csv``; a cell listed as suppressed that holds a
    number in the CSV counts as disclosed (interval of width 0). The counts printed in
    the Kernpunten (key findings) are in ``relations.json`` too, as the pseudo-table
    ``kernpunten`` with its values inline and one relation per number (the cell or the
    sum of cells it equals): a Kernpunten sentence that gives away a suppressed cell
    makes it disclosed like a table would.

    Parameters
    ----------
    report_dir : path-like
    protection : float, optional
        Protection level; default the one in ``relations.json`` (never below ``min_cell``).
    """
    import json
    import time
    from pathlib import Path

    t0 = time.perf_counter()
    root = Path(report_dir)
    meta_path = root / RELATIONS_FILE
    if not meta_path.is_file():
        raise AuditError("the folder has no relations.json, so it cannot be audited.",
                         file=str(meta_path),
                         fix="Audit a report written by `caseload refresh` of this version.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        level = float(meta["protection_level"] if protection is None else
                      max(protection, meta.get("min_cell", 0)))
        tables, leaked = published_tables(root, meta)
        relations = [([((t[0], int(t[1]), int(t[2])), float(t[3])) for t in rel["terms"]],
                      rel["op"], float(rel["rhs"])) for rel in meta["relations"]]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AuditError(f"relations.json is not as written by caseload ({type(exc).__name__}: {exc}).",
                         file=str(meta_path), fix="Refresh the report to write it again.") from None
    for rel in relations:
        for (name, r, c), _ in rel[0]:
            if name not in tables or not (0 <= r < tables[name].values.shape[0]
                                          and 0 <= c < tables[name].values.shape[1]):
                raise AuditError(f"a relation refers to a cell outside the report ({name}, {r}, {c}).",
                                 file=str(meta_path), fix="Refresh the report to write it again.")
    intervals = audit_cells(tables, relations, level)
    intervals = sorted([*intervals, *leaked], key=lambda iv: (list(tables).index(iv.table), iv.row, iv.column))
    return AuditReport(str(root), level, intervals, tables, len(relations), time.perf_counter() - t0)


def relation_holds(relation: Relation, frames: Mapping[str, object], tol: float = 1e-9) -> bool:
    """Whether ``relation`` holds in the unsuppressed data (``{table: DataFrame}``).

    Rows are positions, columns names (labels in the first column are not resolved
    here). A relation naming a table not in ``frames`` counts as holding.
    """
    total, scale = 0.0, 1.0
    for cell, coef in relation.terms:
        if cell.table not in frames:
            return True
        df = frames[cell.table]
        col = df.columns[cell.column] if isinstance(cell.column, int) else cell.column
        value = coef * float(df[col].iloc[int(cell.row)])
        if not np.isfinite(value):
            return False
        total += value
        scale += abs(value)
    if relation.op == "<=":
        return total <= relation.rhs + tol * scale
    return abs(total - relation.rhs) <= tol * scale
