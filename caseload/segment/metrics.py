"""Cut-offs, hold-out metric intervals and the fairness summary of a fitted model.

Split from :mod:`caseload.segment.core`; the names are re-exported there and in
:mod:`caseload.segment`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import SEGMENT
from caseload.segment.fairness import fairness_ratios
from caseload.segment.frames import LABEL

__all__ = ["fairness_summary", "resolve_cutoffs", "auc_interval", "metric_intervals", "cutoff_table"]


def fairness_summary(fair: pd.DataFrame) -> dict:
    """The fairness part of a model card: every level and every pairwise ratio, rounded.

    Results for all groups (not only flagged ones), with their intervals, so that a
    reader of the card sees the size and the uncertainty of each difference.
    """
    levels = fair[["group", "level", "n", "share_A", "share_B", "share_C", "work_rate", "work_rate_lo",
                   "work_rate_hi", "calibration", "calibration_lo", "calibration_hi", "missed", "missed_lo",
                   "missed_hi", "missed_expected", "wrong_A", "wrong_A_lo", "wrong_A_hi", "wrong_A_expected",
                   "band_ratio", "band_ratio_lo", "band_ratio_hi"]]
    ratios = fairness_ratios(fair)
    num = ratios.select_dtypes("number").columns
    ratios[num] = ratios[num].round(3)
    return {
        "ratio": fair.attrs.get("ratio"),
        "interval": fair.attrs.get("interval"),
        "data": fair.attrs.get("data"),
        "n_data": fair.attrs.get("n_data"),
        "groups_checked": sorted(fair["group"].unique().tolist()),
        "levels": levels.round(4).astype(object).where(levels.notna(), None).to_dict("records"),
        "ratios": ratios.astype(object).where(ratios.notna(), None).to_dict("records"),
        "flagged": ratios.loc[ratios["flag"], ["group", "metric", "level_high", "level_low", "ratio",
                                               "explanation"]].to_dict("records"),
        "flagged_unexplained": ratios.loc[ratios["flag_unexplained"], ["group", "metric", "level_high",
                                                                         "level_low", "ratio"]].to_dict("records"),
    }


def resolve_cutoffs(p: np.ndarray, cutoffs, b_capacity: int = 1500, a_from: float = 0.66,
                    quantiles: tuple[float, float] = (0.6, 0.9)) -> tuple[float, float]:
    """The probability cut-offs ``(c_below, a_from)`` for a cut-off method.

    Parameters
    ----------
    p : array of float
        Predicted chances of the current caseload (clients with an assessment).
    cutoffs : (float, float) or {"capacity", "quantile"}
        Fixed cut-offs are returned as they are. ``"capacity"``: A from ``a_from``;
        B is the ``b_capacity`` clients with the highest chance among those not in A
        (the people a programme can work with: 1,500 in Drechtsteden), so
        ``c_below`` is the chance of the last of them; C is the rest. With fewer
        than ``b_capacity`` clients below ``a_from`` all of them are B. Equal
        chances at the boundary all go to B. ``"quantile"``: C below the
        ``quantiles[0]`` quantile of ``p``, A from the ``quantiles[1]`` quantile.

    Returns
    -------
    (float, float)

    Examples
    --------
    >>> resolve_cutoffs(np.array([0.05, 0.1, 0.2, 0.3, 0.7]), "capacity", b_capacity=2)
    (0.2, 0.66)
    """
    if not isinstance(cutoffs, str):
        lo, hi = (float(c) for c in cutoffs)
        return lo, hi
    p = np.asarray(p, dtype="float64")
    p = p[np.isfinite(p)]
    if cutoffs == "capacity":
        if int(b_capacity) < 1:
            raise CaseloadError(f"segment.b_capacity must be at least 1, got {b_capacity}.",
                                column="segment.b_capacity", fix="E.g. b_capacity = 1500.")
        rest = np.sort(p[p < a_from])[::-1]
        if len(rest) == 0:
            return float(a_from), float(a_from)
        lo = rest[min(int(b_capacity), len(rest)) - 1]
        return float(lo), float(a_from)
    if cutoffs == "quantile":
        q_c, q_a = (float(q) for q in quantiles)
        if not 0 < q_c < q_a < 1:
            raise CaseloadError(f"segment.quantiles {quantiles} must satisfy 0 < C < A < 1.",
                                column="segment.quantiles", fix="E.g. quantiles = [0.6, 0.9].")
        if len(p) == 0:
            return 0.25, 0.66
        lo, hi = np.quantile(p, [q_c, q_a])
        return float(lo), float(max(hi, np.nextafter(lo, 1)))
    raise CaseloadError(f"unknown cut-off method {cutoffs!r}.", column="segment.cutoffs",
                        fix='Use two numbers [C below, A from], "capacity" or "quantile".')


def auc_interval(auc: float, n_pos: int, n_neg: int, level: float = 0.95) -> tuple[float, float]:
    """Hanley and McNeil (1982) normal interval of a ROC AUC."""
    from scipy.stats import norm

    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    z = float(norm.isf((1 - level) / 2))
    se = float(np.sqrt(max(var, 0.0)))
    return max(0.0, auc - z * se), min(1.0, auc + z * se)


def metric_intervals(y: np.ndarray, p: np.ndarray, p_true: np.ndarray | None = None) -> dict:
    """95% intervals of the hold-out metrics: AUC (Hanley-McNeil), Brier (normal), rates (Wilson)."""
    from scipy.stats import norm
    from sklearn.metrics import roc_auc_score

    from caseload.segment.fairness import wilson_interval

    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    out: dict = {"method": "AUC: Hanley-McNeil; Brier: normal; rates: Wilson; 95%"}
    if n_pos and n_neg:
        out["roc_auc"] = [round(v, 4) for v in auc_interval(float(roc_auc_score(y, p)), n_pos, n_neg)]
        if p_true is not None:
            out["roc_auc_true"] = [round(v, 4) for v in auc_interval(float(roc_auc_score(y, p_true)), n_pos, n_neg)]
    sq = (p - y) ** 2
    z = float(norm.isf(0.025))
    half = z * sq.std(ddof=1) / np.sqrt(len(sq)) if len(sq) > 1 else np.nan
    out["brier"] = [round(float(sq.mean() - half), 4), round(float(sq.mean() + half), 4)]
    lo, hi = wilson_interval(n_pos, len(y))
    out["observed_rate"] = [round(float(lo), 4), round(float(hi), 4)]
    return out


def cutoff_table(history: pd.DataFrame, cutoffs: dict, outcome: str = LABEL, lang: str = "nl",
                 alpha: float = 0.05) -> pd.DataFrame:
    """Per group A/B/C on history: cut-offs, n, share, observed work rate and precision.

    Precision is the share for whom the group's promise came true: for A, found
    work within the horizon; for C, did not; B promises neither and has none.
    Intervals are Wilson score intervals.
    """
    from caseload.segment.fairness import wilson_interval

    seg = history["segment"].astype("object")
    y = history[outcome].to_numpy("float64")
    lo, hi = cutoffs["c_below"], cutoffs["a_from"]
    rng = {"A": (hi, 1.0), "B": (lo, hi), "C": (0.0, lo)}
    rows = []
    for s in "ABC":
        sel = (seg == s).to_numpy()
        n = int(sel.sum())
        x = int(y[sel].sum())
        r_lo, r_hi = wilson_interval(x, n, 1 - alpha)
        prec_x = x if s == "A" else n - x if s == "C" else None
        p_lo, p_hi = (wilson_interval(prec_x, n, 1 - alpha) if prec_x is not None else (np.nan, np.nan))
        rows.append({"segment": s, "label": SEGMENT.label(s, lang), "method": cutoffs["method"],
                     "p_from": rng[s][0], "p_below": rng[s][1], "n": n,
                     "share": n / len(seg) if len(seg) else np.nan, "n_work": x,
                     "work_rate": x / n if n else np.nan, "work_rate_lo": float(r_lo), "work_rate_hi": float(r_hi),
                     "precision": (prec_x / n if n else np.nan) if prec_x is not None else np.nan,
                     "precision_lo": float(p_lo), "precision_hi": float(p_hi)})
    return pd.DataFrame(rows)
