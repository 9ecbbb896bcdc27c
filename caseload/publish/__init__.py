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

Modules: :mod:`~caseload.publish.items` (what a report holds),
:mod:`~caseload.publish.suppression` (disclosure control per table),
:mod:`~caseload.publish.files` (CSV and XLSX), :mod:`~caseload.publish.report_html`
(``index.html``), :mod:`~caseload.publish.report` (:func:`write_report`: staging,
checks, manifest, swap).

Layout of the output folder::

    reports/
      index.html            self-contained report (figures embedded), to open or mail;
                            opens with the Kernpunten (key findings)
      rapport.pdf           the same on A4 with page numbers (Publication.pdf; WeasyPrint)
      tabellen.xlsx         one sheet per table + sheet "Toelichting"; dates as dates
      tables/<name>.csv     one CSV per table: "excel-nl" (';', decimal comma, UTF-8 with
                            BOM; default) or "plain" (',', '.', UTF-8) by Publication.csv
      figures/<name>.png    and <name>.svg
      manifest.json         inputs (sha256), config, package versions, steps, findings, timings

Headers without a label of their own come from the label catalogue
(:func:`caseload.schema.report_label`), municipality codes become names
(:func:`caseload.schema.municipality_name`), shares (fractions) become percentages
with one decimal; see ``docs/report.md``.
"""

from __future__ import annotations

from caseload.publish.files import file_sha256
from caseload.publish.items import (
    FigureItem,
    Publication,
    PublishError,
    ReportResult,
    StepRecord,
    TableItem,
)
from caseload.publish.report import GENERATED, MANIFEST_PACKAGES, write_report
from caseload.publish.suppression import suppress_table, suppression_rule

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
    "GENERATED",
    "MANIFEST_PACKAGES",
]
