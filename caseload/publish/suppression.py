"""Disclosure control of one table, from its spec, with the algorithms of caseload.privacy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.publish.items import PublishError, TableItem, _frame, _tx

# --------------------------------------------------------------------------- suppression


def suppression_rule(item: TableItem, min_cell: int, lang: str = "nl") -> str:
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
    if item.percentages or item.derived:
        text += (" Percentages en andere afgeleide waarden op een onderdrukt of klein aantal zijn "
                 "ook niet getoond." if nl else " Percentages and other values derived from a "
                 "suppressed or small count are suppressed too.")
    if item.suppression_note:
        text += " " + item.suppression_note
    return text


def suppress_table(item: TableItem, min_cell: int = 5) -> tuple[pd.DataFrame, dict[str, int]]:
    """Apply disclosure control to one table (primary, secondary, percentages).

    The algorithms are those of :mod:`caseload.privacy`; this function decides
    which to apply from the table's spec.

    Parameters
    ----------
    item : TableItem
    min_cell : int
        Counts below this are suppressed.

    Returns
    -------
    table : DataFrame
        The table with suppressed cells as missing values (count columns as
        nullable integers).
    counts : dict
        ``primary``, ``secondary`` and ``percentages``: how many cells were
        suppressed for each reason.
    """
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
                                    threshold=min_cell, secondary=item.secondary)
        out[counts[0]] = res.table[counts[0]].to_numpy()
        masks[counts[0]] = res.suppressed.to_numpy(dtype=bool)
    else:
        # The count columns form the body of a two-way table whose rows are the
        # table's rows; positions as labels keep duplicate or composite row labels safe.
        body = df[counts].apply(pd.to_numeric).reset_index(drop=True)
        body.columns = range(len(counts))
        row_total = _row_total_position(item, df)
        col_total = counts.index(item.col_total) if item.col_total is not None else None
        res = privacy.suppress_small_cells(body, threshold=min_cell, row_total=row_total,
                                           col_total=col_total, secondary=item.secondary)
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


