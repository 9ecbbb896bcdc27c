"""Scenarios ("wat als"): inflow, exit rate and a one-off shift on top of a forecast.

A scenario changes, from its start, the inflow by ``inflow_pct`` percent and the
exit rate by ``exit_pct`` percent, and adds a one-off ``shift`` of persons at its
start (an influx, a re-assessment that ends benefits); the shifted persons then
leave at the scenario's exit rate like everyone else.

Stock-flow model (:class:`~caseload.forecast.StockFlowModel`, yearly): the
recursion ``S_t = S_{t-1} (1 - e') + I' + shift [t = t_0]`` is run with
``I' = I (1 + x)`` and ``e' = e (1 + y)`` from the start year ``t_0``.

Caseload forecasts (monthly, :func:`~caseload.forecast.forecast_series`): the
forecast ``F_t`` is a time-series model of the stock, not a flow model, so the
scenario is the *difference* it makes to a stock that flows with the series'
recent monthly inflow ``I`` and exit rate ``e`` (means over the last 12 months,
:func:`flow_rates`). With ``S_t = S_{t-1} (1 - e') + I' + r_t``, where ``r_t`` is
whatever else moves the base forecast (trend, season), the difference
``D_t = S_t - F_t`` obeys

.. math::

    D_t = D_{t-1}\\,(1 - e (1 + y)) - y\\,e\\,F_{t-1} + x\\,I + \\text{shift}\\,[t = t_0],
    \\qquad D_{t_0 - 1} = 0,

with ``F_0`` the last observed stock. The scenario forecast is ``F_t + D_t``; its
intervals are the base intervals moved by ``D_t`` (the scenario is a
deterministic what-if, not an extra source of uncertainty).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = ["Scenario", "scenario_difference", "apply_scenarios", "flow_rates", "scenarios_from_config"]

BASE = "basis"


@dataclass(frozen=True)
class Scenario:
    """A what-if on top of a forecast.

    Parameters
    ----------
    name : str
        Short name (a key of ``[forecast.scenarios]``), shown in tables and figures.
    inflow_pct : float, default 0
        Change of the inflow in percent (``10`` = 10% more inflow).
    exit_pct : float, default 0
        Change of the exit rate in percent (``-5`` = persons leave 5% less often).
    shift : float, default 0
        One-off change of the stock, in persons, at the start (negative: fewer).
    start : date-like, optional
        First month (caseload forecasts) or year (stock-flow model) the scenario
        applies to; default the first forecast period.
    label : str, optional
        Longer description for the report; default the name.
    """

    name: str
    inflow_pct: float = 0.0
    exit_pct: float = 0.0
    shift: float = 0.0
    start: object = None
    label: str | None = None

    def __post_init__(self):
        if not str(self.name).strip() or str(self.name) == BASE:
            raise CaseloadError(f"scenario name {self.name!r} is empty or reserved.", value=self.name,
                                fix=f"Name the scenario, e.g. 'hogere_instroom' (not {BASE!r}).")
        for field in ("inflow_pct", "exit_pct"):
            v = float(getattr(self, field))
            if not np.isfinite(v) or v < -100:
                raise CaseloadError(f"scenario {self.name!r}: {field} = {v} is below -100% or not a number.",
                                    column=field, value=v, fix="Use a percentage change of at least -100.")
        if not np.isfinite(float(self.shift)):
            raise CaseloadError(f"scenario {self.name!r}: shift is not a number.", column="shift",
                                value=self.shift, fix="Give the one-off change in persons, e.g. -50.")
        if self.start is not None:
            try:
                pd.Timestamp(self.start)
            except (ValueError, TypeError) as exc:
                raise CaseloadError(f"scenario {self.name!r}: start {self.start!r} is not a date.",
                                    column="start", value=self.start,
                                    fix="Write the date as YYYY-MM-DD, e.g. 2026-07-01.") from exc

    @property
    def x(self) -> float:
        """Relative inflow change (``inflow_pct / 100``)."""
        return float(self.inflow_pct) / 100.0

    @property
    def y(self) -> float:
        """Relative exit-rate change (``exit_pct / 100``)."""
        return float(self.exit_pct) / 100.0

    def describe(self, lang: str = "nl") -> str:
        """One line naming the changes, in Dutch or English."""
        nl = lang == "nl"
        parts = []
        if self.inflow_pct:
            parts.append(f"{'instroom' if nl else 'inflow'} {self.inflow_pct:+g}%")
        if self.exit_pct:
            parts.append(f"{'uitstroomkans' if nl else 'exit rate'} {self.exit_pct:+g}%")
        if self.shift:
            parts.append(f"{'eenmalig' if nl else 'one-off'} {self.shift:+g} {'personen' if nl else 'persons'}")
        if self.start is not None:
            parts.append(f"{'vanaf' if nl else 'from'} {pd.Timestamp(self.start).date()}")
        return (self.label or self.name) + (": " + ", ".join(parts) if parts else "")


def scenario_difference(base: np.ndarray, last_observed: float, inflow: float, exit_rate: float,
                        scenario: Scenario, start_index: int = 0) -> np.ndarray:
    """Difference ``D_t`` a scenario makes to a forecast path (see the module notes).

    Parameters
    ----------
    base : array
        Base forecast ``F_1 .. F_H``.
    last_observed : float
        ``F_0``, the last observed stock.
    inflow, exit_rate : float
        The series' inflow per period and exit rate per period.
    scenario : Scenario
    start_index : int, default 0
        Index in ``base`` of the first period the scenario applies to.

    Returns
    -------
    ndarray
        ``D_1 .. D_H`` (zero before the start).

    Examples
    --------
    >>> s = Scenario("x", inflow_pct=10)
    >>> scenario_difference(np.array([100.0, 100.0]), 100.0, 10.0, 0.1, s).round(6).tolist()
    [1.0, 1.9]
    """
    f = np.asarray(base, dtype=float)
    prev_f = np.r_[float(last_observed), f[:-1]]
    e_new = exit_rate * (1 + scenario.y)
    if not 0 <= e_new <= 1:
        raise CaseloadError(f"scenario {scenario.name!r}: exit rate {exit_rate:.4f} x (1 + "
                            f"{scenario.y:g}) = {e_new:.4f} lies outside [0, 1].", column="exit_pct",
                            value=scenario.exit_pct, fix="Use a smaller change of the exit rate.")
    d = np.zeros(len(f))
    prev = 0.0
    for t in range(len(f)):
        if t < start_index:
            continue
        prev = prev * (1 - e_new) - scenario.y * exit_rate * prev_f[t] + scenario.x * inflow
        if t == start_index:
            prev += float(scenario.shift)
        d[t] = prev
    return d


def flow_rates(flows: pd.DataFrame, months: int = 12, id_col: str = "municipality",
               time_col: str = "month") -> pd.DataFrame:
    """Mean monthly inflow and exit rate per series over the last ``months`` months.

    Parameters
    ----------
    flows : DataFrame
        :func:`caseload.flows.monthly_flows` output: ``id_col, time_col, stock,
        inflow, outflow`` (stock at month end).
    months : int, default 12

    Returns
    -------
    DataFrame
        ``unique_id, inflow`` (mean persons per month), ``exit_rate`` (outflow in the
        months / stock at the end of the month before each, summed), ``months``.
    """
    missing = [c for c in (id_col, time_col, "stock", "inflow", "outflow") if c not in flows.columns]
    if missing:
        raise CaseloadError(f"flows table lacks column(s) {missing}.", column=missing[0],
                            fix="Pass the output of caseload.flows.monthly_flows(spells).")
    rows = []
    for uid, g in flows.sort_values(time_col).groupby(id_col, sort=True):
        g = g.tail(months + 1)
        at_risk = g["stock"].to_numpy(dtype=float)[:-1]
        out = g["outflow"].to_numpy(dtype=float)[1:]
        inflow = g["inflow"].to_numpy(dtype=float)[1:]
        if len(out) == 0 or at_risk.sum() <= 0:
            continue
        rows.append({"unique_id": str(uid), "inflow": float(inflow.mean()),
                     "exit_rate": float(out.sum() / at_risk.sum()), "months": len(out)})
    return pd.DataFrame(rows, columns=["unique_id", "inflow", "exit_rate", "months"])


def apply_scenarios(forecast: pd.DataFrame, history: pd.DataFrame, rates: pd.DataFrame,
                    scenarios: Iterable[Scenario]) -> pd.DataFrame:
    """Base forecast and every scenario, long form, for the series that have flow rates.

    Parameters
    ----------
    forecast : DataFrame
        :func:`~caseload.forecast.forecast_series` output.
    history : DataFrame
        Observed series ``unique_id, ds, y`` (the last value is ``F_0``).
    rates : DataFrame
        :func:`flow_rates` output.
    scenarios : iterable of Scenario

    Returns
    -------
    DataFrame
        ``unique_id, scenario, ds, forecast, lo_*, hi_*, difference`` (scenario
        minus base), with the base as scenario ``"basis"``. Series without flow
        rates (e.g. the national CBS series) are left out.
    """
    scenarios = list(scenarios)
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise CaseloadError(f"scenario names repeat: {names}.", fix="Give each scenario its own name.")
    bands = [c for c in forecast.columns if str(c).startswith(("lo_", "hi_"))]
    rates = rates.set_index("unique_id")
    last = history.sort_values("ds").groupby(history["unique_id"].astype(str))["y"].last()
    out = []
    for uid, g in forecast.groupby(forecast["unique_id"].astype(str), sort=False):
        if uid not in rates.index or uid not in last.index:
            continue
        g = g.sort_values("ds")
        base = g[["unique_id", "ds", "forecast", *bands]].copy()
        base["unique_id"] = uid
        out.append(base.assign(scenario=BASE, difference=0.0))
        ds = pd.to_datetime(g["ds"]).to_numpy()
        for sc in scenarios:
            start = 0 if sc.start is None else int(np.searchsorted(
                ds, np.datetime64(pd.Timestamp(sc.start).to_period("M").to_timestamp(how="start"))))
            d = scenario_difference(g["forecast"].to_numpy(), float(last[uid]), float(rates.at[uid, "inflow"]),
                                    float(rates.at[uid, "exit_rate"]), sc, start_index=start)
            part = base.copy()
            for c in ("forecast", *bands):
                part[c] = part[c].to_numpy(dtype=float) + d
            out.append(part.assign(scenario=sc.name, difference=d))
    cols = ["unique_id", "scenario", "ds", "forecast", *bands, "difference"]
    if not out:
        return pd.DataFrame(columns=cols)
    return pd.concat(out, ignore_index=True)[cols]


def scenarios_from_config(table: Mapping[str, object] | None) -> list[Scenario]:
    """Scenarios from ``[forecast.scenarios]`` (a table of named scenarios).

    Parameters
    ----------
    table : mapping
        Name -> settings (a mapping or a config object with ``inflow_pct``,
        ``exit_pct``, ``shift``, ``start``, ``label``).

    Returns
    -------
    list of Scenario

    Examples
    --------
    >>> scenarios_from_config({"meer_instroom": {"inflow_pct": 10}})[0].x
    0.1
    """
    out = []
    for name, spec in (table or {}).items():
        d = spec if isinstance(spec, Mapping) else spec.model_dump()
        unknown = set(d) - {"inflow_pct", "exit_pct", "shift", "start", "label"}
        if unknown:
            raise CaseloadError(f"[forecast.scenarios.{name}] has unknown key(s) {sorted(unknown)}.",
                                fix="Use inflow_pct, exit_pct, shift, start and label.")
        out.append(Scenario(name=str(name), **{k: v for k, v in d.items() if v is not None or k == "start"}))
    return out
