"""Holm's correction over the fairness report's tests, and the automatic probability bands (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caseload.errors import ConfigError
from caseload.segment import fairness_ratios, fairness_report
from caseload.segment.fairness import auto_bands


def _frame(seed: int = 3, n: int = 12_000, or_women: float = 1.6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.45, n)
    sex = rng.choice(["M", "V"], n)
    odds = p / (1 - p) * np.where(sex == "V", or_women, 1.0)
    y = (rng.random(n) < odds / (1 + odds)).astype(int)
    return pd.DataFrame({
        "p_work_6m": p, "exit_work_6m": y, "sex": sex,
        "segment": np.where(p >= 0.4, "A", np.where(p < 0.25, "C", "B")),
        "age": rng.uniform(18, 64, n).round(),
        "statushouder": rng.random(n) < 0.15,
        "dossier_id": np.arange(n),
    })


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's adjusted p-values written out (step-down, running maximum)."""
    m = len(p)
    order = np.argsort(p)
    adj = np.empty(m)
    run = 0.0
    for rank, i in enumerate(order):
        run = max(run, min(1.0, (m - rank) * p[i]))
        adj[i] = run
    return adj


def test_holm_adjusts_the_unexplained_p_values():
    f = _frame()
    raw = fairness_ratios(fairness_report(f, adjust=None))
    holm = fairness_ratios(fairness_report(f))
    ok = raw["p_unexplained"].notna().to_numpy()
    assert ok.sum() >= 6
    np.testing.assert_allclose(holm.loc[ok, "p_adjusted"], _holm(raw.loc[ok, "p_unexplained"].to_numpy()),
                               rtol=1e-12)
    # Without adjustment the p-value agrees with the interval: p < alpha exactly when the
    # residual interval excludes 1 (same Bonferroni over the pairs).
    r = raw[ok]
    assert ((r["p_unexplained"] < 0.05) == (r["residual_lo"] > 1)).all()
    # The real disparity (odds ratio 1.6 for women, within bands) survives the correction.
    sex = holm[(holm["group"] == "sex") & (holm["metric"] == "band_odds")].iloc[0]
    assert sex["flag_unexplained"] and sex["p_adjusted"] < 0.05
    # Holm never adds a flag.
    assert not (holm["flag_unexplained"] & ~raw["flag_unexplained"]).any()


def test_holm_removes_a_marginal_flag_and_says_why():
    # A sample too small for the 1.25x difference to survive the correction over
    # all tests, but large enough to pass a single test.
    for seed in range(40):
        f = _frame(seed=seed, n=2_500, or_women=1.45)
        raw = fairness_ratios(fairness_report(f, groups=["sex", "age_band", "statushouder"], adjust=None))
        holm = fairness_ratios(fairness_report(f, groups=["sex", "age_band", "statushouder"]))
        dropped = raw["flag_unexplained"] & ~holm["flag_unexplained"]
        if dropped.any():
            row = holm[dropped].iloc[0]
            assert row["p_unexplained"] < 0.05 <= row["p_adjusted"]
            assert "Holm" in row["explanation"]
            return
    pytest.fail("no seed gave a flag that Holm's correction removes")


def test_unknown_adjustment_is_refused():
    with pytest.raises(ConfigError, match="multiple-testing"):
        fairness_report(_frame(n=500), adjust="bonferroni")


def test_auto_bands():
    assert [auto_bands(n) for n in (0, 2_008, 4_000, 8_000, 19_000, 2_000_000)] == [10, 10, 10, 20, 47, 50]


def test_the_best_supported_pair_is_tested_not_a_small_noisy_one():
    # 27-44 has odds ratio 1.6 against 45-64 (both large); 15-26 is small with a larger
    # but poorly measured effect. The flag must rest on the well-measured pair.
    rng = np.random.default_rng(5)
    n_big, n_small = 8_000, 150
    age = np.r_[rng.uniform(27, 44, n_big), rng.uniform(45, 64, n_big), rng.uniform(18, 26, n_small)]
    orr = np.r_[np.full(n_big, 1.6), np.ones(n_big), np.full(n_small, 2.6)]
    p = rng.uniform(0.05, 0.24, len(age))
    odds = p / (1 - p) * orr
    f = pd.DataFrame({"p_work_6m": p, "exit_work_6m": (rng.random(len(p)) < odds / (1 + odds)).astype(int),
                      "segment": "C", "age": age.round(), "dossier_id": np.arange(len(p))})
    r = fairness_ratios(fairness_report(f, groups=["age_band"]))
    band = r[r["metric"] == "band_odds"].iloc[0]
    assert band["flag_unexplained"]
    assert {band["level_high"], band["level_low"]} == {"27-44 jaar", "45-64 jaar"}
    assert 1.4 < band["ratio"] < 1.85
