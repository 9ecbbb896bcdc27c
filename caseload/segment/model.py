"""Statistical A/B/C: the chance of exit to work within six months.

:func:`training_frame` turns history into examples: every assessment made during
an open benefit spell, labelled 1 when that spell ended with ``werk`` or
``werk_deels`` within ``horizon_months`` after the assessment. :class:`SegmentModel`
learns the chance from those examples (logistic regression by default, gradient
boosting as an option) and turns it into A/B/C with two cut-offs, like Austria's
AMS: A at 66% or more, C below 25%, B in between.

Features are the assessment (ladder step, werkfit, barriers, competences), the age
band and the elapsed duration of the spell. Sex, migration background and
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
from caseload.schema import BARRIERS, COMPETENCES, HOUSEHOLD, SEGMENT, WORK_END_REASONS, Caseload

__all__ = [
    "PROXY_FEATURES",
    "DEFAULT_FEATURES",
    "FEATURE_LABELS",
    "training_frame",
    "client_frame",
    "time_split",
    "SegmentModel",
    "evaluate",
    "calibration_table",
]

LABEL = "exit_work_6m"

PROXY_FEATURES = frozenset({"barrier_language", "nationality", "language", "neighbourhood",
                            "postcode", "migration_background", "statushouder"})
"""Columns that can stand in for ethnicity; a feature only with explicit opt-in."""

_NEVER = frozenset({"sex", "migration_background", "statushouder"})

DEFAULT_FEATURES: tuple[str, ...] = (
    "ladder_1",
    "ladder_2",
    "ladder_3",
    "ladder_5",
    "ladder_6",
    "werkfit",
    *[b for b in BARRIERS if b != "barrier_language"],
    *COMPETENCES,
    "education_middel",
    "education_hoog",
    "new_target_group",
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
    "age_45_plus",
    "years_over_45",
    "years_over_55",
    "duration_years",
)

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
    "education_middel": ("Opleiding middelbaar (t.o.v. laag/onbekend)", "Education intermediate (vs low/unknown)"),
    "education_hoog": ("Opleiding hoog (t.o.v. laag/onbekend)", "Education high (vs low/unknown)"),
    "new_target_group": ("Nieuwe doelgroep (arbeidsbeperking)", "New target group (work limitation)"),
    "duration_years": ("Duur uitkering (per jaar)", "Benefit duration (per year)"),
    "partner": ("Partner op hetzelfde dossier", "Partner on the same dossier"),
    **{f"partner_ladder_{k}": (f"Partner op trede {k} (t.o.v. trede 4)", f"Partner at ladder step {k} (vs step 4)")
       for k in range(1, 7)},
    "partner_werkfit": ("Partner werkfit", "Partner work-fit"),
    "intercept": ("Constante", "Intercept"),
}


# --------------------------------------------------------------------------- frames


def _peildatum(caseload: Caseload) -> pd.Timestamp:
    if caseload.peildatum is not None:
        return pd.Timestamp(caseload.peildatum)
    dates = [caseload.spells["start_date"].max(), caseload.spells["end_date"].max(),
             caseload.assessments["assessed_on"].max()]
    return pd.Timestamp(max(d for d in dates if pd.notna(d)))


def _client_columns(clients: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in ("client_id", "municipality", "birth_year", "sex", "migration_background",
                        "statushouder", "education", "new_target_group", "work_limitation", "household")
            if c in clients]
    return clients[keep].drop_duplicates("client_id")


def _add_partner(f: pd.DataFrame, caseload: Caseload, at: pd.Series) -> pd.DataFrame:
    """Partner columns: ``partner`` (another client on the same dossier), and the
    partner's ladder step and werkfit from the partner's latest assessment on or
    before ``at``.

    A couple leaves benefit when either partner finds work, so the partner's
    distance to work is part of the chance (the generator shows it: without these
    columns the model ranks couples far worse than single people).
    """
    f = f.copy()
    f["partner"] = False
    f["partner_ladder_step"] = np.nan
    f["partner_werkfit"] = False
    if "dossier_id" not in f or "dossier_id" not in caseload.spells or f["dossier_id"].isna().all():
        return f
    members = caseload.spells[["dossier_id", "client_id"]].dropna().drop_duplicates()
    pairs = members.merge(members, on="dossier_id", suffixes=("", "_partner"))
    pairs = pairs[pairs["client_id"] != pairs["client_id_partner"]]
    # One partner per dossier and client (the first, if an extract has more).
    pairs = pairs.drop_duplicates(["dossier_id", "client_id"])
    f["_at"] = pd.to_datetime(at.to_numpy()).astype("datetime64[ns]")
    f["_order"] = np.arange(len(f))
    f = f.merge(pairs, on=["dossier_id", "client_id"], how="left")
    f["partner"] = f["client_id_partner"].notna()
    pa = caseload.assessments
    if "werkfit" not in pa:
        pa = pa.assign(werkfit=pd.array([pd.NA] * len(pa), dtype="boolean"))
    pa = pa[["client_id", "assessed_on", "ladder_step", "werkfit"]].rename(
        columns={"client_id": "client_id_partner", "assessed_on": "_at_partner",
                 "ladder_step": "_pl", "werkfit": "_pw"})
    pa = pa.assign(client_id_partner=pa["client_id_partner"].astype("object"),
                   _pl=pd.to_numeric(pa["_pl"], errors="coerce").astype("float64"),
                   _pw=pa["_pw"].astype("boolean"),
                   _at_partner=pa["_at_partner"].astype("datetime64[ns]")).sort_values("_at_partner")
    f["client_id_partner"] = f["client_id_partner"].astype("object")
    f = pd.merge_asof(f.sort_values("_at"), pa, left_on="_at", right_on="_at_partner",
                      by="client_id_partner", direction="backward")
    f["partner_ladder_step"] = f["_pl"]
    f["partner_werkfit"] = f["_pw"].astype("boolean").fillna(False).astype(bool)
    f = f.sort_values("_order").drop(columns=["_at", "_order", "_at_partner", "_pl", "_pw", "client_id_partner"])
    return f.reset_index(drop=True)


def _with_client_columns(f: pd.DataFrame, clients: pd.DataFrame) -> pd.DataFrame:
    """Join client attributes; the spell's household wins over the client's (it is dated)."""
    c = _client_columns(clients)
    if "household" in f:
        c = c.drop(columns=["household"], errors="ignore")
    return f.merge(c, on="client_id", how="left")


def training_frame(caseload: Caseload, horizon_months: int = 6) -> pd.DataFrame:
    """Examples for the model: assessments during an open spell, labelled by exit to work.

    Parameters
    ----------
    caseload : Caseload
    horizon_months : int
        Label window: exit to work (``werk``, ``werk_deels``) within this many
        months after the assessment date.

    Returns
    -------
    DataFrame
        One row per usable assessment: ``client_id``, ``municipality``,
        ``assessed_on``, the assessment columns, ``age``, ``duration_months``,
        ``sex``, ``migration_background``, ``statushouder`` (for fairness only),
        ``exit_work_6m`` (0/1) and any ``true_*`` columns. ``frame.attrs["counts"]``
        holds the numbers of assessments read, not during a spell, censored and used.

    Notes
    -----
    An assessment whose window ends after the peildatum is censored and left out,
    whatever happened: keeping only the early exits among those windows would
    over-state the exit rate. Other exits within the window (moving, partner
    income, ...) count as "no exit to work". When two spells are open at the
    assessment date, the one that started last is used.
    """
    peil = _peildatum(caseload)
    a = caseload.assessments
    s = caseload.spells[["client_id", "spell_id", "start_date", "end_date", "end_reason",
                         *[c for c in ("household", "dossier_id") if c in caseload.spells]]]
    a = a[a["assessed_on"] <= peil].reset_index(drop=True)
    a["_row"] = np.arange(len(a))
    m = a[["client_id", "assessed_on", "_row"]].merge(s, on="client_id", how="inner")
    inside = (m["start_date"] <= m["assessed_on"]) & (m["end_date"].isna() | (m["end_date"] >= m["assessed_on"]))
    m = m[inside].sort_values(["_row", "start_date"]).drop_duplicates("_row", keep="last")
    f = a.merge(m[["_row", *[c for c in s.columns if c != "client_id"]]], on="_row", how="inner")
    n_in_spell = len(f)
    window_end = f["assessed_on"] + pd.DateOffset(months=horizon_months)
    censored = window_end > peil
    f = f[~censored.to_numpy()].copy()
    window_end = window_end[~censored]
    f[LABEL] = (f["end_date"].notna() & (f["end_date"] <= window_end)
                & f["end_reason"].isin(list(WORK_END_REASONS))).astype("int64")
    f = _with_client_columns(f, caseload.clients)
    f = _add_partner(f, caseload, f["assessed_on"])
    f["age"] = f["assessed_on"].dt.year - f["birth_year"].astype("float64")
    f["duration_months"] = (f["assessed_on"] - f["start_date"]).dt.days / 30.4375
    f = f.drop(columns=["_row"]).sort_values(["assessed_on", "client_id"]).reset_index(drop=True)
    f.attrs["counts"] = {
        "assessments": int(len(a)),
        "not_during_spell": int(len(a) - n_in_spell),
        "censored": int(censored.sum()),
        "used": int(len(f)),
        "events": int(f[LABEL].sum()),
        "horizon_months": horizon_months,
        "peildatum": peil.date().isoformat(),
    }
    return f


def client_frame(caseload: Caseload, only_open: bool = True) -> pd.DataFrame:
    """One row per client at the peildatum with the latest assessment on or before it.

    Parameters
    ----------
    caseload : Caseload
    only_open : bool
        Keep only clients with a spell open at the peildatum (the current
        caseload). Ignored when the extract has no spells.

    Returns
    -------
    DataFrame
        ``client_id, municipality``, the latest assessment's columns (missing when
        a client has none; ``has_assessment`` says which), ``age`` and
        ``duration_months`` (of the open spell) at the peildatum, and the fairness
        columns.
    """
    peil = _peildatum(caseload)
    clients = caseload.clients
    if not clients["client_id"].is_unique:
        clients = clients.drop_duplicates("client_id")
    # Work on integer positions instead of merging on string ids and filtering whole
    # tables: at 500,000 clients string merges and frame copies cost seconds.
    key = pd.Index(clients["client_id"])
    s = caseload.spells
    is_open = ((s["start_date"] <= peil) & (s["end_date"].isna() | (s["end_date"] >= peil))).to_numpy()
    spell_row = _last_per_client(key.get_indexer(s["client_id"]), is_open, s["start_date"].to_numpy(),
                                 len(key))
    keep = spell_row >= 0 if (only_open and len(s)) else np.ones(len(key), dtype=bool)
    a = caseload.assessments
    a_row = _last_per_client(key.get_indexer(a["client_id"]), (a["assessed_on"] <= peil).to_numpy(),
                             a["assessed_on"].to_numpy(), len(key))
    spell_row, a_row = spell_row[keep], a_row[keep]
    sel = np.flatnonzero(keep)

    cols: dict[str, object] = {}
    for c in _client_columns(clients.iloc[:0]).columns:
        cols[c] = clients[c].array.take(sel)
    for c in a.columns:
        if c not in ("client_id", "peildatum", "municipality"):
            cols[c] = _take(a[c], a_row).array
    if "household" in s:
        hh = _take(s["household"], spell_row)
        cols["household"] = (hh.fillna(pd.Series(cols["household"])) if "household" in cols else hh).array
    cols["has_assessment"] = a_row >= 0
    start = _take(s["start_date"], spell_row)
    cols["age"] = float(peil.year) - pd.to_numeric(pd.Series(cols["birth_year"]), errors="coerce").to_numpy(
        "float64", na_value=np.nan)
    cols["duration_months"] = (peil - start).dt.days.to_numpy() / 30.4375
    # Partner: another client on the dossier of the open spell, and their latest assessment.
    n = len(sel)
    partner = np.full(n, -1, dtype="int64")
    if "dossier_id" in s and s["dossier_id"].notna().any():
        codes, _ = pd.factorize(_take(s["dossier_id"], spell_row), use_na_sentinel=True)
        order = np.argsort(codes, kind="stable")
        c_sorted = codes[order]
        same = c_sorted[1:] == c_sorted[:-1]
        same_next = np.r_[same, False] & (c_sorted >= 0)
        same_prev = np.r_[False, same]
        first = np.flatnonzero(same_next & ~same_prev)  # the first two members are partners
        partner[order[first]] = order[first + 1]
        partner[order[first + 1]] = order[first]
    has_p = partner >= 0
    p_row = np.where(has_p, a_row[np.maximum(partner, 0)], -1)
    cols["partner"] = has_p
    cols["partner_ladder_step"] = pd.to_numeric(_take(a["ladder_step"], p_row), errors="coerce").to_numpy(
        "float64", na_value=np.nan)
    cols["partner_werkfit"] = (_take(a["werkfit"], p_row).astype("boolean").fillna(False).to_numpy(bool)
                               if "werkfit" in a else np.zeros(n, dtype=bool))
    return pd.DataFrame(cols)


def _last_per_client(pos: np.ndarray, valid: np.ndarray, when: np.ndarray, n: int) -> np.ndarray:
    """Row number of the latest valid row per client position (-1: none)."""
    rows = np.flatnonzero(valid & (pos >= 0))
    p = pos[rows]
    order = np.lexsort((when[rows], p))
    p_sorted = p[order]
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True] if len(order) else np.array([], dtype=bool)
    out = np.full(n, -1, dtype="int64")
    out[p_sorted[last]] = rows[order[last]]
    return out


def _take(col: pd.Series, rows: np.ndarray) -> pd.Series:
    """``col`` at positions ``rows``; -1 gives a missing value of the column's type."""
    from pandas.api.extensions import ExtensionDtype, take

    arr = col.array if isinstance(col.dtype, ExtensionDtype) else col.to_numpy()
    if arr.dtype == bool:
        arr = pd.array(arr, dtype="boolean")
    return pd.Series(take(arr, rows, allow_fill=True), copy=False)


def time_split(frame: pd.DataFrame, split_date=None, test_fraction: float = 0.25):
    """Split examples by assessment date: train before ``split_date``, test on or after.

    Without ``split_date`` the date is chosen so that about ``test_fraction`` of
    the examples (the most recent) form the test set.
    """
    if split_date is None:
        split_date = frame["assessed_on"].quantile(1 - test_fraction)
    split_date = pd.Timestamp(split_date)
    train = frame[frame["assessed_on"] < split_date]
    test = frame[frame["assessed_on"] >= split_date]
    if len(train) == 0 or len(test) == 0:
        raise CaseloadError(f"time split at {split_date.date()} leaves an empty train or test set.",
                            column="segment.holdout_from",
                            fix="Choose a date between the first and the last assessment.")
    return train, test


# --------------------------------------------------------------------------- features


def _design(frame: pd.DataFrame, features: Sequence[str], fill: dict | None = None) -> pd.DataFrame:
    """Numeric feature matrix (float64, NaN where unknown, or ``fill`` per feature).

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
    for f in features:
        if f == "age_15_26":
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
        elif f == "duration_years":
            d = (pd.to_numeric(frame["duration_months"], errors="coerce").to_numpy("float64", na_value=np.nan)
                 if "duration_months" in frame else np.full(n, np.nan))
            cols[f] = d / 12.0
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
        Xd = _design(frame, self.features_)
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
        Xd = _design(X, self.features_, fill=self.medians_)
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
        Xd = _design(frame, self.features_, fill=self.medians_)
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
