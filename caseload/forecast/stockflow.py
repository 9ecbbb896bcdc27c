"""Stock-flow projection of the new target groups (nieuwe doelgroepen).

Since 2015 young people with a work limitation (formerly Wajong) and people who
would have entered sheltered employment (formerly Wsw) come to the municipality.
Their number grows by a yearly inflow and shrinks by a slow exit:

.. math::

    S_t = S_{t-1}\\,(1 - e) + I, \\qquad S^{*} = I / e

with inflow :math:`I` (persons a year), exit rate :math:`e` (share of the stock
at the start of the year that leaves during the year) and structural level
:math:`S^{*}`, the stock at which inflow and exit balance. Solving the recursion,
:math:`S_t = S^{*} - (S^{*} - S_{t_0})(1 - e)^{t - t_0}`.

The parameters are fitted by least squares (``scipy.optimize.least_squares``)
to a yearly stock series, either a published table or the yearly counts of
clients flagged ``new_target_group`` in an extract. With a published structural
level the inflow is tied to it, :math:`I = e\\,S^{*}`, so only the exit rate and
the starting stock are free. By default the stock of the first year is a free
parameter (the published Stadskanaal/Veendam table starts in 2017, two years
after the law, with a stock that does not follow from the same inflow since
2015); with ``origin_year`` the stock is zero before that year instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from caseload.errors import CaseloadError, NotFittedError

__all__ = ["StockFlowModel", "project_stock", "yearly_target_group_counts"]


def project_stock(start_stock: float, inflow: float, exit_rate: float, n_years: int) -> np.ndarray:
    """Stock in each of ``n_years`` years, the first being ``start_stock``.

    Parameters
    ----------
    start_stock : float
        Stock in the first year.
    inflow : float
        Yearly inflow (persons).
    exit_rate : float
        Yearly exit rate, between 0 and 1.
    n_years : int
        Number of years returned.

    Returns
    -------
    ndarray
        ``S_0 = start_stock``, ``S_t = S_{t-1} (1 - exit_rate) + inflow``.

    Examples
    --------
    >>> project_stock(0.0, 10.0, 0.5, 4).tolist()
    [0.0, 10.0, 15.0, 17.5]
    """
    out = np.empty(n_years)
    s = float(start_stock)
    for i in range(n_years):
        out[i] = s
        s = s * (1.0 - exit_rate) + inflow
    return out


def _path(theta: np.ndarray, n: int, structural: float | None, origin_gap: int | None) -> np.ndarray:
    """Fitted stock for the parameter vector of one municipality.

    ``theta`` is ``(exit, start)`` with a structural constraint, else
    ``(exit, inflow, start)``; without a free start (``origin_gap`` set) the
    start entry is absent and the stock is 0 ``origin_gap`` years before the
    first observed year.
    """
    exit_rate = theta[0]
    inflow = exit_rate * structural if structural is not None else theta[1]
    if origin_gap is None:
        start = theta[-1]
    else:
        start = project_stock(0.0, inflow, exit_rate, origin_gap + 1)[-1]
    return project_stock(start, inflow, exit_rate, n)


class StockFlowModel:
    """Stock-flow model per municipality: yearly inflow, exit rate, structural level.

    Parameters
    ----------
    constrain_structural : bool, default True
        When a structural level is passed to :meth:`fit`, tie the inflow to it
        (``inflow = exit_rate * structural``). Without it the structural level is
        only reported beside the implied one.
    origin_year : int, optional
        Year in which the group started with a stock of zero (2015 for the
        Participatiewet). Default ``None``: the stock in the first observed year
        is a free parameter.
    method : {"stock", "flows"}, default "stock"
        ``"stock"``: least squares on the yearly stock path (published tables).
        ``"flows"``: moment estimates from counted flows (extracts with
        ``inflow`` and ``outflow`` columns): exit rate = total outflow / total
        exposure, the exposure of a year being the stock at its start plus half
        its inflow (entrants are at risk for half a year on average); inflow
        chosen so the model matches the mean yearly change. Steadier than the path fit
        when the counts are small; the structural level is then not constrained.

    Attributes
    ----------
    params_ : DataFrame
        One row per municipality: ``inflow``, ``exit_rate``, ``start_stock``,
        ``structural_implied`` (inflow / exit rate), ``structural_published``,
        ``rmse``, ``max_abs_residual``, ``n_years``, ``first_year``.
    residuals_ : DataFrame
        ``municipality, year, observed, fitted, residual`` (observed - fitted).

    Examples
    --------
    >>> yearly = pd.DataFrame({"municipality": "X", "year": range(2017, 2022),
    ...                        "stock": project_stock(50, 30, 0.1, 5)})
    >>> m = StockFlowModel().fit(yearly, structural={"X": 300})
    >>> round(float(m.params_.loc["X", "exit_rate"]), 3)
    0.1
    """

    def __init__(self, constrain_structural: bool = True, origin_year: int | None = None,
                 method: str = "stock"):
        self.constrain_structural = constrain_structural
        self.origin_year = origin_year
        self.method = method

    def fit(self, yearly: pd.DataFrame, structural: Mapping[str, float] | pd.Series | None = None,
            value: str = "stock") -> StockFlowModel:
        """Fit inflow and exit rate per municipality to a yearly stock series.

        Parameters
        ----------
        yearly : DataFrame
            Columns ``municipality``, ``year`` (int) and ``value`` (the stock at
            the year's reference moment). One row per municipality and year.
        structural : mapping or Series, optional
            Published structural level per municipality.
        value : str, default "stock"
            Name of the stock column.

        Returns
        -------
        self
        """
        if self.method not in ("stock", "flows"):
            raise CaseloadError(f"unknown method {self.method!r}.", value=self.method,
                                fix="Use method='stock' or method='flows'.")
        needed = ("municipality", "year", value) + (("inflow", "outflow") if self.method == "flows" else ())
        missing = [c for c in needed if c not in yearly.columns]
        if missing:
            raise CaseloadError(f"yearly table lacks column(s) {missing}.", column=missing[0],
                                fix="Pass a long table with municipality, year and the stock per year.")
        structural = dict(structural) if structural is not None else {}
        rows, resid = [], []
        for mun, g in yearly.sort_values("year").groupby("municipality", sort=True):
            years = g["year"].astype(int).to_numpy()
            y = g[value].astype(float).to_numpy()
            if len(y) < 3 or np.any(np.diff(years) != 1):
                raise CaseloadError(
                    f"municipality {mun}: need at least 3 consecutive years, got {years.tolist()}.",
                    column="year", fix="Fill missing years or drop municipalities with a short history.")
            published = structural.get(mun)
            if self.method == "flows":
                rows_, r_ = self._fit_flows(mun, g, years, y, published)
                rows.append(rows_)
                resid.append(r_)
                continue
            tied = published if (self.constrain_structural and published is not None) else None
            gap = None if self.origin_year is None else int(years[0] - self.origin_year)
            if gap is not None and gap < 0:
                raise CaseloadError(f"origin_year {self.origin_year} is after the first year {years[0]}.",
                                    value=self.origin_year, fix="Use an origin year before the data.")
            # Starting values from the first differences: d_t = I - e S_{t-1}.
            d = np.diff(y)
            slope = -np.polyfit(y[:-1], d, 1)[0] if np.ptp(y[:-1]) > 0 else 0.1
            e0 = float(np.clip(slope, 0.01, 0.9))
            x0, lo, hi = [e0], [1e-6], [1.0]
            if tied is None:
                x0.append(max(float(np.mean(d + e0 * y[:-1])), 0.0))
                lo.append(0.0)
                hi.append(np.inf)
            if gap is None:
                x0.append(y[0])
                lo.append(0.0)
                hi.append(np.inf)
            sol = least_squares(lambda th, y=y, t=tied, g=gap: _path(th, len(y), t, g) - y,
                                x0=np.array(x0), bounds=(lo, hi), method="trf", x_scale="jac")
            fitted = _path(sol.x, len(y), tied, gap)
            exit_rate = float(sol.x[0])
            inflow = exit_rate * tied if tied is not None else float(sol.x[1])
            r = y - fitted
            rows.append({
                "municipality": mun, "inflow": inflow, "exit_rate": exit_rate,
                "start_stock": float(fitted[0]), "structural_implied": inflow / exit_rate,
                "structural_published": np.nan if published is None else float(published),
                "rmse": float(np.sqrt(np.mean(r ** 2))), "max_abs_residual": float(np.max(np.abs(r))),
                "n_years": len(y), "first_year": int(years[0]),
            })
            resid.append(pd.DataFrame({"municipality": mun, "year": years, "observed": y,
                                       "fitted": fitted, "residual": r}))
        if not rows:
            raise CaseloadError("yearly table is empty.", fix="Pass at least one municipality.")
        self.params_ = pd.DataFrame(rows).set_index("municipality")
        self.residuals_ = pd.concat(resid, ignore_index=True)
        return self

    @staticmethod
    def _fit_flows(mun, g: pd.DataFrame, years: np.ndarray, y: np.ndarray, published):
        at_risk = y[:-1] + 0.5 * g["inflow"].astype(float).to_numpy()[1:]
        out = g["outflow"].astype(float).to_numpy()[1:]
        if at_risk.sum() <= 0:
            raise CaseloadError(f"municipality {mun}: nobody at risk of leaving in any year.",
                                column="stock", fix="Use a longer history or drop the municipality.")
        exit_rate = float(np.clip(out.sum() / at_risk.sum(), 1e-6, 1.0))
        inflow = float(max(np.mean(y[1:] - (1 - exit_rate) * y[:-1]), 0.0))
        fitted = project_stock(y[0], inflow, exit_rate, len(y))
        r = y - fitted
        row = {"municipality": mun, "inflow": inflow, "exit_rate": exit_rate, "start_stock": float(y[0]),
               "structural_implied": inflow / exit_rate,
               "structural_published": np.nan if published is None else float(published),
               "rmse": float(np.sqrt(np.mean(r ** 2))), "max_abs_residual": float(np.max(np.abs(r))),
               "n_years": len(y), "first_year": int(years[0])}
        return row, pd.DataFrame({"municipality": mun, "year": years, "observed": y, "fitted": fitted,
                                  "residual": r})

    def predict(self, years, scenario=None) -> pd.DataFrame:
        """Projected stock per municipality for the given years.

        Parameters
        ----------
        years : iterable of int
            Years at or after each municipality's first fitted year.
        scenario : Scenario, optional
            A :class:`~caseload.forecast.scenarios.Scenario`: from its start year
            (default the first year after the fitted years) the inflow is
            ``I (1 + inflow_pct / 100)``, the exit rate ``e (1 + exit_pct / 100)``,
            and ``shift`` persons are added to the stock of the start year.

        Returns
        -------
        DataFrame
            ``municipality, year, stock``.

        Examples
        --------
        >>> from caseload.forecast.scenarios import Scenario
        >>> yearly = pd.DataFrame({"municipality": "X", "year": [2020, 2021, 2022],
        ...                        "stock": [100.0, 100.0, 100.0]})
        >>> m = StockFlowModel(method="flows").fit(yearly.assign(inflow=10, outflow=10.5))
        >>> m.predict([2023, 2024], Scenario("meer", inflow_pct=50))["stock"].round(2).tolist()
        [105.0, 109.5]
        """
        if not hasattr(self, "params_"):
            raise NotFittedError("StockFlowModel is not fitted.", fix="Call fit(yearly) first.")
        years = np.asarray(list(years), dtype=int)
        out = []
        for mun, p in self.params_.iterrows():
            k = years - int(p["first_year"])
            if np.any(k < 0):
                raise CaseloadError(f"year before the first fitted year {int(p['first_year'])}.",
                                    value=int(years.min()), fix="Ask for later years.")
            path = project_stock(p["start_stock"], p["inflow"], p["exit_rate"], int(k.max()) + 1)
            if scenario is not None:
                path = _scenario_path(path, p, scenario)
            out.append(pd.DataFrame({"municipality": mun, "year": years, "stock": path[k]}))
        return pd.concat(out, ignore_index=True)


def _scenario_path(path: np.ndarray, p: pd.Series, scenario) -> np.ndarray:
    """The stock path with the scenario's inflow, exit rate and shift from its start year."""
    first = int(p["first_year"])
    default = first + int(p["n_years"])
    t0 = default if scenario.start is None else pd.Timestamp(scenario.start).year
    k0 = max(t0 - first, 1)
    exit_rate = float(p["exit_rate"]) * (1 + scenario.y)
    if not 0 <= exit_rate <= 1:
        raise CaseloadError(f"scenario {scenario.name!r}: exit rate {exit_rate:.4f} lies outside [0, 1].",
                            column="exit_pct", value=scenario.exit_pct,
                            fix="Use a smaller change of the exit rate.")
    inflow = float(p["inflow"]) * (1 + scenario.x)
    out = path.copy()
    for k in range(k0, len(out)):
        out[k] = out[k - 1] * (1 - exit_rate) + inflow + (float(scenario.shift) if k == k0 else 0.0)
    return out


def yearly_target_group_counts(clients: pd.DataFrame, spells: pd.DataFrame,
                               peildatum=None) -> pd.DataFrame:
    """Yearly stock, inflow and outflow of new-target-group clients per municipality.

    Parameters
    ----------
    clients : DataFrame
        Canonical clients with ``client_id`` and ``new_target_group``.
    spells : DataFrame
        Canonical spells (``client_id, municipality, start_date, end_date``).
    peildatum : date-like, optional
        Reference date; the last year counted is the last complete one before it
        (default: the latest start or end date in the spells).

    Returns
    -------
    DataFrame
        ``municipality, year, stock`` (persons on benefit on 31 December),
        ``inflow`` (spells starting in the year), ``outflow`` (spells ending in it).
        Years run from the first year with any spell to the last complete year.
    """
    if "new_target_group" not in clients.columns:
        raise CaseloadError("clients lack the column 'new_target_group'.", column="new_target_group",
                            fix="Map the extract's Wajong/Wsw-indicator to new_target_group.")
    flagged = clients.loc[clients["new_target_group"].fillna(False).astype(bool), "client_id"]
    sp = spells[spells["client_id"].isin(flagged)]
    if peildatum is None:
        peildatum = pd.concat([spells["start_date"], spells["end_date"]]).max()
    peil = pd.Timestamp(peildatum)
    last_year = peil.year if (peil.month, peil.day) == (12, 31) else peil.year - 1
    if sp.empty:
        return pd.DataFrame(columns=["municipality", "year", "stock", "inflow", "outflow"])
    first_year = int(sp["start_date"].dt.year.min())
    years = np.arange(first_year, last_year + 1)
    rows = []
    for mun, g in sp.groupby("municipality", sort=True):
        start = g["start_date"].to_numpy()
        end = g["end_date"].fillna(pd.Timestamp.max).to_numpy()
        for y in years:
            ye = np.datetime64(f"{y}-12-31")
            ys = np.datetime64(f"{y}-01-01")
            rows.append({
                "municipality": mun, "year": int(y),
                "stock": int(((start <= ye) & (end > ye)).sum()),
                "inflow": int(((start >= ys) & (start <= ye)).sum()),
                "outflow": int(((end >= ys) & (end <= ye)).sum()),
            })
    return pd.DataFrame(rows)
