"""Cross-fitted (out-of-fold) chances for the fairness report (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caseload.errors import ConfigError
from caseload.segment import SegmentModel, fit_segment_model, training_frame
from caseload.segment.crossfit import crossfit_groups, crossfit_predict
from caseload.synth import generate

FEATURES = ["ladder_1", "ladder_2", "ladder_3", "ladder_5", "ladder_6", "werkfit", "age_years", "duration_years"]


@pytest.fixture(scope="module")
def caseload():
    return generate(n_clients=3000, random_state=5)


@pytest.fixture(scope="module")
def frame(caseload):
    return training_frame(caseload)


def test_groups_join_dossiers_that_share_a_client():
    f = pd.DataFrame({"client_id": ["a", "a", "b", "c", "d", "d", None],
                      "dossier_id": ["D1", "D2", "D2", "D3", None, None, None]})
    g = crossfit_groups(f)
    # a links D1 and D2, b is on D2: one group; c alone on D3; d without dossier by client; the last row alone.
    assert g[0] == g[1] == g[2]
    assert len({g[0], g[3], g[4], g[6]}) == 4
    assert g[4] == g[5]


def test_folds_never_split_a_dossier_or_a_client(frame):
    p, fold = crossfit_predict(SegmentModel(features=FEATURES), frame)
    assert (fold >= 0).all() and set(np.unique(fold)) == set(range(5))
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
    for col in ("dossier_id", "client_id"):
        per = pd.Series(fold).groupby(frame[col].to_numpy()).nunique()
        assert per.max() == 1, f"a {col} is in {per.max()} folds"
    # the data has both: clients on more than one dossier, and dossiers with two clients
    assert frame.groupby("client_id")["dossier_id"].nunique().max() > 1
    assert frame.groupby("dossier_id")["client_id"].nunique().max() > 1
    sizes = np.bincount(fold)
    assert sizes.min() > 0.8 * len(frame) / 5, sizes


def test_out_of_fold_chance_is_a_fit_without_that_fold(frame):
    """The chances of fold j equal a direct scikit-learn fit on the other folds."""
    from sklearn.linear_model import LogisticRegression

    p, fold = crossfit_predict(SegmentModel(features=FEATURES), frame, random_state=3)
    step = frame["ladder_step"].to_numpy("float64")
    X = np.column_stack([*(step == k for k in (1, 2, 3, 5, 6)), frame["werkfit"].astype(float),
                         frame["age"].astype(float), frame["duration_months"].astype(float) / 12])
    assert np.isfinite(X).all()
    y = frame["exit_work_6m"].to_numpy("int64")
    for j in (0, 3):
        ref = LogisticRegression(C=1e4, solver="lbfgs", max_iter=5000, tol=1e-10)
        ref.fit(X[fold != j], y[fold != j])
        np.testing.assert_allclose(p[fold == j], ref.predict_proba(X[fold == j])[:, 1], rtol=1e-4, atol=1e-6)
    # and not the fit that saw the fold
    ref_all = LogisticRegression(C=1e4, solver="lbfgs", max_iter=5000, tol=1e-10).fit(X, y)
    assert np.abs(p[fold == 0] - ref_all.predict_proba(X[fold == 0])[:, 1]).max() > 1e-4


def test_fit_segment_model_reports_fairness_on_crossfit_data(caseload, frame):
    cfg = {"features": FEATURES}
    m_h, rep_h = fit_segment_model(caseload, {**cfg, "fairness_data": "holdout"})
    m_c, rep_c = fit_segment_model(caseload, cfg)  # crossfit is the default
    # the deployed model and its hold-out metrics do not change
    assert m_c.metrics_["roc_auc"] == m_h.metrics_["roc_auc"] and m_c.metrics_["brier"] == m_h.metrics_["brier"]
    assert rep_h["fairness"].attrs["data"] == "holdout" and rep_h["fairness_frame"] is rep_h["holdout"]
    fair = rep_c["fairness"]
    assert fair.attrs["data"] == "crossfit" and fair.attrs["cluster"] == "dossier_group"
    assert fair.attrs["n_data"] == len(frame) == len(rep_c["fairness_frame"])
    assert len(rep_h["holdout"]) < 0.3 * len(frame)
    fh = rep_c["fairness_frame"]
    np.testing.assert_array_equal(fh["segment"], m_c.segments_from_p(fh["p_work_6m"].to_numpy()))
    assert m_c.fairness_summary_["data"] == "crossfit"
    assert fair.loc[fair["group"] == "sex", "n"].sum() == len(frame)


def test_unknown_fairness_data_is_a_config_error(caseload):
    with pytest.raises(ConfigError, match="fairness_data"):
        fit_segment_model(caseload, {"fairness_data": "all"})
