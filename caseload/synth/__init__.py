"""Synthetic caseload extracts with ground truth, calibrated to the published municipal figures (Losser 2015/2016, Werkplein Drentsche Aa 2018, Drechtsteden 2019).

``generate`` simulates clients, benefit spells, assessments and activities;
``write_extract`` writes them as files in the ``gws`` (one row per payment period,
Dutch columns) or ``canonical`` layout, optionally with bad rows of known kinds.
"""

from caseload.synth.codes import (
    DROPOUT_REASONS,
    END_REASON_TEXT,
    GWS_COLUMNS,
    HOUSEHOLD_TEXT,
    PROFILE_MARKETS,
    PROFILE_PROTOTYPES,
)
from caseload.synth.generator import (
    MUNICIPALITY_WEIGHTS,
    SEGMENT_CUTOFFS,
    generate,
    parse_disparity,
    spell_periods,
)
from caseload.synth.writer import BAD_ROW_KINDS, write_extract

__all__ = [
    "generate",
    "parse_disparity",
    "write_extract",
    "BAD_ROW_KINDS",
    "spell_periods",
    "END_REASON_TEXT",
    "HOUSEHOLD_TEXT",
    "GWS_COLUMNS",
    "PROFILE_PROTOTYPES",
    "PROFILE_MARKETS",
    "DROPOUT_REASONS",
    "MUNICIPALITY_WEIGHTS",
    "SEGMENT_CUTOFFS",
]
