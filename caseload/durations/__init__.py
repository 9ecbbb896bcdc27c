"""Durations on benefit: elapsed-duration tables, Kaplan-Meier with left truncation,
competing exits (Aalen-Johansen), Cox regression and cohort curves.

Modules
-------
kaplan_meier
    :class:`KaplanMeier` (right censoring, delayed entry, groups, R conventions).
competing
    :class:`AalenJohansen` cumulative incidence of competing exits.
cox
    :func:`cox_regression` via statsmodels ``PHReg`` (entry, strata), with the
    risk sets of Kaplan-Meier and Aalen-Johansen (``entry < t <= duration``).
tables
    :func:`spell_durations` (spells -> estimator input) and
    :func:`elapsed_duration_table` (the Losser table).
cohorts
    :func:`cohort_curves` (:func:`cohort_tables` for several groupings) and
    :func:`active_share` ("Sturen op bijstand").
report
    :func:`analyse_durations`: all of the above for one extract, as publishable tables.
"""

from caseload.durations.cohorts import (
    COHORT_AGE_CLASSES,
    active_share,
    cohort_curves,
    cohort_tables,
)
from caseload.durations.competing import AalenJohansen
from caseload.durations.cox import CoxResult, cox_regression
from caseload.durations.kaplan_meier import KaplanMeier
from caseload.durations.report import DurationAnalysis, DurationSettings, analyse_durations
from caseload.durations.tables import (
    AGE_RULES,
    DAYS_PER_YEAR,
    EVENT_OTHER,
    EVENT_WORK,
    age_at,
    age_rule_text,
    elapsed_duration_table,
    observation_start,
    spell_durations,
)

__all__ = [
    "analyse_durations",
    "DurationAnalysis",
    "DurationSettings",
    "KaplanMeier",
    "AalenJohansen",
    "cox_regression",
    "CoxResult",
    "spell_durations",
    "elapsed_duration_table",
    "observation_start",
    "age_at",
    "age_rule_text",
    "AGE_RULES",
    "cohort_curves",
    "cohort_tables",
    "active_share",
    "COHORT_AGE_CLASSES",
    "DAYS_PER_YEAR",
    "EVENT_WORK",
    "EVENT_OTHER",
]
