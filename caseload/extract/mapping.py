"""Column mapping presets, table detection and the text lookups of the loader.

Two presets are built in (:data:`MAPPINGS`):

``gws``
    The Dutch export of a municipal benefit administration: one row per payment
    period (``Startdatum/Einddatum periodiek algemeen``), from which the loader
    derives ``spells`` (consolidated, see :func:`caseload.extract.consolidate_spells`)
    and ``clients``.
``canonical``
    Files whose headers are the column names of one canonical table in
    :mod:`caseload.schema` (``clients``, ``spells``, ``assessments``,
    ``activities``), in English (``client_id``) or as the Dutch labels
    (``Cliënt (pseudoniem)``).

A file's table is detected from its header, so one extract may mix a ``gws``
period file with canonical assessment and activity files. A user mapping (a
dict ``{field: file header}``) renames file columns to the field names of either
preset before detection.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from caseload.errors import ConfigError, ExtractError
from caseload.extract.files import HEADER_SEARCH_ROWS, norm_header
from caseload.extract.parse import normalise_text
from caseload.schema import BENEFIT, END_REASON, HOUSEHOLD, SEX, TABLES

__all__ = ["MAPPINGS", "GWS_FIELDS", "END_REASON_TEXTS", "HOUSEHOLD_TEXTS", "SEX_TEXTS",
           "Layout", "detect_layout", "text_lookup", "lookup_key", "inflow_lookup", "known_headers"]

# field -> (header in the gws export, required column)
GWS_FIELDS: dict[str, tuple[str, bool]] = {
    "dossier_id": ("Dossiernr", False),
    "client_id": ("Clientnummer", True),
    "birth_year": ("geboortejaar", True),
    "sex": ("geslacht", True),
    "role": ("Type", False),
    "period_start": ("Startdatum periodiek algemeen", True),
    "period_end": ("Einddatum periodiek algemeen", True),
    "start_date": ("Oorspronkelijke begindatum uitkeringsdossier", True),
    "household_code": ("Indicatie leefvorm", False),
    "household": ("Omschrijving leefvorm", True),
    "inflow_reason": ("Oorzaak bijstandsafhankelijkheid", True),
    "inflow_reason_text": ("Omschrijving oorzaak bijstandsafhankelijkheid", False),
    "end_reason": ("Omschrijving einde bijstandsafhankelijkheid", False),
    "municipality": ("Gemeentecode", False),
    "benefit": ("Regeling", False),
    "amount": ("Bedrag periodiek", False),
    "group": ("Kode groep", False),
}
"""The ``gws`` preset: internal field name -> (export header, required)."""

# canonical columns a file may leave out: the loader fills them in
_FILLED_BY_LOADER = {"peildatum", "spell_id", "activity_id", "municipality"}

MAPPINGS: dict[str, dict[str, str]] = {
    "gws": {field: header for field, (header, _) in GWS_FIELDS.items()},
    "canonical": {c.name: c.name for t in TABLES.values() for c in t},
}
"""Built-in presets: ``{field: file header}``."""


# ----------------------------------------------------------------- text lookups

END_REASON_TEXTS: dict[str, str] = {
    "aanvaarding werk": "werk",
    "aanvaarding van werk": "werk",
    "werkaanvaarding": "werk",
    "werk": "werk",
    "uitstroom naar werk": "werk",
    "inkomsten uit arbeid": "werk_deels",
    "inkomsten uit werk": "werk_deels",
    "inkomsten boven de norm": "werk_deels",
    "inkomsten uit arbeid boven de norm": "werk_deels",
    "parttime werk": "werk_deels",
    "start studie": "opleiding",
    "studie": "opleiding",
    "opleiding": "opleiding",
    "aanvang studie": "opleiding",
    "verhuizing naar andere gemeente": "verhuizing",
    "verhuizing": "verhuizing",
    "vertrek naar buitenland": "verhuizing",
    "emigratie": "verhuizing",
    "samenwonen/huwelijk": "inkomen_partner",
    "samenwonen": "inkomen_partner",
    "huwelijk": "inkomen_partner",
    "inkomsten partner": "inkomen_partner",
    "andere uitkering": "andere_uitkering",
    "andere uitkering of voorziening": "andere_uitkering",
    "ww-uitkering": "andere_uitkering",
    "wia/wajong": "andere_uitkering",
    "bereiken pensioengerechtigde leeftijd": "aow",
    "bereiken aow-leeftijd": "aow",
    "aow": "aow",
    "detentie": "detentie",
    "overlijden": "overlijden",
    "niet meewerken": "handhaving",
    "niet nakomen verplichtingen": "handhaving",
    "geen recht": "handhaving",
    "fraude": "handhaving",
    "handhaving": "handhaving",
    "overig": "overig",
    "overige": "overig",
    "overige reden": "overig",
    "overige redenen": "overig",
    "anders": "overig",
    "andere reden": "overig",
    "onbekend": "overig",
    "reden onbekend": "overig",
    "op eigen verzoek": "overig",
    "werk aanvaard": "werk",
    "aanvaarding arbeid": "werk",
    "aanvaarding betaalde arbeid": "werk",
    "betaald werk": "werk",
    "gaan werken": "werk",
    "start eigen bedrijf": "werk",
    "eigen bedrijf": "werk",
    "zelfstandige": "werk",
    "inkomsten uit arbeid boven bijstandsnorm": "werk_deels",
    "inkomen boven de norm": "werk_deels",
    "inkomsten te hoog": "werk_deels",
    "studiefinanciering": "opleiding",
    "start opleiding": "opleiding",
    "verhuisd": "verhuizing",
    "verhuisd naar andere gemeente": "verhuizing",
    "vertrek uit gemeente": "verhuizing",
    "verhuizing buiten gemeente": "verhuizing",
    "verhuizing naar buitenland": "verhuizing",
    "vertrek buitenland": "verhuizing",
    "samenwonend": "inkomen_partner",
    "gehuwd": "inkomen_partner",
    "huwelijk/samenwonen": "inkomen_partner",
    "samenwonen/huwelijk partner": "inkomen_partner",
    "inkomen partner": "inkomen_partner",
    "ww": "andere_uitkering",
    "wia": "andere_uitkering",
    "wajong": "andere_uitkering",
    "ziektewet": "andere_uitkering",
    "zw": "andere_uitkering",
    "ioaw": "andere_uitkering",
    "anw": "andere_uitkering",
    "andere voorziening": "andere_uitkering",
    "pensioen": "aow",
    "aow-leeftijd": "aow",
    "pensioengerechtigde leeftijd": "aow",
    "overleden": "overlijden",
    "gedetineerd": "detentie",
    "schending inlichtingenplicht": "handhaving",
    "geen inlichtingen verstrekt": "handhaving",
    "niet verschenen": "handhaving",
    "intrekking": "handhaving",
}
"""Common texts of 'Omschrijving einde bijstandsafhankelijkheid' -> END_REASON code.

Matching ignores case, accents, punctuation and spacing
(:func:`caseload.extract.parse.normalise_text`); the END_REASON
codes and their Dutch labels are accepted as well. Extend with
``[extract.end_reasons]`` in the config (text = code)."""

HOUSEHOLD_TEXTS: dict[str, str] = {
    "alleenstaande": "alleenstaand",
    "alleenstaand": "alleenstaand",
    "alleenstaande ouder": "alleenstaande_ouder",
    "eenoudergezin": "alleenstaande_ouder",
    "echtpaar": "paar",
    "paar": "paar",
    "gehuwden": "paar",
    "samenwonenden": "paar",
    "(echt)paar zonder kinderen": "paar",
    "gehuwd/samenwonend": "paar",
    "gehuwd/samenwonend zonder kinderen": "paar",
    "gehuwd/samenwonend met kinderen": "paar_met_kinderen",
    "echtpaar zonder kinderen": "paar",
    "paar zonder kinderen": "paar",
    "(echt)paar met kinderen": "paar_met_kinderen",
    "echtpaar met kinderen": "paar_met_kinderen",
    "paar met kinderen": "paar_met_kinderen",
    "gezin": "paar_met_kinderen",
    "gehuwd": "paar",
    "samenwonend": "paar",
    "gehuwd/samenwonend zonder kind": "paar",
    "gehuwd/samenwonend met kind": "paar_met_kinderen",
    "gezin met kinderen": "paar_met_kinderen",
    "gezin zonder kinderen": "paar",
    "partners": "paar",
    "alleenst": "alleenstaand",
    "alleenst ouder": "alleenstaande_ouder",
    "alleenstaande ouder met kinderen": "alleenstaande_ouder",
    "eenouder": "alleenstaande_ouder",
    "een-oudergezin": "alleenstaande_ouder",
    "overig": "overig",
    "overige": "overig",
    "anders": "overig",
    "onbekend": "overig",
    "tehuisbewoner": "overig",
    "woningdeler": "overig",
    "kostendeler": "overig",
}
"""Texts of 'Omschrijving leefvorm' -> HOUSEHOLD code (plus the codes and Dutch
labels themselves). Extend with ``[extract.households]`` in the config."""

SEX_TEXTS: dict[str, str] = {
    "m": "M", "man": "M", "1": "M", "mannelijk": "M",
    "v": "V", "vrouw": "V", "2": "V", "vrouwelijk": "V", "f": "V",
    "x": "X", "o": "X", "onbekend": "X", "0": "X", "9": "X",
}
"""Values of 'geslacht' -> SEX code."""

BENEFIT_TEXTS: dict[str, str] = {
    "pw": "PW", "participatiewet": "PW", "wwb": "PW", "bijstand": "PW",
    "ioaw": "IOAW", "ioaz": "IOAZ", "bbz": "BBZ",
}


def text_lookup(base: dict[str, str], codelist, extra: dict[str, str] | None = None,
                name: str = "") -> dict[str, str]:
    """A normalised-text -> code dictionary: ``base``, the code list's codes and labels, ``extra``.

    Raises
    ------
    ConfigError
        When ``extra`` maps a text to a code that is not in ``codelist``.
    """
    out = {lookup_key(c): c for c in codelist.codes}
    out.update({lookup_key(lbl): c for c, lbl in codelist.labels_nl.items()})
    out.update({lookup_key(k): v for k, v in base.items()})
    for k, v in (extra or {}).items():
        if v not in codelist:
            raise ConfigError(
                f"[extract.{name}] maps {k!r} to {v!r}, which is not a code.",
                fix=f"Use one of: {', '.join(codelist.codes)}.")
        out[lookup_key(k)] = v
    return out


def lookup_key(text) -> str:
    """:func:`~caseload.extract.parse.normalise_text`, and a number without leading zeros (``02`` is ``2``)."""
    key = normalise_text(text)
    return str(int(key)) if key.isdigit() else key


def inflow_lookup(extra: dict[str, str] | None = None) -> dict[str, str]:
    """'Oorzaak bijstandsafhankelijkheid': codes (``02`` is ``2``), their descriptions, and ``extra``."""
    from caseload.schema import inflow_reasons

    return text_lookup({}, inflow_reasons(), extra, name="inflow_reasons")


def known_headers(mapping: str | dict[str, str] | None = None) -> set[str]:
    """Every column name a file may have (normalised): to find the header row."""
    names = [h for h, _ in GWS_FIELDS.values()] + list(GWS_FIELDS)
    names += [a for t in TABLES.values() for c in t for a in (c.name, c.label_nl, c.label_en) if a]
    if isinstance(mapping, dict):
        names += [str(v) for v in mapping.values()]
    return {norm_header(h) for h in names}


LOOKUPS = {
    "end_reason": (END_REASON_TEXTS, END_REASON),
    "household": (HOUSEHOLD_TEXTS, HOUSEHOLD),
    "sex": (SEX_TEXTS, SEX),
    "benefit": (BENEFIT_TEXTS, BENEFIT),
}


# ----------------------------------------------------------------- layouts


@dataclass
class Layout:
    """What a file holds and which of its headers feed which field."""

    kind: str  # "gws" or the canonical table name
    columns: dict[str, str]  # field -> file header

    @property
    def table(self) -> str:
        return "spells" if self.kind == "gws" else self.kind


def _candidates(mapping: dict[str, str]) -> list[tuple[str, dict[str, tuple[list[str], bool]]]]:
    """(kind, {field: (accepted headers, required)}) for every layout a file may have."""
    gws = {f: ([mapping.get(f, h), f] if f in mapping else [h, f], req)
           for f, (h, req) in GWS_FIELDS.items()}
    out = [("gws", gws)]
    for name, table in TABLES.items():
        fields = {}
        for c in table:
            accepted = [mapping.get(c.name, c.name), c.name, c.label_nl, c.label_en]
            fields[c.name] = ([a for a in accepted if a], c.required and c.name not in _FILLED_BY_LOADER)
        out.append((name, fields))
    return out


def detect_layout(headers: list[str], mapping: str | dict[str, str], file) -> Layout:
    """Find which layout a file has from its header row.

    Parameters
    ----------
    headers : list of str
        The file's column names.
    mapping : {"gws", "canonical"} or dict
        The preferred preset, or a user mapping ``{field: file header}`` whose
        fields are ``gws`` field names (:data:`GWS_FIELDS`) or canonical column
        names.
    file : path-like
        For the error message.

    Raises
    ------
    ExtractError
        When no layout has all its required columns; names the missing column
        and the closest header in the file.
    """
    if isinstance(mapping, str):
        if mapping not in MAPPINGS:
            raise ConfigError(f"unknown mapping preset {mapping!r}.",
                              fix=f"Use one of {sorted(MAPPINGS)} or a table of field = file column.")
        preferred, user = mapping, {}
    else:
        user = {str(k): str(v) for k, v in dict(mapping).items()}
        preferred = "gws" if set(user) & set(GWS_FIELDS) - set(MAPPINGS["canonical"]) else "canonical"
    by_norm = {}
    for h in headers:
        by_norm.setdefault(norm_header(h), h)
    scored = []
    for kind, fields in _candidates(user):
        matched, missing = {}, []
        for f, (accepted, required) in fields.items():
            hit = next((by_norm[norm_header(a)] for a in accepted if norm_header(a) in by_norm), None)
            if hit is not None:
                matched[f] = hit
            elif required:
                missing.append((f, accepted[0]))
        n_req = sum(r for _, r in fields.values())
        pref = (kind == "gws") == (preferred == "gws")
        scored.append((not missing, len(matched) - len(missing), pref, kind, matched, missing, n_req))
    scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
    complete, _, _, kind, matched, missing, _ = scored[0]
    if complete:
        return Layout(kind, matched)
    # no layout fits: report against the closest one
    if not any(s[4] for s in scored):
        expected = ", ".join(f"'{h}'" for h, r in GWS_FIELDS.values() if r)
        raise ExtractError(
            "none of the column names is known, so caseload cannot tell what table this is.",
            file=file,
            fix=(f"A benefit-administration export ('gws') needs the columns {expected}; canonical files use "
                 "the column names of caseload.schema. If the column names are not in the first "
                 f"{HEADER_SEARCH_ROWS} rows, set [extract] header_row to their row. Or give a column mapping "
                 "([extract.mapping] in the config, or --mapping)."))
    field, header = missing[0]
    # suggest only columns that no other field already uses
    free = [h for h in headers if h not in set(matched.values())]
    close = difflib.get_close_matches(header, free, n=1, cutoff=0.5)
    hint = f"; closest match '{close[0]}'" if close else ""
    others = f" (also missing: {', '.join(repr(h) for _, h in missing[1:])})" if len(missing) > 1 else ""
    what = "benefit-administration (gws)" if kind == "gws" else f"'{kind}'"
    raise ExtractError(
        f"column '{header}' not found{hint}{others}; the file looks like a {what} file.",
        file=file,
        fix=(f"Rename the column in the export, or map it in the config: [extract.mapping] {field} = "
             f"\"<column name in your file>\"."))
