"""Canonical tables and code lists.

Every analysis in ``caseload`` works on four canonical tables: ``clients``,
``spells``, ``assessments`` and ``activities``. They are declared once here, as
:class:`Table` objects, so code refers to columns by attribute
(``SPELLS.start_date``) rather than by string literals scattered over modules.

Codes are short Dutch slugs (``werk``, ``alleenstaand``) because they are domain
terms; every code list carries a Dutch and an English label for output.

Notes
-----
The inflow-reason list is the real code list "Oorzaak bijstandsafhankelijkheid"
used by municipal benefit administrations (source: VNG Realisatie Data Science
Hub, project "Sturen op bijstand", gemeente Nissewaard), bundled in
``caseload/data/codelijst_oorzaak_bijstandsafhankelijkheid.csv``.

The package has three modules: :mod:`caseload.schema.codes` (code lists, age bands),
:mod:`caseload.schema.tables` (the canonical tables) and :mod:`caseload.schema.labels` (the
label catalogue of published output, municipality names). Everything is imported from
``caseload.schema``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from caseload.schema.codes import (
    ACTIVITY_OUTCOME,
    AGE_BANDS_LOSSER,
    BARRIERS,
    BENEFIT,
    COMPETENCES,
    EDUCATION,
    END_REASON,
    HOUSEHOLD,
    INSTRUMENT,
    LADDER,
    MARKET,
    MIGRATION_BACKGROUND,
    PROFILE,
    SEGMENT,
    SEX,
    WORK_END_REASONS,
    CodeList,
    age_band,
    inflow_reasons,
)
from caseload.schema.labels import (
    REPORT_LABELS,
    REPORT_TEXT,
    REPORT_VALUES,
    fmt_number,
    label_table,
    municipality_name,
    municipality_names,
    pick_label,
    report_label,
    report_text,
    report_value,
)
from caseload.schema.tables import (
    ACTIVITIES,
    ASSESSMENTS,
    CLIENTS,
    SPELLS,
    TABLES,
    Column,
    Table,
    conform,
    empty_table,
)

__all__ = [
    "Column",
    "Table",
    "CLIENTS",
    "SPELLS",
    "ASSESSMENTS",
    "ACTIVITIES",
    "TABLES",
    "CodeList",
    "SEX",
    "HOUSEHOLD",
    "EDUCATION",
    "BENEFIT",
    "LADDER",
    "SEGMENT",
    "PROFILE",
    "COMPETENCES",
    "BARRIERS",
    "MARKET",
    "END_REASON",
    "WORK_END_REASONS",
    "INSTRUMENT",
    "ACTIVITY_OUTCOME",
    "MIGRATION_BACKGROUND",
    "inflow_reasons",
    "municipality_names",
    "municipality_name",
    "REPORT_LABELS",
    "REPORT_VALUES",
    "REPORT_TEXT",
    "report_label",
    "report_value",
    "report_text",
    "label_table",
    "fmt_number",
    "pick_label",
    "AGE_BANDS_LOSSER",
    "age_band",
    "empty_table",
    "conform",
    "Caseload",
]


# --------------------------------------------------------------------------- the container


@dataclass
class Caseload:
    """The canonical tables of one extract, plus what was rejected on the way in.

    Returned by :func:`caseload.read_extract` and :func:`caseload.synth.generate`.

    Attributes
    ----------
    clients, spells, assessments, activities : DataFrame
        Canonical tables (see :data:`CLIENTS`, :data:`SPELLS`, ...). Tables that
        were not in the extract are empty with the canonical columns.
    peildatum : Timestamp
        Reference date of the extract.
    rejected : DataFrame
        One row per rejected input row: ``file, row, column, value, reason, fix``.
        ``value`` is masked where it could be a personal number.
    report : DataFrame
        One row per input file: ``file, table, rows_read, rows_loaded,
        rows_rejected`` with ``rows_read == rows_loaded + rows_rejected``.
    """

    clients: pd.DataFrame
    spells: pd.DataFrame
    assessments: pd.DataFrame = field(default_factory=lambda: empty_table(ASSESSMENTS))
    activities: pd.DataFrame = field(default_factory=lambda: empty_table(ACTIVITIES))
    peildatum: pd.Timestamp | None = None
    rejected: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["file", "row", "column", "value", "reason", "fix"]
        )
    )
    report: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["file", "table", "rows_read", "rows_loaded", "rows_rejected"]
        )
    )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four canonical tables by name."""
        return {
            "clients": self.clients,
            "spells": self.spells,
            "assessments": self.assessments,
            "activities": self.activities,
        }

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self.tables().items())
        peil = None if self.peildatum is None else self.peildatum.date().isoformat()
        return f"Caseload(peildatum={peil}, {sizes}, rejected={len(self.rejected):,})"
