"""Fairness report: share, outcome and error of the segmentation per group.

The report is computed on history, where the outcome is known: assessments whose
six-month window has closed (:func:`caseload.segment.training_frame`), each given
the segment that the rules (and the model, if any) assign to it. Per level of each
group variable (sex, age band, migration background, statushouder):

- the share in A, B and C;
- the observed exit rate to work within six months;
- calibration: observed exits / predicted exits (1 = calibrated; needs a model);
- the exit rate of the people placed in C: people the segmentation judged "not
  yet placeable" who did find work (the error behind the VDAB audit). With a
  model, the group is compared with the rest on observed / expected exits within
  C, so that a group whose members in C have higher predicted chances is not
  flagged for its composition; without a model (rules only) the raw rates are
  compared.

A level is flagged on a metric when its value differs from the value of all other
rows pooled by more than ``ratio`` (either way: ``max(a/b, b/a) > ratio``) and the
difference is larger than chance: a two-sided z-test at 5%, Bonferroni-corrected
for the number of group levels x metrics tested (with 11 levels and 3 metrics
the z threshold is about 3.1). The second condition stops small groups, and the
sheer number of comparisons, from producing flags on noise. The overall ``flag`` looks at the
error metrics (calibration and the exit rate in C), which say the segmentation
treats a group unequally; a different share in C (``flag_share_C``) is reported
too but can reflect a real difference in need.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from caseload.schema import AGE_BANDS_LOSSER, MIGRATION_BACKGROUND, SEX, age_band

__all__ = ["fairness_report", "FAIRNESS_GROUPS"]

FAIRNESS_GROUPS = ("sex", "age_band", "migration_background", "statushouder")

_GROUP_LABELS = {
    "sex": ("Geslacht", "Sex"),
    "age_band": ("Leeftijd", "Age band"),
    "migration_background": ("Migratieachtergrond", "Migration background"),
    "statushouder": ("Statushouder", "Refugee with permit"),
}


def _level_label(var: str, v, lang: str) -> str:
    unknown = "onbekend" if lang == "nl" else "unknown"
    if pd.isna(v):
        return unknown
    if var == "sex":
        return SEX.label(v, lang)
    if var == "migration_background":
        return MIGRATION_BACKGROUND.label(v, lang)
    if var == "statushouder":
        return ("ja" if lang == "nl" else "yes") if bool(v) else ("nee" if lang == "nl" else "no")
    return str(v)


def _level_codes(var: str, values: pd.Series, lang: str) -> tuple[np.ndarray, list[str]]:
    """Per row the code of its level label, and the labels in order of first appearance.

    Labels are made for the distinct values only (a handful), not per row: at two
    million history rows a per-row ``map`` took seconds.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [_level_label(var, v, lang) for v in uniques] + [_level_label(var, None, lang)]
    # Values with the same label (e.g. a missing value and "onbekend") share a level.
    label_codes, levels = pd.factorize(pd.Series(labels, dtype="object"))
    row_codes = label_codes[codes]  # code -1 (missing) takes the last label
    first = pd.unique(row_codes)
    remap = np.full(len(levels), -1, dtype="int64")
    remap[first] = np.arange(len(first))
    return remap[row_codes], [str(levels[i]) for i in first]


def _ratio(a: float, b: float) -> float:
    if np.isnan(a) or np.isnan(b):
        return float("nan")
    if a == b:
        return 1.0
    if min(a, b) <= 0:
        return float("inf")
    return max(a / b, b / a)


def _z_two_props(x1, n1, x2, n2) -> float:
    if n1 == 0 or n2 == 0:
        return float("nan")
    p = (x1 + x2) / (n1 + n2)
    se = np.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return float("nan") if se == 0 else float((x1 / n1 - x2 / n2) / se)


def fairness_report(
    frame,
    outcome: str = "exit_work_6m",
    groups: Sequence[str] = FAIRNESS_GROUPS,
    ratio: float = 1.25,
    segment: str = "segment",
    p: str | None = "p_work_6m",
    min_n: int = 20,
    alpha: float = 0.05,
    lang: str = "nl",
) -> pd.DataFrame:
    """Share, exit rate, calibration and exit rate in C per group, with flags.

    Parameters
    ----------
    frame : DataFrame or SegmentResult
        One row per example with ``segment``, ``outcome`` (0/1), optionally the
        predicted chance ``p`` and the group columns; ``age_band`` is derived
        from ``age`` when absent. A :class:`SegmentResult` gives its history frame.
    outcome : str
        Observed exit to work (0/1).
    groups : sequence of str
        Group variables; those not in the frame (or entirely missing) are skipped.
    ratio : float
        Flag threshold, e.g. 1.25: a rate 25% higher or 20% lower than the rest.
    segment, p : str
        Column names of the segment and the predicted chance (``p`` may be absent).
    min_n : int
        Levels with fewer rows (or fewer people in C, for the exit rate in C) get
        no flag on that metric.
    alpha : float
        Family-wise significance level of the flags (Bonferroni).
    lang : {"nl", "en"}

    Returns
    -------
    DataFrame
        One row per group level: ``group, group_label, level, n, share_A,
        share_B, share_C, exit_rate, mean_p, calibration, n_C, exit_rate_C,
        expected_rate_C``, the
        ratios to the rest ``ratio_share_C, ratio_calibration, ratio_exit_rate_C``
        and flags ``flag_share_C, flag_calibration, flag_exit_rate_C, flag``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"segment": list("CCCCBBAA") * 50,
    ...                   "exit_work_6m": [0, 0, 0, 1, 0, 1, 1, 1] * 50,
    ...                   "sex": ["M", "V"] * 200})
    >>> fairness_report(f, groups=["sex"], p=None)[["level", "n", "share_C"]].values.tolist()
    [['Man', 200, 0.5], ['Vrouw', 200, 0.5]]
    """
    if hasattr(frame, "history"):
        frame = frame.history
    df = frame
    if "age_band" in groups and "age_band" not in df and "age" in df:
        df = df.assign(age_band=age_band(df["age"].clip(upper=AGE_BANDS_LOSSER[-1][1]),
                                         suffix=" jaar" if lang == "nl" else ""))
    y = df[outcome].to_numpy("float64")
    # Segment as small integer codes (A 0, B 1, C 2, other -1): comparisons on an
    # object array cost most of the report at two million history rows.
    seg = pd.Categorical(df[segment].astype("object"), categories=list("ABC")).codes
    has_p = p is not None and p in df
    pp = df[p].to_numpy("float64") if has_p else None
    in_c = seg == 2
    rows = []
    # Per level sums by bincount (one pass per variable, not a dozen masks per level);
    # the rest of the rows is the total minus the level.
    yc = np.where(in_c, y, 0.0)
    if has_p:
        pv = pp * (1 - pp)
        pc, pvc = np.where(in_c, pp, 0.0), np.where(in_c, pv, 0.0)
    for var in groups:
        if var not in df or df[var].isna().all():
            continue
        codes, labels = _level_codes(var, df[var], lang)
        n_lv = len(labels)

        def per_level(w=None, codes=codes, n_lv=n_lv):
            return np.bincount(codes, weights=w, minlength=n_lv)

        n_all = per_level().astype("int64")
        by_seg = np.bincount(codes * 4 + (seg.astype("int64") + 1), minlength=4 * n_lv).reshape(n_lv, 4)
        y_all, y_c = per_level(y), per_level(yc)
        tot = {"n": len(codes), "C": int(in_c.sum()), "y": y_all.sum(), "y_c": y_c.sum()}
        if has_p:
            e_all, v_all, e_c, v_c = per_level(pp), per_level(pv), per_level(pc), per_level(pvc)
            tot.update(e=e_all.sum(), e_c=e_c.sum())
        for i, level in enumerate(labels):
            n = int(n_all[i])
            n_r = tot["n"] - n
            row = {"group": var, "group_label": _GROUP_LABELS.get(var, (var, var))[lang == "en"],
                   "level": level, "n": n}
            for k, s in enumerate("ABC"):
                row[f"share_{s}"] = float(by_seg[i, k + 1] / n) if n else np.nan
            y_g = float(y_all[i])
            row["exit_rate"] = y_g / n if n else np.nan
            # share in C vs the rest
            x1 = int(by_seg[i, 3])
            x2 = tot["C"] - x1
            row["ratio_share_C"] = _ratio(x1 / n, x2 / n_r) if n and n_r else np.nan
            z_share = _z_two_props(x1, n, x2, n_r)
            # calibration: observed / expected exits, group vs rest
            if has_p:
                e_g = float(e_all[i])
                e_r = tot["e"] - e_g
                row["mean_p"] = e_g / n if n else np.nan
                row["calibration"] = float(y_g / e_g) if e_g > 0 else np.nan
                cal_r = float((tot["y"] - y_g) / e_r) if e_r > 0 else np.nan
                row["ratio_calibration"] = _ratio(row["calibration"], cal_r)
                # z of the group's observed-minus-expected against the rest's O/E
                var_g = float(v_all[i])
                z_cal = (y_g - cal_r * e_g) / np.sqrt(var_g) if var_g > 0 else np.nan
            else:
                row["mean_p"] = row["calibration"] = row["ratio_calibration"] = np.nan
                z_cal = np.nan
            # exit rate of the people placed in C
            n_c = x1
            n_cr = tot["C"] - n_c
            yc_g = float(y_c[i])
            yc_r = tot["y_c"] - yc_g
            row["n_C"] = n_c
            row["exit_rate_C"] = yc_g / n_c if n_c else np.nan
            if has_p:
                # Compare observed/expected exits within C, so a group whose members in C
                # simply have higher predicted chances (composition) is not flagged.
                ec = float(e_c[i])
                ecr = tot["e_c"] - ec
                row["expected_rate_C"] = ec / n_c if n_c else np.nan
                oe_g = yc_g / ec if ec > 0 else np.nan
                oe_r = yc_r / ecr if ecr > 0 else np.nan
                row["ratio_exit_rate_C"] = _ratio(oe_g, oe_r)
                var_c = float(v_c[i])
                z_c = (yc_g - oe_r * ec) / np.sqrt(var_c) if var_c > 0 else np.nan
            else:
                row["expected_rate_C"] = np.nan
                rate_cr = yc_r / n_cr if n_cr else np.nan
                row["ratio_exit_rate_C"] = _ratio(row["exit_rate_C"], rate_cr)
                z_c = _z_two_props(yc_g, n_c, yc_r, n_cr)

            row["_z"] = (z_share, z_cal, z_c)
            row["_enough"] = (n >= min_n, n >= min_n, n_c >= min_n)
            rows.append(row)
    metrics = ("share_C", "calibration", "exit_rate_C")
    n_tests = max(1, len(rows) * (3 if has_p else 2))
    z_crit = float(norm.isf(alpha / 2 / n_tests))
    for row in rows:
        for m, z, enough in zip(metrics, row.pop("_z"), row.pop("_enough"), strict=True):
            rt = row[f"ratio_{m}"]
            row[f"flag_{m}"] = bool(enough and np.isfinite(z) and abs(z) > z_crit and rt > ratio)
        row["flag"] = row["flag_calibration"] or row["flag_exit_rate_C"]
    cols = ["group", "group_label", "level", "n", "share_A", "share_B", "share_C", "exit_rate",
            "mean_p", "calibration", "n_C", "exit_rate_C", "expected_rate_C", "ratio_share_C", "ratio_calibration",
            "ratio_exit_rate_C", "flag_share_C", "flag_calibration", "flag_exit_rate_C", "flag"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs.update({"ratio": ratio, "alpha": alpha, "z_critical": z_crit, "tests": n_tests})
    return out
