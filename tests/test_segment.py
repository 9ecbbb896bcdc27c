"""Tests of caseload.segment: rules, model, profiles, PMCs, overrides, fairness, model files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from caseload.config import load_config
from caseload.errors import CaseloadError, ConfigError, ModelCardError, NotFittedError
from caseload.schema import BARRIERS, COMPETENCES, Caseload
from caseload.segment import (
    DEFAULT_MARKETS,
    DEFAULT_PROTOTYPES,
    DEFAULT_RULES,
    SegmentModel,
    apply_rules,
    assign_profiles,
    cluster_profiles,
    evaluate,
    fairness_report,
    fit_segment_model,
    load_model,
    parse_condition,
    save_model,
    segment,
    time_split,
    training_frame,
)

synth = pytest.importorskip("caseload.synth")


# --------------------------------------------------------------------------- helpers


def _client(ladder, werkfit=False, **barriers):
    row = {"ladder_step": ladder, "werkfit": werkfit}
    for b in BARRIERS:
        row[b] = barriers.get(b.removeprefix("barrier_"), False)
    return row


@pytest.fixture(scope="module")
def cl3000():
    return synth.generate(n_clients=3000, random_state=0)


@pytest.fixture(scope="module")
def fitted(cl3000):
    return fit_segment_model(cl3000)


# --------------------------------------------------------------------------- rules


HAND_MADE = [
    # (client, expected segment, expected rule) -- the documented default table
    (_client(1), "C", "trede_1_2"),
    (_client(2, werkfit=True), "C", "trede_1_2"),
    (_client(3, health=True), "C", "gezondheid_trede_3"),
    (_client(4, health=True), "B", "overig"),
    (_client(5, debts=True, care=True, childcare=True), "C", "drie_belemmeringen"),
    (_client(5), "A", "trede_5_6"),
    (_client(6, language=True, debts=True), "A", "trede_5_6"),
    (_client(4, werkfit=True), "A", "werkfit_trede_4"),
    (_client(4, werkfit=True, debts=True), "B", "overig"),
    (_client(4, werkfit=False), "B", "overig"),
    (_client(3), "B", "overig"),
]


def test_default_rules_on_hand_made_clients():
    df = pd.DataFrame([c for c, _, _ in HAND_MADE])
    out = apply_rules(df)
    assert out["segment"].astype(str).tolist() == [s for _, s, _ in HAND_MADE]
    assert out["segment_rule"].astype(str).tolist() == [r for _, _, r in HAND_MADE]
    # The reason is a sentence that names the deciding rule.
    for reason, (_, seg, rule) in zip(out["segment_reason"], HAND_MADE, strict=True):
        assert reason.startswith(f"Groep {seg} volgens regel '{rule}'") and reason.endswith(".")


def test_reasons_in_english():
    out = apply_rules(pd.DataFrame([_client(1)]), lang="en")
    assert out["segment_reason"].iloc[0] == (
        "Group C by rule 'trede_1_2': ladder step 1 or 2: activation or care comes first.")


def test_missing_values_satisfy_no_condition():
    df = pd.DataFrame({"ladder_step": pd.array([None, 4], dtype="Int64"),
                       "werkfit": pd.array([None, True], dtype="boolean")})
    out = apply_rules(df)
    # Unknown ladder step: neither "<= 2" nor ">= 5" holds; the catch-all gives B.
    assert out["segment"].astype(str).tolist() == ["B", "A"]
    f = parse_condition("ladder_step != 3")
    assert f({"_n": 2, "ladder_step": np.array([np.nan, 4.0])}).tolist() == [False, True]


@pytest.mark.parametrize("text, expected", [
    ("ladder_step <= 2 or ladder_step >= 5", [True, False, True]),
    ("not (ladder_step <= 2) and werkfit", [False, True, True]),
    ("werkfit and ladder_step >= 4 or ladder_step == 1", [True, True, True]),
    ("n_barriers >= 1", [True, False, False]),
])
def test_condition_parser(text, expected):
    df = pd.DataFrame([_client(1, debts=True), _client(4, werkfit=True), _client(6, werkfit=True)])
    from caseload.segment.rules import rule_variables

    assert parse_condition(text)(rule_variables(df)).tolist() == expected


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo hacked')",
    "ladder <= 2",
    "ladder_step <=",
    "ladder_step <= 2 and",
    "(ladder_step <= 2",
    "ladder_step; 2",
    "",
])
def test_condition_parser_refuses_anything_else(text):
    with pytest.raises(ConfigError):
        parse_condition(text)


def test_rules_from_toml(tmp_path):
    toml = tmp_path / "caseload.toml"
    toml.write_text('''
[segment]
rule_barriers = ["barrier_debts", "barrier_health"]

[[segment.rules]]
name = "schulden"
segment = "C"
when = "barrier_debts and ladder_step <= 4"
reason_nl = "schulden eerst regelen"

[[segment.rules]]
name = "rest"
segment = "B"
when = "true"
reason = "de rest"
''', encoding="utf-8")
    cfg = load_config(toml)
    rules = [r.model_dump() for r in cfg.segment.rules]
    df = pd.DataFrame([_client(3, debts=True), _client(6, debts=True), _client(1)])
    out = apply_rules(df, rules, cfg.segment.rule_barriers)
    assert out["segment"].astype(str).tolist() == ["C", "B", "B"]
    assert out["segment_reason"].iloc[0] == "Groep C volgens regel 'schulden': schulden eerst regelen."
    assert out["segment_reason"].iloc[2] == "Groep B volgens regel 'rest': de rest."


def test_bad_rule_in_toml_is_a_config_error(tmp_path):
    toml = tmp_path / "caseload.toml"
    toml.write_text('[[segment.rules]]\nname = "x"\nsegment = "C"\nwhen = "import os"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="segment.rules"):
        load_config(toml)


def test_default_rules_in_config_equal_the_documented_table():
    cfg = load_config()
    assert [(r.name, r.segment, r.when) for r in cfg.segment.rules] == [
        (r["name"], r["segment"], r["when"]) for r in DEFAULT_RULES]


# --------------------------------------------------------------------------- training frame


def _tiny_caseload() -> Caseload:
    """Four assessments whose labels follow by hand."""
    clients = pd.DataFrame({"client_id": ["a", "b", "c", "d"], "municipality": "GM0168",
                            "birth_year": pd.array([1990, 1980, 1970, 1995], dtype="Int64"),
                            "sex": ["M", "V", "V", "M"]})
    spells = pd.DataFrame({
        "spell_id": ["s1", "s2", "s3", "s4"], "client_id": ["a", "b", "c", "d"],
        "dossier_id": ["d1", "d2", "d3", "d4"], "municipality": "GM0168", "benefit": "PW",
        "start_date": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-01", "2020-01-01"]),
        # a: werk 3 months after assessment; b: werk 8 months after; c: verhuizing after 2 months;
        # d: open, assessed 2 months before the peildatum (censored).
        "end_date": pd.to_datetime(["2021-04-01", "2021-09-01", "2021-03-01", None]),
        "end_reason": ["werk", "werk_deels", "verhuizing", None],
    })
    assessments = pd.DataFrame({
        "client_id": ["a", "b", "c", "d"],
        "assessed_on": pd.to_datetime(["2021-01-01", "2021-01-01", "2021-01-01", "2022-11-01"]),
        "ladder_step": pd.array([5, 4, 3, 2], dtype="Int64"),
    })
    return Caseload(clients=clients, spells=spells, assessments=assessments,
                    peildatum=pd.Timestamp("2022-12-31"))


def test_assessment_on_the_day_the_spell_ended_is_no_example():
    cl = _tiny_caseload()
    a = pd.concat([cl.assessments, pd.DataFrame({"client_id": ["a"], "assessed_on": pd.to_datetime(["2021-04-01"]),
                                                 "ladder_step": pd.array([6], dtype="Int64")})],
                  ignore_index=True)
    tf = training_frame(Caseload(clients=cl.clients, spells=cl.spells, assessments=a, peildatum=cl.peildatum))
    assert tf["client_id"].tolist() == ["a", "b", "c"]  # not the one on a's last day
    assert tf.attrs["counts"]["ended_on_assessment_day"] == 1


def test_undated_features_are_not_defaults():
    from caseload.segment.model import DEFAULT_FEATURES, UNDATED_FEATURES

    assert not set(UNDATED_FEATURES) & set(DEFAULT_FEATURES)


def test_stale_or_earlier_spell_assessment_gets_reassess(cl3000):
    from caseload.segment import client_frame

    f = client_frame(cl3000)
    peil = pd.Timestamp(cl3000.peildatum)
    age = (peil - f["assessed_on"]).dt.days / 30.4375
    r = segment(cl3000, config={"max_assessment_age_months": 6})
    c = r.clients.set_index("client_id")
    old = f.loc[f["has_assessment"] & (age > 6), "client_id"]
    assert len(old) > 0
    assert c.loc[old, "reassess"].all() and c.loc[old, "segment"].isna().all()
    assert c.loc[old, "segment_reason"].str.startswith("Herbeoordelen").all()
    assert_allclose(c.loc[f["client_id"], "assessment_age_months"].to_numpy(), age.to_numpy(), equal_nan=True)
    assert r.counts["reassess"] >= len(old)
    assert "herbeoordelen" in set(r.summary().columns) and "herbeoordelen" in set(r.pmc_table["segment"])
    fresh = f.loc[f["has_assessment"] & (age <= 6), "client_id"]
    start = peil - pd.to_timedelta(f.set_index("client_id").loc[fresh, "duration_months"] * 30.4375, unit="D")
    in_spell = fresh[(f.set_index("client_id").loc[fresh, "assessed_on"] >= start.dt.floor("D")).to_numpy()]
    assert c.loc[in_spell, "segment"].notna().all()


def test_training_frame_labels_by_hand():
    tf = training_frame(_tiny_caseload())
    assert tf["client_id"].tolist() == ["a", "b", "c"]
    assert tf["exit_work_6m"].tolist() == [1, 0, 0]
    assert tf.attrs["counts"]["censored"] == 1
    assert tf.attrs["counts"]["used"] == 3
    assert_allclose(tf["duration_months"], 366 / 30.4375)
    # born 1990/1980/1970, assessed 1 January 2021: before 1 July, so the durations
    # package's rule (completed years since 1 July of the birth year) gives 30/40/50
    assert tf["age"].tolist() == [30, 40, 50]


# --------------------------------------------------------------------------- model


def test_model_recovers_true_probabilities(fitted):
    """Issue 3: AUC on a time-based hold-out within 0.03 of the AUC of the true probabilities."""
    model, report = fitted
    m = report["metrics"]
    assert m["n"] > 1000 and m["events"] > 100
    assert m["roc_auc_true"] - m["roc_auc"] < 0.03, m
    # Calibrated: mean prediction near the observed rate, each decile within three
    # binomial standard errors (plus one point for the drift between train and hold-out).
    assert abs(m["mean_p"] - m["observed_rate"]) < 0.02
    cal = report["calibration"]
    tol = 3 * np.sqrt(cal["p_mean"] * (1 - cal["p_mean"]) / cal["n"]) + 0.01
    assert (cal["difference"].abs() < tol).all(), cal


def test_model_probabilities_close_to_truth(fitted, cl3000):
    model, _ = fitted
    tf = training_frame(cl3000)
    _, test = time_split(tf, model.metrics_["holdout_from"])
    p = model.predict_proba(test)[:, 1]
    # Correlation on the logit scale between estimated and true chance.
    lt = np.log(test["true_p_work_6m"] / (1 - test["true_p_work_6m"]))
    lp = np.log(p / (1 - p))
    assert np.corrcoef(lt, lp)[0, 1] > 0.8


def test_logistic_coefficients_match_statsmodels(cl3000):
    sm = pytest.importorskip("statsmodels.api")
    from caseload.segment.model import _design

    tf = training_frame(cl3000)
    feats = ["ladder_1", "ladder_2", "ladder_3", "ladder_5", "ladder_6", "werkfit", "barrier_health",
             "competence_drive", "age_15_26", "duration_years"]
    model = SegmentModel(features=feats, C=1e8).fit(tf).attach_covariance(tf)
    X = sm.add_constant(_design(tf, feats).fillna(model.medians_))
    ref = sm.Logit(tf["exit_work_6m"].to_numpy(), X).fit(disp=0)
    table = model.coef_table()
    assert_allclose(table["coef"].to_numpy(), ref.params.to_numpy(), rtol=1e-3, atol=1e-3)
    assert_allclose(table["se"].to_numpy(), ref.bse.to_numpy(), rtol=1e-3)
    assert table["label"].iloc[1] == "Trede 1 (t.o.v. trede 4)"


def test_kappa_matches_hand_calculation(fitted):
    _, report = fitted
    cm = report["confusion"].to_numpy().astype(float)
    n = cm.sum()
    po = np.trace(cm) / n
    pe = (cm.sum(axis=0) * cm.sum(axis=1)).sum() / n**2
    assert_allclose(report["metrics"]["kappa_caseworker"], (po - pe) / (1 - pe), rtol=1e-9)
    assert_allclose(report["metrics"]["agreement_caseworker"], po, rtol=1e-9)


def test_cutoffs_give_segments():
    m = SegmentModel(cutoffs=(0.3, 0.7))
    assert m.segments_from_p(np.array([0.1, 0.3, 0.69, 0.7, 0.99])).tolist() == ["C", "B", "B", "A", "A"]


def test_model_refuses_proxies_and_protected_attributes():
    tf = training_frame(_tiny_caseload())
    with pytest.raises(ConfigError, match="proxy"):
        SegmentModel(features=["ladder_step", "barrier_language"]).fit(tf)
    with pytest.raises(ConfigError, match="fairness"):
        SegmentModel(features=["ladder_step", "sex"]).fit(tf)
    with pytest.raises(ConfigError, match="fairness"):
        SegmentModel(features=["ladder_step", "migration_background"],
                     proxy_features=["migration_background"]).fit(tf)


def test_language_opt_in(cl3000):
    tf = training_frame(cl3000).iloc[:3000]
    m = SegmentModel(features=["ladder_step", "barrier_language"], proxy_features=["barrier_language"])
    assert m.fit(tf).features_ == ["ladder_step", "barrier_language"]


def test_sklearn_clone():
    from sklearn.base import clone

    m = SegmentModel(method="gbm", cutoffs=(0.2, 0.7), random_state=3)
    c = clone(m)
    assert c.get_params() == m.get_params() and c is not m


def test_not_fitted():
    with pytest.raises(NotFittedError):
        SegmentModel().predict_proba(pd.DataFrame({"ladder_step": [1]}))


@pytest.mark.slow
def test_gbm_option(cl3000):
    tf = training_frame(cl3000)
    train, test = time_split(tf)
    m = SegmentModel(method="gbm", random_state=0).fit(train)
    assert m.calibration_ == "isotonic"  # 5,000 examples or more
    ev = evaluate(m, test)
    # Issue 14: with realistic data no model reaches the truth (3,000 clients: a gap of
    # about 0.045 for gbm, 0.03 for logistic); it must still learn most of it.
    assert 0 < ev["metrics"]["roc_auc_true"] - ev["metrics"]["roc_auc"] < 0.08
    assert ev["metrics"]["roc_auc"] > 0.7
    small = SegmentModel(method="gbm", random_state=0).fit(train.iloc[-3000:])
    assert small.calibration_ == "sigmoid"
    assert abs(ev["metrics"]["mean_p"] - ev["metrics"]["observed_rate"]) < 0.03
    with pytest.raises(CaseloadError, match="logistic"):
        m.coef_table()


# --------------------------------------------------------------------------- segment()


def test_segment_result(cl3000):
    r = segment(cl3000)
    c = r.clients
    assert c["client_id"].is_unique
    assert set(c["segment"].dropna()) <= {"A", "B", "C"}
    assert (c["segment"].astype(object).fillna("-") == c["segment_computed"].astype(object).fillna("-")).all()
    assert c["segment_reason"].notna().all()
    # The Drechtsteden table counts every client exactly once, including those without assessment.
    assert r.pmc_table["n"].sum() == len(c)
    assert "client_id" not in r.pmc_table and "client_id" not in r.candidates
    assert "client_id" not in r.pmc_links
    a_counts = c[c["segment"] == "A"].groupby("pmc", observed=True).size()
    assert r.candidates.groupby("pmc")["candidates_A"].sum().loc[a_counts.index].tolist() == a_counts.tolist()
    # Long table: every client with a profile once per linked market.
    n_links = c["profile"].dropna().astype(str).map(lambda p: len(DEFAULT_MARKETS[p])).sum()
    assert r.pmc_links["n"].sum() == n_links
    assert r.fairness is not None and set(r.fairness["group"]) >= {"sex", "age_band"}


def test_clients_without_assessment_are_counted(cl3000):
    cl = Caseload(clients=cl3000.clients, spells=cl3000.spells,
                  assessments=cl3000.assessments.iloc[0:0], peildatum=cl3000.peildatum)
    r = segment(cl)
    assert r.counts["without_assessment"] == len(r.clients) > 0
    assert r.clients["segment"].isna().all()
    assert (r.clients["segment_reason"] == "Geen diagnose.").all()
    assert r.pmc_table["segment"].unique().tolist() == ["geen diagnose"]
    assert r.pmc_table["n"].sum() == len(r.clients)


def test_overrides_win(cl3000):
    r0 = segment(cl3000)
    ids = r0.clients["client_id"].iloc[:3].tolist()
    comp = r0.clients["segment_computed"].astype(str).iloc[:3].tolist()
    other = {"A": "C", "B": "A", "C": "A"}
    # dated on the peildatum, so no assessment is newer (no override expires here)
    ov = pd.DataFrame({
        "client_id": [ids[0], ids[1], ids[1], ids[2], "niet-bestaand"],
        "segment": [other[comp[0]], "c", other[comp[1]], comp[2], "A"],
        "reason": ["heeft werk gevonden", "oud", "nieuw", "bevestigd", "x"],
        "date": ["31-12-2025", "2025-12-30", "2025-12-31", "2025-12-31", "2025-12-31"],
    })
    with pytest.warns(UserWarning, match="1 override.s. name a client who is not in the current caseload"):
        r = segment(cl3000, overrides=ov)
    c = r.clients.set_index("client_id")
    assert c.loc[ids[0], "segment"] == other[comp[0]]
    assert c.loc[ids[0], "segment_computed"] == comp[0]
    assert c.loc[ids[1], "segment"] == other[comp[1]]  # the latest override of a client wins
    assert c.loc[ids[1], "override_reason"] == "nieuw"
    assert c.loc[ids[0], "segment_reason"] == (f"Groep {other[comp[0]]} door de consulent op 31-12-2025 "
                                               f"(berekend: {comp[0]}): heeft werk gevonden.")
    assert not c.loc[ids[2], "overridden"]  # confirming the computed group is not an override
    assert r.counts["overrides_applied"] == 3 and r.counts["overrides_unmatched"] == 1
    assert r.counts["overrides_confirming"] == 1 and r.counts["overrides_superseded"] == 1
    log = r.overrides_log.set_index("client_id")
    assert log.loc["niet-bestaand", "status"] == "unknown_client"
    assert log.loc[ids[1], "status"] == "superseded" and log.loc[ids[1], "reason"] == "oud"
    # the status labels of the log (labels.toml [segment.overrides.rejection]), in the report language
    assert log.loc["niet-bestaand", "status_label"] == "onbekende cliënt (niet in het huidige bestand)"
    assert log.loc[ids[1], "status_label"] == "vervangen door een latere overschrijving"
    with pytest.warns(UserWarning):
        en = segment(cl3000, overrides=ov, lang="en")
    assert en.overrides_log.set_index("client_id")["status_label"].to_dict() == {
        "niet-bestaand": "unknown client (not in the current caseload)", ids[1]: "superseded by a later override"}
    assert en.clients.set_index("client_id").loc[ids[0], "segment_reason"] == (
        f"Group {other[comp[0]]} set by the caseworker on 31-12-2025 (computed: {comp[0]}): heeft werk gevonden.")
    rates = r.override_rates.set_index("segment_computed")
    assert rates["overridden"].sum() == 2
    for s in "ABC":
        n = (r.clients["segment_computed"] == s).sum()
        k = ((r.clients["segment_computed"] == s) & r.clients["overridden"]).sum()
        assert rates.loc[s, "n"] == n and rates.loc[s, "overridden"] == k


def test_overrides_future_expired_other_method_and_ambiguous_dates(cl3000, fitted):
    from caseload.segment import client_frame

    model, _ = fitted
    f = client_frame(cl3000)
    f = f[f["has_assessment"]].sort_values("assessed_on")
    early, late = f.iloc[-1], f.iloc[-2]  # the two clients with the newest assessments
    old = f.iloc[0]  # the oldest latest assessment
    day_before = (early["assessed_on"] - pd.Timedelta(days=1)).strftime("%d-%m-%Y")
    ov = pd.DataFrame({
        "client_id": [early["client_id"], late["client_id"], old["client_id"], f.iloc[1]["client_id"]],
        "segment": ["A", "C", "A", "B"],
        "reason": ["voor de laatste diagnose", "toekomst", "ambigu", "tegen de regels geschreven"],
        "date": [day_before, "01-01-2031", old["assessed_on"].strftime("%m/%d/%Y") if
                 old["assessed_on"].day <= 12 and old["assessed_on"].month != old["assessed_on"].day
                 else "03/04/2025", "2025-12-31"],
        "method": ["model", "model", "model", "regels"],
    })
    with pytest.warns(UserWarning, match="could be dd/mm or mm/dd"):
        r = segment(cl3000, overrides=ov, model=model)
    log = r.overrides_log.set_index("client_id")
    assert log.loc[early["client_id"], "status"] == "expired"  # older than the latest assessment
    assert log.loc[late["client_id"], "status"] == "future_date"  # after the peildatum
    assert log.loc[old["client_id"], "status"] == "ambiguous_date"  # read day first, and reported
    assert log.loc[f.iloc[1]["client_id"], "status"] == "other_method"  # applied, but reported
    assert log["status_label"].tolist() == [
        {"expired": "verlopen: ouder dan de laatste diagnose", "future_date": "datum na de peildatum",
         "ambiguous_date": "datum dd/mm of mm/dd: gelezen als dag/maand (wel toegepast)",
         "other_method": "geschreven tegen de groepen van een andere methode (wel toegepast)"}[s]
        for s in log["status"]]
    c = r.clients.set_index("client_id")
    assert c.loc[early["client_id"], "segment"] == c.loc[early["client_id"], "segment_computed"]
    assert c.loc[late["client_id"], "segment"] == c.loc[late["client_id"], "segment_computed"]
    assert c.loc[f.iloc[1]["client_id"], "segment"] == "B"
    assert r.counts["overrides_expired"] == 1 and r.counts["overrides_future_date"] == 1
    assert r.counts["overrides_other_method"] == 1 and r.counts["overrides_ambiguous_date"] == 1


def test_segment_applies_the_overrides_file_of_a_loaded_config(tmp_path):
    """Issue 12/14: cl.segment(cs, cfg) applies [segment] overrides_file like the batch run."""
    from caseload.synth import write_extract

    cs = synth.generate(n_clients=300, random_state=2)
    write_extract(cs, tmp_path, layout="canonical")
    r0 = segment(cs)
    first = r0.clients.dropna(subset=["segment"]).iloc[0]
    new = "A" if first["segment"] != "A" else "C"
    pd.DataFrame({"client_id": [first["client_id"]], "segment": [new], "reason": ["gesprek"],
                  "date": ["31-12-2025"]}).to_csv(tmp_path / "ov.csv", sep=";", index=False)
    toml = tmp_path / "caseload.toml"
    toml.write_text('[extract]\npeildatum = "2025-12-31"\n[segment]\noverrides_file = "ov.csv"\n',
                    encoding="utf-8")
    cfg = load_config(toml)
    r = segment(cs, cfg)
    assert r.counts["overrides_applied"] == 1
    assert r.clients.set_index("client_id").loc[first["client_id"], "segment"] == new


def test_bad_override_names_the_row(cl3000):
    ov = pd.DataFrame({"client_id": ["x", "y"], "segment": ["A", "D"], "reason": ["r", "r"],
                       "date": ["2025-01-01", "2025-01-01"]})
    with pytest.raises(CaseloadError, match="row 3"):
        segment(cl3000, overrides=ov)


def test_segment_with_model_decides(cl3000, fitted):
    model, _ = fitted
    r = segment(cl3000, model=model)
    assert r.decided_by == "model"
    c = r.clients.dropna(subset=["p_work_6m"])
    assert (c["segment_computed"].astype(str) == model.segments_from_p(c["p_work_6m"].to_numpy())).all()
    assert c["segment_reason"].str.contains("statistisch model").all()
    r2 = segment(cl3000, config={"decide_by": "rules"}, model=model)
    assert (r2.clients["segment_computed"].astype(object).fillna("-")
            == r2.clients["segment_rules"].astype(object).fillna("-")).all()


# --------------------------------------------------------------------------- profiles


def test_nearest_prototype():
    rows = pd.DataFrame([DEFAULT_PROTOTYPES[k] for k in "123456"], columns=list(COMPETENCES))
    rows.loc[6] = np.nan  # no scores at all
    rows.loc[7] = DEFAULT_PROTOTYPES["4"]
    rows.loc[7, "competence_drive"] = np.nan  # one score missing
    out = assign_profiles(rows)
    assert out["profile"].astype(object).tolist()[:6] == list("123456")
    assert pd.isna(out["profile"].iloc[6])
    assert out["profile"].iloc[7] == "4"
    assert_allclose(out["profile_distance"].iloc[:6], 0.0, atol=1e-12)


def test_profiles_recover_generator_truth(cl3000):
    a = cl3000.assessments
    near = assign_profiles(a)
    acc_near = (near["profile"].astype(float) == a["true_profile"].astype(float)).mean()
    clus, centres = cluster_profiles(a, random_state=0)
    acc_clus = (clus["profile"].astype(float) == a["true_profile"].astype(float)).mean()
    assert acc_near > 0.7, acc_near
    assert acc_clus > 0.6, acc_clus
    assert sorted(centres["profile"]) == list("123456")  # one-to-one matching


# --------------------------------------------------------------------------- fairness


def test_fairness_hand_calculation():
    # Women: 60 in C (30 found work), 40 in A (all found work). Men: 60 in C (40 found
    # work), 40 in A (3 found work, 37 did not).
    f = pd.DataFrame({
        "segment": ["C"] * 60 + ["A"] * 40 + ["C"] * 60 + ["A"] * 40,
        "exit_work_6m": [1] * 30 + [0] * 30 + [1] * 40 + [1] * 40 + [0] * 20 + [1] * 3 + [0] * 37,
        "sex": ["V"] * 100 + ["M"] * 100,
    })
    rep = fairness_report(f, groups=["sex"], p=None).set_index("level")
    v, m = rep.loc["Vrouw"], rep.loc["Man"]
    assert v["share_C"] == 0.6 and v["work_rate"] == 0.7 and m["work_rate"] == 0.43
    # gemiste kansen: found work but in C; onterecht A: no work but in A
    assert v["missed"] == pytest.approx(30 / 70) and m["missed"] == pytest.approx(40 / 43)
    assert v["wrong_A"] == 0 and m["wrong_A"] == pytest.approx(37 / 57)
    assert (v["n_work"], v["n_nowork"], m["n_work"], m["n_nowork"]) == (70, 30, 43, 57)
    # Wilson intervals against statsmodels
    from statsmodels.stats.proportion import proportion_confint

    for row, x, n in ((v, 30, 70), (m, 40, 43)):
        lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert_allclose([row["missed_lo"], row["missed_hi"]], [lo, hi], rtol=1e-10)
    lo, hi = proportion_confint(37, 57, alpha=0.05, method="wilson")
    assert_allclose([m["wrong_A_lo"], m["wrong_A_hi"]], [lo, hi], rtol=1e-10)
    # Without a model the bands are the segments: pooled rate in C 70/120, in A 43/80.
    rc, ra = 70 / 120, 43 / 80
    assert v["expected_work"] == pytest.approx(60 * rc + 40 * ra)
    assert v["missed_expected"] == pytest.approx(60 * rc / (60 * rc + 40 * ra))
    assert v["band_ratio"] == pytest.approx(70 / (60 * rc + 40 * ra))

    from caseload.segment import fairness_ratios

    r = fairness_ratios(rep.reset_index()).set_index("metric")
    # missed: Man 40/43 vs Vrouw 30/70, delta method on the log ratio (by hand)
    p1, p2 = 40 / 43, 30 / 70
    se = np.sqrt((1 - p1) / 40 + (1 - p2) / 30)
    assert r.loc["missed", "level_high"] == "Man" and r.loc["missed", "ratio"] == pytest.approx(p1 / p2)
    assert_allclose([r.loc["missed", "ratio_lo"], r.loc["missed", "ratio_hi"]],
                    [p1 / p2 * np.exp(-1.959964 * se), p1 / p2 * np.exp(1.959964 * se)], rtol=1e-6)
    assert r.loc["missed", "flag"]
    # Both sexes are equally in C, so the base rates explain none of it: expected ratio
    # = the ratio of the expected shares, residual = ratio / expected.
    assert r.loc["missed", "expected_ratio"] == pytest.approx(m["missed_expected"] / v["missed_expected"])
    assert r.loc["missed", "residual_ratio"] == pytest.approx(r.loc["missed", "ratio"]
                                                             / r.loc["missed", "expected_ratio"])
    # wrong_A has a zero count (no woman without work in A): Haldane-Anscombe +0.5 / +1.
    assert r.loc["wrong_A", "ratio"] == pytest.approx((37.5 / 58) / (0.5 / 31))
    assert r.loc["wrong_A", "flag"] and r.loc["wrong_A", "flag_unexplained"]
    assert rep["flag"].all()


def test_fairness_separates_base_rates_from_unequal_treatment():
    """Two groups with the same work chance per band: a different error rate is explained.

    Group X has most of its people in the low band; within each band both groups find
    work equally often (15% in C, 60% in A). X's missed-chance rate is much higher,
    but only because of its base rate, and the report says so. Then X finds work
    more often than Y within each band (an injected disparity): the within-band
    ratio flags it as not explained.
    """
    rng = np.random.default_rng(5)
    n = 40_000
    x = rng.random(n) < 0.5
    p = np.where(rng.random(n) < np.where(x, 0.8, 0.2), 0.15, 0.6)
    seg = np.where(p < 0.5, "C", "A")
    frame = pd.DataFrame({"segment": seg, "p_work_6m": p, "grp": np.where(x, "X", "Y"),
                          "exit_work_6m": (rng.random(n) < p).astype(int)})
    rep = fairness_report(frame, groups=["grp"])
    from caseload.segment import fairness_ratios

    r = fairness_ratios(rep).set_index("metric")
    assert r.loc["missed", "flag"] and r.loc["missed", "ratio"] > 2
    assert not r.loc["missed", "flag_unexplained"]
    assert r.loc["missed", "explanation"] == "verklaard door verschil in basiskans"
    assert 0.9 < r.loc["missed", "residual_ratio"] < 1.1
    assert not r.loc["band_odds", "flag"]
    # Disparity: X's odds of work x 3 at the same predicted chance (risk ratio 2.3 in C, 1.4 in A).
    odds = p / (1 - p) * np.where(x, 3.0, 1.0)
    frame["exit_work_6m"] = (rng.random(n) < odds / (1 + odds)).astype(int)
    r = fairness_ratios(fairness_report(frame, groups=["grp"])).set_index("metric")
    assert r.loc["band_odds", "flag"] and r.loc["band_odds", "flag_unexplained"]
    assert r.loc["band_odds", "level_high"] == "X"
    assert 2.5 < r.loc["band_odds", "ratio"] < 3.5  # the injected odds ratio, within noise
    assert r.loc["band_odds", "explanation"].startswith("niet verklaard")


def test_mantel_haenszel_against_statsmodels():
    from statsmodels.stats.contingency_tables import StratifiedTable

    from caseload.segment.fairness import mantel_haenszel

    n1, y1 = np.array([50.0, 80, 30]), np.array([10.0, 40, 25])
    n2, y2 = np.array([70.0, 60, 10]), np.array([7.0, 20, 6])
    tables = [np.array([[y1[k], n1[k] - y1[k]], [y2[k], n2[k] - y2[k]]]) for k in range(3)]
    st = StratifiedTable(tables)
    orr, se = mantel_haenszel(n1, y1, n2, y2)
    assert orr == pytest.approx(st.oddsratio_pooled, rel=1e-12)
    assert se == pytest.approx(st.logodds_pooled_se, rel=1e-12)


def _strata_rows(rng, n, n_strata=8, log_or=np.log(1.3)):
    stratum = rng.integers(0, n_strata, n)
    side = rng.integers(1, 3, n)
    y = (rng.random(n) < 1 / (1 + np.exp(1 - 0.3 * stratum - log_or * (side == 1)))).astype(float)
    return y, side, stratum


def test_mh_cluster_se_without_clusters_agrees_with_statsmodels():
    """One row per cluster: the sandwich SE is close to Robins-Breslow-Greenland (statsmodels)."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    from caseload.segment.fairness import mh_cluster_se

    y, side, stratum = _strata_rows(np.random.default_rng(0), 6000)
    tables = [np.array([[((side == s) & (y == v) & (stratum == k)).sum() for v in (1, 0)] for s in (1, 2)])
              for k in range(8)]
    st = StratifiedTable(tables)
    orr, se = mh_cluster_se(y, side, stratum)
    assert orr == pytest.approx(st.oddsratio_pooled, rel=1e-12)
    # different estimators of one variance: measured 0.2% apart here; 3% tolerance
    assert se == pytest.approx(st.logodds_pooled_se, rel=0.03)
    # rows of neither level are ignored
    orr0, se0 = mh_cluster_se(np.r_[y, 1.0], np.r_[side, 0], np.r_[stratum, 3])
    assert (orr0, se0) == pytest.approx((orr, se), rel=1e-12)


def test_mh_cluster_se_matches_a_bootstrap_over_couples():
    """Couples (two rows, one outcome, one level): the robust SE matches a bootstrap over
    couples, and the naive SE is about 1/sqrt(2) of it (it counts each couple twice)."""
    from caseload.segment.fairness import mh_cluster_se

    rng = np.random.default_rng(3)
    y, side, stratum = _strata_rows(rng, 3000)
    Y, S, K, C = (np.repeat(v, 2) for v in (y, side, stratum, np.arange(3000)))
    _, se = mh_cluster_se(Y, S, K, C)
    _, se_naive = mh_cluster_se(Y, S, K)
    boot = []
    for _ in range(300):
        i = rng.integers(0, 3000, 3000)
        boot.append(np.log(mh_cluster_se(y[i], side[i], stratum[i])[0]))  # a couple's two rows: same ratio
    # the bootstrap SD has a Monte Carlo error of about 1/sqrt(2*300) = 4%; tolerance 12%
    assert se == pytest.approx(np.std(boot, ddof=1), rel=0.12)
    assert se / se_naive == pytest.approx(np.sqrt(2), rel=0.05)


def test_fairness_report_uses_the_dossier_as_cluster():
    from caseload.segment import fairness_ratios

    rng = np.random.default_rng(5)
    n = 4000
    mig = rng.choice(["nederland", "buiten_europa"], n)
    y = (rng.random(n) < 0.3).astype(int)
    couple = pd.DataFrame({"segment": rng.choice(list("ABC"), n), "exit_work_6m": y,
                           "migration_background": mig, "dossier_id": np.arange(n)})
    twice = pd.concat([couple, couple], ignore_index=True)  # every dossier a couple, sharing all
    r1 = fairness_ratios(fairness_report(twice, groups=["migration_background"], p=None)).set_index("metric")
    r0 = fairness_ratios(fairness_report(twice, groups=["migration_background"], p=None, cluster=None)
                         ).set_index("metric")
    single = fairness_ratios(fairness_report(couple, groups=["migration_background"], p=None)).set_index("metric")
    for m in ("band_odds", "missed"):
        w1 = np.log(r1.loc[m, "ratio_hi"] / r1.loc[m, "ratio_lo"])
        w0 = np.log(r0.loc[m, "ratio_hi"] / r0.loc[m, "ratio_lo"])
        ws = np.log(single.loc[m, "ratio_hi"] / single.loc[m, "ratio_lo"])
        assert w1 / w0 == pytest.approx(np.sqrt(2), rel=0.03)  # duplicated rows add no information
        assert w1 == pytest.approx(ws, rel=0.03)


def test_auc_interval_against_simulation():
    """Hanley-McNeil's standard error matches the spread of the AUC over simulated samples."""
    from sklearn.metrics import roc_auc_score

    from caseload.segment.metrics import auc_interval

    rng = np.random.default_rng(1)
    n_pos, n_neg = 150, 450
    aucs = [roc_auc_score(np.r_[np.ones(n_pos), np.zeros(n_neg)],
                          np.r_[rng.exponential(2.0, n_pos), rng.exponential(1.0, n_neg)]) for _ in range(400)]
    # exponential scores: the Hanley-McNeil formula is exact in form; true AUC = 2/3
    lo, hi = auc_interval(float(np.mean(aucs)), n_pos, n_neg)
    se = (hi - lo) / 2 / 1.959964
    assert se == pytest.approx(np.std(aucs, ddof=1), rel=0.15)


def test_wilson_interval_against_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    from caseload.segment import wilson_interval

    for x, n in ((0, 10), (10, 10), (3, 17), (250, 1000)):
        lo, hi = wilson_interval(x, n)
        assert_allclose([lo, hi], proportion_confint(x, n, alpha=0.05, method="wilson"), atol=1e-12)


def test_fairness_sex_by_age_band_is_a_group(cl3000, fitted):
    _, rep = fitted
    f = rep["fairness"]
    assert set(f["group"]) == {"sex", "age_band", "migration_background", "statushouder", "sex_age_band"}
    levels = f.loc[f["group"] == "sex_age_band", "level"]
    assert {"Vrouw, 27-44 jaar", "Man, 45-64 jaar"} <= set(levels)
    # the sex x age levels add up to the sexes
    assert f.loc[f["group"] == "sex_age_band", "n"].sum() == f.loc[f["group"] == "sex", "n"].sum()
    # every level has a calibration interval around its estimate
    ok = f["calibration"].notna()
    assert ((f.loc[ok, "calibration_lo"] <= f.loc[ok, "calibration"])
            & (f.loc[ok, "calibration"] <= f.loc[ok, "calibration_hi"])).all()


@pytest.mark.slow
def test_fairness_flags_a_built_in_disparity():
    """Flagged (within probability bands, not explained) with a built-in disparity, not without.

    Both models opt in to ``barrier_language``: the generator gives the language
    barrier a real effect and it is concentrated in the non-European group, so a
    model without it under-predicts that group even without a disparity (the price
    of leaving a proxy out, which the report rightly shows). With the barrier in,
    the only difference between the two data sets is the built-in disparity (odds
    x 1.5 for a non-European background, carried by no feature). Over ten seeds the
    flag fires in 9 with and 2 without this disparity (benchmarks/bench_fairness.py,
    also for sex and statushouder); seed 1 is one of the seeds where the report gets
    both right, so this test pins the mechanism, not the rate.
    """
    from caseload.segment import DEFAULT_FEATURES, fairness_ratios

    cfg = {"features": [*DEFAULT_FEATURES, "barrier_language"], "proxy_features": ["barrier_language"]}
    rows = {}
    for disparity in (None, "migration_background=buiten_europa:1.5"):
        cl = synth.generate(n_clients=20_000, random_state=1, disparity=disparity)
        _, rep = fit_segment_model(cl, cfg)
        r = fairness_ratios(rep["fairness"]).set_index(["group", "metric"])
        rows[disparity is not None] = r.loc[("migration_background", "band_odds")]
    assert not rows[False]["flag"], rows[False]
    assert rows[True]["flag"] and rows[True]["flag_unexplained"], rows[True]
    assert rows[True]["level_high"] == "Buiten-Europese migratieachtergrond"


# --------------------------------------------------------------------------- model files


def test_model_round_trip_and_tampering(fitted, tmp_path, cl3000):
    model, _ = fitted
    skops_path, card_path = save_model(model, tmp_path / "segment_logistic")
    assert skops_path.suffix == ".skops" and card_path.name == "segment_logistic.card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    for key in ("sha256", "training", "features", "metrics", "fairness_summary", "cutoffs",
                "fitted_at", "versions", "algoritmeregister", "data_sha256"):
        assert card[key] is not None, key
    assert set(card["algoritmeregister"]) >= {"doel", "gegevens", "menselijke_tussenkomst", "risicobeheer"}
    # issue 14: a complete card, and a readable Dutch page beside it
    reg = card["algoritmeregister"]
    for key in ("naam", "doel", "impact", "wettelijke_basis", "menselijke_tussenkomst", "risicobeheer",
                "gegevensbronnen", "proxies_overwogen", "monitoringsplan"):
        assert reg[key], key
    assert [d["kenmerk"] for d in reg["gegevensbronnen"]] == card["features"]  # every feature named
    assert set(reg["ontbreekt"]) == {"organisatie", "contact", "eigenaar", "iama", "dpia", "link"}
    for key in ("beoogd_gebruik", "beoogde_gebruikers", "buiten_bereik", "factoren", "metrieken",
                "evaluatiegegevens", "trainingsgegevens", "ethische_overwegingen", "kanttekeningen"):
        assert card["model_card"][key], key
    lo, hi = card["metric_intervals"]["roc_auc"]
    assert lo < card["metrics"]["roc_auc"] < hi
    groups = {r["group"] for r in card["fairness_summary"]["levels"]}
    assert groups == {"sex", "age_band", "migration_background", "statushouder", "sex_age_band"}
    page = (tmp_path / "segment_logistic.card.md").read_text(encoding="utf-8")
    assert page.startswith("# Modelkaart") and "Gemiste kansen" in page and "Nog in te vullen" in page
    for d in reg["gegevensbronnen"]:
        assert f"`{d['kenmerk']}`" in page
    loaded = load_model(skops_path)
    tf = training_frame(cl3000).iloc[:500]
    assert_allclose(loaded.predict_proba(tf), model.predict_proba(tf), rtol=0, atol=0)
    assert loaded.cutoffs == model.cutoffs

    # A tampered card (cut-offs edited) is refused.
    bad = dict(card, cutoffs=[0.1, 0.9])
    card_path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(ModelCardError, match="cutoffs"):
        load_model(skops_path)
    card_path.write_text(json.dumps(card), encoding="utf-8")
    load_model(skops_path)
    # An edited page is refused too.
    page_path = tmp_path / "segment_logistic.card.md"
    page_path.write_text(page.replace("Modelkaart", "Model"), encoding="utf-8")
    with pytest.raises(ModelCardError, match="Markdown"):
        load_model(skops_path)
    page_path.write_text(page, encoding="utf-8")
    load_model(skops_path)
    # The municipality's fields fill the register entry.
    save_model(model, tmp_path / "m2", extra={"algoritmeregister": {"organisatie": "Gemeente Losser",
                                                                      "contact": "privacy@losser.nl"}})
    card2 = json.loads((tmp_path / "m2.card.json").read_text(encoding="utf-8"))
    assert card2["algoritmeregister"]["organisatie"] == "Gemeente Losser"
    assert "organisatie" not in card2["algoritmeregister"]["ontbreekt"]

    # A changed model file no longer matches the hash in its card.
    data = bytearray(skops_path.read_bytes())
    data[-30] ^= 0xFF
    skops_path.write_bytes(bytes(data))
    with pytest.raises(ModelCardError, match="sha256"):
        load_model(skops_path)
    card_path.unlink()
    with pytest.raises(ModelCardError, match="not found"):
        load_model(skops_path)


# --------------------------------------------------------------------------- figures


def test_figures(cl3000):
    from matplotlib.figure import Figure

    from caseload.figures.segments import pmc_heatmap_figure, pyramid_figure

    r = segment(cl3000)
    fig = pyramid_figure(r, source="test")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == r.clients["municipality"].nunique()
    fig2 = pmc_heatmap_figure(r)
    texts = [t.get_text() for t in fig2.axes[0].texts]
    c = r.clients.dropna(subset=["segment", "pmc"])
    small = pd.crosstab(c["segment"], c["pmc"]).to_numpy()
    # Every small sum is hidden (and more: a sum with a suppressed cell in it).
    assert texts.count("niet getoond") >= int(((small > 0) & (small < 5)).sum())
    assert not any(str(v) in texts for v in range(1, 5))
    assert not any(cid in " ".join(texts) for cid in r.clients["client_id"])
    import matplotlib.pyplot as plt

    plt.close("all")


def test_figures_draw_the_suppressed_tables(cl3000):
    """A count the published table suppresses has no bar length, colour or number."""
    from caseload.figures.segments import pmc_heatmap_figure, pyramid_figure, suppressed_summary

    r = segment(cl3000)
    # One municipality with 3 clients in A: suppressed, with a complementary cell.
    c = r.clients.copy()
    muni = c["municipality"].iloc[0]
    in_a = c.index[(c["municipality"] == muni) & (c["segment"] == "A")]
    c.loc[in_a[3:], "segment"] = "B"
    r.clients = c
    table = suppressed_summary(r, 5)
    assert pd.isna(table.loc[muni, "A"])
    hidden_cells = int(table.drop(index="Totaal")[list("ABC")].isna().to_numpy().sum())
    assert hidden_cells >= 2  # the small cell and its complement
    fig = pyramid_figure(r)
    ax = fig.axes[list(table.drop(index="Totaal").index).index(muni)]
    texts = [t.get_text() for t in ax.texts]
    assert "3" not in texts and texts[2] == "niet getoond"  # order C, B, A: A is third
    bar_a = ax.patches[2]
    assert bar_a.get_width() == 5 and bar_a.get_hatch() == "///"
    total_texts = [t.get_text() for a in fig.axes for t in a.texts]
    assert total_texts.count("niet getoond") == hidden_cells
    # Panel titles give the published total (with clients without assessment), or none.
    n_all = int((c["municipality"] == muni).sum())
    assert ax.get_title() in (str(muni), f"{muni} (n = {n_all:,})".replace(",", "."))
    fig2 = pmc_heatmap_figure(r)
    assert "niet getoond" in [t.get_text() for t in fig2.axes[0].texts]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_english_output(cl3000):
    from caseload.figures.segments import pyramid_figure

    r = segment(cl3000, lang="en")
    assert r.clients["segment_reason"].dropna().str.startswith(("Group ", "No assessment")).all()
    assert "Go-getter with perseverance" in set(r.pmc_table["profile_label"])
    fig = pyramid_figure(r)
    assert fig.axes[0].get_yticklabels()[0].get_text() == "C: not yet placeable"
    import matplotlib.pyplot as plt

    plt.close("all")


# --------------------------------------------------------------------------- cut-off methods


def test_resolve_cutoffs_by_hand():
    from caseload.segment import resolve_cutoffs

    p = np.array([0.9, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert resolve_cutoffs(p, (0.25, 0.66)) == (0.25, 0.66)
    # capacity 3: A = 0.9, 0.7; B = the 3 highest below 0.66: 0.5, 0.4, 0.3
    assert resolve_cutoffs(p, "capacity", b_capacity=3) == (0.3, 0.66)
    # more capacity than people below A: all of them are B
    assert resolve_cutoffs(p, "capacity", b_capacity=100) == (0.05, 0.66)
    lo, hi = resolve_cutoffs(p, "quantile", quantiles=(0.5, 0.75))
    assert (lo, hi) == tuple(np.quantile(p, [0.5, 0.75]))
    with pytest.raises(CaseloadError, match="unknown cut-off method"):
        resolve_cutoffs(p, "median")
    with pytest.raises(CaseloadError, match="quantiles"):
        resolve_cutoffs(p, "quantile", quantiles=(0.9, 0.5))


def test_capacity_cutoffs_put_exactly_n_in_b(cl3000, fitted):
    model, _ = fitted
    r = segment(cl3000, config={"cutoffs": "capacity", "b_capacity": 150}, model=model)
    c = r.clients
    assert (c["segment_computed"] == "B").sum() == 150
    has_p = c["p_work_6m"].notna()
    assert ((c.loc[has_p, "segment_computed"] == "A") == (c.loc[has_p, "p_work_6m"] >= 0.66)).all()
    b_min = c.loc[c["segment_computed"] == "B", "p_work_6m"].min()
    assert (c.loc[c["segment_computed"] == "C", "p_work_6m"] < b_min).all()
    assert r.cutoffs["method"] == "capacity" and r.cutoffs["c_below"] == pytest.approx(b_min)
    assert r.cutoffs["b_capacity"] == 150
    # the table shows the cut-offs, the work rate and the precision per group on history
    t = r.cutoff_table.set_index("segment")
    h = r.history
    for s in "ABC":
        sel = h["segment"] == s
        assert t.loc[s, "n"] == sel.sum()
        if sel.any():
            assert t.loc[s, "work_rate"] == pytest.approx(h.loc[sel, "exit_work_6m"].mean())
        else:  # with realistic chances few or none reach the AMS cut-off 0.66
            assert np.isnan(t.loc[s, "work_rate"])
    assert t.loc["C", "precision"] == pytest.approx(1 - t.loc["C", "work_rate"])
    assert t.loc["A", "precision"] == pytest.approx(t.loc["A", "work_rate"]) or t.loc["A", "n"] == 0
    assert np.isnan(t.loc["B", "precision"])
    assert t.loc["B", "p_from"] == pytest.approx(b_min) and t.loc["B", "p_below"] == 0.66
    # the capacity B is no longer empty, unlike the fixed AMS cut-offs
    r_fixed = segment(cl3000, model=model)
    assert (r_fixed.clients["segment_computed"] == "B").sum() < 150


def test_quantile_cutoffs_and_config(cl3000, fitted):
    from caseload.config import SegmentConfig

    model, _ = fitted
    r = segment(cl3000, config={"cutoffs": "quantile", "quantiles": (0.5, 0.8)}, model=model)
    seg = r.clients["segment_computed"].dropna().astype(str)
    shares = seg.value_counts(normalize=True)
    assert abs(shares["C"] - 0.5) < 0.01 and abs(shares["A"] - 0.2) < 0.01
    assert r.cutoffs["method"] == "quantile"
    assert SegmentConfig(cutoffs="capacity", b_capacity=1500).cutoffs == "capacity"
    with pytest.raises(Exception, match="cutoffs"):
        SegmentConfig(cutoffs="median")


def test_fit_with_capacity_cutoffs_records_them(cl3000):
    model, rep = fit_segment_model(cl3000, {"cutoffs": "capacity", "b_capacity": 100})
    assert model.cutoff_method_["method"] == "capacity"
    assert model.cutoffs[1] == 0.66 and 0 < model.cutoffs[0] < 0.66
    assert set(rep["cutoff_table"]["segment"]) == {"A", "B", "C"}
