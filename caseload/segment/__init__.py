"""Segmentation of the caseload: A/B/C, competence profiles and profile-market combinations.

Decision support, not decision making: every assignment has a readable reason, a
caseworker can override it with a logged reason, and a fairness report shows
shares and errors per group.

- :mod:`~caseload.segment.rules`: rule-based A/B/C (rules are data, first match wins);
- :mod:`~caseload.segment.frames`: history examples and the current caseload frame;
- :mod:`~caseload.segment.model`: :class:`SegmentModel`, the chance of exit to work
  within six months and A/B/C from cut-offs;
- :mod:`~caseload.segment.profiles`: six profiles (nearest prototype or clusters)
  and profile-market combinations;
- :mod:`~caseload.segment.fairness`: the fairness report;
- :mod:`~caseload.segment.cards`: model files (skops) with a JSON card;
- :mod:`~caseload.segment.core`: :func:`segment`, the whole run.
- :mod:`~caseload.segment.overrides`: caseworker overrides;
- :mod:`~caseload.segment.metrics`: cut-offs, metric intervals, the fairness summary.

The module itself is callable, so ``cl.segment(caseload)`` is
``cl.segment.segment(caseload)`` while ``cl.segment.rules`` and
``import caseload.segment.rules`` keep working.
"""

import sys
import types

from caseload.segment.cards import load_model, save_model
from caseload.segment.core import (
    SegmentResult,
    apply_overrides,
    candidates_table,
    cutoff_table,
    fit_segment_model,
    override_rates,
    pmc_table,
    resolve_cutoffs,
    segment,
)
from caseload.segment.fairness import fairness_ratios, fairness_report, wilson_interval
from caseload.segment.frames import client_frame, time_split, training_frame
from caseload.segment.model import (
    DEFAULT_FEATURES,
    PROXY_FEATURES,
    SegmentModel,
    calibration_table,
    evaluate,
)
from caseload.segment.profiles import (
    DEFAULT_MARKETS,
    DEFAULT_PROTOTYPES,
    assign_profiles,
    cluster_profiles,
    pmc_links,
)
from caseload.segment.rules import DEFAULT_RULES, RULE_NAMES, apply_rules, parse_condition

__all__ = [
    "segment",
    "SegmentResult",
    "apply_rules",
    "parse_condition",
    "DEFAULT_RULES",
    "RULE_NAMES",
    "SegmentModel",
    "training_frame",
    "client_frame",
    "time_split",
    "evaluate",
    "calibration_table",
    "fit_segment_model",
    "DEFAULT_FEATURES",
    "PROXY_FEATURES",
    "assign_profiles",
    "cluster_profiles",
    "pmc_links",
    "pmc_table",
    "candidates_table",
    "DEFAULT_PROTOTYPES",
    "DEFAULT_MARKETS",
    "apply_overrides",
    "override_rates",
    "fairness_report",
    "fairness_ratios",
    "wilson_interval",
    "save_model",
    "load_model",
    "resolve_cutoffs",
    "cutoff_table",
]


class _CallableModule(types.ModuleType):
    """``caseload.segment(...)`` calls :func:`caseload.segment.segment`."""

    def __call__(self, *args, **kwargs):
        return segment(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
