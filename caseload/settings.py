"""The analyses' settings with their defaults: one place for both the analyses and the config.

Each analysis reads plain values (``analyse_durations(cl, DurationSettings(...))``), so
it does not depend on the configuration layer; :mod:`caseload.config` takes the
defaults of its ``[durations]``, ``[forecast]``, ``[kpi]`` and ``[capacity]`` sections
from these classes and adds the validation and the descriptions. This module imports
nothing heavy, so ``import caseload.config`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEFAULT_AGE_RULE", "DurationSettings", "ForecastSettings", "KpiSettings", "CapacitySettings"]

DEFAULT_AGE_RULE = "birth_date"
"""Exact age where the extract has birth dates, else the VNG mid-year rule
(see :func:`caseload.durations.tables.age_at`)."""


@dataclass(frozen=True)
class DurationSettings:
    """The ``[durations]`` settings :func:`caseload.durations.analyse_durations` reads.

    Any object with these attributes will do, e.g. :class:`caseload.config.DurationsConfig`.
    """

    age_bands: list = field(default_factory=lambda: [(15, 26), (27, 44), (45, 64)])
    window_start: str | None = "auto"
    time_unit: str = "years"
    horizon_years: float = 5.0
    plot_years: float = 10.0
    alpha: float = 0.05
    conf_type: str = "log-log"
    aj_variance: str = "delta"
    cohort_max_years: int = 10
    cohort_groupings: list = field(default_factory=lambda: [
        "inflow_year", "inflow_reason", "household", "sex", "age_class", ["age_class", "sex"]])
    cohort_age_classes: list = field(default_factory=lambda: [(0, 29), (30, 50), (51, 150)])
    age_rule: str = DEFAULT_AGE_RULE
    cox_covariates: list = field(default_factory=lambda: ["age_band", "sex", "household"])
    cox_strata: str | None = "municipality"
    cox_max_rows: int = 100_000
    random_state: int = 0


@dataclass(frozen=True)
class ForecastSettings:
    """The ``[forecast]`` settings :func:`caseload.forecast.forecast_tables` reads.

    Any object with these attributes will do, e.g. :class:`caseload.config.ForecastConfig`.
    """

    horizon: int = 12
    season_length: int = 12
    levels: list = field(default_factory=lambda: [80, 95])
    ets_model: str = "ZZZ"
    method: str = "combined"
    scenarios: dict = field(default_factory=dict)
    history_months: int = 120
    include_cbs: bool = True
    constrain_structural: bool = True
    origin_year: int | None = None
    project_until: int = 2025
    sheltered_base_year: int = 2018
    candidate_quarters: int = 4
    segment_column: str = "caseworker_segment"
    pmc_column: str = "caseworker_profile"


@dataclass(frozen=True)
class KpiSettings:
    """The ``[kpi]`` settings :func:`caseload.kpi.report.kpi_results` reads.

    Any object with these attributes will do, e.g. :class:`caseload.config.KpiConfig`.
    """

    months: int = 24
    target: float = 0.8
    alpha: float = 0.05
    inflow_start: str | None = None
    inflow_end: str | None = None
    segments: list = field(default_factory=lambda: ["A", "B"])
    by: list = field(default_factory=lambda: ["municipality"])
    durability_windows: list = field(default_factory=lambda: [3, 6])
    revolving_months: int = 12
    revolving_exits: str = "all"
    monitoring_year: int | None = None
    trajectory_gap_days: int = 31
    sheltered_targets: str | None = None
    benchmark_municipality: str | None = None
    benchmark_year: int = 2017
    benchmark_method: str = "band"
    benchmark_band: tuple = (0.5, 2.0)
    benchmark_age_group: str = "15+ totaal"


@dataclass(frozen=True)
class CapacitySettings:
    """The ``[capacity]`` settings :func:`caseload.kpi.report.capacity_results` reads
    (as :class:`KpiSettings`; :class:`caseload.config.CapacityConfig` has the same attributes)."""

    clients_per_fte: float = 60
    minutes_per_contact: float = 124
    productive_hours_per_fte: float = 1300
    chance_steps: list = field(default_factory=lambda: [5, 6])
    scheme: list = field(default_factory=list)
