"""Publish result tables and figures: suppressed CSV/XLSX, PNG/SVG, an HTML report, a manifest.

This is the one facade through which results leave the toolkit. A
:class:`Publication` collects tables (with the columns that are counts and the
percentages with their bases) and figures; :func:`write_report` applies
disclosure control to every table, writes everything into a temporary folder
next to the target and swaps it in only when every file was written and
checked. A failed run therefore leaves the previous ``reports/`` untouched.

Everything except ``manifest.json`` is deterministic: the same publication gives
byte-identical CSV, XLSX, PNG, SVG and HTML files (timings and time stamps live
only in the manifest).

Layout of the output folder::

    reports/
      index.html            self-contained report (figures embedded), to open or mail
      tabellen.xlsx         one sheet per table + sheet "Toelichting"
      tables/<name>.csv     one CSV per table (utf-8, ';' free: ',' separated, '.' decimals)
      figures/<name>.png    and <name>.svg
      manifest.json         inputs (sha256), config, package versions, steps, timings
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = [
    "PublishError",
    "TableItem",
    "FigureItem",
    "StepRecord",
    "Publication",
    "ReportResult",
    "suppress_table",
    "suppression_rule",
    "write_report",
    "file_sha256",
]

#: Packages whose versions the manifest records.
MANIFEST_PACKAGES = ("caseload", "pandas", "numpy", "scikit-learn", "statsmodels", "matplotlib",
                     "pyarrow", "openpyxl", "scipy")

#: What write_report generates in the output folder; anything else there (the folder's
#: README.md, the output folders of `caseload kpi`, `caseload durations`...) is carried over.
GENERATED = frozenset({"tables", "figures", "index.html", "tabellen.xlsx", "manifest.json"})

# Excel's fixed limit on sheet names; Excel also forbids these characters in them.
_SHEET_MAX = 31
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
# A fixed zip time stamp (the zip format cannot store dates before 1980).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_TEXT = {
    "contents": ("Inhoud", "Contents"),
    "tables": ("Tabellen", "Tables"),
    "figures": ("Figuren", "Figures"),
    "method": ("Methode", "Method"),
    "source": ("Bron", "Source"),
    "peildatum": ("Peildatum", "Reference date"),
    "suppression": ("Onthullingscontrole", "Disclosure control"),
    "explanation": ("Toelichting", "Notes"),
    "table": ("Tabel", "Table"),
    "sheet": ("Tabblad", "Sheet"),
    "title": ("Titel", "Title"),
    "file": ("Bestand", "File"),
    "rows": ("Rijen", "Rows"),
    "primary": ("Primair onderdrukt", "Suppressed (primary)"),
    "secondary": ("Secundair onderdrukt", "Suppressed (secondary)"),
    "pct_suppressed": ("Percentages onderdrukt", "Percentages suppressed"),
    "legend": ("x = niet getoond (onthullingscontrole); leeg = geen waarde.",
               "x = suppressed (disclosure control); empty = no value."),
    "downloads": ("Alle tabellen staan ook in tabellen.xlsx en tables/*.csv; de figuren in "
                  "figures/ (PNG en SVG).",
                  "All tables are also in tabellen.xlsx and tables/*.csv; the figures in "
                  "figures/ (PNG and SVG)."),
    "no_counts": ("Geen aantallen personen (modeluitkomsten of kengetallen); geen onderdrukking nodig.",
                  "No counts of persons (model results or ratios); no suppression needed."),
}


def _tx(key: str, lang: str) -> str:
    nl, en = _TEXT[key]
    return nl if lang == "nl" else en


class PublishError(CaseloadError):
    """A table or file may not be published (identifiers, BSN-like values, bad spec)."""


# --------------------------------------------------------------------------- items


@dataclass
class TableItem:
    """One table to publish, with what its suppression needs to know.

    Parameters
    ----------
    name : str
        File stem (``tables/<name>.csv``) and, shortened, the sheet name. Lower
        case letters, digits, ``_`` and ``-``.
    data : DataFrame
        The unsuppressed result table. A non-default index is moved into columns.
    title : str
        Title in the report language.
    method : str
        How the numbers were made, one or two sentences.
    source : str, optional
        Source line; default the publication's source.
    counts : sequence of str
        Columns holding counts of persons (or households, spells). These are
        suppressed when below the threshold, with secondary suppression.
    percentages : mapping of str to str or int
        ``{percentage column: base}``, the base (denominator) being a count
        column or one number (e.g. the table total). A percentage is blanked when
        its base is below the threshold or suppressed, or when the count it
        implies is below the threshold (:func:`caseload.privacy.suppress_percentages`).
    derived : mapping of str to str
        ``{column: count column}`` for values computed from a count (the
        numerator of a percentage, a mean over the count's persons, a residual
        ``observed - fitted``): blanked wherever that count is suppressed.
    scale : float, optional
        100 when ``percentages`` are 0-100, 1 when they are proportions 0-1
        (for the count a percentage implies). Default: 1 when every such value
        is at most 1, else 100.
    secondary : bool
        Complementary suppression (default). Switch off only when the rows or
        columns do not add up to anything a reader knows (stocks at different
        dates); the table's spec then says so in ``suppression_note``.
    layout : {"wide", "long"}
        ``"wide"``: the count columns form a cross-table with the rows (row and
        column totals may be derived), secondary suppression runs over rows and
        columns. ``"long"``: one row per cell; ``by`` names the grouping columns.
    by : sequence of str, optional
        For ``layout="long"``: the columns whose groups are the margins.
    row_total : str, optional
        For ``layout="wide"``: the label (in the first column) of the total row.
    col_total : str, optional
        For ``layout="wide"``: the count column that holds the row totals.
    labels : mapping of str to str, optional
        Column headers in the report language (applied after suppression).
    decimals : int or mapping of str to int
        Decimals of float columns (one number, or per column with 2 for the
        others). Float columns holding only whole numbers are written as integers.
    section : str
        Heading under which the table appears in the report.
    suppression_note : str, optional
        For tables without counts of persons: why no suppression applies (shown
        instead of the rule); otherwise a remark added to the rule.
    peildatum : date-like, optional
        Reference date of this table when it differs from the report's (a table
        from a published source).
    """

    name: str
    data: pd.DataFrame
    title: str
    method: str
    source: str | None = None
    counts: Sequence[str] = ()
    percentages: Mapping[str, str | int] = field(default_factory=dict)
    derived: Mapping[str, str] = field(default_factory=dict)
    scale: float | None = None
    secondary: bool = True
    layout: Literal["wide", "long"] = "wide"
    by: Sequence[str] = ()
    row_total: str | None = None
    col_total: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    decimals: int | Mapping[str, int] = 2
    section: str = ""
    suppression_note: str | None = None
    peildatum: Any = None


@dataclass
class FigureItem:
    """One figure to publish: a matplotlib Figure finished in the house style."""

    name: str
    figure: Any
    title: str
    caption: str = ""
    method: str = ""
    source: str | None = None
    section: str = ""
    peildatum: Any = None


@dataclass
class StepRecord:
    """What one step of a run did: for the manifest and the summary."""

    name: str
    rows: int
    seconds: float
    tables: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


@dataclass
class Publication:
    """Everything one report holds: tables, figures and their provenance.

    Parameters
    ----------
    title : str
        Report title.
    peildatum : date-like
        Reference date of the extract; printed under every item.
    source : str
        Default source line.
    lang : {"nl", "en"}
        Language of headings and labels.
    min_cell : int
        Counts below this are suppressed (default 5).

    Examples
    --------
    >>> import pandas as pd
    >>> pub = Publication("Bestandsanalyse", "2025-12-31", "Uitkeringsbestand")
    >>> df = pd.DataFrame({"Leeftijd": ["15-26", "27-44"], "Aantal": [40, 120]})
    >>> pub.add_table("leeftijd", df, title="Cliënten naar leeftijd",
    ...               method="Telling op de peildatum.", counts=["Aantal"])
    >>> len(pub.tables)
    1
    """

    title: str
    peildatum: Any
    source: str
    lang: Literal["nl", "en"] = "nl"
    min_cell: int = 5
    tables: list[TableItem] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.peildatum = pd.Timestamp(self.peildatum)

    def add_table(self, name: str, data: pd.DataFrame, **kwargs: Any) -> TableItem:
        """Add a table; keyword arguments are those of :class:`TableItem`."""
        _check_name(name, "table")
        if any(t.name == name for t in self.tables):
            raise PublishError(f"table name {name!r} is used twice.",
                               fix="Give every published table its own name.")
        item = TableItem(name=name, data=data, **kwargs)
        named = [*item.counts, *item.percentages, *item.derived, *item.by,
                 *(b for b in item.percentages.values() if isinstance(b, str))]
        missing = [c for c in named if c not in _frame(item.data).columns]
        not_counts = [c for c in item.derived.values() if c not in item.counts]
        if not_counts:
            raise PublishError(f"table {name!r}: derived values refer to {not_counts}, which are "
                               "not count columns.", fix="Name count columns in `derived`.")
        if missing:
            raise PublishError(f"table {name!r}: column(s) {missing} named in the suppression "
                               f"spec are not in the table (columns: {list(_frame(data).columns)}).",
                               fix="Name the count and percentage columns exactly as in the table.")
        if item.col_total is not None and item.col_total not in item.counts:
            raise PublishError(f"table {name!r}: col_total {item.col_total!r} is not one of the "
                               f"count columns {list(item.counts)}.",
                               fix="Name the count column that holds the row totals.")
        self.tables.append(item)
        self.order.append(("table", name))
        return item

    def add_figure(self, name: str, figure: Any, **kwargs: Any) -> FigureItem:
        """Add a matplotlib figure; keyword arguments are those of :class:`FigureItem`."""
        _check_name(name, "figure")
        if any(f.name == name for f in self.figures):
            raise PublishError(f"figure name {name!r} is used twice.",
                               fix="Give every published figure its own name.")
        item = FigureItem(name=name, figure=figure, **kwargs)
        self.figures.append(item)
        self.order.append(("figure", name))
        return item

    def add_step(self, record: StepRecord) -> None:
        """Record a finished step (rows and seconds go to the manifest)."""
        self.steps.append(record)


@dataclass
class ReportResult:
    """What :func:`write_report` wrote."""

    out_dir: Path
    files: list[Path]
    manifest: dict[str, Any]
    seconds: float


def _check_name(name: str, what: str) -> None:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", name or ""):
        raise PublishError(f"{what} name {name!r} is not a valid file stem.",
                           fix="Use lower-case letters, digits, '_' and '-' only.")


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table with a meaningful index moved into columns."""
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    return df.reset_index(drop=True)


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


# --------------------------------------------------------------------------- writers


def file_sha256(path: Path | str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (extracts can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _display_frame(item: TableItem, table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Round floats, format dates, rename headers: the table as published.

    Returns the table and the decimals of each float column (by published
    header). Float columns that hold only whole numbers become integers.
    """
    out = table.copy()
    decimals: dict[str, int] = {}
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s):
            d = item.decimals.get(c, 2) if isinstance(item.decimals, Mapping) else item.decimals
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            finite = vals[np.isfinite(vals)]
            if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
                out[c] = pd.array(np.where(np.isfinite(vals), vals, 0).astype("int64"),
                                  dtype="Int64")
                out.loc[~np.isfinite(vals), c] = pd.NA
            else:
                out[c] = s.round(d)
                decimals[str(item.labels.get(c, c))] = int(d)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype("string")
        elif pd.api.types.is_timedelta64_dtype(s):
            out[c] = s.dt.days
    out.columns = [str(item.labels.get(c, c)) for c in out.columns]
    if out.columns.duplicated().any():
        raise PublishError(f"table {item.name!r}: duplicate column headers after labelling.",
                           fix="Give every column its own label.")
    return out, decimals


def _write_csv(df: pd.DataFrame, path: Path, decimals: dict[str, int]) -> None:
    out = df.copy()
    for c, d in decimals.items():
        # Fixed decimals per column, empty for missing: the same bytes on every run.
        out[c] = [("" if not np.isfinite(v) else f"{v:.{d}f}")
                  for v in out[c].to_numpy(dtype="float64", na_value=np.nan)]
    out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", date_format="%Y-%m-%d")


def _sheet_names(names: list[str]) -> list[str]:
    """Unique Excel sheet names of at most 31 characters."""
    out: list[str] = []
    for n in names:
        base = _SHEET_BAD.sub("_", n)[:_SHEET_MAX]
        cand, i = base, 2
        while cand.lower() in {o.lower() for o in out} or cand.lower() == "toelichting":
            suffix = f"~{i}"
            cand = base[: _SHEET_MAX - len(suffix)] + suffix
            i += 1
        out.append(cand)
    return out


def _xlsx_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _write_sheet(ws, df: pd.DataFrame, decimals: dict[str, int]) -> None:
    from openpyxl.styles import Alignment, Font

    ws.append([str(c) for c in df.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in df.itertuples(index=False, name=None):
        ws.append([_xlsx_value(v) for v in row])
    for i, c in enumerate(df.columns):
        if str(c) not in decimals:
            continue
        d = decimals[str(c)]
        fmt = "0" if d == 0 else "0." + "0" * d
        for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell.number_format = fmt
    for i, c in enumerate(df.columns):
        width = max([len(str(c))] + [len(str(v)) for v in df.iloc[:200, i].tolist()])
        ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"


def _normalise_zip(data: bytes, peildatum: pd.Timestamp) -> bytes:
    """Rewrite an xlsx (a zip) with fixed entry time stamps and document dates.

    openpyxl stamps ``docProps/core.xml`` and every zip entry with the time of
    saving; fixing both to the peildatum makes two runs byte-identical.
    """
    stamp = peildatum.strftime("%Y-%m-%dT00:00:00Z")
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp + m.group(3), text)
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return buf.getvalue()


def _write_workbook(path: Path, pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
                    decimals: dict[str, dict[str, int]], notes: pd.DataFrame) -> list[str]:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    names = _sheet_names([item.name for item, _ in frames])
    info = wb.create_sheet(_tx("explanation", pub.lang))
    info.append([pub.title])
    info["A1"].font = Font(bold=True, size=13)
    info.append([f"{_tx('source', pub.lang)}: {pub.source}"])
    info.append([f"{_tx('peildatum', pub.lang)}: {pub.peildatum.strftime('%d-%m-%Y')}"])
    for line in pub.notes:
        info.append([line])
    info.append([])
    start = info.max_row + 1
    _write_sheet(info, notes, {})
    # _write_sheet bolds row 1 and freezes below it; here the header sits lower.
    info.freeze_panes = None
    for cell in info[start]:
        cell.font = Font(bold=True)
    for cell in info[1]:
        cell.font = Font(bold=True, size=13)
    for row in info.iter_rows(min_row=start + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for sheet, (item, df) in zip(names, frames, strict=True):
        ws = wb.create_sheet(sheet)
        _write_sheet(ws, df, decimals[item.name])
    wb.properties.creator = "caseload"
    wb.properties.title = pub.title
    created = pub.peildatum.to_pydatetime().replace(tzinfo=None)
    wb.properties.created = created
    wb.properties.modified = created
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue(), pub.peildatum))
    return names


def _html_table(item: TableItem, shown: pd.DataFrame, suppressed_mask: pd.DataFrame,
                decimals: dict[str, int], lang: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) for c in shown.columns]
    for r in range(len(shown)):
        cells = []
        for j, c in enumerate(shown.columns):
            v = shown.iat[r, j]
            if suppressed_mask.iat[r, j]:
                cells.append('<td class="num x" title="niet getoond">x</td>')
                continue
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                text = ""
            elif numeric[j] and not isinstance(v, bool | np.bool_):
                text = _fmt_num(float(v), decimals.get(str(c), 0), lang)
            else:
                text = str(v)
            cls = ' class="num"' if numeric[j] else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="t-{item.name}"><thead><tr>{head}</tr></thead><tbody>'
            + "\n".join(rows) + "</tbody></table>")


def _fmt_num(x: float, decimals: int, lang: str) -> str:
    from caseload.figures.style import fmt_number

    return fmt_number(x, decimals, lang)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.1em;margin-top:1.6em}.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}th{background:#eef4fa;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.x{color:#999}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
.note{font-size:.8em;color:#555;margin:.2em 0}.wrap{overflow-x:auto}
nav>ul{columns:2;font-size:.9em}nav>ul>li{break-inside:avoid;margin-bottom:.4em}
nav ul ul{columns:1;padding-left:1.2em}
"""


def _item_notes(method: str, source: str, peil: str, rule: str | None, lang: str) -> str:
    parts = [f"<b>{_tx('method', lang)}:</b> {html.escape(method)}" if method else "",
             f"<b>{_tx('source', lang)}:</b> {html.escape(source)}",
             f"<b>{_tx('peildatum', lang)}:</b> {peil}"]
    if rule is not None:
        parts.append(f"<b>{_tx('suppression', lang)}:</b> {html.escape(rule)}")
    return "".join(f'<p class="note">{p}</p>' for p in parts if p)


def _write_html(path: Path, pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
                masks: dict[str, pd.DataFrame], decimals: dict[str, dict[str, int]],
                figure_png: dict[str, bytes]) -> None:
    lang = pub.lang
    peil = pub.peildatum.strftime("%d-%m-%Y")
    figures = {f.name: f for f in pub.figures}
    shown = {item.name: (item, df) for item, df in frames}
    # Sections appear in the order the steps added their first item; within a
    # section, tables and figures keep the order in which they were added.
    sections: dict[str, list[str]] = {}
    toc: dict[str, list[str]] = {}
    for kind, name in pub.order:
        if kind == "figure":
            fig = figures[name]
            b64 = base64.b64encode(figure_png[name]).decode("ascii")
            title = html.escape(fig.title)
            cap = f"<figcaption>{html.escape(fig.caption)}</figcaption>" if fig.caption else ""
            block = (f'<figure id="f-{name}"><h3>{title}</h3>'
                     f'<img alt="{title}" src="data:image/png;base64,{b64}">{cap}'
                     + _item_notes(fig.method, fig.source or pub.source,
                                   _peil_text(fig.peildatum, pub), None, lang)
                     + "</figure>")
            section, anchor = fig.section, f"f-{name}"
        else:
            item, df = shown[name]
            title = html.escape(item.title)
            block = (f'<section id="s-{name}"><h3>{title}</h3>'
                     f'<div class="wrap">{_html_table(item, df, masks[name], decimals[name], lang)}</div>'
                     + _item_notes(item.method, item.source or pub.source,
                                   _peil_text(item.peildatum, pub),
                                   suppression_rule(item, pub.min_cell, lang), lang)
                     + "</section>")
            section, anchor = item.section, f"s-{name}"
        sections.setdefault(section, []).append(block)
        toc.setdefault(section, []).append(f'<li><a href="#{anchor}">{title}</a></li>')
    body = [f"<h1>{html.escape(pub.title)}</h1>",
            f'<p class="meta">{_tx("peildatum", lang)}: {peil} · {_tx("source", lang)}: '
            f"{html.escape(pub.source)}</p>"]
    body += [f'<p class="meta">{html.escape(n)}</p>' for n in pub.notes]
    body.append(f'<p class="meta">{_tx("legend", lang)} {_tx("downloads", lang)}</p>')
    body.append(f"<nav><h2>{_tx('contents', lang)}</h2><ul>")
    for s in sections:
        body.append(f'<li><a href="#{_anchor(s)}">{html.escape(s or pub.title)}</a><ul>'
                    + "".join(toc[s]) + "</ul></li>")
    body.append("</ul></nav>")
    for s, blocks in sections.items():
        body.append(f'<h2 id="{_anchor(s)}">{html.escape(s or pub.title)}</h2>')
        body.extend(blocks)
    doc = (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{html.escape(pub.title)}</title><style>{_CSS}</style></head><body>\n"
           + "\n".join(body) + "\n</body></html>\n")
    path.write_text(doc, encoding="utf-8", newline="\n")


def _peil_text(peildatum, pub: Publication) -> str:
    return pd.Timestamp(peildatum if peildatum is not None else pub.peildatum).strftime("%d-%m-%Y")


def _anchor(section: str) -> str:
    return "h-" + (re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-") or "rapport")


def _package_versions() -> dict[str, str]:
    out = {}
    for name in MANIFEST_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _check_files(paths: list[Path]) -> None:
    from caseload import privacy

    for p in paths:
        privacy.check_file_no_bsn(p)


# --------------------------------------------------------------------------- write_report


def write_report(pub: Publication, out_dir: Path | str, *, extra_manifest: dict | None = None,
                 started: float | None = None) -> ReportResult:
    """Write a publication to ``out_dir``, atomically.

    Every table is suppressed (:func:`suppress_table`) and guarded (no
    identifier columns, pseudonyms or BSN-like values), then written as CSV and
    as a sheet of one XLSX workbook with a "Toelichting" sheet; figures as PNG
    and SVG; a self-contained ``index.html``; and ``manifest.json``. Every
    written file is checked for BSN-like numbers.

    The files go to a temporary folder next to ``out_dir`` (same filesystem);
    only when all of them were written and checked is the old folder renamed
    aside, the new one renamed into place and the old one deleted. On any
    error the previous ``out_dir`` is left exactly as it was and the temporary
    folder is removed. Entries of the old folder that the report does not
    generate (its ``README.md``, the output folders of other commands such as
    ``reports/kpi``) are copied into the new folder before the swap.

    Parameters
    ----------
    pub : Publication
    out_dir : path-like
        Target folder, e.g. ``reports``.
    extra_manifest : dict, optional
        More entries for ``manifest.json``.
    started : float, optional
        ``time.perf_counter()`` at the start of the run, for the total time in
        the manifest.

    Returns
    -------
    ReportResult

    Raises
    ------
    PublishError
        When a table holds identifiers or BSN-like values, or a written file
        does; nothing is changed in ``out_dir`` then.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        written, manifest = _write_all(pub, stage, extra_manifest or {})
        _carry_over(out_dir, stage)
        manifest["timings"]["write_seconds"] = round(time.perf_counter() - t0, 3)
        if started is not None:
            manifest["timings"]["total_seconds"] = round(time.perf_counter() - started, 3)
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False,
                                                        default=str) + "\n", encoding="utf-8")
        _check_files([stage / "manifest.json"])
        _swap(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    files = [out_dir / p.relative_to(stage) for p in [*written, stage / "manifest.json"]]
    return ReportResult(out_dir, files, manifest, time.perf_counter() - t0)


def _carry_over(out_dir: Path, stage: Path) -> None:
    """Copy what the previous folder holds besides the report itself into the new one."""
    if not out_dir.is_dir():
        return
    for entry in sorted(out_dir.iterdir()):
        if entry.name in GENERATED or (stage / entry.name).exists():
            continue
        if entry.is_dir():
            shutil.copytree(entry, stage / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, stage / entry.name, follow_symlinks=False)


def _swap(stage: Path, out_dir: Path) -> None:
    """Put ``stage`` in the place of ``out_dir`` with two renames."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        out_dir.rename(old)
    try:
        stage.rename(out_dir)
    except BaseException:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_all(pub: Publication, stage: Path, extra: dict) -> tuple[list[Path], dict]:
    from caseload.figures.style import save

    lang = pub.lang
    (stage / "tables").mkdir()
    (stage / "figures").mkdir()
    written: list[Path] = []
    frames: list[tuple[TableItem, pd.DataFrame]] = []
    masks: dict[str, pd.DataFrame] = {}
    decimals: dict[str, dict[str, int]] = {}
    table_meta = []
    for item in pub.tables:
        table, stats = suppress_table(item, pub.min_cell)
        shown, decimals[item.name] = _display_frame(item, table)
        _guard(item, shown)
        before = _frame(item.data).reindex(columns=table.columns)
        mask = pd.DataFrame(table.isna().to_numpy() & before.notna().to_numpy(), columns=shown.columns)
        masks[item.name] = mask
        frames.append((item, shown))
        p = stage / "tables" / f"{item.name}.csv"
        _write_csv(shown, p, decimals[item.name])
        written.append(p)
        table_meta.append({"name": item.name, "title": item.title, "file": f"tables/{item.name}.csv",
                           "rows": int(len(shown)), "columns": [str(c) for c in shown.columns],
                           "suppressed": stats, "sha256": file_sha256(p)})
    notes = pd.DataFrame({
        _tx("sheet", lang): _sheet_names([i.name for i, _ in frames]),
        _tx("title", lang): [i.title for i, _ in frames],
        _tx("method", lang): [i.method for i, _ in frames],
        _tx("source", lang): [i.source or pub.source for i, _ in frames],
        _tx("peildatum", lang): [_peil_text(i.peildatum, pub) for i, _ in frames],
        _tx("suppression", lang): [suppression_rule(i, pub.min_cell, lang) for i, _ in frames],
        _tx("primary", lang): [m["suppressed"]["primary"] for m in table_meta],
        _tx("secondary", lang): [m["suppressed"]["secondary"] for m in table_meta],
        _tx("pct_suppressed", lang): [m["suppressed"]["percentages"] for m in table_meta],
    })
    xlsx = stage / "tabellen.xlsx"
    sheets = _write_workbook(xlsx, pub, frames, decimals, notes)
    for meta, sheet in zip(table_meta, sheets, strict=True):
        meta["sheet"] = sheet
    written.append(xlsx)
    figure_png: dict[str, bytes] = {}
    figure_meta = []
    for fig in pub.figures:
        paths = save(fig.figure, stage / "figures" / fig.name)
        written.extend(paths)
        png = next(p for p in paths if p.suffix == ".png")
        figure_png[fig.name] = png.read_bytes()
        figure_meta.append({"name": fig.name, "title": fig.title,
                            "files": [f"figures/{p.name}" for p in paths],
                            "sha256": {p.name: file_sha256(p) for p in paths}})
    index = stage / "index.html"
    _write_html(index, pub, frames, masks, decimals, figure_png)
    written.append(index)
    _check_files(written)
    manifest = {
        "title": pub.title,
        "peildatum": pub.peildatum.date().isoformat(),
        "language": lang,
        "created_utc": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": [{"path": str(p), "bytes": Path(p).stat().st_size, "sha256": file_sha256(p)}
                   for p in pub.inputs],
        "config": pub.config,
        "packages": _package_versions(),
        "suppression": {"min_cell": pub.min_cell,
                        "rule": ("primary: counts below min_cell; secondary: further cells so that "
                                 "no suppressed cell follows from row or column totals; "
                                 "percentages on suppressed bases")},
        "steps": [{"name": s.name, "rows": s.rows, "seconds": round(s.seconds, 3),
                   "tables": s.tables, "figures": s.figures} for s in pub.steps],
        "tables": table_meta,
        "figures": figure_meta,
        "files": {str(p.relative_to(stage)): file_sha256(p) for p in written},
        "timings": {"steps_seconds": round(sum(s.seconds for s in pub.steps), 3)},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(manifest.get(key), dict):
            manifest[key].update(value)
        else:
            manifest[key] = value
    return written, manifest
