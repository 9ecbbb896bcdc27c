"""The four canonical tables (clients, spells, assessments, activities) as :class:`Table` objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload.schema.codes import (
    ACTIVITY_OUTCOME,
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
    CodeList,
)

# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Column name in code (English, snake_case).
    dtype : str
        pandas dtype the loader produces: ``"string"``, ``"Int64"``, ``"float64"``,
        ``"boolean"``, ``"datetime64[ns]"`` or ``"category"``.
    required : bool
        Whether a loaded table must have a non-missing value in every row.
    label_nl, label_en : str
        Labels for published tables and figures.
    codes : CodeList, optional
        The code list whose codes are the only valid values.
    """

    name: str
    dtype: str
    required: bool = False
    label_nl: str = ""
    label_en: str = ""
    codes: CodeList | None = None
    description: str = ""


class Table:
    """A canonical table: an ordered set of :class:`Column` with attribute access.

    ``SPELLS.start_date`` is the string ``"start_date"``; ``SPELLS["start_date"]``
    is the :class:`Column`.
    """

    def __init__(self, name: str, columns: list[Column], key: tuple[str, ...]):
        self.name = name
        self.columns = {c.name: c for c in columns}
        self.key = key

    def __getattr__(self, item: str) -> str:
        columns = self.__dict__.get("columns", {})
        if item in columns:
            return item
        raise AttributeError(f"table {self.__dict__.get('name')!r} has no column {item!r}")

    def __getitem__(self, item: str) -> Column:
        return self.columns[item]

    def __iter__(self):
        return iter(self.columns.values())

    @property
    def names(self) -> list[str]:
        return list(self.columns)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    def dtypes(self) -> dict[str, str]:
        return {c.name: c.dtype for c in self.columns.values()}

    def labels(self, lang: str = "nl") -> dict[str, str]:
        return {
            c.name: (c.label_nl if lang == "nl" else c.label_en) or c.name
            for c in self.columns.values()
        }

    def __repr__(self) -> str:
        return f"Table({self.name!r}, columns={self.names})"


# --------------------------------------------------------------------------- the tables

_PEIL = Column("peildatum", "datetime64[ns]", True, "Peildatum", "Reference date",
               description="Reference date of the extract the row comes from.")

CLIENTS = Table(
    "clients",
    [
        Column("client_id", "string", True, "Cliënt (pseudoniem)", "Client (pseudonym)",
               description="Keyed pseudonym of the client number (HMAC-SHA256)."),
        Column("municipality", "string", True, "Gemeente", "Municipality",
               description="CBS municipality code, e.g. GM0168."),
        Column("birth_year", "Int64", True, "Geboortejaar", "Year of birth"),
        Column("birth_date", "datetime64[ns]", False, "Geboortedatum", "Date of birth"),
        Column("sex", "string", False, "Geslacht", "Sex", SEX),
        Column("household", "string", False, "Leefvorm", "Household", HOUSEHOLD),
        Column("education", "string", False, "Opleidingsniveau", "Education", EDUCATION),
        Column("statushouder", "boolean", False, "Statushouder", "Refugee with permit"),
        Column("migration_background", "string", False, "Migratieachtergrond",
               "Migration background", MIGRATION_BACKGROUND),
        Column("work_limitation", "boolean", False, "Arbeidsbeperking (doelgroepregister)",
               "Work limitation (register)"),
        Column("new_target_group", "boolean", False, "Nieuwe doelgroep", "New target group",
               description="Would have gone to Wajong or Wsw before 2015."),
        _PEIL,
    ],
    key=("client_id",),
)

SPELLS = Table(
    "spells",
    [
        Column("spell_id", "string", True, "Uitkering", "Spell"),
        Column("client_id", "string", True, "Cliënt (pseudoniem)", "Client (pseudonym)"),
        Column("dossier_id", "string", False, "Dossier (pseudoniem)", "Household dossier",
               description="Pseudonym of the dossier number; a couple shares one dossier."),
        Column("municipality", "string", True, "Gemeente", "Municipality"),
        Column("benefit", "string", True, "Regeling", "Benefit", BENEFIT),
        Column("start_date", "datetime64[ns]", True, "Begindatum", "Start date",
               description="Original start date of the benefit (first day)."),
        Column("end_date", "datetime64[ns]", False, "Einddatum", "End date",
               description="Last day of the benefit; NaT while open at the peildatum."),
        Column("inflow_reason", "string", False, "Oorzaak bijstandsafhankelijkheid",
               "Inflow reason", description="Code of inflow_reasons()."),
        Column("end_reason", "string", False, "Reden beëindiging", "End reason", END_REASON),
        Column("household", "string", False, "Leefvorm", "Household", HOUSEHOLD),
        Column("n_periods", "Int64", False, "Aantal periodes", "Number of period rows",
               description="Number of payment-period rows consolidated into the spell."),
        Column("amount", "float64", False, "Uitkeringsbedrag per maand", "Monthly benefit amount",
               description="Amount of the last payment period (euro); decimal comma in Dutch files."),
        _PEIL,
    ],
    key=("spell_id",),
)

ASSESSMENTS = Table(
    "assessments",
    [
        Column("client_id", "string", True, "Cliënt (pseudoniem)", "Client (pseudonym)"),
        Column("assessed_on", "datetime64[ns]", True, "Datum diagnose", "Assessment date"),
        Column("ladder_step", "Int64", True, "Trede participatieladder", "Ladder step", LADDER),
        Column("werkfit", "boolean", False, "Werkfit", "Work-fit"),
        *[Column(c, "boolean", False, BARRIERS.label(c), BARRIERS.label(c, "en")) for c in BARRIERS],
        *[Column(c, "float64", False, COMPETENCES.label(c), COMPETENCES.label(c, "en"))
          for c in COMPETENCES],
        Column("caseworker_segment", "string", False, "Groep volgens consulent",
               "Caseworker's group", SEGMENT),
        Column("caseworker_profile", "Int64", False, "Profiel volgens consulent",
               "Caseworker's profile", PROFILE),
        _PEIL,
    ],
    key=("client_id", "assessed_on"),
)

ACTIVITIES = Table(
    "activities",
    [
        Column("activity_id", "string", True, "Activiteit", "Activity"),
        Column("client_id", "string", True, "Cliënt (pseudoniem)", "Client (pseudonym)"),
        Column("instrument", "string", True, "Instrument", "Instrument", INSTRUMENT),
        Column("start_date", "datetime64[ns]", True, "Begindatum", "Start date"),
        Column("end_date", "datetime64[ns]", False, "Einddatum", "End date"),
        Column("outcome", "string", False, "Resultaat", "Outcome", ACTIVITY_OUTCOME),
        Column("sector", "string", False, "Sector", "Sector", MARKET),
        Column("dropout_reason", "string", False, "Reden uitval", "Dropout reason"),
        _PEIL,
    ],
    key=("activity_id",),
)

TABLES: dict[str, Table] = {t.name: t for t in (CLIENTS, SPELLS, ASSESSMENTS, ACTIVITIES)}


def empty_table(table: Table) -> pd.DataFrame:
    """An empty DataFrame with the columns and dtypes of ``table``."""
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in table})


def _empty_column(dtype: str, n: int) -> pd.Series:
    """A column of ``n`` missing values of ``dtype``, without a Python list of ``n`` items."""
    if dtype == "string":
        import pyarrow as pa

        return pd.Series(pd.arrays.ArrowStringArray(pa.nulls(n, type=pa.string())))
    if dtype == "datetime64[ns]":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    return pd.Series(pd.NA if dtype != "float64" else np.nan, index=pd.RangeIndex(n), dtype=dtype)


def conform(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Return ``df`` with the canonical columns of ``table`` in order and dtypes set.

    Missing optional columns are added empty; extra columns are kept after the
    canonical ones. Raises ``KeyError`` naming a missing required column.
    """
    missing = [c for c in table.required if c not in df.columns]
    if missing:
        raise KeyError(f"{table.name}: required column(s) missing: {', '.join(missing)}")
    out = {}
    n = len(df)
    for col in table:
        if col.name in df.columns:
            s = df[col.name]
            if str(s.dtype) != col.dtype:
                s = s.astype(col.dtype)
            out[col.name] = s.reset_index(drop=True)
        else:
            out[col.name] = _empty_column(col.dtype, n)
    extra = {c: df[c].reset_index(drop=True) for c in df.columns if c not in table.columns}
    return pd.DataFrame({**out, **extra})
