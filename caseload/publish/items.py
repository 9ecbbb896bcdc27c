"""What a report holds: tables with their suppression spec, figures, step records."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema.labels import label_table

_TEXT = label_table("report.items")


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
    peildatum : date-like or str, optional
        Reference date of this table when it differs from the report's (a table
        from a published source); a text such as ``"jaar 2017"`` for the period
        of bundled data.
    sums : sequence of str
        Columns other than the counts whose value in the ``row_total`` row is the
        sum of the rows (e.g. contacts per year): a relation a reader can use.
    relations : sequence of caseload.privacy.audit.Relation
        Further linear relations a reader of the report knows between this table's
        cells and those of other tables in the report (identities, derived columns,
        the same count elsewhere). With the totals implied by ``row_total``,
        ``col_total`` and ``sums`` they are written to ``relations.json``; the
        suppression adds complementary cells until no suppressed cell can be
        narrowed below the protection level, and the audit checks it.
    wide : (index columns, column, value), optional
        For a long table: how the HTML and PDF show it compactly, as a cross
        table (e.g. ``(["group"], "years_since_start", "share_active")``); the
        CSV and the workbook keep the long table.
    forced : dict of column to bool array, optional
        Count cells suppressed in any case, because they quote a count that another table of
        the report hides (e.g. the candidates per PMC, taken from the PMC table as published);
        shown as ``x`` like every suppressed cell.
    brief : sequence of str, optional
        The columns the HTML and PDF show, for a table too wide to read on a page (e.g.
        without the interval bounds); the CSV and the workbook keep every column, and the
        report links to them.
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
    sums: Sequence[str] = ()
    relations: Sequence[Any] = ()
    wide: tuple[Sequence[str], str, str] | None = None
    forced: Mapping[str, Any] = field(default_factory=dict)
    brief: Sequence[str] = ()


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
    protection_level : float, optional
        A suppressed cell must keep a feasible interval at least this wide under
        the declared relations (default ``min_cell``; never below it).
    csv : {"excel-nl", "plain"}
        CSV format: ``excel-nl`` (``;``, decimal comma, UTF-8 with BOM, dates
        ``dd-mm-jjjj``) opens as columns in Excel with Dutch settings; ``plain``
        (``,``, ``.``, UTF-8, ISO dates) for data teams and Power BI.
    municipality_names : dict
        Code -> name, added to or overriding the bundled RvIG table.
    findings : list of Finding
        The key findings (:class:`caseload.publish.findings.Finding`) that open
        the report in a section "Kernpunten".
    pdf : bool
        Also write ``rapport.pdf`` (A4, from the HTML with WeasyPrint); the batch run sets
        it from ``[report] pdf`` (default true).
    joint_suppression : dict
        ``{table: {count column: bool array}}``: cells hidden because another report
        published with this one hides them (:func:`caseload.publish.joint.protect_jointly`);
        empty for a report on its own.
    related_reports : list of (str, str)
        ``(name, relative link)`` of reports published beside this one (the reports per
        municipality), shown under the contents as links by name.

    Examples
    --------
    >>> import pandas as pd
    >>> pub = Publication("Bestandsanalyse", "2025-12-31", "Uitkeringsbestand")
    >>> df = pd.DataFrame({"Leeftijd": ["15-26", "27-44"], "Aantal": [40, 120]})
    >>> item = pub.add_table("leeftijd", df, title="Cliënten naar leeftijd",
    ...               method="Telling op de peildatum.", counts=["Aantal"])
    >>> len(pub.tables)
    1
    """

    title: str
    peildatum: Any
    source: str
    lang: Literal["nl", "en"] = "nl"
    min_cell: int = 5
    protection_level: float | None = None
    tables: list[TableItem] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list, repr=False)
    csv: Literal["excel-nl", "plain"] = "excel-nl"
    municipality_names: dict[str, str] = field(default_factory=dict)
    findings: list[Any] = field(default_factory=list)
    pdf: bool = False
    joint_suppression: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    related_reports: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.peildatum = pd.Timestamp(self.peildatum)

    def add_table(self, name: str, data: pd.DataFrame, **kwargs: Any) -> TableItem:
        """Add a table; keyword arguments are those of :class:`TableItem`."""
        _check_name(name, "table")
        if any(t.name == name for t in self.tables):
            raise PublishError(f"table name {name!r} is used twice.",
                               fix="Give every published table its own name.")
        item = TableItem(name=name, data=data, **kwargs)
        named = [*item.counts, *item.percentages, *item.derived, *item.by, *item.sums, *item.brief,
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


