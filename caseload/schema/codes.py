"""Code lists of the canonical tables (Dutch slugs with Dutch and English labels) and age bands.

The inflow-reason list is the real code list "Oorzaak bijstandsafhankelijkheid" used by municipal
benefit administrations (source: VNG Realisatie Data Science Hub, project "Sturen op bijstand",
gemeente Nissewaard), bundled in ``caseload/data/codelijst_oorzaak_bijstandsafhankelijkheid.csv``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

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

    age = np.asarray(age, dtype="float64")
    labels = [f"{lo}-{hi}{suffix}" for lo, hi in bands]
    codes = np.full(age.shape, -1, dtype="int64")
    for i, (lo, hi) in enumerate(bands):
        codes[(age >= lo) & (age < hi + 1)] = i
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)
