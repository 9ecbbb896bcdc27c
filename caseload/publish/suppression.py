"""Disclosure control of one table, from its spec, with the algorithms of caseload.privacy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.publish.items import PublishError, TableItem, _frame, _tx

# --------------------------------------------------------------------------- suppression


def suppression_rule(item: TableItem, min_cell: int, lang: str = "nl",
                     protection: float | None = None) -> str:
    """The suppression rule of a table, in words, for the report and the Toelichting."""
    if not item.counts:
        return item.suppression_note or _tx("no_counts", lang)
    nl = lang == "nl"
    text = (f"Aantallen van 1 tot en met {min_cell - 1} zijn niet getoond (primaire onderdrukking)."
            if nl else f"Counts of 1 to {min_cell - 1} are suppressed (primary suppression).")
    if item.secondary:
        text += (" Daarnaast zijn zo nodig andere cellen niet getoond, zodat een onderdrukte cel "
                 "niet uit de rij- of kolomtotalen terug te rekenen is (secundaire onderdrukking)."
                 if nl else " Further cells are suppressed where needed so that a suppressed cell "
                 "cannot be recovered from its row or column totals (secondary suppression).")
    level = f"{max(protection or min_cell, min_cell):g}"
    text += (f" Ook met de andere verbanden in dit rapport (totalen, bestand = vorig bestand + instroom "
             f"- uitstroom, afgeleide kolommen, dezelfde telling elders; zie relations.json) ligt elke "
             f"onderdrukte telling binnen een marge van minstens {level} (controle met lineaire "
             "programmering, `caseload audit`)." if nl else
             f" Under the other relations in this report as well (totals, stock = previous stock + "
             f"inflow - outflow, derived columns, the same count elsewhere; see relations.json) every "
             f"suppressed count keeps a range of at least {level} (checked by linear programming, "
             "`caseload audit`).")
    if item.percentages or item.derived:
        text += (" Percentages en andere afgeleide waarden op een onderdrukt of klein aantal zijn "
                 "ook niet getoond." if nl else " Percentages and other values derived from a "
                 "suppressed or small count are suppressed too.")
    if item.suppression_note:
        text += " " + item.suppression_note
    return text


def suppress_table(item: TableItem, min_cell: int = 5, *, protection: float | None = None,
                   forced: dict[str, np.ndarray] | None = None,
                   _cache: dict | None = None) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply disclosure control to one table (primary, secondary, percentages).

    The algorithms are those of :mod:`caseload.privacy`; this function decides
    which to apply from the table's spec. After the primary and the
    complementary suppression over rows and columns, the table's own relations
    (its totals and the relations in ``item.relations`` that stay within the
    table) are audited by linear programming (:mod:`caseload.privacy.audit`);
    while a suppressed cell can be narrowed to an interval shorter than the
    protection level, a further count in one of its relations is suppressed
    (not a total where another cell will do, preferably one of at least the
    protection level, else the smallest) and the suppression is redone.

    Parameters
    ----------
    item : TableItem
    min_cell : int
        Counts below this are suppressed.
    protection : float, optional
        Protection level (default ``min_cell``).
    forced : dict of column to bool array, optional
        Count cells to suppress in any case (complements chosen by the audit of
        the whole publication, :func:`protect_publication`).

    Returns
    -------
    table : DataFrame
        The table with suppressed cells as missing values (count columns as
        nullable integers).
    counts : dict
        ``primary``, ``secondary`` and ``percentages``: how many cells were
        suppressed for each reason.
    """
    protection = float(min_cell if protection is None else max(protection, min_cell))
    forced = {c: np.asarray(m, dtype=bool).copy() for c, m in (forced or {}).items()}
    for c, m in item.forced.items():  # cells that quote a count another table hides
        forced[c] = forced.get(c, np.zeros(len(m), dtype=bool)) | np.asarray(m, dtype=bool)
    own = [r for r in table_relations(item)
           if all(c.table == item.name for c, _ in r.terms)]
    cache: dict = {} if _cache is None else _cache
    out, stats = _suppress_once(item, min_cell, forced)
    if not own or not item.counts:
        return out, stats
    results, _ = _protect_rounds({item.name: item}, {item.name: (out, stats)}, {item.name: forced}, own,
                                 protection, cache,
                                 lambda _name, f: _suppress_once(item, min_cell, f))
    return results[item.name]


def _protect_rounds(items, results, forced, relations, protection, cache, rerun):
    """Audit, add complements, suppress again, until no count is disclosed or none helps.

    Every round keeps what was suppressed before (the cells are forced), so the
    suppressed set only grows; a cell that kept a wide interval keeps it (freeing a
    published value can only widen the feasible set), and only the cells disclosed in
    the last round and the newly suppressed ones are audited again.
    """
    from caseload.privacy import audit as au

    def counts_hidden(tables):
        return {(n, int(r), int(c)) for n, t in tables.items()
                for r, c in zip(*np.nonzero(t.suppressed), strict=True) if t.protect[c]}

    known: dict = {}
    tries: dict = {}  # complements added for each disclosed cell
    check = None
    previous: set = set()
    bad_keys: set = set()
    current: list = []
    for _ in range(_MAX_ROUNDS):
        tables = {n: published_table(items[n], results[n][0]) for n in items}
        hidden = counts_hidden(tables)
        if check is not None:
            check = bad_keys | (hidden - previous)
        resolved = resolve_relations(relations, tables, items)
        for iv in au.audit_cells(tables, resolved, protection, cache=cache, counts_only=True, only=check):
            key = (iv.table, iv.row, iv.column)
            if check is None or key in check:
                known[key] = iv
        current = [known[k] for k in sorted(hidden, key=lambda k: (list(items).index(k[0]), k[1], k[2]))]
        bad = [iv for iv in current if iv.disclosed]
        # A cell that a handful of complements did not protect will not be protected by
        # hiding ever more of the report: leave it to the audit, which refuses to publish.
        hopeless = [iv for iv in bad if tries.get((iv.table, iv.row, iv.column), 0) >= _MAX_TRIES]
        bad_open = [iv for iv in bad if iv not in hopeless]
        for iv in bad_open:
            tries[(iv.table, iv.row, iv.column)] = tries.get((iv.table, iv.row, iv.column), 0) + 1
        added = choose_complements(bad_open, resolved, tables, items, protection)
        if not added:
            break
        for name in {k[0] for k in added}:
            item, frame = items[name], _frame(items[name].data)
            masks = forced.setdefault(name, {})
            for c in item.counts:  # keep this round's suppressions
                j = [str(x) for x in frame.columns].index(str(c))
                masks[c] = masks.get(c, np.zeros(len(frame), dtype=bool)) | tables[name].suppressed[:, j]
            for (n, r, col) in added:
                if n == name:
                    masks[col][r] = True
            results[name] = rerun(name, masks)
        previous, bad_keys, check = hidden, {(iv.table, iv.row, iv.column) for iv in bad}, set()
    return results, current


#: Rounds of audit and complementary suppression before giving up (the final audit of
#: the report then refuses to publish).
_MAX_ROUNDS = 60
#: Complements tried for one disclosed cell before giving up on it.
_MAX_TRIES = 6


def _suppress_once(item: TableItem, min_cell: int,
                   forced: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, int]]:
    from caseload import privacy

    df = _frame(item.data)
    stats = {"primary": 0, "secondary": 0, "percentages": 0}
    counts = list(item.counts)
    if not counts:
        return df, stats
    for c in counts:
        vals = pd.to_numeric(df[c], errors="coerce")
        if (vals.dropna() < 0).any():
            raise PublishError(f"table {item.name!r}: column {c!r} has negative values; it is "
                               "not a count.", fix="Only name columns with counts in `counts`.")
        if vals.isna().any():
            raise PublishError(f"table {item.name!r}: column {c!r} has an empty count in row "
                               f"{int(np.flatnonzero(vals.isna())[0]) + 1}.",
                               fix="Fill structural gaps with 0 (pivot_table(fill_value=0)) "
                               "before publishing.")
    out = df.copy()
    masks: dict[str, np.ndarray] = {}
    if item.layout == "long":
        if len(counts) != 1:
            raise PublishError(f"table {item.name!r}: a long table has one count column, got "
                               f"{counts}.", fix="Use layout='wide' for several count columns.")
        res = privacy.suppress_long(df.reset_index(drop=True), counts[0], by=list(item.by) or None,
                                    threshold=min_cell, secondary=item.secondary,
                                    forced=forced.get(counts[0]))
        out[counts[0]] = res.table[counts[0]].to_numpy()
        masks[counts[0]] = res.suppressed.to_numpy(dtype=bool)
    else:
        # The count columns form the body of a two-way table whose rows are the
        # table's rows; positions as labels keep duplicate or composite row labels safe.
        body = df[counts].apply(pd.to_numeric).reset_index(drop=True)
        body.columns = range(len(counts))
        row_total = _row_total_position(item, df)
        col_total = counts.index(item.col_total) if item.col_total is not None else None
        force = None
        if forced:
            force = np.column_stack([forced.get(c, np.zeros(len(df), dtype=bool)) for c in counts])
        res = privacy.suppress_small_cells(body, threshold=min_cell, row_total=row_total,
                                           col_total=col_total, secondary=item.secondary,
                                           forced=force)
        for j, c in enumerate(counts):
            out[c] = res.table[j].to_numpy()
            masks[c] = res.suppressed[j].to_numpy(dtype=bool)
    stats["primary"] = int(res.n_primary)
    stats["secondary"] = int(res.n_secondary)
    n = len(df)
    scale = item.scale
    if scale is None and item.percentages:
        pct_values = df[list(item.percentages)].apply(pd.to_numeric, errors="coerce").abs()
        scale = 1.0 if float(np.nanmax(pct_values.to_numpy(dtype=float), initial=0.0)) <= 1.0 else 100.0
    for col in [*item.percentages, *item.derived]:
        before = out[col].notna().to_numpy()
        blank = np.zeros(n, dtype=bool)
        if col in item.derived:
            blank |= masks[item.derived[col]]
        if col in item.percentages:
            base = item.percentages[col]
            if isinstance(base, str):
                blank |= masks.get(base, np.zeros(n, dtype=bool))
                base_counts = pd.to_numeric(df[base], errors="coerce").reset_index(drop=True)
            else:
                base_counts = base
            pct = pd.to_numeric(out[col], errors="coerce").reset_index(drop=True)
            kept = privacy.suppress_percentages(pct, base_counts, threshold=min_cell,
                                                suppressed=pd.Series(blank), scale=scale)
            blank |= kept.isna().to_numpy() & pct.notna().to_numpy()
        out[col] = out[col].where(~blank)
        stats["percentages"] += int((before & blank).sum())
    for c in counts:
        out[c] = pd.to_numeric(out[c]).round().astype("Int64")
    return out, stats


def _row_total_position(item: TableItem, df: pd.DataFrame) -> int | None:
    """Position of the total row named by ``item.row_total`` (a value in the first column)."""
    if item.row_total is None:
        return None
    hits = np.flatnonzero(df.iloc[:, 0].astype("string").eq(str(item.row_total)).fillna(False))
    if len(hits) != 1:
        raise PublishError(f"table {item.name!r}: the total row {item.row_total!r} occurs "
                           f"{len(hits)} times in column {df.columns[0]!r}.",
                           fix="Name the label of exactly one total row in row_total.")
    return int(hits[0])


def _guard(item: TableItem, table: pd.DataFrame) -> None:
    """Refuse identifier columns, pseudonyms and BSN-like values (caseload.privacy)."""
    from caseload import privacy

    privacy.published_table_guard(table, f"table '{item.name}'")




# --------------------------------------------------------------------------- relations


def table_relations(item: TableItem) -> list:
    """The linear relations a reader knows about this table: its totals and ``item.relations``.

    ``row_total`` makes every count column (and every column in ``sums``) add up over
    the other rows to the total row; ``col_total`` makes every row's other count
    columns add up to that column.
    """
    from caseload.privacy import audit as au

    df = _frame(item.data)
    cols = [str(c) for c in df.columns]
    rels = []
    total = _row_total_position(item, df) if item.row_total is not None else None
    if total is not None:
        rows = [r for r in range(len(df)) if r != total]
        summed = [str(c) for c in (*item.counts, *item.sums) if str(c) in cols]
        rels += au.column_sums(item.name, list(dict.fromkeys(summed)), rows, total)
    if item.col_total is not None and item.layout == "wide":
        parts = [str(c) for c in item.counts if c != item.col_total]
        rels += au.row_sums(item.name, parts, str(item.col_total), list(range(len(df))))
    # A total that is not the sum of its rows (a row counted apart) is no relation: keep
    # only those that hold; a table that needs another one declares it in `relations`.
    frame = df.set_axis(cols, axis=1)
    rels = [r for r in rels if au.relation_holds(r, {item.name: frame})]
    return rels + list(item.relations)


def published_table(item: TableItem, table: pd.DataFrame):
    """The suppressed table as a reader sees it (:class:`caseload.privacy.audit.PublishedTable`)."""
    from caseload.privacy.audit import PublishedTable

    before = _frame(item.data).reindex(columns=table.columns)
    values = table.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    orig = before.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    suppressed = np.isnan(values) & ~np.isnan(orig)
    half = np.zeros(values.shape[1])
    for j, c in enumerate(table.columns):
        finite = orig[:, j][np.isfinite(orig[:, j])]
        if pd.api.types.is_float_dtype(before[c]) and len(finite) and not np.all(finite == np.round(finite)):
            d = item.decimals.get(c, 2) if isinstance(item.decimals, dict) else item.decimals
            half[j] = 0.5 * 10.0 ** (-int(d))
    with np.errstate(invalid="ignore"):
        nonneg = np.array([bool(np.all(orig[:, j][np.isfinite(orig[:, j])] >= 0))
                           for j in range(values.shape[1])])
    protect = np.array([c in item.counts for c in table.columns], dtype=bool)
    return PublishedTable(item.name, values, suppressed, half, nonneg,
                          [str(c) for c in table.columns], protect=protect)


def resolve_relations(relations, tables: dict, items: dict[str, TableItem]) -> list:
    """Relations as ((table, row, column), coefficient) terms for :func:`~caseload.privacy.audit.audit_cells`.

    Relations that name a table not in ``tables`` are left out (they are checked when
    the whole publication is protected)."""
    from caseload.privacy.audit import resolve_cell

    labels = {n: _frame(it.data).iloc[:, 0].astype("string").fillna("").tolist() for n, it in items.items()
              if n in tables}
    names = {n: [str(c) for c in _frame(it.data).columns] for n, it in items.items() if n in tables}
    out = []
    for rel in relations:
        if any(c.table not in tables for c, _ in rel.terms):
            continue
        terms = tuple((resolve_cell(c, tables, labels, names), k) for c, k in rel.terms)
        out.append((terms, rel.op, rel.rhs))
    return out


def _count_cell(item: TableItem, row: int, col: int) -> tuple[int, str] | None:
    """The count cell whose suppression blanks cell (row, col): itself or its base count."""
    name = str(_frame(item.data).columns[col])
    if name in item.counts:
        return row, name
    base = item.derived.get(name) or item.percentages.get(name)
    if isinstance(base, str) and base in item.counts:
        return row, base
    return None


def choose_complements(disclosed, resolved, tables: dict, items: dict[str, TableItem],
                       protection: float) -> dict[tuple[str, int, str], float]:
    """One further count to suppress per disclosed cell, from the relations around it.

    The candidates are the published cells of the relations the disclosed cell is in,
    and of the relations reached from there through other suppressed cells (fewer steps
    first). A candidate that is not a count (a derived value) stands for the count it
    is derived from. Preferred, in this order: not in a total row or column; fewest
    steps; a value of at least the protection level; the smallest value. Returns
    ``{(table, row, count column): value}``.
    """
    by_cell: dict[tuple[str, int, int], list[int]] = {}
    for k, (terms, _op, _rhs) in enumerate(resolved):
        for key, _ in terms:
            by_cell.setdefault(key, []).append(k)
    columns = {n: [str(x) for x in _frame(it.data).columns] for n, it in items.items()}
    totals = {n: (_row_total_position(it, _frame(it.data)) if it.row_total is not None else None)
              for n, it in items.items()}
    picks: dict[tuple[str, int, str], float] = {}
    for iv in disclosed:
        start = (iv.table, iv.row, iv.column)
        seen_cells, seen_rel = {start}, set()
        frontier, dist, best = [start], 0, None
        while frontier and best is None:
            nxt = []
            for key in frontier:
                for k in by_cell.get(key, []):
                    if k in seen_rel:
                        continue
                    seen_rel.add(k)
                    for cell, _coef in resolved[k][0]:
                        if cell in seen_cells:
                            continue
                        seen_cells.add(cell)
                        name, r, c = cell
                        t, item = tables[name], items[name]
                        if t.suppressed[r, c]:
                            nxt.append(cell)
                            continue
                        target = _count_cell(item, r, c)
                        if target is None:
                            continue
                        rr, col = target
                        j = columns[name].index(col)
                        v = float(t.values[rr, j])
                        if not np.isfinite(v) or t.suppressed[rr, j] or v == 0:
                            continue  # a zero hides nothing and is pinned by the others
                        total = rr == totals[name] or (item.col_total is not None and col == item.col_total)
                        cost = (bool(total), dist, v < protection, v, name, rr, col)
                        if best is None or cost < best:
                            best = cost
            frontier, dist = nxt, dist + 1
        if best is not None:
            picks[(best[4], best[5], best[6])] = best[3]
    return picks


def protect_publication(pub) -> tuple[dict[str, tuple[pd.DataFrame, dict[str, int]]], list]:
    """Suppress every table of a publication so that the whole report passes the audit.

    Each table is first protected on its own (:func:`suppress_table`); then the
    relations between tables (the same count in two tables, a yearly total of monthly
    counts) are audited together and further counts are suppressed until no suppressed
    cell can be narrowed below ``pub.protection_level``, or no further count helps.
    Count cells in ``pub.joint_suppression`` (``{table: {count column: bool array}}``,
    set by :func:`caseload.publish.joint.protect_jointly` when several reports are
    published together) are suppressed in any case.

    Returns
    -------
    results : dict
        ``{table name: (suppressed table, stats)}``.
    intervals : list of CellInterval
        The last audit of every suppressed count (check ``disclosed``); other
        suppressed cells get an infinite interval here (the audit of the written
        report, :func:`caseload.privacy.audit.audit_report`, computes them too).
    """
    protection = float(max(pub.protection_level or pub.min_cell, pub.min_cell))
    items = {it.name: it for it in pub.tables}
    # Cells a joint protection with other reports chose (caseload.publish.joint) are kept.
    forced: dict[str, dict[str, np.ndarray]] = {
        n: {c: np.asarray(m, dtype=bool).copy() for c, m in masks.items()}
        for n, masks in pub.joint_suppression.items() if n in items}
    cache: dict = {}  # intervals by linear programme, shared by all rounds
    results = {n: suppress_table(it, pub.min_cell, protection=protection, forced=forced.get(n), _cache=cache)
               for n, it in items.items()}
    relations = [r for it in pub.tables for r in table_relations(it)]
    return _protect_rounds(items, results, forced, relations, protection, cache,
                           lambda name, f: suppress_table(items[name], pub.min_cell, protection=protection,
                                                          forced=f, _cache=cache))


def relations_document(pub, results: dict) -> dict:
    """What ``relations.json`` holds: per table the suppressed cells and rounding, and the relations.

    Cells are given by position: row 0 is the first data row of ``tables/<name>.csv``,
    column 0 its first column.
    """
    items = {it.name: it for it in pub.tables}
    tables = {n: published_table(items[n], results[n][0]) for n in items}
    relations = [r for it in pub.tables for r in table_relations(it)
                 if all(c.table in tables for c, _ in r.terms)]
    resolved = resolve_relations(relations, tables, items)
    doc_tables = {}
    for n, t in tables.items():
        doc_tables[n] = {
            "file": f"tables/{n}.csv", "rows": int(t.values.shape[0]), "columns": int(t.values.shape[1]),
            "suppressed": [[int(r), int(c)] for r, c in zip(*np.nonzero(t.suppressed), strict=True)],
            "halfwidth": [float(h) for h in t.halfwidth],
            "nonnegative": [bool(b) for b in t.nonnegative],
            "protect": [bool(b) for b in t.protect],
        }
    from caseload.publish.findings import add_findings  # the Kernpunten are audited too

    return add_findings({
        "format": 1,
        "method": "suppress",
        "min_cell": int(pub.min_cell),
        "protection_level": float(max(pub.protection_level or pub.min_cell, pub.min_cell)),
        "tables": doc_tables,
        "relations": [{"kind": rel.kind, "note": rel.note, "op": rel.op, "rhs": rel.rhs,
                       "terms": [[k[0], k[1], k[2], coef] for k, coef in terms]}
                      for rel, (terms, _op, _rhs) in zip(relations, resolved, strict=True)],
    }, pub, tables, items)


class DisclosureError(PublishError):
    """The disclosure audit found a suppressed cell that the report's relations give away."""


def write_relations(folder, document: dict):
    """Write ``relations.json`` into a report folder; returns its path."""
    import json
    from pathlib import Path

    from caseload.privacy.audit import RELATIONS_FILE

    path = Path(folder) / RELATIONS_FILE
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def audit_published(folder):
    """Audit a written report folder; raise :class:`DisclosureError` when a cell is disclosed."""
    from caseload.privacy.audit import audit_report

    rep = audit_report(folder)
    if rep.disclosed:
        cells = "; ".join(f"{iv.table} row {iv.row + 1} column "
                          f"{rep.tables[iv.table].columns[iv.column] if rep.tables[iv.table].columns else iv.column}"
                          f" in [{iv.low:g}, {iv.high:g}]" for iv in rep.disclosed[:10])
        raise DisclosureError(
            f"the disclosure audit found {len(rep.disclosed)} suppressed cell(s) that the published "
            f"relations narrow to less than the protection level {rep.protection_level:g}: {cells}"
            f"{' ...' if len(rep.disclosed) > 10 else ''}. The report is not published.",
            fix="Declare the relation's cells as counts so that the suppression can protect them, "
                "or publish fewer relations (a total, a second table with the same counts); "
                "`caseload audit` lists every cell.")
    return rep
