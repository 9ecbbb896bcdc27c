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
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

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
    "AGE_BANDS_LOSSER",
    "age_band",
    "empty_table",
    "conform",
    "Caseload",
]


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


# --------------------------------------------------------------------------- code lists


@dataclass(frozen=True)
class CodeList:
    """A code list: code -> Dutch and English label, in a fixed order."""

    name: str
    labels_nl: dict[str, str]
    labels_en: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return list(self.labels_nl)

    def label(self, code, lang: str = "nl") -> str:
        table = self.labels_nl if lang == "nl" else (self.labels_en or self.labels_nl)
        return table.get(code, str(code))

    def labels(self, lang: str = "nl") -> dict[str, str]:
        return dict(self.labels_nl if lang == "nl" else (self.labels_en or self.labels_nl))

    def dtype(self) -> pd.CategoricalDtype:
        return pd.CategoricalDtype(self.codes, ordered=False)

    def __contains__(self, code) -> bool:
        return code in self.labels_nl

    def __iter__(self):
        return iter(self.labels_nl)

    def __len__(self) -> int:
        return len(self.labels_nl)


SEX = CodeList(
    "sex",
    {"M": "Man", "V": "Vrouw", "X": "Onbekend"},
    {"M": "Male", "V": "Female", "X": "Unknown"},
)

HOUSEHOLD = CodeList(
    "household",
    {
        "alleenstaand": "Alleenstaande",
        "alleenstaande_ouder": "Alleenstaande ouder",
        "paar": "(Echt)paar zonder kinderen",
        "paar_met_kinderen": "(Echt)paar met kinderen",
        "overig": "Overig",
    },
    {
        "alleenstaand": "Single",
        "alleenstaande_ouder": "Single parent",
        "paar": "Couple without children",
        "paar_met_kinderen": "Couple with children",
        "overig": "Other",
    },
)

EDUCATION = CodeList(
    "education",
    {"laag": "Laag (tot en met vmbo)", "middel": "Middelbaar (havo/vwo/mbo)",
     "hoog": "Hoog (hbo/wo)", "onbekend": "Onbekend"},
    {"laag": "Low", "middel": "Intermediate", "hoog": "High", "onbekend": "Unknown"},
)

BENEFIT = CodeList(
    "benefit",
    {"PW": "Participatiewet (bijstand)", "IOAW": "IOAW", "IOAZ": "IOAZ", "BBZ": "Bbz"},
    {"PW": "Social assistance (Participatiewet)", "IOAW": "IOAW", "IOAZ": "IOAZ", "BBZ": "Bbz"},
)

LADDER = CodeList(
    "ladder_step",
    {
        "1": "Trede 1: geïsoleerd",
        "2": "Trede 2: sociale contacten buiten de deur",
        "3": "Trede 3: deelname georganiseerde activiteiten",
        "4": "Trede 4: onbetaald werk",
        "5": "Trede 5: betaald werk met ondersteuning",
        "6": "Trede 6: betaald werk",
    },
    {
        "1": "Step 1: isolated",
        "2": "Step 2: social contacts outside the home",
        "3": "Step 3: organised activities",
        "4": "Step 4: unpaid work",
        "5": "Step 5: paid work with support",
        "6": "Step 6: paid work",
    },
)
"""Participatieladder. Stored as integers 1-6 in ``assessments.ladder_step``;
the code list keys are the string form for labelling."""

SEGMENT = CodeList(
    "segment",
    {
        "A": "A: direct bemiddelbaar",
        "B": "B: bemiddelbaar binnen 3-6 maanden",
        "C": "C: (nog) niet bemiddelbaar",
    },
    {
        "A": "A: can work now",
        "B": "B: placeable within 3-6 months",
        "C": "C: not yet placeable",
    },
)

PROFILE = CodeList(
    "profile",
    {
        "1": "Aanpakker en doorzetter",
        "2": "Snel, precies en fysiek fit",
        "3": "Handig en sociaal",
        "4": "Klantgericht en communicatief",
        "5": "Administratief en nauwkeurig",
        "6": "Aanpakker en fysiek sterk",
    },
    {
        "1": "Go-getter with perseverance",
        "2": "Fast, precise and physically fit",
        "3": "Handy and social",
        "4": "Customer-oriented and communicative",
        "5": "Administrative and accurate",
        "6": "Go-getter, physically strong",
    },
)
"""The six competence profiles (Drechtsteden). Stored as integers 1-6 in
``assessments.caseworker_profile`` and in segmentation output; keys are strings."""

COMPETENCES = CodeList(
    "competence",
    {
        "competence_drive": "Aanpakken en doorzetten",
        "competence_physical": "Fysieke belastbaarheid",
        "competence_precision": "Snelheid en precisie",
        "competence_practical": "Handigheid",
        "competence_social": "Sociale vaardigheden",
        "competence_communication": "Klantgerichtheid en communicatie",
        "competence_administrative": "Administratieve vaardigheden",
    },
    {
        "competence_drive": "Drive and perseverance",
        "competence_physical": "Physical capacity",
        "competence_precision": "Speed and precision",
        "competence_practical": "Practical skill",
        "competence_social": "Social skills",
        "competence_communication": "Customer orientation and communication",
        "competence_administrative": "Administrative skills",
    },
)
"""Competence score columns of ``assessments`` (scale 1-5, float)."""

BARRIERS = CodeList(
    "barrier",
    {
        "barrier_language": "Taalbarrière",
        "barrier_debts": "Schulden",
        "barrier_care": "Mantelzorg",
        "barrier_health": "Gezondheid",
        "barrier_childcare": "Kinderopvang",
    },
    {
        "barrier_language": "Language",
        "barrier_debts": "Debts",
        "barrier_care": "Informal care duties",
        "barrier_health": "Health",
        "barrier_childcare": "Childcare",
    },
)
"""Barrier flag columns of ``assessments`` (boolean)."""

MARKET = CodeList(
    "market",
    {
        "zorg": "Zorg en welzijn",
        "logistiek": "Logistiek",
        "vervoer": "Vervoer",
        "techniek": "Techniek",
        "bouw_infra": "Bouw en infra",
        "ict": "ICT",
        "schoonmaak": "Schoonmaak",
        "energietransitie": "Energietransitie",
        "dienstverlening": "Dienstverlening",
        "detailhandel": "Detailhandel",
        "horeca": "Horeca",
        "productie": "Productie",
        "groen": "Groen",
        "administratie": "Administratie en kantoor",
    },
    {
        "zorg": "Care and welfare",
        "logistiek": "Logistics",
        "vervoer": "Transport",
        "techniek": "Engineering",
        "bouw_infra": "Construction and infrastructure",
        "ict": "ICT",
        "schoonmaak": "Cleaning",
        "energietransitie": "Energy transition",
        "dienstverlening": "Services",
        "detailhandel": "Retail",
        "horeca": "Hospitality",
        "productie": "Manufacturing",
        "groen": "Landscaping",
        "administratie": "Administration and office",
    },
)
"""Markets (sectors) that profiles are linked to, and sectors of activities and exits."""

END_REASON = CodeList(
    "end_reason",
    {
        "werk": "Werk (volledig)",
        "werk_deels": "Werk (deels, inkomsten boven de norm)",
        "opleiding": "Opleiding of studie",
        "verhuizing": "Verhuizing naar andere gemeente",
        "inkomen_partner": "Inkomen partner, samenwonen of huwelijk",
        "andere_uitkering": "Andere uitkering of voorziening",
        "aow": "Bereiken AOW-leeftijd",
        "detentie": "Detentie",
        "overlijden": "Overlijden",
        "handhaving": "Handhaving: geen recht, niet meewerken, fraude",
        "overig": "Overig of onbekend",
    },
    {
        "werk": "Work (full)",
        "werk_deels": "Work (partial, income above the norm)",
        "opleiding": "Education",
        "verhuizing": "Moved to another municipality",
        "inkomen_partner": "Partner income, cohabitation or marriage",
        "andere_uitkering": "Other benefit",
        "aow": "Reached state pension age",
        "detentie": "Detention",
        "overlijden": "Death",
        "handhaving": "Enforcement: no entitlement, non-cooperation, fraud",
        "overig": "Other or unknown",
    },
)
"""End reasons of ``spells.end_reason``; missing while the spell is open."""

WORK_END_REASONS = frozenset({"werk", "werk_deels"})
"""End reasons that count as exit to work."""

INSTRUMENT = CodeList(
    "instrument",
    {
        "werkfit": "Werkfit-traject",
        "wep": "Werkervaringsplek",
        "leerlijn": "Leerlijn met werkgevers",
        "sollicitatietraining": "Sollicitatietraining",
        "jobcoach": "Jobcoaching",
        "lks": "Loonkostensubsidie",
        "beschut_werk": "Beschut werk",
        "scholing": "Scholing",
        "taal": "Taaltraject",
    },
    {
        "werkfit": "Work-fitness programme",
        "wep": "Work-experience placement",
        "leerlijn": "Learning track with employers",
        "sollicitatietraining": "Job-application training",
        "jobcoach": "Job coaching",
        "lks": "Wage-cost subsidy",
        "beschut_werk": "Sheltered work",
        "scholing": "Training",
        "taal": "Language course",
    },
)

ACTIVITY_OUTCOME = CodeList(
    "activity_outcome",
    {
        "regulier_werk": "Regulier werk",
        "banenafspraak": "Werk via banenafspraak",
        "beschut_werk": "Beschut werk",
        "opleiding": "Opleiding",
        "uitval": "Uitval",
        "afgerond_geen_werk": "Afgerond zonder werk",
        "lopend": "Lopend",
    },
    {
        "regulier_werk": "Regular work",
        "banenafspraak": "Work via the jobs agreement",
        "beschut_werk": "Sheltered work",
        "opleiding": "Education",
        "uitval": "Dropout",
        "afgerond_geen_werk": "Completed without work",
        "lopend": "Ongoing",
    },
)

MIGRATION_BACKGROUND = CodeList(
    "migration_background",
    {
        "nederland": "Nederlandse achtergrond",
        "europa": "Europese migratieachtergrond",
        "buiten_europa": "Buiten-Europese migratieachtergrond",
        "onbekend": "Onbekend",
    },
    {
        "nederland": "Dutch background",
        "europa": "European migration background",
        "buiten_europa": "Non-European migration background",
        "onbekend": "Unknown",
    },
)
"""CBS classification (2022). A proxy for ethnicity: only used in fairness
reports, never as a model feature unless the config opts in explicitly."""


@lru_cache(maxsize=1)
def inflow_reasons() -> CodeList:
    """The real code list 'Oorzaak bijstandsafhankelijkheid' (inflow reasons).

    Codes are the administration's codes as strings (``"11"``: Einde Arb.
    dienstbetr./ZW). Source: VNG Realisatie Data Science Hub, project "Sturen op
    bijstand" (gemeente Nissewaard).
    """
    text = resources.files("caseload").joinpath(
        "data/codelijst_oorzaak_bijstandsafhankelijkheid.csv"
    ).read_text(encoding="utf-8")
    rows = [r for r in csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))]
    rows.sort(key=lambda r: int(r["code"]))
    labels = {r["code"]: r["omschrijving"] for r in rows}
    return CodeList("inflow_reason", labels, labels)


# --------------------------------------------------------------------------- municipalities


@lru_cache(maxsize=1)
def _municipality_table() -> dict[str, str]:
    text = resources.files("caseload").joinpath("data/gemeenten_rvig_tabel33.csv").read_text(
        encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["gemeentecode"].strip(): r["naam"].strip() for r in rows if r.get("naam")}


def municipality_names(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Municipality code -> name: the bundled RvIG table 33, updated with ``overrides``.

    The bundled table (``caseload/data/gemeenten_rvig_tabel33.csv``; source:
    Rijksdienst voor Identiteitsgegevens, Landelijke tabel 33 "Gemeententabel",
    state of about 2020) holds current and historic codes. Municipalities
    created from 2021 on are missing: name them in ``[report.municipality_names]``.

    Examples
    --------
    >>> municipality_names()["GM0168"]
    'Losser'
    >>> municipality_names({"GM1979": "Eemsdelta"})["GM1979"]
    'Eemsdelta'
    """
    names = dict(_municipality_table())
    names.update({str(k).strip().upper(): str(v) for k, v in (overrides or {}).items()})
    return names


def municipality_name(code, overrides: dict[str, str] | None = None) -> str:
    """The name of a municipality code; a code without a known name stays the code.

    Examples
    --------
    >>> municipality_name("GM0037"), municipality_name("GM9999")
    ('Stadskanaal', 'GM9999')
    """
    key = str(code).strip()
    if overrides and key.upper() in {str(k).upper() for k in overrides}:
        return municipality_names(overrides)[key.upper()]
    return _municipality_table().get(key.upper(), key)


# --------------------------------------------------------------------------- report labels

REPORT_LABELS: dict[str, tuple[str, str]] = {
    # durations: Kaplan-Meier, cumulative incidence, Cox, cohort curves
    "time": ("Duur sinds instroom", "Time since inflow"),
    "survival": ("Nog in de uitkering (%)", "Still on benefit (%)"),
    "at_risk": ("Aantal nog in de uitkering", "Number still on benefit"),
    "estimate": ("Schatting (%)", "Estimate (%)"),
    "cause": ("Soort uitstroom", "Kind of exit"),
    "covariate": ("Kenmerk", "Characteristic"),
    "coef": ("Coëfficiënt", "Coefficient"),
    "std_err": ("Standaardfout", "Standard error"),
    "hazard_ratio": ("Verhouding uitstroomkans", "Hazard ratio"),
    "z": ("Toetsgrootheid z", "Test statistic z"),
    "p": ("Overschrijdingskans p", "p-value"),
    "group": ("Groep", "Group"),
    "years_since_start": ("Jaren sinds start", "Years since start"),
    "share_active": ("Nog actief (%)", "Still active (%)"),
    "n": ("Aantal", "Count"),
    "horizon": ("Tijdshorizon", "Time horizon"),
    "events": ("Uitgestroomd", "Exited"),
    "censored": ("Nog lopend op de peildatum", "Still running on the reference date"),
    "median": ("Mediane duur", "Median duration"),
    "restricted_mean": ("Gemiddelde duur binnen de tijdshorizon", "Mean duration within the horizon"),
    "rmst_std_err": ("Standaardfout gemiddelde duur", "Standard error of the mean duration"),
    "entered_late": ("Later in de waarneming gekomen", "Entered observation late"),
    # flows, stock, segments, forecasts, KPI: the common names
    "municipality": ("Gemeente", "Municipality"),
    "year": ("Jaar", "Year"),
    "month": ("Maand", "Month"),
    "aantal": ("Aantal", "Count"),
    "percentage": ("Procent", "Percent"),
    "share": ("Aandeel (%)", "Share (%)"),
    "segment": ("Groep", "Group"),
    "series": ("Reeks", "Series"),
    "method": ("Methode", "Method"),
    "parameters": ("Parameters", "Parameters"),
    "peildatum": ("Peildatum", "Reference date"),
    "label": ("Omschrijving", "Description"),
    "value": ("Waarde", "Value"),
    "count": ("Aantal", "Count"),
    "total": ("Totaal", "Total"),
    "ds": ("Maand", "Month"),
    "y": ("Waarde", "Value"),
}
"""Column headers for published tables and figures: code name -> (Dutch, English).

Every column without a header of its own gets its header here; the publisher
adds interval bounds (``lower_0.95`` -> "Ondergrens 95%") by rule
(:func:`report_label`)."""

REPORT_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "cause": {"werk": ("Naar werk", "To work"), "overig": ("Overige uitstroom", "Other exits")},
    "table": {"spells": ("Uitkeringen", "Benefits"), "clients": ("Cliënten", "Clients"),
              "assessments": ("Diagnoses", "Assessments"), "activities": ("Activiteiten", "Activities")},
    "_bool": {"True": ("ja", "yes"), "False": ("nee", "no")},
}
"""Category values shown in published tables: code column -> code -> (Dutch, English)."""

REPORT_TEXT: dict[str, tuple[str, str]] = {
    "outside_bands": ("{n} uitkering(en) met een leeftijd bij de start buiten de leeftijdsklassen "
                      "tellen niet mee in de curven.",
                      "{n} spell(s) with an age at start outside the bands are left out of the curves."),
    "cox_sampled": ("Cox-model geschat op een aselecte steekproef van {n} van de {total} uitkeringen "
                    "(cox_max_rows, random_state={seed}).",
                    "Cox model fitted on a random sample of {n} of {total} spells "
                    "(cox_max_rows, random_state={seed})."),
    "cox_failed": ("Cox-model niet geschat: {error}", "Cox model not fitted: {error}"),
    "summary_step": ("stap", "step"),
    "summary_rows": ("rijen", "rows"),
    "summary_tables": ("tabellen", "tables"),
    "summary_figures": ("figuren", "figures"),
    "summary_seconds": ("seconden", "seconds"),
    "fewer_than": ("minder dan {n}", "fewer than {n}"),
    "summary_line": ("{tables} tabellen ({cells} cellen niet getoond), {figures} figuren in {seconds} s "
                     "-> {path}",
                     "{tables} tables ({cells} cells suppressed), {figures} figures in {seconds} s "
                     "-> {path}"),
    # --- console of `caseload refresh` / `validate` (caseload.cli) ---
    "console_note": ("Let op", "Note"),
    "console_error": ("Fout", "Error"),
    "console_reading": ("{n} bestand(en) lezen...", "Reading {n} file(s)..."),
    "validate_title": ("caseload validate (peildatum {peildatum})",
                       "caseload validate (reference date {peildatum})"),
    "validate_file": ("Bestand", "File"),
    "validate_table": ("Tabel", "Table"),
    "validate_read": ("Gelezen", "Read"),
    "validate_loaded": ("Geladen", "Loaded"),
    "validate_rejected": ("Afgewezen", "Rejected"),
    "validate_reasons": ("Belangrijkste redenen", "Main reasons"),
    "validate_written": ("{n} afgewezen rij(en) geschreven naar {path}",
                         "{n} rejected row(s) written to {path}"),
    "validate_hint": ("Met --out afgewezen.csv staat elke afgewezen rij met de oplossing in een bestand.",
                      "Use --out rejected.csv to list every rejected row with the fix."),
    # Library warnings shown on the console: the English text is the warning's message as the
    # library issues it ({n} etc. stand for its numbers); the console prints the Dutch one.
    "note_unprotected_single_row": (
        "{n} onderdrukte telling(en) zijn de enige rij van hun groep en zijn niet te beschermen; "
        "publiceer de totalen van die groepen niet.",
        "{n} suppressed count(s) are the only row of their group and cannot be protected; do not "
        "publish the totals of those groups."),
}
"""Sentences and words of reports and the console: key -> (Dutch, English)."""


def report_text(key: str, lang: str = "nl", **values) -> str:
    """A sentence of :data:`REPORT_TEXT` in ``lang``, with ``values`` filled in."""
    nl, en = REPORT_TEXT[key]
    return (nl if lang == "nl" else en).format(**values)


def _level_pct(level: str) -> str:
    x = float(level)
    pct = 100 * x if x <= 1 else x
    return f"{pct:g}".replace(".", ",")


def report_label(column: str, lang: str = "nl") -> str:
    """Header of a code column in a published table: the catalogue, interval bounds by rule.

    Examples
    --------
    >>> report_label("lower_0.95"), report_label("median_upper_0.95", "en")
    ('Ondergrens 95%', 'Median upper bound 95%')
    >>> report_label("survival"), report_label("not_in_catalogue")
    ('Nog in de uitkering (%)', 'not_in_catalogue')
    """
    c = str(column)
    if c in REPORT_LABELS:
        nl, en = REPORT_LABELS[c]
        return nl if lang == "nl" else en
    m = re.fullmatch(r"(?:(median|rmst)_)?(lower|upper|lo|hi)_(\d+(?:\.\d+)?)", c)
    if m:
        what, side, level = m.groups()
        low = side in ("lower", "lo")
        pct = _level_pct(level)
        if lang == "nl":
            bound = "Ondergrens" if low else "Bovengrens"
            prefix = {"median": "Mediaan: ", "rmst": "Gemiddelde duur: "}.get(what or "", "")
            return f"{prefix}{bound.lower() if prefix else bound} {pct}%"
        bound = "lower bound" if low else "upper bound"
        prefix = {"median": "Median ", "rmst": "Mean duration "}.get(what or "", "")
        return f"{prefix}{bound} {pct}%" if prefix else f"{bound.capitalize()} {pct}%"
    for table in (SPELLS, CLIENTS, ASSESSMENTS, ACTIVITIES):  # the canonical columns' labels
        if c in table.columns and c not in ("client_id", "spell_id", "dossier_id", "activity_id"):
            col = table[c]
            return (col.label_nl if lang == "nl" else col.label_en) or c
    return c


def report_value(column: str, value, lang: str = "nl") -> str:
    """A category value as shown in a published table (codes of :data:`REPORT_VALUES`)."""
    table = REPORT_VALUES.get(column, {})
    key = str(value)
    if key in table:
        nl, en = table[key]
        return nl if lang == "nl" else en
    return key


# --------------------------------------------------------------------------- age bands

AGE_BANDS_LOSSER: tuple[tuple[int, int], ...] = ((15, 26), (27, 44), (45, 64))
"""The age bands of the Losser duration table (inclusive bounds)."""


def age_band(age, bands=AGE_BANDS_LOSSER, suffix: str = " jaar") -> pd.Categorical:
    """Label ages with inclusive bands, e.g. ``"15-26 jaar"``; outside all bands: NaN.

    Examples
    --------
    >>> list(age_band([20, 30, 50, 70]))
    ['15-26 jaar', '27-44 jaar', '45-64 jaar', nan]
    """
    import numpy as np

    age = np.asarray(age, dtype="float64")
    labels = [f"{lo}-{hi}{suffix}" for lo, hi in bands]
    codes = np.full(age.shape, -1, dtype="int64")
    for i, (lo, hi) in enumerate(bands):
        codes[(age >= lo) & (age < hi + 1)] = i
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


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
