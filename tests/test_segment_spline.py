"""Restricted cubic splines of the segmentation model (issue 14): the basis against patsy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caseload.errors import CaseloadError
from caseload.segment.model import SPLINE_QUANTILES, _design, rcs_basis, spline_knots


def _span_residual(a: np.ndarray, b: np.ndarray) -> float:
    """Largest residual of regressing each column of ``b`` on the columns of ``a``."""
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    return float(np.abs(a @ coef - b).max())


def test_rcs_spans_patsys_natural_cubic_spline():
    # Reference: patsy's natural cubic regression spline cr() with the same four knots
    # (two inner knots and the two boundary knots) spans the same 4-dimensional space as
    # a constant, x and the two restricted-cubic-spline columns.
    patsy = pytest.importorskip("patsy")
    rng = np.random.default_rng(1)
    x = rng.uniform(18, 66, 2000)
    knots = np.quantile(x, SPLINE_QUANTILES)
    ours = np.column_stack([np.ones_like(x), x, rcs_basis(x, knots)])
    ref = np.asarray(patsy.cr(x, knots=knots[1:3], lower_bound=knots[0], upper_bound=knots[3]))
    assert ref.shape[1] == 4 and ours.shape[1] == 4
    scale = np.abs(ref).max()
    assert _span_residual(ours, ref) < 1e-8 * scale
    assert _span_residual(ref, ours) < 1e-8 * np.abs(ours).max()


def test_rcs_is_linear_outside_the_outer_knots_and_keeps_nan():
    knots = [20.0, 30.0, 40.0, 60.0]
    x = np.array([5.0, 10.0, 15.0, 70.0, 80.0, 90.0, np.nan])
    b = rcs_basis(x, knots)
    assert b.shape == (7, 2)
    assert np.all(b[:3] == 0)  # below the first knot every term is 0
    d = np.diff(b[3:6], axis=0)  # above the last knot: linear (equal steps)
    np.testing.assert_allclose(d[0], d[1], rtol=1e-12)
    assert np.isnan(b[6]).all()


def test_spline_features_need_the_fitted_knots():
    frame = pd.DataFrame({"age": [20.0, 30, 40, 50, 60], "duration_months": [1.0, 6, 12, 24, 60]})
    feats = ["age_years", "age_rcs_1", "age_rcs_2", "duration_years", "duration_rcs_1"]
    knots = spline_knots(frame, feats)
    assert set(knots) == {"age", "duration"}
    np.testing.assert_allclose(knots["age"], np.quantile(frame["age"], SPLINE_QUANTILES))
    X = _design(frame, feats, knots=knots)
    np.testing.assert_allclose(X["age_rcs_2"], rcs_basis(frame["age"].to_numpy(), knots["age"])[:, 1])
    with pytest.raises(CaseloadError, match="needs spline knots"):
        _design(frame, feats)
    with pytest.raises(CaseloadError, match="too few distinct values"):
        spline_knots(frame.assign(age=40.0), feats)
