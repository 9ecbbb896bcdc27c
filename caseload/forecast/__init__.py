"""Forecasts: new target groups, sheltered work, caseload series, candidate pipeline.

Submodules (each one idea):

- :mod:`~caseload.forecast.stockflow`: stock-flow projection of the new target
  groups, ``S(t) = S(t-1)(1 - e) + I``, structural level ``I / e``.
- :mod:`~caseload.forecast.sheltered`: sheltered work as national target x a
  constant municipal share, and the inverse.
- :mod:`~caseload.forecast.checks`: consistency checks on published tables.
- :mod:`~caseload.forecast.series`: forecasts (AutoETS, damped ETS and Theta
  combined by cross-validation, conformal intervals) and rolling backtests of
  monthly caseload series (long form ``unique_id, ds, y``).
- :mod:`~caseload.forecast.combination`: combination weights, conformal
  quantiles and interval coverage.
- :mod:`~caseload.forecast.scenarios`: what-if scenarios (inflow, exit rate,
  one-off shift) on the stock-flow model and the caseload forecasts.
- :mod:`~caseload.forecast.pipeline`: A/B/C transition matrix and A-candidates per
  profile-market combination per quarter.
- :mod:`~caseload.forecast.tables`: the published forecast tables.
"""

from caseload.forecast.backtest import BacktestResult, backtest, seasonal_naive_mae
from caseload.forecast.checks import check_published_table, load_published_table, published_long
from caseload.forecast.combination import combination_weights, conformal_quantile, interval_coverage
from caseload.forecast.pipeline import project_candidates, transition_matrix
from caseload.forecast.scenarios import Scenario, apply_scenarios, flow_rates, scenarios_from_config
from caseload.forecast.series import forecast_series, load_cbs_bijstand_series, stock_series
from caseload.forecast.sheltered import (
    implied_national,
    load_national_sheltered_work,
    project_sheltered_work,
    round_half_up,
)
from caseload.forecast.stockflow import StockFlowModel, project_stock, yearly_target_group_counts
from caseload.forecast.tables import (
    ForecastSettings,
    caseload_scenario_table,
    current_candidates,
    forecast_tables,
    monthly_stock,
    sheltered_work_table,
    target_group_table,
)

__all__ = [
    "combination_weights",
    "conformal_quantile",
    "interval_coverage",
    "Scenario",
    "apply_scenarios",
    "flow_rates",
    "scenarios_from_config",
    "caseload_scenario_table",
    "StockFlowModel",
    "project_stock",
    "yearly_target_group_counts",
    "project_sheltered_work",
    "implied_national",
    "load_national_sheltered_work",
    "round_half_up",
    "check_published_table",
    "load_published_table",
    "published_long",
    "forecast_series",
    "backtest",
    "BacktestResult",
    "load_cbs_bijstand_series",
    "stock_series",
    "seasonal_naive_mae",
    "transition_matrix",
    "project_candidates",
    "forecast_tables",
    "ForecastSettings",
    "target_group_table",
    "sheltered_work_table",
    "monthly_stock",
    "current_candidates",
]
