"""Statistical A/B/C: the chance of exit to work within six months.

:func:`caseload.segment.frames.training_frame` turns history into examples:
every assessment made during an open benefit spell, labelled 1 when that spell
ended with ``werk`` or ``werk_deels`` within ``horizon_months`` after the
assessment. :class:`SegmentModel` learns the chance from those examples (logistic regression by default, gradient
boosting as an option) and turns it into A/B/C with two cut-offs, like Austria's
AMS: A at 66% or more, C below 25%, B in between.

Features are the assessment (ladder step, werkfit, barriers, competences),
household (dated: from the spell), the partner's ladder step and werkfit (their
latest assessment on or before the date), age and the elapsed duration of the
spell, each as known on the assessment date. Education and new-target-group
status come from the undated clients table: a status recorded later would leak
into old examples, so they are left out by default (:data:`UNDATED_FEATURES`;
a config may opt in with ``segment.features``). Sex, migration background and
statushouder are never features; they are used only in the fairness report.
``barrier_language`` is a proxy for ethnicity (the Rotterdam lesson) and enters the
model only when the config opts in (``segment.proxy_features``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError, ConfigError, NotFittedError
from caseload.schema import BARRIERS, COMPETENCES, HOUSEHOLD, SEGMENT, Caseload
from caseload.segment.frames import LABEL, training_frame

__all__ = [
    "UNDATED_FEATURES",
    "PROXY_FEATURES",
    "DEFAULT_FEATURES",
    "FEATURE_LABELS",
    "SegmentModel",
    "SPLINE_QUANTILES",
    "rcs_basis",
    "spline_knots",
    "evaluate",
    "calibration_table",
]

PROXY_FEATURES = frozenset({"barrier_language", "nationality", "language", "neighbourhood",
                            "postcode", "migration_background", "statushouder"})
"""Columns that can stand in for ethnicity; a feature only with explicit opt-in."""

_NEVER = frozenset({"sex", "migration_background", "statushouder"})

UNDATED_FEATURES = ("education_middel", "education_hoog", "new_target_group")
"""Features from the undated clients table, left out of :data:`DEFAULT_FEATURES`:
their value on an old assessment date is unknown (issue 14)."""

DEFAULT_FEATURES: tuple[str, ...] = (
    "ladder_1",
    "ladder_2",
    "ladder_3",
    "ladder_5",
    "ladder_6",
    "werkfit",
    *[b for b in BARRIERS if b != "barrier_language"],
    *COMPETENCES,
    "household_alleenstaande_ouder",
    "household_paar",
    "household_paar_met_kinderen",
    "partner",
    "partner_ladder_1",
    "partner_ladder_2",
    "partner_ladder_3",
    "partner_ladder_5",
    "partner_ladder_6",
    "partner_werkfit",
    "age_15_26",
    "age_years",
    "age_rcs_1",
    "age_rcs_2",
    "duration_years",
    "duration_rcs_1",
    "duration_rcs_2",
    "duration_years_age_27_plus",
)

SPLINE_QUANTILES = (0.05, 0.35, 0.65, 0.95)
"""Knots of the restricted cubic splines in age and duration: these quantiles of the
training examples (the default for four knots in Harrell, Regression Modeling
Strategies). No knot is placed by hand."""

_SPLINE_SOURCE = {"age": "age", "duration": "duration_years"}

FEATURE_LABELS: dict[str, tuple[str, str]] = {
    "ladder_step": ("Trede participatieladder (per trede)", "Ladder step (per step)"),
    **{f"ladder_{k}": (f"Trede {k} (t.o.v. trede 4)", f"Ladder step {k} (vs step 4)") for k in range(1, 7)},
    **{f"household_{h}": (f"Leefvorm: {HOUSEHOLD.label(h).lower()} (t.o.v. alleenstaande)",
                          f"Household: {HOUSEHOLD.label(h, 'en').lower()} (vs single)") for h in HOUSEHOLD},
    "werkfit": ("Werkfit", "Work-fit"),
    **{b: (f"Belemmering: {BARRIERS.label(b).lower()}", f"Barrier: {BARRIERS.label(b, 'en').lower()}")
       for b in BARRIERS},
    **{c: (f"{COMPETENCES.label(c)} (per punt)", f"{COMPETENCES.label(c, 'en')} (per point)")
       for c in COMPETENCES},
    "age_15_26": ("Leeftijd 15-26 jaar (t.o.v. 27-44)", "Age 15-26 (vs 27-44)"),
    "age_45_plus": ("Leeftijd 45 jaar en ouder (t.o.v. 27-44)", "Age 45 and over (vs 27-44)"),
    "years_over_45": ("Leeftijd: per jaar boven 45", "Age: per year over 45"),
    "years_over_55": ("Leeftijd: per jaar boven 55 (bovenop 45)", "Age: per year over 55 (on top of 45)"),
    "age_years": ("Leeftijd (per jaar)", "Age (per year)"),
    **{f"age_rcs_{j}": (f"Leeftijd: kromming {j} (restricted cubic spline)",
                        f"Age: curvature term {j} (restricted cubic spline)") for j in (1, 2)},
    **{f"duration_rcs_{j}": (f"Duur uitkering: kromming {j} (restricted cubic spline)",
                             f"Benefit duration: curvature term {j} (restricted cubic spline)") for j in (1, 2)},
    "education_middel": ("Opleiding middelbaar (t.o.v. laag/onbekend)", "Education intermediate (vs low/unknown)"),
    "education_hoog": ("Opleiding hoog (t.o.v. laag/onbekend)", "Education high (vs low/unknown)"),
    "new_target_group": ("Nieuwe doelgroep (arbeidsbeperking)", "New target group (work limitation)"),
    "duration_years": ("Duur uitkering (per jaar)", "Benefit duration (per year)"),
    "duration_years_over_3": ("Duur uitkering: per jaar boven 3 (bovenop de duur)",
                              "Benefit duration: per year over 3 (on top of duration)"),
    "duration_years_age_27_plus": ("Duur uitkering (per jaar) bij 27 jaar en ouder (bovenop de duur)",
                                   "Benefit duration (per year) at age 27 and over (on top of duration)"),
    "partner": ("Partner op hetzelfde dossier", "Partner on the same dossier"),
    **{f"partner_ladder_{k}": (f"Partner op trede {k} (t.o.v. trede 4)", f"Partner at ladder step {k} (vs step 4)")
       for k in range(1, 7)},
    "partner_werkfit": ("Partner werkfit", "Partner work-fit"),
    "intercept": ("Constante", "Intercept"),
}


# --------------------------------------------------------------------------- features


def rcs_basis(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """Nonlinear columns of a restricted (natural) cubic spline in ``x`` (Harrell).

    With ``k`` knots ``t_1 < ... < t_k`` the spline is ``b0 x + sum_j b_j x_j`` with,
    for ``j = 1 .. k-2``, ``x_j = (x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j) / (t_k - t_{k-1})
    + (x - t_k)+^3 (t_{k-1} - t_j) / (t_k - t_{k-1})``, divided by ``(t_k - t_1)^2``
    (Harrell's scaling): cubic between the knots, linear beyond the outer ones.
    Returns the ``(n, k-2)`` columns; NaN stays NaN. The columns with ``x`` and a
    constant span the same space as patsy's natural cubic regression spline ``cr``
    with the same knots (tests/test_segment_spline.py checks that).
    """
    t = np.asarray(knots, dtype="float64")
    k = len(t)
    x = np.asarray(x, dtype="float64")[:, None]

    def cube(u):
        return np.clip(u, 0, None) ** 3

    tj = t[None, : k - 2]
    out = (cube(x - tj) - cube(x - t[k - 2]) * (t[k - 1] - tj) / (t[k - 1] - t[k - 2])
           + cube(x - t[k - 1]) * (t[k - 2] - tj) / (t[k - 1] - t[k - 2]))
    return out / (t[k - 1] - t[0]) ** 2


def spline_knots(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, list[float]]:
    """Knots (:data:`SPLINE_QUANTILES` of the frame) of the splines ``features`` use."""
    knots = {}
    for name, col in _SPLINE_SOURCE.items():
        if any(f.startswith(f"{name}_rcs_") for f in features):
            x = _source(frame, col)
            x = x[np.isfinite(x)]
            if len(x) == 0:
                raise CaseloadError(f"no known values of {col} to place the spline knots.",
                                    fix=f"Drop the {name}_rcs_* features or supply {col}.")
            q = np.unique(np.quantile(x, SPLINE_QUANTILES))
            if len(q) < 3:
                raise CaseloadError(f"{col} has too few distinct values for a spline ({len(q)} knots).",
                                    fix=f"Drop the {name}_rcs_* features.")
            knots[name] = [float(v) for v in q]
    return knots


def _source(frame: pd.DataFrame, col: str) -> np.ndarray:
    """Age in years or spell duration in years (NaN where unknown)."""
    n = len(frame)
    if col == "duration_years":
        return (pd.to_numeric(frame["duration_months"], errors="coerce").to_numpy("float64", na_value=np.nan)
                if "duration_months" in frame else np.full(n, np.nan)) / 12.0
    return (pd.to_numeric(frame[col], errors="coerce").to_numpy("float64", na_value=np.nan)
            if col in frame else np.full(n, np.nan))


def _design(frame: pd.DataFrame, features: Sequence[str], fill: dict | None = None,
            knots: dict | None = None) -> pd.DataFrame:
    """Numeric feature matrix (float64, NaN where unknown, or ``fill`` per feature).

    ``knots``: the spline knots per source (``{"age": [...], "duration": [...]}``,
    :func:`spline_knots`), needed for ``age_rcs_*`` and ``duration_rcs_*``.

    Built as one 2-D array: at 500,000 rows a DataFrame of separate columns and a
    ``fillna`` per column would copy the data many times.
    """
    n = len(frame)
    cols: dict[str, np.ndarray] = {}
    codes_cache: dict[str, tuple[np.ndarray, pd.Index]] = {}

    num_cache: dict[str, np.ndarray] = {}

    def num(col: str) -> np.ndarray:
        if col not in num_cache:
            num_cache[col] = (pd.to_numeric(frame[col], errors="coerce").to_numpy("float64", na_value=np.nan)
                              if col in frame else np.full(n, np.nan))
        return num_cache[col]

    def equals(col: str, value: str) -> np.ndarray:
        # Factorize a text column once, then compare small integer codes.
        if col not in codes_cache:
            codes_cache[col] = pd.factorize(frame[col]) if col in frame else (np.full(n, -1), pd.Index([]))
        codes, uniques = codes_cache[col]
        hit = uniques.get_indexer([value])[0] if len(uniques) else -1
        return np.where(codes < 0, np.nan, (codes == hit).astype("float64"))

    age = (pd.to_numeric(frame["age"], errors="coerce").to_numpy("float64", na_value=np.nan)
           if "age" in frame else np.full(n, np.nan))
    rcs_cache: dict[str, np.ndarray] = {}
    for f in features:
        if f == "age_years":
            cols[f] = age
        elif f.startswith(("age_rcs_", "duration_rcs_")):
            name, j = f.rsplit("_rcs_", 1)
            if not knots or name not in knots:
                raise CaseloadError(f"feature {f} needs spline knots; the model has none for {name}.",
                                    fix="Refit the model (the knots are set when it is fitted).")
            if name not in rcs_cache:
                rcs_cache[name] = rcs_basis(_source(frame, _SPLINE_SOURCE[name]), knots[name])
            if not 1 <= int(j) <= rcs_cache[name].shape[1]:
                raise CaseloadError(f"feature {f}: the spline in {name} has {rcs_cache[name].shape[1]} "
                                    "curvature terms.", fix="Use as many knots as the terms need plus 2.")
            cols[f] = rcs_cache[name][:, int(j) - 1]
        elif f == "age_15_26":
            cols[f] = np.where(np.isnan(age), np.nan, (age <= 26).astype("float64"))
        elif f == "age_45_plus":
            cols[f] = np.where(np.isnan(age), np.nan, (age >= 45).astype("float64"))
        elif f in ("years_over_45", "years_over_55"):
            # A linear spline in age: the chance falls faster after 45 and again after 55.
            cols[f] = np.clip(age - float(f[11:13]), 0, None)
        elif f.startswith("partner_ladder_") and f not in frame:
            # No partner, or a partner without assessment: 0 (the partner_* terms then vanish).
            cols[f] = (num("partner_ladder_step") == float(f.removeprefix("partner_ladder_"))).astype(float)
        elif f in ("partner", "partner_werkfit"):
            cols[f] = (frame[f].fillna(False).to_numpy(dtype=float) if f in frame else np.zeros(n))
        elif f.startswith("ladder_") and f != "ladder_step" and f not in frame:
            step = num("ladder_step")
            cols[f] = np.where(np.isnan(step), np.nan, (step == float(f.removeprefix("ladder_"))).astype(float))
        elif f.startswith("household_") and f not in frame:
            cols[f] = equals("household", f.removeprefix("household_"))
        elif f.startswith("education_") and f not in frame:
            cols[f] = equals("education", f.removeprefix("education_"))
        elif f in ("duration_years", "duration_years_over_3", "duration_years_age_27_plus"):
            d = (pd.to_numeric(frame["duration_months"], errors="coerce").to_numpy("float64", na_value=np.nan)
                 if "duration_months" in frame else np.full(n, np.nan)) / 12.0
            if f == "duration_years_over_3":
                # a linear spline: the duration effect changes after three years
                d = np.clip(d - 3.0, 0, None)
            elif f == "duration_years_age_27_plus":
                # the duration effect differs from age 27 (an age x duration interaction)
                d = np.where(np.isnan(age), np.nan, d * (age >= 27))
            cols[f] = d
        elif f in frame:
            s = frame[f]
            if s.dtype == bool or str(s.dtype) == "boolean":
                cols[f] = s.astype("float64").to_numpy(na_value=np.nan) if str(s.dtype) == "boolean" \
                    else s.to_numpy("float64")
            else:
                cols[f] = pd.to_numeric(s, errors="coerce").to_numpy("float64", na_value=np.nan)
        else:
            cols[f] = np.full(n, np.nan)
    X = np.empty((n, len(features)), dtype="float64", order="F")  # column writes stay contiguous
    for j, f in enumerate(features):
        X[:, j] = cols[f]
    if fill is not None:
        med = np.array([fill.get(f, 0.0) for f in features])
        rows, js = np.nonzero(np.isnan(X))
        X[rows, js] = med[js]
    return pd.DataFrame(X, index=frame.index, columns=list(features), copy=False)


def _check_features(features: Sequence[str], proxy_opt_in: Sequence[str]) -> list[str]:
    features = list(features)
    never = [f for f in features if f in _NEVER]
    if never:
        raise ConfigError(f"{never} cannot be model features.", column="segment.features",
                          fix="Remove them; sex, migration background and statushouder are used "
                              "only in the fairness report.")
    proxies = [f for f in features if f in PROXY_FEATURES and f not in proxy_opt_in]
    if proxies:
        bad = sorted(proxies)
        raise ConfigError(f"feature(s) {bad} act as a proxy for ethnicity.", column="segment.features",
                          fix="Remove them, or opt in explicitly with segment.proxy_features = "
                              f"{bad} and document why.")
    return features


# --------------------------------------------------------------------------- estimator


class SegmentModel:
    """Chance of exit to work within six months, and A/B/C from cut-offs.

    Parameters
    ----------
    method : {"logistic", "gbm"}
        Logistic regression (readable odds ratios; default) or histogram gradient
        boosting.
    cutoffs : (float, float)
        ``(c_below, a_from)``: C when p < c_below, A when p >= a_from, else B.
        Default (0.25, 0.66) as Austria's AMS.
    features : sequence of str, optional
        Default :data:`DEFAULT_FEATURES` (no proxies for ethnicity).
    proxy_features : sequence of str
        Proxy columns explicitly allowed as features (default none).
    calibration : {"auto", "isotonic", "sigmoid", "none"}
        For ``gbm``: ``auto`` is isotonic with at least 5,000 training examples
        (isotonic is free-form and needs many events), sigmoid below. Logistic
        regression is not recalibrated: maximum likelihood with an intercept makes
        the mean prediction equal the observed rate, and :func:`evaluate` checks
        calibration per decile on the hold-out.
    C : float
        Inverse L2 penalty of the logistic regression (large: nearly none, so the
        odds ratios match an unpenalised fit).
    random_state : int

    Attributes
    ----------
    estimator_ : sklearn estimator
    features_ : list of str
    knots_ : dict
        Knots of the age and duration splines (:func:`spline_knots`), set at fit.
    medians_ : dict
        Training medians used for missing feature values.
    training_ : dict
        Counts, period and data hash of the training examples.
    """

    def __init__(self, method: str = "logistic", cutoffs: tuple[float, float] = (0.25, 0.66),
                 features: Sequence[str] | None = None, proxy_features: Sequence[str] = (),
                 calibration: str = "auto", C: float = 1e4, random_state: int = 0):
        self.method = method
        self.cutoffs = cutoffs
        self.features = features
        self.proxy_features = proxy_features
        self.calibration = calibration
        self.C = C
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None) -> SegmentModel:
        """Fit on a :class:`Caseload` (examples from :func:`training_frame`) or a frame.

        Parameters
        ----------
        X : Caseload or DataFrame
            A DataFrame must have the feature source columns and, unless ``y`` is
            given, the label column ``exit_work_6m``.
        y : array-like of 0/1, optional
        """
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        lo, hi = self.cutoffs
        if not 0 < lo < hi < 1:
            raise ConfigError(f"cut-offs {self.cutoffs} must satisfy 0 < C-below < A-from < 1.",
                              column="segment.cutoffs", fix="E.g. cutoffs = [0.25, 0.66].")
        if self.method not in ("logistic", "gbm"):
            raise ConfigError(f"unknown model method {self.method!r}.", column="segment.model_method",
                              fix='Use "logistic" or "gbm".')
        frame = training_frame(X) if isinstance(X, Caseload) else X
        if y is None:
            if LABEL not in frame:
                raise CaseloadError(f"the training frame has no column '{LABEL}'.",
                                    fix="Build it with caseload.segment.training_frame(caseload).")
            y = frame[LABEL]
        y = np.asarray(y, dtype="int64")
        if len(np.unique(y)) < 2:
            raise CaseloadError("the training examples have only one outcome (all exits or none).",
                                fix="Use a longer history or check the end reasons of the spells.")
        self.features_ = _check_features(self.features or DEFAULT_FEATURES, self.proxy_features)
        self.knots_ = spline_knots(frame, self.features_)
        Xd = _design(frame, self.features_, knots=self.knots_)
        med = Xd.median()
        self.medians_ = {k: (0.0 if pd.isna(v) else float(v)) for k, v in med.items()}
        Xd = Xd.fillna(self.medians_)
        if self.method == "logistic":
            # Tight tolerance: the odds ratios are read by people and checked against statsmodels.
            est = LogisticRegression(C=self.C, solver="newton-cholesky", max_iter=200, tol=1e-8)
            self.calibration_ = "none"
        else:
            base = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                                  l2_regularization=1.0, random_state=self.random_state)
            cal = self.calibration
            if cal == "auto":
                cal = "isotonic" if len(y) >= 5000 else "sigmoid"
            if cal == "none":
                est = base
            else:
                est = CalibratedClassifierCV(base, method=cal, cv=3)
            self.calibration_ = cal
        with _threads(self.method):
            est.fit(Xd, y)
        self.estimator_ = est
        dates = frame["assessed_on"] if "assessed_on" in frame else pd.Series(dtype="datetime64[ns]")
        self.training_ = {
            "n": int(len(y)),
            "events": int(y.sum()),
            "period": [None if dates.empty else dates.min().date().isoformat(),
                       None if dates.empty else dates.max().date().isoformat()],
            "data_sha256": _frame_hash(Xd, y),
            "counts": dict(frame.attrs.get("counts", {})),
            "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return self

    def _check(self):
        if not hasattr(self, "estimator_"):
            raise NotFittedError("this SegmentModel is not fitted yet.",
                                 fix="Call .fit(training_frame(caseload)) or load a saved model first.")

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """``(n, 2)`` array: chance of no exit and of exit to work within six months."""
        self._check()
        Xd = _design(X, self.features_, fill=self.medians_, knots=getattr(self, "knots_", None))
        with _threads(self.method):
            return self.estimator_.predict_proba(Xd)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """A/B/C per row from the cut-offs."""
        return self.segments_from_p(self.predict_proba(X)[:, 1])

    def segments_from_p(self, p: np.ndarray) -> np.ndarray:
        """A/B/C from probabilities: C if p < low, A if p >= high, else B."""
        lo, hi = self.cutoffs
        return np.where(p >= hi, "A", np.where(p < lo, "C", "B")).astype(object)

    def reasons(self, p: np.ndarray, lang: str = "nl") -> np.ndarray:
        """``segment_reason`` sentences naming the model, the chance and the cut-off."""
        lo, hi = self.cutoffs
        seg = self.segments_from_p(p)
        pct = np.round(p * 100).astype(int).astype(str)
        if lang == "en":
            rule = np.where(seg == "A", f"at least {hi:.0%}", np.where(seg == "C", f"below {lo:.0%}",
                            f"between {lo:.0%} and {hi:.0%}"))
            text = "Group " + seg + " by the statistical model: estimated chance of work within 6 months " \
                + pct + "% (" + rule + ")."
        else:
            rule = np.where(seg == "A", f"{hi:.0%} of meer", np.where(seg == "C", f"onder {lo:.0%}",
                            f"tussen {lo:.0%} en {hi:.0%}"))
            text = "Groep " + seg + " volgens het statistisch model: geschatte kans op werk binnen " \
                "6 maanden " + pct + "% (" + rule + ")."
        return text.astype(object)

    def coef_table(self, lang: str = "nl", alpha: float = 0.05) -> pd.DataFrame:
        """Odds ratios with Wald confidence intervals (logistic only).

        Standard errors come from the inverse of the observed information
        ``X'WX`` at the fitted coefficients (the same as statsmodels' ``Logit``
        for an unpenalised fit); they are only shown, not used for decisions.
        """
        self._check()
        if self.method != "logistic":
            raise CaseloadError("coef_table is only available for method='logistic'.",
                                fix="Use permutation importance for gbm, or fit method='logistic'.")
        from scipy.stats import norm

        est = self.estimator_
        beta = np.r_[est.intercept_, est.coef_.ravel()]
        names = ["intercept", *self.features_]
        se = np.sqrt(np.diag(self.covariance_)) if hasattr(self, "covariance_") else np.full(len(beta), np.nan)
        z = norm.ppf(1 - alpha / 2)
        lvl = f"{1 - alpha:.0%}".replace("%", "")
        idx = 1 if lang == "en" else 0
        out = pd.DataFrame({
            "feature": names,
            "label": [FEATURE_LABELS.get(n, (n, n))[idx] for n in names],
            "coef": beta,
            "se": se,
            "odds_ratio": np.exp(beta),
            f"odds_ratio_lower_{lvl}": np.exp(beta - z * se),
            f"odds_ratio_upper_{lvl}": np.exp(beta + z * se),
        })
        return out

    def attach_covariance(self, frame: pd.DataFrame) -> SegmentModel:
        """Store the covariance of the logistic coefficients, computed on ``frame``."""
        self._check()
        Xd = _design(frame, self.features_, fill=self.medians_, knots=getattr(self, "knots_", None))
        p = self.estimator_.predict_proba(Xd)[:, 1]
        Xc = np.column_stack([np.ones(len(Xd)), Xd.to_numpy()])
        info = (Xc * (p * (1 - p))[:, None]).T @ Xc
        self.covariance_ = np.linalg.pinv(info)
        return self

    _PARAMS = ("method", "cutoffs", "features", "proxy_features", "calibration", "C", "random_state")

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (scikit-learn protocol, so ``sklearn.clone`` works)."""
        return {k: getattr(self, k) for k in self._PARAMS}

    def set_params(self, **params) -> SegmentModel:
        """Set constructor parameters (scikit-learn protocol)."""
        for k, v in params.items():
            if k not in self._PARAMS:
                raise ValueError(f"invalid parameter {k!r} for SegmentModel; valid: {self._PARAMS}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return (f"SegmentModel(method={self.method!r}, cutoffs={tuple(self.cutoffs)}, "
                f"random_state={self.random_state})")


def _threads(method: str):
    """One OpenMP thread for gradient boosting.

    On a shared machine, OpenMP threads that spin-wait for busy cores made a
    4,000-row fit 20 times slower (28 s instead of 1.3 s); one thread is never
    much slower at caseload sizes.
    """
    import contextlib

    if method != "gbm":
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _frame_hash(X: pd.DataFrame, y: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(",".join(X.columns).encode())
    h.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    h.update(np.asarray(y, dtype="int64").tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- evaluation


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Observed exit rate against mean predicted chance, per decile of the prediction."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False)
    df = pd.DataFrame({"bin": q.to_numpy() + 1, "y": y, "p": p})
    out = df.groupby("bin").agg(n=("y", "size"), p_mean=("p", "mean"), observed=("y", "mean"),
                                p_min=("p", "min"), p_max=("p", "max")).reset_index()
    out["difference"] = out["observed"] - out["p_mean"]
    return out


def evaluate(model: SegmentModel, test: pd.DataFrame, lang: str = "nl") -> dict:
    """Hold-out metrics of a fitted model.

    Returns
    -------
    dict
        ``metrics`` (n, events, roc_auc, brier, log_loss, mean_p, observed_rate,
        share_A/B/C, exit rate per segment, kappa vs the caseworker, agreement,
        and ``roc_auc_true`` when the frame has ``true_p_work_6m``),
        ``calibration`` (DataFrame per decile), ``confusion`` (model x caseworker
        A/B/C, DataFrame).
    """
    from sklearn.metrics import brier_score_loss, cohen_kappa_score, log_loss, roc_auc_score

    y = test[LABEL].to_numpy("int64")
    p = model.predict_proba(test)[:, 1]
    seg = model.segments_from_p(p)
    m = {
        "n": int(len(y)),
        "events": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "mean_p": float(p.mean()),
        "observed_rate": float(y.mean()),
    }
    if "true_p_work_6m" in test:
        m["roc_auc_true"] = float(roc_auc_score(y, test["true_p_work_6m"].to_numpy("float64")))
    for s in "ABC":
        sel = seg == s
        m[f"share_{s}"] = float(sel.mean())
        m[f"exit_rate_{s}"] = float(y[sel].mean()) if sel.any() else float("nan")
    confusion = pd.DataFrame(0, index=list("ABC"), columns=list("ABC"))
    confusion.index.name = "model"
    confusion.columns.name = "caseworker"
    if "caseworker_segment" in test:
        cw = test["caseworker_segment"].astype("object").to_numpy()
        ok = pd.notna(cw)
        if ok.any():
            confusion = pd.crosstab(pd.Categorical(seg[ok], categories=list("ABC")),
                                    pd.Categorical(cw[ok], categories=list("ABC")), dropna=False)
            confusion.index.name = "model"
            confusion.columns.name = "caseworker"
            m["kappa_caseworker"] = float(cohen_kappa_score(seg[ok].astype(str), cw[ok].astype(str),
                                                            labels=list("ABC")))
            m["agreement_caseworker"] = float((seg[ok] == cw[ok]).mean())
            m["n_caseworker"] = int(ok.sum())
    if lang == "nl":
        confusion.index = [SEGMENT.label(s) for s in confusion.index]
        confusion.index.name = "model"
        confusion.columns = [SEGMENT.label(s) for s in confusion.columns]
        confusion.columns.name = "consulent"
    return {"metrics": m, "calibration": calibration_table(y, p), "confusion": confusion}
