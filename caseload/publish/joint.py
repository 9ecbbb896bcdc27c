"""Joint disclosure control of a combined report and its reports per municipality.

With ``[report] per_municipality = true`` a run publishes the combined report and one
report per municipality. A reader holds all of them, so they are one publication for
disclosure control: a count hidden in one report must not be shown in another, nor be
recoverable by subtraction (combined = sum over the municipalities).

The method, in three steps (:func:`protect_jointly`):

1. Every report is protected on its own, as when it is published alone
   (:func:`~caseload.publish.suppression.protect_publication`).
2. *Same population, same pattern.* The tables of the reports are matched by table
   name and row key (the columns before the first count column: ``Gemeente``,
   ``Gemeente, Jaar``, ``Omschrijving``...). For every count cell of the combined
   report, the matching cells of the reports per municipality that add up to it (in
   the unsuppressed data) form a *cross-report relation* ``combined = sum of parts``;
   with a single part (the row of Losser in ``segment_per_gemeente``) that is the same
   count published twice, and tables with identical data in two reports are the same
   counts too. A count suppressed in one report is suppressed in every other report
   that publishes the same count (the union of the patterns), and each table's
   secondary suppression is redone with those cells forced, until nothing changes.
3. *No recovery by subtraction.* All tables of all reports, their own relations and
   the cross-report relations are audited together by linear programming
   (:func:`caseload.privacy.audit.audit_cells`, the audit every report already gets);
   while a suppressed count can be narrowed below the protection level, a further
   count in its relations is suppressed (the rounds of
   :func:`~caseload.publish.suppression.protect_publication`, now over the stacked
   reports).

If a count is still disclosed after that, :class:`JointDisclosureError` is raised and
nothing is written. Otherwise every publication carries its joint pattern in
``pub.joint_suppression`` (count cells forced in
:func:`~caseload.publish.suppression.protect_publication`), so that
:func:`~caseload.publish.write_report` writes exactly that pattern; the cross-report
relations go to ``joint-relations.json`` (:func:`joint_document`) for the audit of the
written folders together (:func:`caseload.privacy.joint_audit.audit_reports`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from caseload.publish.items import PublishError, TableItem, _frame

#: File beside the reports per municipality that lists the reports and the relations between them.
JOINT_FILE = "joint-relations.json"
#: Separator of report key and table name in the joint tables' names.
SEP = "::"


class JointDisclosureError(PublishError):
    """A count suppressed in one report can be recovered from the reports published with it."""


def key_columns(item: TableItem) -> list[str]:
    """The row key of a table: its columns before the first count column."""
    cols = [str(c) for c in _frame(item.data).columns]
    counts = {str(c) for c in item.counts}
    first = next((i for i, c in enumerate(cols) if c in counts), 0)
    return cols[:first]


def _row_keys(item: TableItem) -> list[tuple] | None:
    """One key per row (as text), or None when the key is missing or not unique."""
    df = _frame(item.data)
    keys = key_columns(item)
    if not keys:
        return None
    rows = [tuple(str(v) for v in r) for r in df[keys].astype("string").fillna("").itertuples(index=False)]
    return rows if len(set(rows)) == len(rows) else None


def cross_relations(pubs: dict, combined: str) -> list:
    """The relations between the reports, on the joint tables' names (``<report>::<table>``).

    ``pubs`` maps a report key to its :class:`~caseload.publish.Publication`;
    ``combined`` is the key of the combined report. Returns
    :class:`~caseload.privacy.audit.Relation` objects: ``combined = sum of parts`` per
    count cell where that holds in the unsuppressed data (``kind="joint_sum"``; with one
    part it is the same count twice), and ``a = b`` for every count of a table whose
    data are identical in the combined and a municipality's report (``kind="same_count"``).
    """
    from caseload.privacy.audit import Cell, Relation, same_count

    out = []
    parts = [k for k in pubs if k != combined]
    for item in pubs[combined].tables:
        own = {k: next((t for t in pubs[k].tables if t.name == item.name), None) for k in parts}
        own = {k: t for k, t in own.items() if t is not None}
        if not own or not item.counts:
            continue
        frame = _frame(item.data)
        counts = [str(c) for c in item.counts]
        for k, t in list(own.items()):
            if _frame(t.data).equals(frame):  # the same table (public data): the same counts
                out += [same_count(Cell(f"{combined}{SEP}{item.name}", r, c), Cell(f"{k}{SEP}{t.name}", r, c),
                                   note=f"{item.name}: the same table in two reports")
                        for c in counts for r in range(len(frame))]
                del own[k]
        keys = _row_keys(item)
        if keys is None or not own:
            continue
        where = {}
        for k, t in own.items():
            tk = _row_keys(t)
            if tk is None or key_columns(t) != key_columns(item):
                continue
            cols = [str(c) for c in _frame(t.data).columns]
            where[k] = ({key: r for r, key in enumerate(tk)}, cols, _frame(t.data))
        for r, key in enumerate(keys):
            for c in counts:
                terms = [(k, pos[key]) for k, (pos, cols, _df) in where.items()
                         if key in pos and c in cols and c in {str(x) for x in own[k].counts}]
                if not terms:
                    continue
                total = float(pd.to_numeric(frame[c], errors="coerce").iloc[r])
                got = sum(float(pd.to_numeric(where[k][2][c], errors="coerce").iloc[rr]) for k, rr in terms)
                if not (np.isfinite(total) and np.isfinite(got)) or abs(total - got) > 1e-9 * (1 + abs(total)):
                    continue
                note = f"{item.name} {' '.join(key)} {c}: combined = sum over the municipalities"
                out.append(Relation(((Cell(f"{combined}{SEP}{item.name}", r, c), 1.0),
                                     *((Cell(f"{k}{SEP}{item.name}", rr, c), -1.0) for k, rr in terms)),
                                    "==", 0.0, "joint_sum", note))
    return out


def _renamed(item: TableItem, report: str) -> TableItem:
    """``item`` as a table of the joint publication: ``<report>::<name>``, its relations renamed."""
    from caseload.privacy.audit import Cell

    def cell(c):
        return Cell(f"{report}{SEP}{c.table}", c.row, c.column)

    rels = [dataclasses.replace(rel, terms=tuple((cell(c), k) for c, k in rel.terms)) for rel in item.relations]
    return dataclasses.replace(item, name=f"{report}{SEP}{item.name}", relations=rels)


def _count_masks(item: TableItem, table: pd.DataFrame) -> dict[str, np.ndarray]:
    before = _frame(item.data)
    return {str(c): (table[c].isna().to_numpy() & before[c].notna().to_numpy()) for c in item.counts}


def protect_jointly(pubs: dict, combined: str) -> list:
    """Suppress the tables of several reports so that together they disclose no count.

    Parameters
    ----------
    pubs : dict of str to Publication
        The reports by key (e.g. their folder paths); one of them is the combined report.
    combined : str
        Key of the combined report.

    Returns
    -------
    list of Relation
        The cross-report relations (:func:`cross_relations`) on the joint tables' names,
        for :func:`joint_document`. Every publication gets ``pub.joint_suppression``:
        ``{table: {count column: bool array}}``, the cells to suppress in any case.

    Raises
    ------
    JointDisclosureError
        When a suppressed count can still be narrowed below the protection level.
    """
    from caseload.publish.suppression import (
        _protect_rounds,
        protect_publication,
        suppress_table,
        table_relations,
    )

    bad_key = [k for k in pubs if SEP in k]
    if bad_key or combined not in pubs:
        raise PublishError(f"joint protection: report keys {bad_key or [combined]} are not usable.",
                           fix=f"Use keys without {SEP!r}, one of them the combined report's.")
    protection = max(float(max(p.protection_level or p.min_cell, p.min_cell)) for p in pubs.values())
    min_cell = {k: p.min_cell for k, p in pubs.items()}
    items: dict[str, TableItem] = {}
    report_of: dict[str, str] = {}
    results: dict = {}
    for k, pub in pubs.items():  # 1. each report on its own
        pub.joint_suppression = {}
        alone, _ = protect_publication(pub)
        for it in pub.tables:
            ns = f"{k}{SEP}{it.name}"
            items[ns], report_of[ns] = _renamed(it, k), k
            results[ns] = alone[it.name]
    cross = cross_relations(pubs, combined)
    cache: dict = {}

    def rerun(name, masks):
        return suppress_table(items[name], min_cell[report_of[name]], protection=protection,
                              forced=masks, _cache=cache)

    # 2. the same count suppressed alike everywhere, each table's secondary suppression redone
    pairs = [(rel.terms[0][0], rel.terms[1][0]) for rel in cross if len(rel.terms) == 2]
    forced: dict[str, dict[str, np.ndarray]] = {}
    for _ in range(50):
        masks = {n: _count_masks(items[n], results[n][0]) for n in items}
        changed: set[str] = set()
        for a, b in pairs:
            ha, hb = masks[a.table][a.column][a.row], masks[b.table][b.column][b.row]
            if ha != hb:
                for c in (a, b):
                    if not masks[c.table][c.column][c.row]:
                        masks[c.table][c.column][c.row] = True
                        changed.add(c.table)
        if not changed:
            break
        for n in changed:
            forced[n] = {c: forced.get(n, {}).get(c, np.zeros(len(m), dtype=bool)) | m
                         for c, m in masks[n].items()}
            results[n] = rerun(n, forced[n])
    # 3. the stacked reports audited together; complements until no count is disclosed
    relations = [r for it in items.values() for r in table_relations(it)] + cross
    results, intervals = _protect_rounds(items, results, forced, relations, protection, cache, rerun)
    bad = [iv for iv in intervals if iv.disclosed]
    if bad:
        cells = "; ".join(f"{iv.table.replace(SEP, ': ')} row {iv.row + 1} column "
                          f"{_frame(items[iv.table].data).columns[iv.column]} in [{iv.low:g}, {iv.high:g}]"
                          for iv in bad[:10])
        raise JointDisclosureError(
            f"the combined report and the reports per municipality together disclose {len(bad)} "
            f"suppressed count(s) (narrowed to less than the protection level {protection:g}): {cells}"
            f"{' ...' if len(bad) > 10 else ''}. Nothing was written.",
            fix="Publish either the combined report or the reports per municipality "
                "([report] per_municipality = false), or raise [privacy] min_cell.")
    for ns, it in items.items():
        k = report_of[ns]
        name = ns.split(SEP, 1)[1]
        pubs[k].joint_suppression[name] = _count_masks(it, results[ns][0])
    return cross


def joint_document(cross: list, pubs: dict, reports: dict[str, str]) -> dict:
    """What ``joint-relations.json`` holds: the reports and the relations between them.

    ``reports`` maps a report key to the report's folder relative to the file. Cells
    are positions as in ``relations.json`` (row 0 = first data row of the CSV).
    """
    terms_doc = []
    for rel in cross:
        terms = []
        for cell, coef in rel.terms:
            key, table = cell.table.split(SEP, 1)
            item = next(t for t in pubs[key].tables if t.name == table)
            col = [str(c) for c in _frame(item.data).columns].index(str(cell.column))
            terms.append([key, table, int(cell.row), col, coef])
        terms_doc.append({"kind": rel.kind, "note": rel.note, "op": rel.op, "rhs": rel.rhs, "terms": terms})
    level = max(float(max(p.protection_level or p.min_cell, p.min_cell)) for p in pubs.values())
    return {"format": 1, "protection_level": level, "reports": dict(reports), "relations": terms_doc}
