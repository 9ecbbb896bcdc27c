"""The label catalogue of published output (headers, values, sentences) and municipality names."""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from importlib import resources

from caseload.schema.tables import ACTIVITIES, ASSESSMENTS, CLIENTS, SPELLS

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
