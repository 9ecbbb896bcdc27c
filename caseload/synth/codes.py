"""Constants of the synthetic generator that other modules rely on.

Kept apart from the simulation so that :mod:`caseload.extract` (the ``gws``
column-mapping preset) can import them without the simulation code. The profile
prototypes and markets are the library's defaults from
:mod:`caseload.segment.profiles`, in the generator's shape.
"""

from __future__ import annotations

from types import MappingProxyType

from caseload.schema import COMPETENCES
from caseload.segment.profiles import DEFAULT_MARKETS, DEFAULT_PROTOTYPES

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

# The six named profiles and their markets are the library's own defaults
# (caseload.segment.profiles); the generator draws competences around the same prototypes,
# so a segmentation with default settings can recover them.
PROFILE_PROTOTYPES: MappingProxyType = MappingProxyType({
    int(p): MappingProxyType(dict(zip(COMPETENCES.codes, scores, strict=True)))
    for p, scores in DEFAULT_PROTOTYPES.items()
})
"""Competence scores (1-5) of the six profile prototypes (Drechtsteden profiles).

The generator draws each client's competences around the prototype of the
client's true profile; :mod:`caseload.segment` uses the same prototypes as the
default for nearest-prototype profile assignment."""

PROFILE_MARKETS: MappingProxyType = MappingProxyType(
    {int(p): tuple(markets) for p, markets in DEFAULT_MARKETS.items()})
"""Markets (``MARKET`` codes) linked to each profile, most typical first. The
source links 'aanpakker en doorzetter' to logistics and 'handig en sociaal' to
services; the rest follows the growth sectors named in the Drechtsteden "Perspectief op Werk" application (2019)."""

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
