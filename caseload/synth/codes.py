"""Constants of the synthetic generator that other modules rely on.

Kept apart from the simulation so that :mod:`caseload.extract` (the ``gws``
column-mapping preset) and :mod:`caseload.segment` (profile prototypes as config
defaults) can import them without importing numpy-heavy simulation code.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "END_REASON_TEXT",
    "HOUSEHOLD_TEXT",
    "PROFILE_PROTOTYPES",
    "PROFILE_MARKETS",
    "GWS_COLUMNS",
    "DROPOUT_REASONS",
]

END_REASON_TEXT: MappingProxyType = MappingProxyType(
    {
        "Aanvaarding werk": "werk",
        "Inkomsten uit arbeid boven de norm": "werk_deels",
        "Start studie": "opleiding",
        "Verhuizing naar andere gemeente": "verhuizing",
        "Samenwonen/huwelijk": "inkomen_partner",
        "Andere uitkering": "andere_uitkering",
        "Bereiken pensioengerechtigde leeftijd": "aow",
        "Detentie": "detentie",
        "Overlijden": "overlijden",
        "Niet nakomen verplichtingen": "handhaving",
        "Overige redenen": "overig",
    }
)
"""Text of ``Omschrijving einde bijstandsafhankelijkheid`` -> ``END_REASON`` code.

One text per code, so the mapping is invertible. The ``gws`` preset of
:func:`caseload.read_extract` maps these texts (case-insensitively) back to codes."""

HOUSEHOLD_TEXT: MappingProxyType = MappingProxyType(
    {
        "Alleenstaande": "alleenstaand",
        "Alleenstaande ouder": "alleenstaande_ouder",
        "Gehuwd/samenwonend zonder kinderen": "paar",
        "Gehuwd/samenwonend met kinderen": "paar_met_kinderen",
    }
)
"""Text of ``Omschrijving leefvorm`` -> ``HOUSEHOLD`` code."""

PROFILE_PROTOTYPES: MappingProxyType = MappingProxyType(
    {
        # 1 Aanpakker en doorzetter: high drive, otherwise average.
        1: MappingProxyType({
            "competence_drive": 4.5, "competence_physical": 3.2, "competence_precision": 2.8,
            "competence_practical": 3.2, "competence_social": 3.0,
            "competence_communication": 2.8, "competence_administrative": 2.3,
        }),
        # 2 Snel, precies en fysiek fit: precision and physical capacity.
        2: MappingProxyType({
            "competence_drive": 3.2, "competence_physical": 4.2, "competence_precision": 4.4,
            "competence_practical": 3.2, "competence_social": 2.6,
            "competence_communication": 2.5, "competence_administrative": 2.6,
        }),
        # 3 Handig en sociaal: practical and social skills.
        3: MappingProxyType({
            "competence_drive": 3.0, "competence_physical": 3.2, "competence_precision": 2.8,
            "competence_practical": 4.4, "competence_social": 4.2,
            "competence_communication": 3.1, "competence_administrative": 2.3,
        }),
        # 4 Klantgericht en communicatief: communication and social skills.
        4: MappingProxyType({
            "competence_drive": 3.1, "competence_physical": 2.6, "competence_precision": 2.8,
            "competence_practical": 2.7, "competence_social": 4.2,
            "competence_communication": 4.5, "competence_administrative": 3.0,
        }),
        # 5 Administratief en nauwkeurig: administrative skills and precision.
        5: MappingProxyType({
            "competence_drive": 2.9, "competence_physical": 2.3, "competence_precision": 4.2,
            "competence_practical": 2.6, "competence_social": 2.8,
            "competence_communication": 3.2, "competence_administrative": 4.5,
        }),
        # 6 Aanpakker en fysiek sterk: drive and physical strength.
        6: MappingProxyType({
            "competence_drive": 4.3, "competence_physical": 4.5, "competence_precision": 2.6,
            "competence_practical": 3.4, "competence_social": 2.7,
            "competence_communication": 2.3, "competence_administrative": 2.0,
        }),
    }
)
"""Competence scores (1-5) of the six profile prototypes (Drechtsteden profiles).

The generator draws each client's competences around the prototype of the
client's true profile; :mod:`caseload.segment` uses the same prototypes as the
default for nearest-prototype profile assignment."""

PROFILE_MARKETS: MappingProxyType = MappingProxyType(
    {
        1: ("logistiek", "bouw_infra", "productie", "energietransitie"),
        2: ("productie", "logistiek", "techniek", "schoonmaak"),
        3: ("dienstverlening", "techniek", "groen", "zorg"),
        4: ("detailhandel", "horeca", "zorg", "dienstverlening"),
        5: ("administratie", "ict", "zorg", "dienstverlening"),
        6: ("bouw_infra", "groen", "schoonmaak", "vervoer"),
    }
)
"""Markets (``MARKET`` codes) linked to each profile, most typical first. The
source links 'aanpakker en doorzetter' to logistics and 'handig en sociaal' to
services; the rest follows the growth sectors named in DOMAIN.md."""

DROPOUT_REASONS: tuple[str, ...] = (
    "Ziekte of gezondheidsproblemen",
    "Niet komen opdagen",
    "Gebrek aan motivatie",
    "Privé-omstandigheden",
    "Verhuisd",
    "Traject past niet bij cliënt",
)
"""Free-text dropout reasons of activities with outcome ``uitval`` (cp1252-safe)."""

GWS_COLUMNS: tuple[str, ...] = (
    "Dossiernr",
    "Clientnummer",
    "geboortejaar",
    "geslacht",
    "Type",
    "Gemeentecode",
    "Regeling",
    "Startdatum periodiek algemeen",
    "Einddatum periodiek algemeen",
    "Oorspronkelijke begindatum uitkeringsdossier",
    "Omschrijving leefvorm",
    "Oorzaak bijstandsafhankelijkheid",
    "Omschrijving oorzaak bijstandsafhankelijkheid",
    "Omschrijving einde bijstandsafhankelijkheid",
    "Bedrag periodiek",
)
"""Columns of ``uitkeringen.csv`` in the ``gws`` layout, in file order. ``Type`` is
``aanvrager`` or ``partner``; ``Bedrag periodiek`` has a decimal comma."""
