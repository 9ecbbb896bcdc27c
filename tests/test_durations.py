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


def test_km_log_interval_by_hand_and_conf_type_check():
    t, e, _ = _right_censored(60, seed=4)
    ll = KaplanMeier().fit(t, e)
    lg = KaplanMeier(conf_type="log").fit(t, e)
    a, b = ll.event_table_, lg.event_table_
    assert_allclose(a["survival"], b["survival"], rtol=0)
    z = 1.959963984540054
    pos = b["survival"] > 0
    assert (~pos).any()  # the curve reaches 0: both bounds are 0 there (R gives NA)
    assert (b.loc[~pos, ["lower_0.95", "upper_0.95"]] == 0).all().all()
    b = b[pos]
    se_log = b["std_err"] / b["survival"]  # sqrt(Greenwood sum)
    assert_allclose(b["lower_0.95"], b["survival"] * np.exp(-z * se_log), rtol=1e-12)
    assert_allclose(b["upper_0.95"], np.minimum(b["survival"] * np.exp(z * se_log), 1.0), rtol=1e-12)
    # the log-log interval differs (it is not symmetric on the log scale)
    assert (np.abs(a["lower_0.95"] - b["lower_0.95"]) > 1e-4).any()
    assert "conf_type='log'" in repr(KaplanMeier(conf_type="log"))
    with pytest.raises(CaseloadError, match="conf_type"):
        KaplanMeier(conf_type="plain")


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


@pytest.mark.parametrize("weighted", [False, True])
def test_aj_jackknife_variance_equals_numerical_derivatives_of_the_estimate(weighted):
    """The infinitesimal jackknife is sum_i (w_i dF/dw_i)^2: check the closed form against central
    differences of refits with one row's weight nudged (ties across causes, entries on exit times)."""
    rng = np.random.default_rng(17)
    n = 36
    t = rng.integers(1, 12, n).astype(float)
    cause = np.where(rng.random(n) < 0.25, None, rng.choice(["overig", "werk"], n)).astype(object)
    entry = np.where(rng.random(n) < 0.4, np.floor(rng.uniform(0, t)), 0.0)
    w = rng.choice([0.5, 1.0, 2.0], n) if weighted else np.ones(n)
    ij = AalenJohansen(variance="jackknife").fit(t, cause, entry=entry, weights=w if weighted else None)
    est = ij.cumulative_incidence_
    grid = est.loc[est["cause"] == "werk", "time"].to_numpy()

    def cif(weights):
        f = AalenJohansen().fit(t, cause, entry=entry, weights=weights).at(grid)
        return f.sort_values(["cause", "time"])["estimate"].to_numpy()

    h = 1e-6
    deriv = []
    for i in range(n):
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        deriv.append(w[i] * (cif(up) - cif(down)) / (2 * h))
    var = (np.array(deriv) ** 2).sum(axis=0)
    ours = est.sort_values(["cause", "time"])["std_err"].to_numpy() ** 2
    assert_allclose(ours, var, rtol=1e-6, atol=1e-12)
    delta = AalenJohansen().fit(t, cause, entry=entry, weights=w if weighted else None).cumulative_incidence_
    assert not np.allclose(delta.sort_values(["cause", "time"])["std_err"].to_numpy() ** 2, var, rtol=1e-3)
    with pytest.raises(CaseloadError, match="variance"):
        AalenJohansen(variance="bootstrap")


def test_aj_log_interval_by_hand():
    t, e, _ = _right_censored(80, seed=6)
    cause = np.where(e, np.where(np.arange(80) % 2 == 0, "werk", "overig"), None)
    ci = AalenJohansen(conf_type="log").fit(t, cause).cumulative_incidence_
    f, se = ci["estimate"], ci["std_err"]
    pos = f > 0
    z = 1.959963984540054
    assert_allclose(ci.loc[pos, "lower_0.95"], (f * np.exp(-z * se / f))[pos], rtol=1e-12)
    assert_allclose(ci.loc[pos, "upper_0.95"], np.minimum(f * np.exp(z * se / f), 1.0)[pos], rtol=1e-12)
    assert (ci.loc[~pos, ["lower_0.95", "upper_0.95"]] == 0).all().all()


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
    # 0 means all rows, as the config key [durations] cox_max_rows = 0
    every = cox_regression(df, "t", "e", ["x"], max_rows=0)
    assert not every.sampled and every.n == n
    pd.testing.assert_frame_equal(every.summary, full.summary)
    with pytest.raises(CaseloadError, match="negative"):
        cox_regression(df, "t", "e", ["x"], max_rows=-1)


def _entries_on_exit_times(n=600, seed=21):
    """Whole-day durations; most late entries exactly on an exit time."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.5, n).astype(float)
    t = np.ceil(rng.exponential(1 / (0.05 * np.exp(0.5 * x)))).clip(1, 80)
    e = (rng.random(n) < 0.8) & (t < 80)
    exits = np.unique(t[e])
    below = np.searchsorted(exits, t, side="left")  # exit times before each row's own end
    pick = exits[np.minimum((rng.random(n) * below).astype(int), exits.size - 1)]
    entry = np.where((rng.random(n) < 0.4) & (below > 0), pick, 0.0)
    s = rng.choice(["GM1", "GM2"], n)
    return pd.DataFrame({"t": t, "e": e, "x": x, "entry": entry, "s": s})


@pytest.mark.parametrize("scale", [1.0, 1 / 365.25])
def test_cox_risk_sets_are_those_of_kaplan_meier(scale):
    """At beta = 0 the Breslow partial likelihood is -sum d_j log n_j: with the number at risk of
    the Kaplan-Meier counts (entry < t <= duration), not with entry <= t as PHReg alone would."""
    import statsmodels.api as sm

    from caseload.durations._counts import aggregate

    df = _entries_on_exit_times()
    df[["t", "entry"]] *= scale
    tied = (df["entry"] > 0) & df["entry"].isin(df.loc[df["e"], "t"])
    assert tied.sum() > 100
    res = cox_regression(df, "t", "e", ["x"], entry_col="entry", strata="s", ties="breslow")
    expected = 0.0
    for g in aggregate(df["t"], df["e"].to_numpy(), 1, entry=df["entry"], by=df["s"]):
        d = g.events[:, 0]
        expected -= float((d * np.log(np.where(d > 0, g.at_risk, 1.0))).sum())
    assert_allclose(res.model.model.loglike(np.zeros(1)), expected, rtol=1e-12)
    # statsmodels alone (entry <= t) counts the rows entering at an exit time as at risk
    closed = sm.PHReg(df["t"].to_numpy(), df[["x"]].to_numpy(), status=df["e"].to_numpy(float),
                      entry=df["entry"].to_numpy(), strata=pd.factorize(df["s"])[0], ties="breslow")
    assert abs(closed.loglike(np.zeros(1)) - expected) > 1.0


def test_open_entry_moves_entries_just_past_themselves_and_rejects_empty_rows():
    from caseload.durations._counts import open_entry

    for scale in (1.0, 1 / 365.25, 1 / 12):
        d = np.array([3.0, 4.0, 2.0, 5.0, 9.0]) * scale
        e = np.array([0.0, 2.0, 1.0, 4.0, 8.0]) * scale
        shifted = open_entry(e, d)
        assert shifted[0] == 0.0
        assert (shifted[1:] > e[1:]).all()
        # no observed time lies between an entry and its shifted value: at risk at t <=> t >= shifted
        times = np.unique(np.concatenate([e, d]))
        assert ((times[None, :] >= shifted[1:, None]) == (times[None, :] > e[1:, None])).all()
    with pytest.raises(CaseloadError, match="never at risk"):
        open_entry([0.0, 2.0], [1.0, 2.0])
    with pytest.raises(CaseloadError, match="negative"):
        open_entry([-1.0, 0.0], [1.0, 2.0])
    df = _entries_on_exit_times().assign(entry=lambda x: x["t"])
    with pytest.raises(CaseloadError, match="never at risk"):
        cox_regression(df, "t", "e", ["x"], entry_col="entry")


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
    # b has no birth date: counted from 1 July 1990, so 29 on 1 January 2020
    assert_allclose(got, [39, 40, np.nan, 29, np.nan])
    assert_allclose(age_at(clients, pd.Timestamp("2020-12-31"), ["a", "b", "c"]), [40, 30, np.nan])
    got = age_at(clients, dates, pd.Series(["a", "a", "a", "b", "zz"], dtype=object), rule="calendar_year")
    assert_allclose(got, [40, 40, np.nan, 30, np.nan])


def test_age_rules_against_an_independent_calendar_calculation():
    from dateutil.relativedelta import relativedelta

    from caseload.durations.tables import age_at

    rng = np.random.default_rng(8)
    n = 400
    birth = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 50, n), unit="D")
    dates = pd.to_datetime("2010-01-01") + pd.to_timedelta(rng.integers(0, 365 * 15, n), unit="D")
    # boundary days: 30 June, 1 July, 31 December, 1 January, the birthday itself
    dates = dates.where(np.arange(n) % 5 != 0, pd.to_datetime([f"{y}-06-30" for y in dates.year]))
    dates = dates.where(np.arange(n) % 5 != 1, pd.to_datetime([f"{y}-07-01" for y in dates.year]))
    dates = dates.where(np.arange(n) % 5 != 2, pd.to_datetime([f"{y}-01-01" for y in dates.year]))
    clients = pd.DataFrame({"client_id": [f"c{i}" for i in range(n)], "birth_year": birth.year,
                            "birth_date": birth.where(np.arange(n) % 7 != 0)})  # some unknown
    ids = clients["client_id"]
    mid = [relativedelta(d, pd.Timestamp(f"{y}-07-01")).years for d, y in zip(dates, birth.year, strict=True)]
    exact = [relativedelta(d, b).years for d, b in zip(dates, birth, strict=True)]
    assert_allclose(age_at(clients, dates, ids, rule="mid_year"), mid)
    assert_allclose(age_at(clients, dates, ids, rule="calendar_year"), dates.year - birth.year)
    known = clients["birth_date"].notna().to_numpy()
    assert_allclose(age_at(clients, dates, ids, rule="birth_date"), np.where(known, exact, mid))
    # without a birth_date column the default rule is the mid-year rule
    assert_allclose(age_at(clients.drop(columns="birth_date"), dates, ids), mid)
    # calendar_year is on average about half a year above the exact age, mid_year about 0
    cal_bias = np.mean(dates.year - birth.year - np.array(exact))
    mid_bias = np.mean(np.array(mid) - np.array(exact))
    assert 0.3 < cal_bias < 0.7 and abs(mid_bias) < 0.2
    with pytest.raises(CaseloadError, match="age rule"):
        age_at(clients, dates, ids, rule="exact")


def _vng_frame():
    """Six benefits on both sides of 1 July; ages by hand in the comments (mid-year / calendar year)."""
    peil = pd.Timestamp("2022-12-31")
    clients = pd.DataFrame({
        "client_id": list("abcdef"),
        "birth_year": pd.array([1991, 1991, 1970, 1970, 2000, 1980], dtype="Int64"),
        "sex": list("VMVMVM"),
        "household": ["alleenstaand", "paar", "alleenstaand", "paar", "alleenstaand", "paar"],
    })
    spells = pd.DataFrame({
        "spell_id": [f"s{c}" for c in "abcdef"], "client_id": list("abcdef"),
        "start_date": pd.to_datetime(["2021-06-30",    # a: 29 / 30
                                      "2021-07-01",    # b: 30 / 30
                                      "2021-02-01",    # c: 50 / 51
                                      "2022-08-15",    # d: 52 / 52
                                      "2022-01-10",    # e: 21 / 22
                                      "2022-07-01"]),  # f: 42 / 42
        "end_date": pd.to_datetime([None, "2022-05-01", None, None, "2022-11-30", None]),
    })
    return spells, clients, peil


def test_sturen_op_bijstand_tables_with_the_mid_year_rule_by_hand():
    from caseload.durations.cohorts import active_share

    spells, clients, peil = _vng_frame()

    def table(by, rule):
        t = active_share(spells, clients, peil, by=by, age_rule=rule)
        return {(g, y): (s, n) for g, y, s, n in t[["group", "inflow_year", "share_active", "n"]].itertuples(
            index=False)}

    # share active per inflow year by age class (< 30, 30-50, 50+), age at start from 1 July
    assert table("age_class", "mid_year") == {
        ("< 30", 2021): (1.0, 1), ("30-50", 2021): (0.5, 2),
        ("< 30", 2022): (0.0, 1), ("30-50", 2022): (1.0, 1), ("50+", 2022): (1.0, 1)}
    # the calendar-year rule moves a (29 -> 30) and c (50 -> 51) to another class
    assert table("age_class", "calendar_year") == {
        ("30-50", 2021): (0.5, 2), ("50+", 2021): (1.0, 1),
        ("< 30", 2022): (0.0, 1), ("30-50", 2022): (1.0, 1), ("50+", 2022): (1.0, 1)}
    assert table(["age_class", "sex"], "mid_year") == {
        ("< 30 / V", 2021): (1.0, 1), ("30-50 / M", 2021): (0.0, 1), ("30-50 / V", 2021): (1.0, 1),
        ("< 30 / V", 2022): (0.0, 1), ("30-50 / M", 2022): (1.0, 1), ("50+ / M", 2022): (1.0, 1)}
    # the stock on the peildatum by age class x household: a, c, d, f are active
    t = active_share(spells, clients, peil, by=["age_class", "household"], age_rule="mid_year")
    stock = t.groupby("group")["n_active"].sum()
    assert stock[stock > 0].to_dict() == {"< 30 / alleenstaand": 1, "30-50 / alleenstaand": 1,
                                          "30-50 / paar": 1, "50+ / paar": 1}
    assert "1 juli" in t.attrs["method"] and t.attrs["age_rule"] == "mid_year"
    en = active_share(spells, clients, peil, by="sex", age_rule="calendar_year", lang="en")
    assert "calendar year - birth year" in en.attrs["method"]


def test_every_age_table_takes_and_names_the_age_rule():
    import caseload
    from caseload.durations.cohorts import cohort_curves, cohort_tables

    assert caseload.active_share is caseload.durations.active_share
    assert "active_share" in caseload.__all__
    spells, clients, peil = _vng_frame()
    c = cohort_curves(spells, clients, peil, by="age_class", max_years=1, age_rule="calendar_year")
    m = cohort_curves(spells, clients, peil, by="age_class", max_years=1, age_rule="mid_year")
    assert "50+" in set(c.loc[c["years_since_start"] == 0, "group"]) and "kalenderjaar" in c.attrs["method"]
    assert c.attrs["age_rule"] == "calendar_year" and "1 juli" in m.attrs["method"]
    assert not c.equals(m)
    [t] = cohort_tables(spells, clients, peil, ["age_class"], max_years=1, age_rule="mid_year", lang="en")
    assert "1 July" in t.attrs["method"]
    d = spell_durations(spells, clients, peil, age_rule="mid_year").set_index("spell_id")
    assert d.loc[["sa", "sb", "sc"], "age_at_start"].tolist() == [29, 30, 50]
    assert d.attrs["age_rule"] == "mid_year"
    d = spell_durations(spells, clients, peil, age_rule="calendar_year").set_index("spell_id")
    assert d.loc[["sa", "sb", "sc"], "age_at_start"].tolist() == [30, 30, 51]
    # the Losser table: age on the peildatum, the rule in the method text
    el = elapsed_duration_table(spells, clients, pd.Timestamp("2022-06-30"), bands=[(15, 30), (31, 64)],
                                age_rule="mid_year")
    el_cal = elapsed_duration_table(spells, clients, pd.Timestamp("2022-06-30"), bands=[(15, 30), (31, 64)],
                                    age_rule="calendar_year")
    # the stock on 30 June 2022 is a (1991), c (1970), e (2000): 30, 51, 21 from 1 July, 31, 52, 22 by
    # the calendar year, so a moves to the older band
    assert el["Aantal"].tolist() == [2, 1, 3] and el_cal["Aantal"].tolist() == [1, 2, 3]
    assert "1 juli" in el.attrs["method"] and "kalenderjaar" in el_cal.attrs["method"]
    for fn in (cohort_curves, active_share):
        with pytest.raises(CaseloadError, match="age rule"):
            fn(spells, clients, peil, age_rule="exact")
    with pytest.raises(CaseloadError, match="age rule"):
        spell_durations(spells, clients, peil, age_rule="exact")


def test_stock_on_takes_the_age_rule():
    from caseload.refresh.stock import age_rule_method, stock_on
    from caseload.schema import Caseload

    spells, clients, _ = _vng_frame()
    peil = pd.Timestamp("2022-06-30")
    cl = Caseload(spells=spells.assign(benefit="PW"), clients=clients, peildatum=peil)
    mid = stock_on(cl, age_rule="mid_year").set_index("client_id")["age"]
    cal = stock_on(cl, age_rule="calendar_year").set_index("client_id")["age"]
    assert mid.to_dict() == {"a": 30, "c": 51, "e": 21}
    assert cal.to_dict() == {"a": 31, "c": 52, "e": 22}
    assert "1 juli" in age_rule_method(stock_on(cl, age_rule="mid_year"))
    assert "birth year" in age_rule_method(stock_on(cl), "en")


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
    assert [t.get_text() for t in fig4.axes[0].get_xticklabels()] == ["15-26 years", "27-44 years", "45-64 years",
                                                                     "Total"]  # the mean is a bar of its own
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
    from caseload.publish import Publication
    from caseload.refresh.sections.durations import add_durations_to_publication
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


def test_analyse_durations_passes_age_rule_and_interval_settings_through():
    from caseload.config import DurationsConfig, load_config
    from caseload.durations import analyse_durations
    from caseload.errors import ConfigError
    from caseload.publish import Publication
    from caseload.refresh.sections.durations import add_durations_to_publication
    from caseload.synth import generate

    c = generate(n_clients=600, random_state=9)
    cfg = DurationsConfig(age_rule="mid_year", conf_type="log", aj_variance="jackknife",
                          cohort_groupings=["age_class"], cox_max_rows=0)
    res = analyse_durations(c.spells, c.clients, c.peildatum, cfg, lang="en")
    assert res.age_rule == "mid_year" and res.durations.attrs["age_rule"] == "mid_year"
    assert res.km.conf_type == "log" and res.aj.variance == "jackknife"
    mid = spell_durations(c.spells, c.clients, c.peildatum, window_start=res.window_start, age_rule="mid_year")
    assert_allclose(res.durations["age_at_start"], mid["age_at_start"])
    assert "1 July" in res.tables["cohort_age_class"].attrs["method"]
    pub = Publication("t", c.peildatum, "source", lang="en", min_cell=5)
    add_durations_to_publication(pub, res)
    methods = {t.name: t.method for t in pub.tables}
    assert all("1 July of the birth year" in methods[k] for k in
               ("duur_losser_tabel", "duur_kaplan_meier", "duur_uitstroom_werk", "duur_cohort_age_class"))
    assert "(log)" in methods["duur_kaplan_meier"] and "infinitesimal jackknife" in methods["duur_uitstroom_werk"]
    with pytest.raises((ConfigError, ValueError)):
        DurationsConfig(age_rule="exact")
    assert load_config(None).durations.age_rule == "birth_date"


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


def test_figure_method_text_names_the_interval_and_variance_used():
    """The figures' method line follows the estimators' settings instead of a fixed 'log-log'."""
    import matplotlib.pyplot as plt

    from caseload.durations import AalenJohansen, KaplanMeier
    from caseload.figures.durations import cumulative_incidence_figure, km_figure

    d = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    km = KaplanMeier(conf_type="log").fit(d, pd.Series([1, 0, 1, 1, 0, 1]))
    aj = AalenJohansen(conf_type="log", variance="jackknife").fit(d, pd.Series(["werk", None, "overig",
                                                                                 "werk", None, "werk"]))
    texts = []
    for fig in (km_figure(km, lang="en"), cumulative_incidence_figure(aj, lang="en")):
        texts.append(" ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))))
        plt.close(fig)
    assert "interval (log)" in texts[0] and "log-log" not in texts[0]
    assert "infinitesimal jackknife, log" in texts[1]
