"""Rolling-origin backtests of the caseload forecasts against AutoETS and seasonal naive.

Split from :mod:`caseload.forecast.series` (which makes the forecasts); the
measures are MASE (scaled by :func:`seasonal_naive_mae`), sMAPE and the coverage
of the prediction intervals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.forecast.series import _levels, _validate, forecast_series

__all__ = ["backtest", "BacktestResult", "seasonal_naive_mae"]


def seasonal_naive_mae(y: np.ndarray, season_length: int) -> float:
    """In-sample mean absolute error of the seasonal naive forecast (the MASE scale).

    Falls back to the naive (lag-1) forecast when the series is shorter than
    one season plus one month.

    >>> seasonal_naive_mae(np.array([1., 2, 3, 1, 2, 3, 2]), 3)
    0.25
    """
    y = np.asarray(y, dtype=float)
    m = season_length if len(y) > season_length else 1
    return float(np.mean(np.abs(y[m:] - y[:-m])))


@dataclass
class BacktestResult:
    """Result of :func:`backtest`.

    Attributes
    ----------
    per_series : DataFrame
        ``unique_id, model, mase, smape, coverage_<l> ...``, one row per series and model
        (``Combined`` when evaluated, ``AutoETS`` and the ``SeasonalNaive`` baseline).
    summary : DataFrame
        One row per model: mean MASE and sMAPE over series, pooled coverage per level,
        number of series, windows and horizon.
    forecasts : DataFrame
        Every rolling-origin forecast: ``unique_id, ds, cutoff, y, model, forecast, lo_*, hi_*``.
    """

    per_series: pd.DataFrame
    summary: pd.DataFrame
    forecasts: pd.DataFrame


def backtest(df: pd.DataFrame, horizon: int, n_windows: int, step: int | None = None,
             season_length: int = 12, level=(80, 95), model: str = "ZZZ",
             method: str = "combined") -> BacktestResult:
    """Rolling-origin evaluation of :func:`forecast_series` against AutoETS and seasonal naive.

    For each of ``n_windows`` origins (``step`` months apart, the last one
    ``horizon`` months before the end) the models are fitted on the data up to
    the origin and forecast ``horizon`` months: statsforecast ``AutoETS`` and
    ``SeasonalNaive`` and, with ``method="combined"``, :func:`forecast_series`
    (model ``"Combined"``, which runs its own cross-validation inside the data
    before each origin).

    Parameters
    ----------
    df : DataFrame
        Long form ``unique_id, ds, y``.
    horizon : int
        Months ahead.
    n_windows : int
        Number of forecast origins.
    step : int, optional
        Months between origins; default ``horizon`` (windows do not overlap).
    season_length : int, default 12
    level : sequence of int, default (80, 95)
    model : str, default "ZZZ"
        ETS model space, as in :func:`forecast_series`.
    method : {"combined", "autoets"}, default "combined"
        ``"autoets"`` evaluates only AutoETS and seasonal naive (the previous behaviour).

    Returns
    -------
    BacktestResult
        MASE: mean absolute error divided by the in-sample MAE of the seasonal
        naive forecast on the data before the origin (Hyndman and Koehler 2006);
        sMAPE: ``200 |y - f| / (|y| + |f|)`` in percent; coverage: share of actual
        values inside the interval.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    step = horizon if step is None else int(step)
    if method not in ("combined", "autoets"):
        raise CaseloadError(f"unknown forecast method {method!r}.", value=method,
                            fix="Use method='combined' (default) or method='autoets'.")
    if n_windows < 1 or step < 1 or horizon < 1:
        raise CaseloadError("horizon, n_windows and step must be at least 1.",
                            value=(horizon, n_windows, step), fix="Pass positive integers.")
    levels = _levels(level)
    need = horizon + step * (n_windows - 1) + 2 * season_length
    data, freq = _validate(df, min_length=need)
    sf = StatsForecast(models=[AutoETS(season_length=season_length, model=model),
                               SeasonalNaive(season_length=season_length)], freq=freq, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = sf.cross_validation(h=horizon, df=data, n_windows=n_windows, step_size=step, level=levels)
    if "unique_id" not in cv.columns:
        cv = cv.reset_index()
    aliases = ["AutoETS", "SeasonalNaive"]
    if method == "combined":
        parts = []
        for cutoff in sorted(cv["cutoff"].unique()):
            fc = forecast_series(data[data["ds"] <= cutoff], horizon, season_length=season_length,
                                 level=levels, model=model, method="combined")
            parts.append(fc.assign(cutoff=cutoff))
        comb = pd.concat(parts, ignore_index=True)
        cols = {"forecast": "Combined", **{f"{b}_{lv}": f"Combined-{b}-{lv}" for lv in levels
                                           for b in ("lo", "hi")}}
        comb = comb.rename(columns=cols)[["unique_id", "ds", "cutoff", *cols.values()]]
        cv = cv.merge(comb, on=["unique_id", "ds", "cutoff"], how="left")
        aliases = ["Combined", *aliases]
    # MASE scale per series and origin: in-sample seasonal naive MAE up to the cutoff.
    scales = []
    for (uid, cutoff), _ in cv.groupby(["unique_id", "cutoff"], sort=False):
        hist = data.loc[(data["unique_id"] == uid) & (data["ds"] <= cutoff), "y"].to_numpy()
        scales.append((uid, cutoff, seasonal_naive_mae(hist, season_length)))
    scale = pd.DataFrame(scales, columns=["unique_id", "cutoff", "scale"])
    long = []
    for alias in aliases:
        part = cv[["unique_id", "ds", "cutoff", "y"]].copy()
        part["model"] = alias
        part["forecast"] = cv[alias].to_numpy()
        for lv in levels:
            part[f"lo_{lv}"] = cv[f"{alias}-lo-{lv}"].to_numpy()
            part[f"hi_{lv}"] = cv[f"{alias}-hi-{lv}"].to_numpy()
        long.append(part)
    fc = pd.concat(long, ignore_index=True).merge(scale, on=["unique_id", "cutoff"], how="left")
    err = (fc["y"] - fc["forecast"]).abs()
    fc["scaled_error"] = err / fc["scale"].replace(0, np.nan)
    denom = fc["y"].abs() + fc["forecast"].abs()
    fc["smape"] = np.where(denom > 0, 200 * err / denom.where(denom > 0, 1), 0.0)
    cov_cols = []
    for lv in levels:
        c = f"coverage_{lv}"
        fc[c] = ((fc["y"] >= fc[f"lo_{lv}"]) & (fc["y"] <= fc[f"hi_{lv}"])).astype(float)
        cov_cols.append(c)
    agg = {"mase": ("scaled_error", "mean"), "smape": ("smape", "mean"),
           **{c: (c, "mean") for c in cov_cols}}
    per = fc.groupby(["unique_id", "model"], sort=True).agg(**agg).reset_index()
    summ = per.groupby("model", sort=False).agg(mase=("mase", "mean"), smape=("smape", "mean"),
                                                n_series=("unique_id", "nunique")).reset_index()
    pooled = fc.groupby("model")[cov_cols].mean().reset_index()
    summ = summ.merge(pooled, on="model")
    summ["n_windows"] = n_windows
    summ["horizon"] = horizon
    summ = summ.set_index("model").loc[aliases].reset_index()
    keep = ["unique_id", "ds", "cutoff", "y", "model", "forecast",
            *[f"{b}_{lv}" for lv in levels for b in ("lo", "hi")]]
    return BacktestResult(per_series=per, summary=summ, forecasts=fc[keep])
