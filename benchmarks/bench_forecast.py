"""Benchmark: the combined forecast of ``forecast_series`` against statsforecast AutoETS alone.

Targets (issue 13): mean sMAPE at most 0.95 x AutoETS alone and time at most
3 x AutoETS, with empirical coverage of the 80% and 95% intervals within 3
points of nominal; MASE reported beside. Two test sets, both measured in the
same run against AutoETS on the same data:

1. **342 synthetic municipality series** (one per municipality, as in the
   Netherlands in 2023): simulated caseload counts, ETS processes with random
   level (50-5,000), drift, seasonal amplitude and noise, multiplicative or
   additive, 132 months each; the first 120 are fitted, the last 12 are the
   test period (one origin, 342 x 12 = 4,104 forecasts). Times are of this set.
2. **CBS national bijstand series** (bundled ``cbs_37789ksz_uitkeringen_x1000.csv``,
   monthly since 1998): a rolling-origin backtest with ``CBS_ORIGINS`` origins
   12 months apart, the last one 12 months before the end, horizon 12, each
   origin fitted on all months before it (:func:`caseload.forecast.backtest`).

AutoETS alone is statsforecast's ``AutoETS(season_length=12)`` with its own
intervals, i.e. ``forecast_series(method="autoets")``, the previous default.
sMAPE is ``200 |y - f| / (|y| + |f|)`` averaged per series, then over series;
MASE divides the mean absolute error by the in-sample MAE of the seasonal naive
forecast before the origin. The earlier version of this benchmark (issue 5,
AutoETS against a statsmodels ``ETSModel`` loop, 106x) is in the git history.
"""

from __future__ import annotations

import resource
import time
import warnings

import numpy as np
import pandas as pd

N_SERIES = 342
N_TRAIN = 120
H = 12
SEED = 2026
CBS_ORIGINS = 8
LEVELS = (80, 95)


def simulate(n_series: int = N_SERIES, n: int = N_TRAIN + H, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    ds = pd.date_range("2014-01-01", periods=n, freq="MS")
    for i in range(n_series):
        level = float(np.exp(rng.uniform(np.log(50), np.log(5000))))
        drift = rng.normal(0, 0.002) * level
        alpha = rng.uniform(0.1, 0.6)
        beta = rng.uniform(0.0, 0.05)
        gamma = rng.uniform(0.0, 0.1)
        amp = rng.uniform(0.0, 0.06)
        sigma = rng.uniform(0.01, 0.04)
        mult = rng.random() < 0.5
        season = amp * np.sin(2 * np.pi * (np.arange(12) + rng.integers(12)) / 12)
        y = np.empty(n)
        lv, b, s = level, drift, season.copy()
        for t in range(n):
            e = rng.normal(0, sigma)
            mu = (lv + b) * (1 + s[t % 12])
            y[t] = mu * (1 + e) if mult else mu + e * level
            err = e * mu if mult else e * level
            lv = lv + b + alpha * err
            b = b + beta * alpha * err * 0.1
            s[t % 12] = s[t % 12] + gamma * err / max(lv, 1.0)
        rows.append(pd.DataFrame({"unique_id": f"GM{i:04d}", "ds": ds, "y": np.maximum(y, 1.0)}))
    return pd.concat(rows, ignore_index=True)


def accuracy(train: pd.DataFrame, test: pd.DataFrame, fc: pd.DataFrame) -> dict:
    """Mean sMAPE and MASE over series, pooled coverage per level."""
    from caseload.forecast import interval_coverage, seasonal_naive_mae

    m = test.merge(fc, on=["unique_id", "ds"], how="inner")
    assert len(m) == len(test), "forecast does not cover the test period"
    scale = {u: seasonal_naive_mae(g["y"].to_numpy(), 12) for u, g in train.groupby("unique_id")}
    err = (m["y"] - m["forecast"]).abs()
    m = m.assign(smape=200 * err / (m["y"].abs() + m["forecast"].abs()),
                 se=err / m["unique_id"].map(scale))
    per = m.groupby("unique_id")[["smape", "se"]].mean()
    out = {"smape": round(float(per["smape"].mean()), 4), "mase": round(float(per["se"].mean()), 4)}
    for lv in LEVELS:
        out[f"coverage_{lv}"] = round(interval_coverage(m["y"], m[f"lo_{lv}"], m[f"hi_{lv}"]), 4)
    return out


def main() -> dict:
    from caseload.forecast import backtest, forecast_series, load_cbs_bijstand_series

    warnings.filterwarnings("ignore")
    full = simulate()
    is_test = full.groupby("unique_id").cumcount() >= N_TRAIN
    train, test = full[~is_test].reset_index(drop=True), full[is_test].reset_index(drop=True)

    t0 = time.perf_counter()
    ets = forecast_series(train, horizon=H, level=LEVELS, method="autoets")
    t_ets = time.perf_counter() - t0
    t0 = time.perf_counter()
    comb, scores = forecast_series(train, horizon=H, level=LEVELS, return_scores=True)
    t_comb = time.perf_counter() - t0
    syn = {"autoets": accuracy(train, test, ets), "combined": accuracy(train, test, comb)}
    syn["seconds_autoets"] = round(t_ets, 2)
    syn["seconds_combined"] = round(t_comb, 2)
    syn["time_ratio"] = round(t_comb / t_ets, 3)
    syn["smape_ratio"] = round(syn["combined"]["smape"] / syn["autoets"]["smape"], 4)
    syn["mase_ratio"] = round(syn["combined"]["mase"] / syn["autoets"]["mase"], 4)
    syn["mean_weight"] = {m: round(float(w), 3) for m, w in scores.groupby("model")["weight"].mean().items()}

    cbs = load_cbs_bijstand_series()
    t0 = time.perf_counter()
    bt = backtest(cbs, horizon=H, n_windows=CBS_ORIGINS, step=12, level=LEVELS, method="combined")
    t_bt = time.perf_counter() - t0
    summ = bt.summary.set_index("model")
    nat = {m: {"smape": round(float(summ.loc[m, "smape"]), 4), "mase": round(float(summ.loc[m, "mase"]), 4),
               **{f"coverage_{lv}": round(float(summ.loc[m, f"coverage_{lv}"]), 4) for lv in LEVELS}}
           for m in summ.index}
    cut = bt.forecasts["cutoff"]
    nat["origins"] = [str(pd.Timestamp(c).date()) for c in sorted(cut.unique())]
    nat["n_forecasts"] = int((bt.forecasts["model"] == "Combined").sum())
    nat["smape_ratio"] = round(nat["Combined"]["smape"] / nat["AutoETS"]["smape"], 4)
    nat["mase_ratio"] = round(nat["Combined"]["mase"] / nat["AutoETS"]["mase"], 4)
    nat["seconds_backtest"] = round(t_bt, 2)

    cov_ok = all(abs(syn["combined"][f"coverage_{lv}"] - lv / 100) <= 0.03 for lv in LEVELS)
    cov_cbs = all(abs(nat["Combined"][f"coverage_{lv}"] - lv / 100) <= 0.03 for lv in LEVELS)
    return {
        "n_series": N_SERIES, "n_train": N_TRAIN, "horizon": H, "levels": list(LEVELS),
        "synthetic_342": syn,
        "cbs_national_backtest": nat,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "targets": {"smape_ratio_max": 0.95, "time_ratio_max": 3.0, "coverage_within": 0.03},
        "met": {"smape_synthetic": syn["smape_ratio"] <= 0.95, "smape_cbs": nat["smape_ratio"] <= 0.95,
                "time": syn["time_ratio"] <= 3.0, "coverage_synthetic": cov_ok, "coverage_cbs": cov_cbs},
        "passed": bool(syn["smape_ratio"] <= 0.95 and nat["smape_ratio"] <= 0.95
                       and syn["time_ratio"] <= 3.0 and cov_ok and cov_cbs),
    }


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(main(), indent=2))
