"""Tests of caseload.durations against lifelines, statsmodels and hand calculations.

Tolerances: 1e-10 against lifelines/statsmodels on the same data (both compute
the same products; differences are rounding), 1e-12 against hand-computed
fractions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from caseload.durations import AalenJohansen, KaplanMeier
from caseload.errors import CaseloadError, NotFittedError


def _right_censored(n=400, seed=1, ties=True):
    rng = np.random.default_rng(seed)
    t = rng.exponential(10, n)
    if ties:
        t = np.ceil(t)  # many tied times, as with durations in months
    e = rng.random(n) < 0.7
    g = rng.choice(["15-26 jaar", "27-44 jaar", "45-64 jaar"], n)
    return t, e, g


# ---------------------------------------------------------------- Kaplan-Meier


def test_km_equals_lifelines_right_censored_with_ties_and_groups():
    from lifelines import KaplanMeierFitter

    t, e, g = _right_censored()
    km = KaplanMeier().fit(t, e, by=g)
    assert km.labels_ == ["15-26 jaar", "27-44 jaar", "45-64 jaar"]
    for label in km.labels_:
        m = g == label
        ref = KaplanMeierFitter().fit(t[m], e[m])
        times = ref.survival_function_.index.to_numpy()
        assert_allclose(km.predict(times)[label], ref.survival_function_.iloc[:, 0], rtol=0, atol=1e-10)
        ci = km.confidence_interval_[[f"{label}_lower_0.95", f"{label}_upper_0.95"]]
        ci = ci.reindex(times, method="ffill").to_numpy()
        assert_allclose(ci, ref.confidence_interval_.to_numpy(), rtol=0, atol=1e-10)
        # lifelines' median is the first time S <= 0.5; R's midpoint rule only differs when S == 0.5 exactly
        s = ref.survival_function_.iloc[:, 0]
        if not np.isclose(s, 0.5).any():
            assert km.median_.loc[label, "median"] == ref.median_survival_time_


def test_km_late_entry_hand_calculation():
    # entry, duration, event. Row D and F enter at 2 when A exits: not at risk at 2 ((start, stop]).
    entry = [0, 0, 1, 2, 3, 2]
    dur = [2, 3, 4, 5, 4, 6]
    ev = [1, 0, 1, 1, 0, 0]
    km = KaplanMeier().fit(dur, ev, entry=entry)
    tab = km.event_table_
    assert tab["time"].tolist() == [2, 3, 4, 5, 6]
    assert tab["at_risk"].tolist() == [3, 4, 4, 2, 1]
    assert_allclose(tab["survival"], [2 / 3, 2 / 3, 1 / 2, 1 / 4, 1 / 4], atol=1e-12)
    greenwood = np.cumsum([1 / 6, 0, 1 / 12, 1 / 2, 0])
    assert_allclose(tab["std_err"], tab["survival"] * np.sqrt(greenwood), atol=1e-12)
    # S == 0.5 exactly on [4, 5): R's median is the midpoint 4.5
    assert km.median_.loc["all", "median"] == 4.5
    assert km.entered_late_["all"] == 4
    # at risk at arbitrary times: entry < t <= duration
    assert km.at_risk_counts([0.5, 2, 2.5, 6, 7]).loc["all"].tolist() == [2, 3, 4, 1, 0]


def test_km_late_entry_equals_statsmodels_and_lifelines_without_entry_ties():
    import statsmodels.api as sm
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(7)
    n = 500
    dur = np.ceil(rng.exponential(20, n))
    entry = np.where(rng.random(n) < 0.4, np.floor(dur * rng.random(n)) + 0.5, 0.0)  # half days: no ties
    entry = np.where(entry >= dur, 0.0, entry)
    ev = rng.random(n) < 0.8
    km = KaplanMeier().fit(dur, ev, entry=entry)
    sf = sm.SurvfuncRight(dur, ev.astype(int), entry=entry)
    assert_allclose(km.predict(sf.surv_times)["all"], sf.surv_prob, atol=1e-10)
    assert_allclose(km.event_table_.set_index("time").loc[sf.surv_times, "at_risk"], sf.n_risk)
    assert_allclose(km.event_table_.set_index("time").loc[sf.surv_times, "std_err"], sf.surv_prob_se, atol=1e-10)
    ref = KaplanMeierFitter().fit(dur, ev, entry=entry)
    times = ref.survival_function_.index.to_numpy()
    assert_allclose(km.predict(times)["all"], ref.survival_function_.iloc[:, 0], atol=1e-10)


def test_km_groups_equal_separate_fits_with_entries_before_first_time():
    rng = np.random.default_rng(8)
    n = 3000
    dur = np.ceil(rng.exponential(30, n)) + 2
    entry = np.where(rng.random(n) < 0.5, rng.choice([0.5, 1.0, 2.5], n), 0.0)
    ev = rng.random(n) < 0.7
    g = rng.choice(["a", "b", "c"], n)
    w = rng.integers(1, 3, n).astype(float)
    both = KaplanMeier().fit(dur, ev, entry=entry, by=g, weights=w)
    for label in ["a", "b", "c"]:
        m = g == label
        one = KaplanMeier().fit(dur[m], ev[m], entry=entry[m], weights=w[m])
        times = one.event_table_["time"].to_numpy()
        assert_allclose(both.predict(times)[label], one.predict(times)["all"], atol=1e-12)
        assert_allclose(both.at_risk_counts([0.7, 3, 10]).loc[label], one.at_risk_counts([0.7, 3, 10]).loc["all"])
        assert both.entered_late_[label] == one.entered_late_["all"] == w[m & (entry > 0)].sum()
    # float durations take the sorting path: same answer
    shifted = KaplanMeier().fit(dur + 0.25, ev, entry=entry, by=g, weights=w)
    assert_allclose(shifted.survival_function_.to_numpy(), both.survival_function_.to_numpy(), atol=1e-12)


def test_km_ignoring_late_entry_overstates_survival():
    rng = np.random.default_rng(3)
    n = 4000
    start = rng.uniform(-20, 10, n)            # spell start relative to window start 0
    dur = rng.exponential(5, n)
    seen = start + dur > 0                      # stock sample: only spells still running at 0
    start, dur = start[seen], dur[seen]
    entry = np.clip(-start, 0, None)
    truth = np.exp(-5 / 5)
    proper = KaplanMeier().fit(dur, np.ones_like(dur), entry=entry).predict([5.0])["all"].iloc[0]
    naive = KaplanMeier().fit(dur, np.ones_like(dur)).predict([5.0])["all"].iloc[0]
    assert abs(proper - truth) < 0.03
    assert naive > truth + 0.1


def test_km_median_interval_brookmeyer_crowley_and_rmst_by_hand():
    dur = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    km = KaplanMeier().fit(dur, [1] * 10)
    ci = km.confidence_interval_
    lo_curve, hi_curve = ci["all_lower_0.95"], ci["all_upper_0.95"]
    med = km.median_.loc["all"]
    assert med["median"] == 5.5  # S = 0.5 on [5, 6)
    assert med["lower_0.95"] == lo_curve[lo_curve <= 0.5].index[0]
    hi_cross = hi_curve[hi_curve <= 0.5 + 1e-8].index
    assert med["upper_0.95"] == (hi_cross[0] if len(hi_cross) else np.nan) or np.isnan(med["upper_0.95"])
    # RMST to 4: 1 + 0.9 + 0.8 + 0.7 = 3.4; A_j = area from t_j to 4
    rm = km.restricted_mean(4).loc["all"]
    assert_allclose(rm["rmst"], 3.4, atol=1e-12)
    a = np.array([0.9 + 0.8 + 0.7, 0.8 + 0.7, 0.7, 0.0])
    nr = np.array([10, 9, 8, 7.0])
    assert_allclose(rm["std_err"], np.sqrt(np.sum(a**2 / (nr * (nr - 1)))), atol=1e-12)


def test_km_weights_equal_replicated_rows():
    t, e, _ = _right_censored(60, seed=2)
    w = np.random.default_rng(0).integers(1, 4, t.size)
    a = KaplanMeier().fit(t, e, weights=w)
    b = KaplanMeier().fit(np.repeat(t, w), np.repeat(e, w))
    assert_allclose(a.survival_function_, b.survival_function_, atol=1e-12)
    assert_allclose(a.confidence_interval_, b.confidence_interval_, atol=1e-12)


def test_km_errors_and_not_fitted():
    with pytest.raises(NotFittedError):
        KaplanMeier().predict([1])
    with pytest.raises(CaseloadError, match="missing"):
        KaplanMeier().fit([1, np.nan], [1, 1])
    with pytest.raises(CaseloadError, match="entry time not before"):
        KaplanMeier().fit([1, 2], [1, 1], entry=[1, 0])
    with pytest.raises(CaseloadError, match="negative"):
        KaplanMeier().fit([-1, 2], [1, 1])
    with pytest.raises(CaseloadError, match="AalenJohansen"):
        KaplanMeier().fit([1, 2], ["werk", "overig"])


def test_km_plot_returns_axes_with_at_risk_counts():
    import matplotlib.pyplot as plt

    t, e, g = _right_censored(120)
    ax = KaplanMeier().fit(t, e, by=g).plot()
    texts = [x.get_text() for x in ax.texts]
    assert "At risk" in texts and "15-26 jaar" in texts
    plt.close(ax.figure)


# ---------------------------------------------------------------- Aalen-Johansen


def _competing(n=400, seed=1, ties=False):
    rng = np.random.default_rng(seed)
    t = rng.exponential(10, n)
    if ties:
        t = np.ceil(t)
    code = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    label = np.array([None, "werk", "overig"], dtype=object)[code]
    return t, code, label


def test_aj_equals_lifelines_without_ties():
    from lifelines import AalenJohansenFitter

    t, code, label = _competing()
    aj = AalenJohansen().fit(t, label)
    assert aj.causes_ == ["overig", "werk"]
    for k, cause in [(1, "werk"), (2, "overig")]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = AalenJohansenFitter().fit(t, code, event_of_interest=k)
        times = ref.cumulative_density_.index.to_numpy()
        mine = aj.at(times, cause=cause)
        assert_allclose(mine["estimate"], ref.cumulative_density_.iloc[:, 0], atol=1e-10)
        cif = aj.cumulative_incidence_.query("cause == @cause").set_index("time")
        common = np.intersect1d(times, cif.index)
        # lifelines gives NaN where the last row exits (n = d); the limit there is finite
        common = common[np.isfinite(ref.variance_.loc[common].to_numpy().ravel())]
        assert_allclose(cif.loc[common, "std_err"] ** 2, ref.variance_.loc[common], atol=1e-10)
        # lifelines (0.30) labels its two interval columns the wrong way round: compare as a set
        # and gives NaN while F = 0, where the interval is [0, 0]
        ref_ci = np.sort(ref.confidence_interval_.loc[common].to_numpy(), axis=1)
        positive = cif.loc[common, "estimate"].to_numpy() > 0
        assert np.isnan(ref_ci[~positive]).all()
        assert_allclose(cif.loc[common, ["lower_0.95", "upper_0.95"]].to_numpy()[positive], ref_ci[positive],
                        atol=1e-10)


@pytest.mark.parametrize("with_entry", [False, True])
def test_aj_cif_sum_plus_survival_is_one_and_matches_km(with_entry):
    t, _, label = _competing(500, seed=4, ties=True)
    rng = np.random.default_rng(5)
    entry = np.where(rng.random(t.size) < 0.4, np.floor((t - 1) * rng.random(t.size)), 0.0) if with_entry else None
    g = rng.choice(["a", "b"], t.size)
    aj = AalenJohansen().fit(t, label, entry=entry, by=g)
    times = np.unique(t)
    total = aj.at(times).groupby(["group", "time"])["estimate"].sum().unstack(0)
    surv = aj.survival_at(times)
    assert_allclose(total.to_numpy() + surv.to_numpy(), 1.0, atol=1e-12)
    km = KaplanMeier().fit(t, pd.notna(label), entry=entry, by=g)
    assert_allclose(surv.to_numpy(), km.predict(times).to_numpy(), atol=1e-12)


def test_aj_hand_calculation_with_tied_causes():
    # times 1: werk, 2: overig and werk (tie), 3: censored, 4: werk
    t = [1, 2, 2, 3, 4]
    cause = ["werk", "overig", "werk", None, "werk"]
    aj = AalenJohansen().fit(t, cause)
    # n = 5, 4, 2, 1. S: 4/5, 4/5*2/4 = 2/5, 2/5, 0. F_werk: 1/5, +4/5*1/4 = 2/5, 2/5, +2/5 = 4/5
    werk = aj.at([1, 2, 3, 4], cause="werk")["estimate"]
    overig = aj.at([1, 2, 3, 4], cause="overig")["estimate"]
    assert_allclose(werk, [1 / 5, 2 / 5, 2 / 5, 4 / 5], atol=1e-12)
    assert_allclose(overig, [0, 1 / 5, 1 / 5, 1 / 5], atol=1e-12)
    assert_allclose(aj.survival_at([4])["all"], [0.0], atol=1e-12)
    with pytest.raises(CaseloadError, match="unknown cause"):
        aj.at([1], cause="studie")


# ---------------------------------------------------------------- tables, cohorts, Cox

from caseload.durations import (  # noqa: E402
    active_share,
    cohort_curves,
    cox_regression,
    elapsed_duration_table,
    spell_durations,
)


def _stock():
    peil = pd.Timestamp("2015-09-30")
    clients = pd.DataFrame({"client_id": list("abcdefg"),
                            "birth_year": pd.array([1995, 1985, 1965, 1960, 1945, 1990, 1980], dtype="Int64"),
                            "sex": list("MVMVMVM")})
    spells = pd.DataFrame({
        "spell_id": [f"s{i}" for i in range(7)],
        "client_id": list("abcdefg"),
        "municipality": "GM0168",
        "start_date": pd.to_datetime(["2014-09-30", "2012-03-01", "2005-01-01", "2010-06-15", "2001-01-01",
                                      "2013-01-01", "2015-10-01"]),
        # f ended before the peildatum; g starts after it; d ends after it (still in the stock)
        "end_date": pd.to_datetime([None, None, None, "2016-01-31", None, "2015-09-30", None]),
        "end_reason": [None, None, None, "werk", None, "werk", None],
    })
    return spells, clients, peil


def test_elapsed_duration_table_on_hand_made_stock():
    spells, clients, peil = _stock()
    table = elapsed_duration_table(spells, clients, peil)
    assert table.columns.tolist() == ["Leeftijd", "Verdeling", "Duur uitkering in jaren", "Aantal"]
    assert table["Leeftijd"].tolist() == ["15-26 jaar", "27-44 jaar", "45-64 jaar", "Totaal"]
    # ages 2015 - birth year: a 20, b 30, c 50, d 55; e is 70 (outside the bands)
    assert table["Aantal"].tolist() == [1, 1, 2, 4]
    assert_allclose(table["Verdeling"], [0.25, 0.25, 0.5, 1.0], atol=1e-12)
    days = {k: (peil - pd.Timestamp(v)).days for k, v in
            {"a": "2014-09-30", "b": "2012-03-01", "c": "2005-01-01", "d": "2010-06-15"}.items()}
    expected = [days["a"] / 365.25, days["b"] / 365.25, (days["c"] + days["d"]) / 2 / 365.25,
                sum(days.values()) / 4 / 365.25]
    assert_allclose(table["Duur uitkering in jaren"], expected, atol=1e-12)
    assert table.attrs["outside_bands"] == 1
    en = elapsed_duration_table(spells, clients, peil, lang="en", bands=[(15, 44), (45, 64)])
    assert en.columns.tolist() == ["Age", "Share", "Duration on benefit in years", "Count"]
    assert en["Age"].tolist() == ["15-44 years", "45-64 years", "Total"]
    # birth_date, when present, gives the exact age: c turns 50 only in December 2015
    clients2 = clients.assign(birth_date=pd.to_datetime(["1995-01-01", "1985-01-01", "1965-12-01", "1960-01-01",
                                                         "1945-01-01", "1990-01-01", "1980-01-01"]))
    t2 = elapsed_duration_table(spells, clients2, peil, bands=[(15, 49), (50, 64)])
    assert t2["Aantal"].tolist() == [3, 1, 4]


def test_spell_durations_left_truncation_and_events():
    spells, clients, peil = _stock()
    d = spell_durations(spells, clients, peil, window_start="2013-01-01").set_index("spell_id")
    assert "s6" not in d.index  # starts after the peildatum
    assert d.loc["s0", "duration_days"] == (peil - pd.Timestamp("2014-09-30")).days + 1
    assert d.loc["s0", "entry_days"] == 0 and not d.loc["s0", "exited"] and pd.isna(d.loc["s0", "event"])
    assert d.loc["s2", "entry_days"] == (pd.Timestamp("2013-01-01") - pd.Timestamp("2005-01-01")).days
    assert d.loc["s5", "event"] == "werk" and d.loc["s5", "exited"]
    assert not d.loc["s3", "exited"]  # ends after the peildatum: censored there
    assert (d["entry_days"] < d["duration_days"]).all()
    # a spell that ended before the window is never observed
    last_day = spell_durations(spells, clients, peil, window_start="2015-09-30").set_index("spell_id")
    assert last_day.loc["s5", "duration_days"] == last_day.loc["s5", "entry_days"] + 1
    gone = spell_durations(spells.assign(end_date=spells["end_date"].where(spells["spell_id"] != "s5",
                                                                         pd.Timestamp("2015-09-29"))),
                           clients, peil, window_start="2015-09-30")
    assert "s5" not in set(gone["spell_id"])


def test_cohort_curves_only_count_observable_cohorts():
    peil = pd.Timestamp("2020-12-31")
    spells = pd.DataFrame({
        "spell_id": list("abcd"), "client_id": list("abcd"),
        "start_date": pd.to_datetime(["2017-03-01", "2017-06-01", "2017-09-01", "2019-06-01"]),
        "end_date": pd.to_datetime(["2018-01-01", None, "2019-10-01", None]),
        "household": ["alleenstaand", "paar", "alleenstaand", "alleenstaand"],
    })
    clients = pd.DataFrame({"client_id": list("abcd"), "birth_year": pd.array([1990, 1980, 1960, 1995], "Int64"),
                            "sex": list("MVVM")})
    c = cohort_curves(spells, clients, peil, by="inflow_year", max_years=3).set_index(
        ["group", "years_since_start"])
    assert_allclose(c.loc[("2017", 1), "share_active"], 2 / 3)
    assert_allclose(c.loc[("2017", 2), "share_active"], 2 / 3)  # c ends 2019-10-01, after its 2nd anniversary
    assert_allclose(c.loc[("2017", 3), "share_active"], 1 / 3)
    assert ("2019", 2) not in c.index  # 2019 + 2 years > peildatum
    assert c.loc[("2019", 1), "n"] == 1
    h = cohort_curves(spells, clients, peil, by="household", max_years=2).set_index(["group", "years_since_start"])
    assert_allclose(h.loc[("alleenstaand", 1), "share_active"], 2 / 3)  # a ended, c and d active
    assert_allclose(h.loc[("alleenstaand", 2), "share_active"], 0.5)  # d is not observable for 2 years
    both = cohort_curves(spells, clients, peil, by=["age_class", "sex"], max_years=1)
    assert set(both["group"]) == {"< 30 / M", "30-50 / V", "50+ / V"}
    a = active_share(spells, clients, peil, by="sex").set_index(["group", "inflow_year"])
    assert_allclose(a.loc[("V", 2017), "share_active"], 0.5)
    with pytest.raises(CaseloadError, match="unknown grouping"):
        cohort_curves(spells, clients, peil, by="postcode")


def test_cox_equals_lifelines_and_recovers_true_hazard_ratio():
    from lifelines import CoxPHFitter

    rng = np.random.default_rng(11)
    n = 3000
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], n)
    beta_x, beta_b, beta_c = 0.7, -0.5, 0.3
    rate = 0.1 * np.exp(beta_x * x + beta_b * (g == "b") + beta_c * (g == "c"))
    t = rng.exponential(1 / rate)
    c = rng.exponential(15, n)
    df = pd.DataFrame({"t": np.minimum(t, c), "e": t <= c, "x": x, "g": g})
    res = cox_regression(df, "t", "e", ["x", "g"], ties="efron")
    ref = CoxPHFitter().fit(df.assign(g_b=(df.g == "b") * 1.0, g_c=(df.g == "c") * 1.0).drop(columns="g"),
                            "t", "e")
    assert_allclose(res.summary["coef"].to_numpy(), ref.params_[["x", "g_b", "g_c"]].to_numpy(), atol=1e-5)
    assert_allclose(res.summary["std_err"].to_numpy(), ref.standard_errors_[["x", "g_b", "g_c"]].to_numpy(),
                    rtol=1e-4)
    truth = np.array([beta_x, beta_b, beta_c])
    assert (np.abs(res.summary["coef"].to_numpy() - truth) < 3 * res.summary["std_err"].to_numpy()).all()
    assert res.summary.index.tolist() == ["x", "g=b", "g=c"]
    assert {"hazard_ratio", "lower_0.95", "upper_0.95", "p"} <= set(res.summary.columns)


def test_cox_with_late_entry_and_strata_recovers_truth():
    rng = np.random.default_rng(12)
    n = 6000
    x = rng.binomial(1, 0.5, n).astype(float)
    stratum = rng.choice(["GM1", "GM2"], n)
    base = np.where(stratum == "GM1", 0.1, 0.3)
    t = rng.exponential(1 / (base * np.exp(0.6 * x)))
    entry = rng.uniform(0, 5, n)
    seen = t > entry  # stock sample: only spells still running at entry
    df = pd.DataFrame({"t": t, "e": True, "x": x, "s": stratum, "entry": entry})[seen]
    res = cox_regression(df, "t", "e", ["x"], entry_col="entry", strata="s")
    assert abs(res.summary.loc["x", "coef"] - 0.6) < 3 * res.summary.loc["x", "std_err"]
    with pytest.raises(CaseloadError, match="one value only"):
        cox_regression(df.assign(k=1.0), "t", "e", ["k"])


def test_cox_sample_above_max_rows_is_deterministic_and_close_to_full_fit():
    rng = np.random.default_rng(13)
    n = 4000
    x = rng.binomial(1, 0.5, n).astype(float)
    t = rng.exponential(1 / (0.2 * np.exp(0.5 * x)))
    df = pd.DataFrame({"t": t, "e": True, "x": x})
    full = cox_regression(df, "t", "e", ["x"])
    assert full.n == full.n_complete == n and not full.sampled
    a = cox_regression(df, "t", "e", ["x"], max_rows=2000, random_state=3)
    b = cox_regression(df, "t", "e", ["x"], max_rows=2000, random_state=3)
    c = cox_regression(df, "t", "e", ["x"], max_rows=2000, random_state=4)
    assert a.sampled and a.n == 2000 and a.n_complete == n and "random sample of 4,000" in repr(a)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert a.summary.loc["x", "coef"] != c.summary.loc["x", "coef"]
    # the same model as a fit on exactly those rows (the sample is a plain row subset)
    idx = np.sort(np.random.default_rng(3).choice(n, size=2000, replace=False))
    sub = cox_regression(df.iloc[idx], "t", "e", ["x"])
    assert_allclose(a.summary["coef"], sub.summary["coef"], rtol=1e-12)
    # standard errors are those of the sample: about sqrt(2) times the full fit's
    assert_allclose(a.summary.loc["x", "std_err"] / full.summary.loc["x", "std_err"], np.sqrt(2), rtol=0.1)
    assert abs(a.summary.loc["x", "coef"] - full.summary.loc["x", "coef"]) < 3 * a.summary.loc["x", "std_err"]
    assert cox_regression(df, "t", "e", ["x"], max_rows=n).n == n
    with pytest.raises(CaseloadError, match="max_rows"):
        cox_regression(df, "t", "e", ["x"], max_rows=0)


def test_cohort_tables_equal_cohort_curves_per_grouping():
    from caseload.durations import cohort_tables
    from caseload.synth import generate

    c = generate(n_clients=600, random_state=9)
    groupings = ["inflow_year", "household", ["age_class", "sex"]]
    many = cohort_tables(c.spells, c.clients, c.peildatum, groupings, max_years=6)
    for by, table in zip(groupings, many, strict=True):
        one = cohort_curves(c.spells, c.clients, c.peildatum, by=by, max_years=6)
        pd.testing.assert_frame_equal(table, one)
        # by hand for one cell: spells of the group observable for 2 years, active after 2 years
        if by == "household":
            start, end = c.spells["start_date"], c.spells["end_date"]
            hh = c.spells["household"].astype("string").fillna("onbekend")
            g = hh.iloc[0]
            obs = (start + pd.DateOffset(years=2) <= c.peildatum) & (start <= c.peildatum) & (hh == g)
            act = end.isna() | (end > start + pd.DateOffset(years=2))
            row = table[(table["group"] == g) & (table["years_since_start"] == 2)].iloc[0]
            assert row["n"] == obs.sum()
            assert_allclose(row["share_active"], (act & obs).sum() / obs.sum())


def test_age_at_exact_birthday_pyarrow_ids_and_missing():
    from caseload.durations.tables import age_at

    clients = pd.DataFrame({"client_id": pd.array(["a", "b", "c"], dtype="string[pyarrow]"),
                            "birth_year": pd.array([1980, 1990, pd.NA], dtype="Int64"),
                            "birth_date": pd.to_datetime(["1980-03-15", None, None])})
    dates = pd.to_datetime(["2020-03-14", "2020-03-15", None, "2020-01-01", "2020-01-01"])
    got = age_at(clients, dates, pd.Series(["a", "a", "a", "b", "zz"], dtype=object))
    assert_allclose(got, [39, 40, np.nan, 30, np.nan])
    assert_allclose(age_at(clients, pd.Timestamp("2020-12-31"), ["a", "b", "c"]), [40, 30, np.nan])


# ---------------------------------------------------------------- report, figures, CLI


@pytest.fixture(scope="module")
def synth_caseload():
    from caseload.synth import generate

    return generate(n_clients=800, random_state=5)


def test_analyse_durations_tables_agree_with_estimators(synth_caseload):
    from caseload.durations import analyse_durations, observation_start

    c = synth_caseload
    res = analyse_durations(c.spells, c.clients, c.peildatum)
    assert res.window_start == observation_start(c.spells)
    assert {"elapsed_table", "km_summary", "km_curve", "cumulative_incidence", "cox",
            "cohort_inflow_year", "cohort_age_class_sex"} <= set(res.tables)
    # KM and Aalen-Johansen fitted on the same risk sets: all-cause survival agrees
    t = np.array([0.5, 1.0, 3.0])
    assert_allclose(res.aj.survival_at(t).to_numpy(), res.km.predict(t).to_numpy(), atol=1e-12)
    curve = res.tables["km_curve"]
    assert set(curve["time"]) == set(np.arange(0.0, 10.5, 1.0))
    cohorts = res.tables["cohort_inflow_reason"]
    assert cohorts.loc[cohorts["n"] < 5, "share_active"].isna().all()
    # the interval columns are the estimator's confidence curves evaluated at the grid
    ci = res.km.confidence_interval_
    for label, g in curve.groupby(curve.columns[0]):
        lo = ci[f"{label}_lower_0.95"]
        expect = [lo[lo.index <= t].iloc[-1] for t in g["time"]]
        assert_allclose(g["lower_0.95"].to_numpy(), expect, rtol=1e-12)
    # no identifiers in any published table
    from caseload.privacy import published_table_guard

    for name, table in res.tables.items():
        published_table_guard(table, name)


def test_figures_return_figures_with_labels(synth_caseload):
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from caseload.durations import (
        AalenJohansen,
        cohort_curves,
        elapsed_duration_table,
        spell_durations,
    )
    from caseload.figures.durations import (
        cohort_figure,
        cumulative_incidence_figure,
        elapsed_table_figure,
        km_figure,
    )

    c = synth_caseload
    d = spell_durations(c.spells, c.clients, c.peildatum, window_start="2008-01-01").dropna(subset=["age_band"])
    km = KaplanMeier().fit(d["duration_years"], d["exited"], entry=d["entry_years"], by=d["age_band"])
    fig = km_figure(km, peildatum=c.peildatum, source="synthetisch", max_time=8)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert isinstance(fig, Figure) and "Aantal nog in de uitkering" in texts
    assert fig.axes[0].get_ylabel() == "Aandeel nog in de uitkering"
    aj = AalenJohansen().fit(d["duration_years"], d["event"], entry=d["entry_years"], by=d["age_band"])
    fig2 = cumulative_incidence_figure(aj, lang="en")
    assert [a.get_title() for a in fig2.axes] == ["Work", "Other exits"]
    fig3 = cohort_figure(cohort_curves(c.spells, c.clients, c.peildatum, window_start="2008-01-01"))
    assert fig3.axes[0].get_ylabel() == "Aandeel nog actief"
    fig4 = elapsed_table_figure(elapsed_duration_table(c.spells, c.clients, c.peildatum, lang="en"), lang="en")
    assert [t.get_text() for t in fig4.axes[0].get_xticklabels()] == ["15-26 years", "27-44 years", "45-64 years"]
    for f in (fig, fig2, fig3, fig4):
        plt.close(f)


@pytest.mark.slow
def test_cli_durations_writes_tables_and_figures(tmp_path):
    from typer.testing import CliRunner

    from caseload.cli import app
    from caseload.synth import generate, write_extract

    paths = write_extract(generate(n_clients=300, random_state=2), tmp_path / "extract", layout="gws")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["durations", *map(str, paths.values()), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Kaplan-Meier" in result.output
    for name in ("duur_losser_tabel", "duur_kaplan_meier", "duur_uitstroom_werk", "duur_cox",
                 "duur_cohort_inflow_year"):
        assert (out / "tables" / f"{name}.csv").is_file()
    for name in ("duur_losser_figuur", "duur_kaplan_meier", "duur_uitstroom_werk"):
        assert (out / "figures" / f"{name}.png").is_file()
    bad = CliRunner().invoke(app, ["durations", str(tmp_path / "missing.csv"), "--out", str(out)])
    assert bad.exit_code == 2


def test_analyse_durations_fits_cox_on_a_sample_and_says_so():
    from caseload.config import DurationsConfig
    from caseload.durations import analyse_durations
    from caseload.durations.report import add_durations_to_publication
    from caseload.publish import Publication
    from caseload.synth import generate

    c = generate(n_clients=1500, random_state=6)
    cfg = DurationsConfig(cox_max_rows=1000, random_state=2, cohort_groupings=["inflow_year"])
    res = analyse_durations(c.spells, c.clients, c.peildatum, cfg)
    assert res.cox.sampled and res.cox.n == 1000 and res.cox.n_complete > 1000
    assert any("aselecte steekproef van 1.000" in n for n in res.notes)
    # Kaplan-Meier keeps every spell
    assert int(res.km.n_.sum()) == res.cox.n_complete
    full = analyse_durations(c.spells, c.clients, c.peildatum, DurationsConfig(cox_max_rows=0, cohort_groupings=["inflow_year"]))
    assert not full.cox.sampled and full.cox.n == res.cox.n_complete
    pd.testing.assert_frame_equal(res.tables["km_summary"], full.tables["km_summary"])
    pub = Publication("t", c.peildatum, "bron", lang="nl", min_cell=5)
    add_durations_to_publication(pub, res)
    method = next(t.method for t in pub.tables if t.name == "duur_cox")
    assert f"steekproef van 1.000 van de {res.cox.n_complete:,}".replace(",", ".") in method


# ------------------------------------------------ counting paths (whole-number fast path vs general)


def test_km_same_curves_on_the_fast_and_the_general_counting_path():
    """Whole-number durations take a one-pass dense count; fractions the general sorted pass.
    Both must give the same curves: scaling days to fractions of a year changes only the time axis."""
    rng = np.random.default_rng(5)
    days = rng.integers(1, 3000, 5000)
    entry = np.where(rng.random(5000) < 0.3, rng.integers(0, 900, 5000), 0)
    entry = np.minimum(entry, days - 1)
    event = rng.random(5000) < 0.6
    g = rng.choice(["a", "b", "c"], 5000)
    fast = KaplanMeier().fit(days, event, entry=entry, by=g)                    # int, dense
    as_float = KaplanMeier().fit(days.astype(float), event, entry=entry.astype(float), by=g)
    general = KaplanMeier().fit(days / 7.0, event, entry=entry / 7.0, by=g)     # fractions
    assert_allclose(fast.survival_function_.to_numpy(), as_float.survival_function_.to_numpy(), atol=0)
    assert_allclose(fast.survival_function_.to_numpy(), general.survival_function_.to_numpy(),
                    rtol=0, atol=1e-12)
    t = np.array([10, 100, 1000])
    assert_allclose(fast.at_risk_counts(t).to_numpy(), general.at_risk_counts(t / 7.0).to_numpy())


@pytest.mark.parametrize("bad, match", [
    (dict(durations=[1.0, np.nan, 3.0]), "missing or infinite"),
    (dict(durations=[1, -2, 3]), "negative"),
    (dict(entry=[0, 5, 0]), "entry time not before"),
])
def test_km_input_errors_on_both_paths(bad, match):
    args = dict(durations=[1, 4, 3], event=[1, 0, 1], entry=[0, 1, 0])
    args.update(bad)
    with pytest.raises(CaseloadError, match=match):
        KaplanMeier().fit(args["durations"], args["event"], entry=args["entry"])
