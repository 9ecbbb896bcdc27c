"""Caseload time series: combined forecasts per series with honest intervals (backtests: :mod:`caseload.forecast.backtest`).

Data are in the long form of the forecasting ecosystem (Nixtla, sktime, fable):
columns ``unique_id``, ``ds`` (month) and ``y``, one row per series and month.

Method (default, ``method="combined"``)
----------------------------------------
Three statsforecast models forecast each series: ``AutoETS`` (the ETS form with
the lowest AICc among error {A, M} x trend {N, A, Ad} x season {N, A, M}; Hyndman
et al. 2008), the same search restricted to damped trends, and ``AutoTheta``.
A rolling-origin cross-validation on the series' own history (12 origins two
months apart, the models fitted once at the first origin and moved forward with
their fitted parameters; the ETS candidates keep the form they chose on the whole
series) scores them; the forecasts are combined with weights
proportional to 1 / MSE (Bates and Granger 1969). The prediction intervals are
split-conformal: the absolute cross-validation errors of the combination,
divided by the models' forecast standard deviation at each step, give one width
factor per level (pooled over the series forecast together). Details and the
measured accuracy and coverage: ``docs/forecast-methods.md``.

``method="autoets"`` is the previous behaviour: the AutoETS model alone, with
point forecasts and intervals from its analytic forecast distribution.
Seasonality is dropped automatically when a series is shorter than two seasons.

Why statsforecast (measured, ``benchmarks/bench_forecast.py``)
------------------------------------------------------------
The fitting is delegated to statsforecast (``AutoETS`` is the field's
maintained implementation of exactly this selection, a port of R's
``forecast::ets``, compiled). For issue 5 we measured the two options the brief
named (AutoETS alone, before the combination existed):

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
from importlib import resources

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = [
    "forecast_series",
    "load_cbs_bijstand_series",
    "stock_series",
]

METHOD = "ETS per reeks, model gekozen op AICc (statsforecast AutoETS)"
METHOD_EN = "ETS per series, model chosen by AICc (statsforecast AutoETS)"
_NL_NAMES = {"AutoETS": "AutoETS", "DampedETS": "gedempte ETS", "AutoTheta": "Theta",
             "AutoARIMA": "AutoARIMA"}
_NL_RULES = {"inverse_mse": "gewogen met 1/MSE", "best2": "gemiddelde van de beste twee",
             "select": "de beste gekozen", "mean": "gelijk gewogen"}


def _method_text(aliases, combine: str, calibrate: str) -> str:
    """The Dutch method line of a combined forecast (published beside the table)."""
    names = [_NL_NAMES.get(a, a) for a in aliases]
    joined = ", ".join(names[:-1]) + " en " + names[-1] if len(names) > 1 else names[0]
    cal = "over alle reeksen samen" if calibrate == "pooled" else "per reeks"
    return (f"combinatie van {joined} per reeks, {_NL_RULES[combine]} uit rolling-origin "
            f"kruisvalidatie; conforme voorspelintervallen, gekalibreerd {cal}")


METHOD_COMBINED = _method_text(("AutoETS", "DampedETS", "AutoTheta"), "inverse_mse", "pooled")

#: Candidate models of the combination (statsforecast classes; see :func:`_candidates`).
CANDIDATES = ("AutoETS", "DampedETS", "AutoTheta", "AutoARIMA")
#: Default candidates: AutoARIMA is left out by default because it takes about
#: 4.5 times as long as AutoETS on monthly seasonal series (benchmarks/bench_forecast.py).
MODELS = ("AutoETS", "DampedETS", "AutoTheta")
#: Default number of cross-validation origins.
CV_WINDOWS = 12
#: Default months between cross-validation origins (12 origins span two years).
CV_STEP = 2
#: Default combination rule (see :func:`caseload.forecast.combination.combination_weights`);
#: chosen on the benchmark series (inverse-MSE had the lowest sMAPE of the four rules).
COMBINE = "inverse_mse"


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
                    model: str = "ZZZ", method: str = "combined", n_windows: int = CV_WINDOWS,
                    models: tuple[str, ...] = MODELS, combine: str = COMBINE,
                    calibrate: str = "pooled", cv_step: int = CV_STEP, return_scores: bool = False):
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
        ``A`` additive, ``M`` multiplicative, ``N`` none), e.g. ``"AZZ"``; used by
        the AutoETS and damped-ETS candidates.
    method : {"combined", "autoets"}, default "combined"
        ``"combined"``: the candidate ``models`` are compared per series by
        rolling-origin cross-validation on the series' own history and combined
        with weights from their cross-validated errors (see :func:`combination_weights`);
        the intervals are conformal, calibrated on the cross-validated errors of
        the combination (see :func:`conformal_quantile`). ``"autoets"``: the
        previous behaviour, statsforecast AutoETS with its analytic intervals.
    n_windows : int, default 12
        Forecast origins of the cross-validation (``cv_step`` months apart, the last
        one ``horizon`` months before the end); fewer when a series is short.
    models : tuple of str, default ("AutoETS", "DampedETS", "AutoTheta")
        Candidates of the combination (names of :data:`CANDIDATES`).
    combine : {"inverse_mse", "best2", "select", "mean"}, default "inverse_mse"
        How the cross-validated errors become weights
        (:func:`~caseload.forecast.combination.combination_weights`).
    calibrate : {"pooled", "series"}, default "pooled"
        Conformal calibration of the interval width: one quantile of the
        normalised cross-validation errors of all series forecast together
        (``"pooled"``; with one series the same as ``"series"``), or one quantile
        per series. Per series, 12 overlapping origins are too few for a stable
        95% quantile: in the benchmark it covered 91-92% instead of 95%.
    cv_step : int, default 2
        Months between the cross-validation origins: 12 origins 2 months apart span
        two years of the series' history.
    return_scores : bool, default False
        Also return the cross-validation table: ``unique_id, model, mae, mse,
        weight, origins`` (empty for ``method="autoets"``).

    Returns
    -------
    DataFrame
        ``unique_id, ds, forecast, lo_<l>, hi_<l>`` for each level, ``model``
        (the chosen ETS form, or the combination with its weights) and ``method``;
        with ``return_scores`` a tuple ``(forecasts, scores)``.

    Examples
    --------
    >>> s = load_cbs_bijstand_series()
    >>> fc = forecast_series(s, horizon=6, method="autoets")
    >>> list(fc.columns)[:7]
    ['unique_id', 'ds', 'forecast', 'lo_80', 'hi_80', 'lo_95', 'hi_95']
    """
    if horizon < 1:
        raise CaseloadError(f"horizon must be at least 1, got {horizon}.", value=horizon,
                            fix="Pass the number of months ahead.")
    if method not in ("combined", "autoets"):
        raise CaseloadError(f"unknown forecast method {method!r}.", value=method,
                            fix="Use method='combined' (default) or method='autoets'.")
    levels = _levels(level)
    data, freq = _validate(df, min_length=3)
    if method == "autoets":
        fc = _forecast_autoets(data, freq, horizon, season_length, levels, model)
        scores = pd.DataFrame(columns=["unique_id", "model", "mae", "mse", "weight", "origins"])
    else:
        fc, scores = _forecast_combined(data, freq, horizon, season_length, levels, model, n_windows,
                                        models, combine, calibrate, cv_step)
    return (fc, scores) if return_scores else fc


def _forecast_autoets(data: pd.DataFrame, freq: str, horizon: int, season_length: int,
                      levels: list[int], model: str) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

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


def _candidates(names, season_length: int, model: str) -> list:
    """statsforecast model objects for the candidate names, each with its name as alias."""
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    unknown = [n for n in names if n not in CANDIDATES]
    if unknown or not names:
        raise CaseloadError(f"unknown candidate model(s) {unknown or list(names)}.", value=list(names),
                            fix=f"Choose from {list(CANDIDATES)}.")
    out = []
    for name in dict.fromkeys(names):
        if name == "AutoETS":
            out.append(AutoETS(season_length=season_length, model=model, alias=name))
        elif name == "DampedETS":
            if model[1] == "N":  # no trend to damp: the candidate is AutoETS itself
                continue
            out.append(AutoETS(season_length=season_length, model=model, damped=True, alias=name))
        elif name == "AutoTheta":
            out.append(AutoTheta(season_length=season_length, alias=name))
        else:
            out.append(AutoARIMA(season_length=season_length, alias=name))
    return out


_Z80 = 1.2815515655446004  # standard normal 90% quantile: half-width of an 80% interval in sd


def _sigma(frame: pd.DataFrame, alias: str) -> np.ndarray:
    """Forecast standard deviation implied by a model's 80% interval."""
    return ((frame[f"{alias}-hi-80"] - frame[f"{alias}-lo-80"]) / (2 * _Z80)).to_numpy(dtype=float)


def _cv_windows(data: pd.DataFrame, horizon: int, season_length: int, n_windows: int,
                step: int = 1) -> int:
    """Cross-validation origins the shortest series allows (0: too short for any)."""
    n_min = int(data.groupby("unique_id").size().min())
    for min_train in (2 * season_length + 2, 10):
        w = min(int(n_windows), (n_min - horizon - min_train) // step + 1)
        if w >= 1:
            return w
    return 0


def _forecast_combined(data: pd.DataFrame, freq: str, horizon: int, season_length: int,
                       levels: list[int], model: str, n_windows: int, models, combine: str,
                       calibrate: str = "pooled", cv_step: int = CV_STEP
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    from caseload.forecast.combination import combination_weights

    if n_windows < 1:
        raise CaseloadError(f"n_windows must be at least 1, got {n_windows}.", value=n_windows,
                            fix="Pass the number of cross-validation origins, e.g. 12.")
    combination_weights(pd.DataFrame(columns=["unique_id", "model", "mae", "mse"]), combine)  # check rule
    if calibrate not in ("pooled", "series"):
        raise CaseloadError(f"unknown calibration {calibrate!r}.", value=calibrate,
                            fix="Use calibrate='pooled' (default) or calibrate='series'.")
    cands = _candidates(models, season_length, model)
    aliases = [m.alias for m in cands]
    if cv_step < 1:
        raise CaseloadError(f"cv_step must be at least 1, got {cv_step}.", value=cv_step,
                            fix="Pass the months between cross-validation origins, e.g. 2.")
    windows = _cv_windows(data, horizon, season_length, n_windows, cv_step)
    if windows == 0:
        fc = _forecast_autoets(data, freq, horizon, season_length, levels, model)
        fc["method"] = METHOD + "; reeks te kort voor kruisvalidatie"
        return fc, pd.DataFrame(columns=["unique_id", "model", "mae", "mse", "weight", "origins"])
    cv, pred, chosen = _fit_candidates(data, freq, horizon, cands, windows, season_length, step=cv_step)
    return _combine(cv, pred, chosen, aliases, levels, combine, windows, calibrate)


def _fit_candidates(data: pd.DataFrame, freq: str, horizon: int, cands: list, windows: int,
                    season_length: int = 12, reuse_ets_form: bool = True, step: int = 1):
    """Cross-validation and final forecasts of every candidate.

    The final forecasts come from the candidates fitted on the whole series. The
    cross-validation fits each candidate once, at the first origin, and moves the
    origin forward one month at a time with the fitted parameters (statsforecast
    ``forward``): Tashman's (2000) non-updating rolling origin; no parameter is
    estimated on the months it is scored on, and it costs one fit per model
    instead of one per origin. With ``reuse_ets_form`` (default) the ETS
    candidates refit at the origin the form (e.g. ETS(A,Ad,N)) they chose on the
    whole series instead of searching all forms again: the parameters are still
    estimated on the months before the origin only, the search is skipped (it is
    the costly part; ``False`` searches again, as statsforecast's
    ``cross_validation(refit=False)`` does).

    Returns
    -------
    tuple
        ``cv`` (``unique_id, cutoff, ds, y, step`` and per candidate the forecast
        and its 80% bounds, named like statsforecast's), ``pred`` (the same for the
        final forecasts) and the readable model names per series.
    """
    import copy

    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    aliases = [m.alias for m in cands]
    sf = StatsForecast(models=cands, freq=freq, n_jobs=1)
    cv_parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.fit(df=data)
        pred = sf.predict(h=horizon, level=[80])
        for i, (uid, g) in enumerate(data.groupby("unique_id", sort=True)):
            if str(sf.uids[i]) != str(uid):  # statsforecast sorts series the same way
                raise RuntimeError("series order differs from statsforecast's")  # pragma: no cover
            y = g["y"].to_numpy(dtype=float)
            ds = g["ds"].to_numpy()
            first = len(y) - horizon - (windows - 1) * step  # months before the first origin
            origins = range(first, first + windows * step, step)
            cols: dict[str, np.ndarray] = {}
            for j, cand in enumerate(cands):
                fitted = sf.fitted_[i, j]
                if reuse_ets_form and isinstance(cand, AutoETS):
                    comp = str(fitted.model_["components"])
                    model = AutoETS(season_length=cand.season_length, model=comp[:3],
                                    damped=comp[3:4] == "D")
                else:
                    model = copy.deepcopy(cand)
                model.fit(y[:first])
                res = [model.forward(y[:t], horizon, level=[80]) for t in origins]
                a = cand.alias
                cols[a] = np.concatenate([r["mean"] for r in res])
                cols[f"{a}-lo-80"] = np.concatenate([r["lo-80"] for r in res])
                cols[f"{a}-hi-80"] = np.concatenate([r["hi-80"] for r in res])
            idx = np.concatenate([np.arange(t, t + horizon) for t in origins])
            cut = np.repeat(ds[np.asarray(origins) - 1], horizon)
            cv_parts.append(pd.DataFrame({"unique_id": uid, "cutoff": cut, "ds": ds[idx], "y": y[idx],
                                          "step": np.tile(np.arange(1, horizon + 1), windows), **cols}))
    if "unique_id" not in pred.columns:
        pred = pred.reset_index()
    cv = pd.concat(cv_parts, ignore_index=True)
    pred = pred.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    pred["step"] = pred.groupby("unique_id").cumcount() + 1
    return cv, pred, _chosen_models_combined(sf, aliases)


def _combine(cv: pd.DataFrame, pred: pd.DataFrame, chosen: dict, aliases: list[str], levels: list[int],
             combine: str, windows: int, calibrate: str = "pooled") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weights from the CV errors, the combined forecast and its conformal intervals."""
    from caseload.forecast.combination import combination_weights, conformal_quantile

    rows = []
    for a in aliases:
        err = (cv["y"] - cv[a]).to_numpy(dtype=float)
        rows.append(pd.DataFrame({"unique_id": cv["unique_id"].to_numpy(), "model": a,
                                  "abs": np.abs(err), "sq": err ** 2}))
    scores = (pd.concat(rows, ignore_index=True).groupby(["unique_id", "model"], sort=False)
              .agg(mae=("abs", "mean"), mse=("sq", "mean")).reset_index())
    scores["model"] = pd.Categorical(scores["model"], categories=aliases, ordered=True)
    scores = scores.sort_values(["unique_id", "model"]).reset_index(drop=True)
    scores["model"] = scores["model"].astype(str)
    weights = combination_weights(scores, combine)
    W = weights.pivot(index="unique_id", columns="model", values="weight")[aliases]

    def combine_frame(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        w = W.loc[frame["unique_id"]].to_numpy(dtype=float)
        f = np.column_stack([frame[a].to_numpy(dtype=float) for a in aliases])
        s = np.column_stack([_sigma(frame, a) for a in aliases])
        fin = np.isfinite(f)
        f_c = np.nansum(np.where(fin, f, 0.0) * w, axis=1) / np.sum(np.where(fin, w, 0.0), axis=1)
        s_ok = np.isfinite(s) & (s > 0)
        ws = np.sum(np.where(s_ok, w, 0.0), axis=1)
        s_sum = np.sum(np.where(s_ok, s, 0.0) * w, axis=1)
        s_c = np.where(ws > 0, s_sum / np.where(ws > 0, ws, 1), np.nan)
        return f_c, s_c

    cv_f, cv_s = combine_frame(cv)
    cv_err = cv["y"].to_numpy(dtype=float) - cv_f
    # Fallback scale where the models give none: RMSE of the CV errors at that step.
    rmse = (pd.DataFrame({"unique_id": cv["unique_id"], "step": cv["step"], "e2": cv_err ** 2})
            .groupby(["unique_id", "step"])["e2"].mean() ** 0.5)
    cv_key = list(zip(cv["unique_id"], cv["step"], strict=True))
    cv_s = np.where(np.isfinite(cv_s), cv_s, rmse.loc[cv_key].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.abs(cv_err) / cv_s
    score = np.where(np.abs(cv_err) == 0, 0.0, score)

    f_c, s_c = combine_frame(pred)
    key = list(zip(pred["unique_id"], pred["step"].clip(upper=int(cv["step"].max())), strict=True))
    s_c = np.where(np.isfinite(s_c), s_c, rmse.reindex(key).to_numpy())
    out = pd.DataFrame({"unique_id": pred["unique_id"].to_numpy(), "ds": pred["ds"].to_numpy(),
                        "forecast": f_c})
    from statistics import NormalDist

    by_uid = pd.Series(score).groupby(cv["unique_id"].to_numpy())
    q_text: dict[str, list[str]] = {}
    for lv in levels:
        if calibrate == "pooled":
            q = pd.Series(conformal_quantile(score, lv), index=list(by_uid.groups))
        else:
            q = by_uid.apply(lambda x, lv=lv: conformal_quantile(x.to_numpy(), lv))
        fallback = NormalDist().inv_cdf(0.5 + lv / 200)  # too few scores: model-based width
        q = q.fillna(fallback)
        qv = q.reindex(out["unique_id"]).to_numpy()
        out[f"lo_{lv}"] = f_c - qv * s_c
        out[f"hi_{lv}"] = f_c + qv * s_c
        for uid, val in q.items():
            q_text.setdefault(str(uid), []).append(f"q{lv}={val:.2f}")
    labels = {}
    for uid, g in weights.groupby("unique_id", sort=False):
        parts = [f"{w:.2f} {chosen.get((str(uid), m), m)}"
                 for m, w in zip(g["model"], g["weight"], strict=True) if w > 0]
        labels[str(uid)] = " + ".join(parts) + f" ({windows} origins; {', '.join(q_text[str(uid)])})"
    out["model"] = out["unique_id"].astype(str).map(labels)
    out["method"] = _method_text(aliases, combine, calibrate)
    out = out[["unique_id", "ds", "forecast", *[f"{b}_{lv}" for lv in levels for b in ("lo", "hi")],
               "model", "method"]]
    weights["origins"] = windows
    return out.reset_index(drop=True), weights


def _chosen_models_combined(sf, aliases: list[str]) -> dict[tuple[str, str], str]:
    """Readable names of the fitted candidates per series (the ETS form for ETS models)."""
    ids = [str(u) for u in sf.uids]
    out = {}
    for i, uid in enumerate(ids):
        for j, a in enumerate(aliases):
            m = sf.fitted_[i, j]
            spec = getattr(m, "model_", None)
            if isinstance(spec, dict) and "method" in spec:
                out[(uid, a)] = str(spec["method"])
            else:
                out[(uid, a)] = a
    return out


def _chosen_models(sf) -> dict[str, str]:
    """The ETS form AutoETS chose per series, from the fitted models statsforecast keeps."""
    ids = [str(u) for u in sf.uids]
    return {uid: sf.fitted_[i, 0].model_["method"] for i, uid in enumerate(ids)}
