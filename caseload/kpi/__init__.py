"""Outcome KPIs of a social service: outflow to work, durability, monitoring, benchmark.

- :mod:`caseload.kpi.outflow`: outflow to work within N months for a cohort
  (Aalen-Johansen, other exits competing, censoring), judged against a target;
  durability of exits to work; revolving door; spells per client.
- :mod:`caseload.kpi.monitoring`: the monitoring tables of a re-integration report
  (participants, composition, destinations, sectors, dropout, durations, sheltered
  places realised versus target).
- :mod:`caseload.kpi.benchmark`: a municipality's position among municipalities of
  similar size on the real CBS figures 2015-2017 (bundled).
"""

from caseload.kpi.benchmark import (
    CBS_SOURCE,
    INDICATORS,
    SIZE_CLASSES,
    benchmark_municipality,
    extract_indicators,
    load_cbs_municipalities,
    peer_group,
    peer_values,
    size_class,
)
from caseload.kpi.monitoring import (
    WORK_OUTCOMES,
    activity_durations,
    composition,
    dropout,
    dropout_reasons,
    outflow_by_destination,
    outflow_by_sector,
    participants_per_activity,
    sheltered_places,
    trajectories,
    trajectory_durations,
)
from caseload.kpi.outflow import (
    JUDGEMENT,
    durability,
    first_segment,
    judge_against_target,
    outflow_to_work,
    revolving_door,
    select_cohort,
    spells_per_client,
)

__all__ = [
    "CBS_SOURCE",
    "INDICATORS",
    "SIZE_CLASSES",
    "JUDGEMENT",
    "WORK_OUTCOMES",
    "load_cbs_municipalities",
    "size_class",
    "peer_group",
    "peer_values",
    "benchmark_municipality",
    "extract_indicators",
    "select_cohort",
    "first_segment",
    "judge_against_target",
    "outflow_to_work",
    "durability",
    "revolving_door",
    "spells_per_client",
    "participants_per_activity",
    "composition",
    "outflow_by_destination",
    "outflow_by_sector",
    "dropout",
    "dropout_reasons",
    "activity_durations",
    "trajectories",
    "trajectory_durations",
    "sheltered_places",
]
