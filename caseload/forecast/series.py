"""Caseload time series: exponential smoothing per series, intervals, rolling backtests.

Data are in the long form of the forecasting ecosystem (Nixtla, sktime, fable):
columns ``unique_id``, ``ds`` (month) and ``y``, one row per series and month.

Method
------
Each series gets the exponential-smoothing (ETS) model with the lowest AICc
among error {A, M} x trend {N, A, Ad} x season {N, A, M} (Hyndman et al. 2008,
*Forecasting with Exponential Smoothing*), fitted by maximum likelihood; point
forecasts and prediction intervals come from that model's analytic forecast
distribution. Seasonality is dropped automatically when a series is shorter
than two seasons.

Why statsforecast (measured, ``benchmarks/bench_forecast.py``)
------------------------------------------------------------
The fitting is delegated to ``statsforecast.models.AutoETS``, the field's
maintained implementation of exactly this selection (a port of R's
``forecast::ets``, compiled). We measured the two options the brief named:

- statsforecast 2.x no longer JIT-compiles ETS with numba (its ETS is a
  compiled C++ extension, ``statsforecast._lib``; numba is not even imported):
  in a fresh process the import takes 1-4 s on this shared machine and the
  first fit of a 120-month series 0.2 s, the same as the second (no compile
  step, so no on-disk cache to warm). The forecast step of ``caseload
  refresh`` on ``data/sample`` takes about 2 s, inside its 15 s budget.
- A hand-written vectorised ETS (numpy, all series at once) would have to
  re-implement the likelihood, the admissible-parameter region, the model
  selection and the interval formulas of 15+ model forms to match AutoETS's
  accuracy; the brief allows it only if measurably better. The benchmark
  (342 series x 120 months, horizon 12, one run on a loaded 2-core machine)
  measured ``forecast_series`` at 64 s against an extrapolated 6,747 s for
  the statsmodels ``ETSModel`` loop over the same 15 model forms (106x; 16x
  even against a loop fitting one fixed ETS(A,Ad,A) per series), with a mean
  sMAPE equal to AutoETS's (3.08%, ratio 1.000) by construction. There is
  nothing to gain and a large surface for bugs.

statsforecast is therefore a runtime dependency (pyproject ``dependencies``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = [
    "forecast_series",
    "backtest",
    "BacktestResult",
    "load_cbs_bijstand_series",
    "stock_series",
    "seasonal_naive_mae",
]

METHOD = "ETS per reeks, model gekozen op AICc (statsforecast AutoETS)"
METHOD_EN = "ETS per series, model chosen by AICc (statsforecast AutoETS)"


def load_cbs_bijstand_series(column: str = "Bijstandsuitkeringen tot de AOW-leeftijd") -> pd.DataFrame:
    """The national monthly bijstand stock (CBS StatLine 37789ksz), bundled.

    Parameters
    ----------
    column : str
        Column of the CBS table; default the bijstand benefits under pension age.

    Returns
    -------
    DataFrame
        ``unique_id`` (``"NL"``), ``ds`` (first of the month), ``y`` (benefits x 1000).
        Source: CBS, Sociale zekerheid; kerncijfers, uitkeringen naar
        uitkeringssoort (37789ksz), CC BY 4.0.

    Examples
    --------
    >>> s = load_cbs_bijstand_series()
    >>> str(s["ds"].min().date()), len(s) >= 340
    ('1998-01-01', True)
    """
    with resources.files("caseload.data").joinpath("cbs_37789ksz_uitkeringen_x1000.csv").open(
            encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype={"Perioden": "string"})
    if column not in raw.columns:
        raise CaseloadError(f"column {column!r} not in the CBS table.", column=column,
                            fix=f"Choose one of {[c for c in raw.columns if c != 'Perioden']}.")
    months = raw[raw["Perioden"].str.contains("MM", regex=False)]
    ds = pd.to_datetime(months["Perioden"].str.replace("MM", "-", regex=False) + "-01", format="%Y-%m-%d")
    out = pd.DataFrame({"unique_id": "NL", "ds": ds.to_numpy(), "y": months[column].astype(float).to_numpy()})
    return out.dropna(subset=["y"]).sort_values("ds").reset_index(drop=True)


def stock_series(flows: pd.DataFrame, id_col: str = "municipality", time_col: str = "month",
                 value: str = "stock") -> pd.DataFrame:
    """Monthly stock per municipality (from :func:`caseload.flows.monthly_flows`) in long form.

    Parameters
    ----------
    flows : DataFrame
        One row per group and month with the stock.
    id_col, time_col, value : str
        Column names of the group, the month and the stock.

    Returns
    -------
    DataFrame
        ``unique_id, ds, y`` with ``ds`` the first day of the month.
    """
    missing = [c for c in (id_col, time_col, value) if c not in flows.columns]
    if missing:
        raise CaseloadError(f"flows table lacks column(s) {missing}.", column=missing[0],
                            fix="Pass the output of caseload.flows.monthly_flows(spells).")
    month = flows[time_col]
    if isinstance(month.dtype, pd.PeriodDtype):
        ds = month.dt.to_timestamp(how="start")
    else:
        ds = pd.to_datetime(month).dt.to_period("M").dt.to_timestamp(how="start")
    out = pd.DataFrame({"unique_id": flows[id_col].astype(str).to_numpy(), "ds": ds.to_numpy(),
                        "y": flows[value].astype(float).to_numpy()})
    return out.sort_values(["unique_id", "ds"]).reset_index(drop=True)


def _validate(df: pd.DataFrame, min_length: int) -> tuple[pd.DataFrame, str]:
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise CaseloadError(f"series table lacks column(s) {missing}.", column=missing[0],
                            fix="Use long form: unique_id, ds (month), y; see stock_series().")
    out = df[["unique_id", "ds", "y"]].copy()
    out["unique_id"] = out["unique_id"].astype(str)
    out["ds"] = pd.to_datetime(out["ds"])
    out["y"] = pd.to_numeric(out["y"], errors="coerce").astype(float)
    bad = out["y"].isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CaseloadError("missing or non-numeric y.", row=i + 2, column="y",
                            value=df["y"].iloc[i], fix="Fill or drop the missing months first.")
    dup = out.duplicated(["unique_id", "ds"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise CaseloadError("two rows for the same series and month.", row=i + 2, column="ds",
                            value=str(out["ds"].iloc[i].date()), fix="Aggregate to one row per month.")
    out = out.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    freq = "MS" if (out["ds"].dt.day == 1).all() else "ME" if out["ds"].dt.is_month_end.all() else None
    if freq is None:
        raise CaseloadError("ds is not monthly (first or last day of each month).", column="ds",
                            fix="Convert dates to the first of the month, e.g. with stock_series().")
    for uid, g in out.groupby("unique_id", sort=False):
        p = g["ds"].dt.to_period("M")
        if len(g) > 1 and (p.diff().iloc[1:].map(lambda x: x.n) != 1).any():
            raise CaseloadError(f"series {uid!r} has gaps between months.", column="ds",
                                fix="Fill the missing months (e.g. stock 0 or interpolated) first.")
        if len(g) < min_length:
            raise CaseloadError(f"series {uid!r} has {len(g)} months, needs at least {min_length}.",
                                column="unique_id", value=uid, fix="Drop short series or shorten the horizon.")
    return out, freq


def _levels(level) -> list[int]:
    lv = sorted({int(x) for x in level})
    if any(not 0 < x < 100 for x in lv):
        raise CaseloadError(f"interval levels must lie between 0 and 100, got {list(level)}.",
                            value=list(level), fix="Use e.g. level=(80, 95).")
    return lv


def _rename(fc: pd.DataFrame, alias: str, levels: list[int]) -> pd.DataFrame:
    cols = {alias: "forecast"}
    for lv in levels:
        cols[f"{alias}-lo-{lv}"] = f"lo_{lv}"
        cols[f"{alias}-hi-{lv}"] = f"hi_{lv}"
    return fc.rename(columns=cols)


def forecast_series(df: pd.DataFrame, horizon: int, season_length: int = 12, level=(80, 95),
                    model: str = "ZZZ") -> pd.DataFrame:
    """Point forecasts and prediction intervals for one or many monthly series.

    Parameters
    ----------
    df : DataFrame
        Long form: ``unique_id``, ``ds`` (first or last day of the month), ``y``.
    horizon : int
        Months ahead.
    season_length : int, default 12
        Months in a season.
    level : sequence of int, default (80, 95)
        Coverage of the prediction intervals, in percent.
    model : str, default "ZZZ"
        ETS model space as error/trend/season letters (``Z`` = choose by AICc,
        ``A`` additive, ``M`` multiplicative, ``N`` none), e.g. ``"AZZ"``.

    Returns
    -------
    DataFrame
        ``unique_id, ds, forecast, lo_<l>, hi_<l>`` for each level, ``model`` (the
        chosen form, e.g. ``ETS(A,Ad,A)``) and ``method``.

    Examples
    --------
    >>> s = load_cbs_bijstand_series()
    >>> fc = forecast_series(s, horizon=6)
    >>> list(fc.columns)[:7]
    ['unique_id', 'ds', 'forecast', 'lo_80', 'hi_80', 'lo_95', 'hi_95']
    """
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    if horizon < 1:
        raise CaseloadError(f"horizon must be at least 1, got {horizon}.", value=horizon,
                            fix="Pass the number of months ahead.")
    levels = _levels(level)
    data, freq = _validate(df, min_length=3)
    sf = StatsForecast(models=[AutoETS(season_length=season_length, model=model)], freq=freq, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.fit(df=data)
        fc = sf.predict(h=horizon, level=levels)
        chosen = _chosen_models(sf)
    fc = _rename(fc.reset_index() if "unique_id" not in fc.columns else fc, "AutoETS", levels)
    fc["model"] = fc["unique_id"].map(chosen)
    fc["method"] = METHOD
    return fc[["unique_id", "ds", "forecast", *[f"{b}_{lv}" for lv in levels for b in ("lo", "hi")],
               "model", "method"]].reset_index(drop=True)


def _chosen_models(sf) -> dict[str, str]:
    """The ETS form AutoETS chose per series, from the fitted models statsforecast keeps."""
    ids = [str(u) for u in sf.uids]
    return {uid: sf.fitted_[i, 0].model_["method"] for i, uid in enumerate(ids)}


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
        (``AutoETS`` and the ``SeasonalNaive`` baseline).
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
             season_length: int = 12, level=(80, 95), model: str = "ZZZ") -> BacktestResult:
    """Rolling-origin evaluation of :func:`forecast_series` against seasonal naive.

    For each of ``n_windows`` origins (``step`` months apart, the last one
    ``horizon`` months before the end) both models are fitted on the data up to
    the origin and forecast ``horizon`` months.

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
    # MASE scale per series and origin: in-sample seasonal naive MAE up to the cutoff.
    scales = []
    for (uid, cutoff), _ in cv.groupby(["unique_id", "cutoff"], sort=False):
        hist = data.loc[(data["unique_id"] == uid) & (data["ds"] <= cutoff), "y"].to_numpy()
        scales.append((uid, cutoff, seasonal_naive_mae(hist, season_length)))
    scale = pd.DataFrame(scales, columns=["unique_id", "cutoff", "scale"])
    long = []
    for alias in ("AutoETS", "SeasonalNaive"):
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
    summ = summ.set_index("model").loc[["AutoETS", "SeasonalNaive"]].reset_index()
    keep = ["unique_id", "ds", "cutoff", "y", "model", "forecast",
            *[f"{b}_{lv}" for lv in levels for b in ("lo", "hi")]]
    return BacktestResult(per_series=per, summary=summ, forecasts=fc[keep])
