"""Fairness report: does the segmentation treat groups equally?

The report is computed on history, where the outcome is known: assessments whose
six-month window has closed (:func:`caseload.segment.training_frame`), each given
the segment that the rules (or the model) assign to it. It tests the stated aim of
the segmentation, "place people by their chance of work, whatever their group",
with the error rates of that placement.

Per level of each attribute (sex, age band, migration background, statushouder,
and sex x age band) :func:`fairness_report` gives

- ``n`` and the share in A, B and C;
- the observed work rate (exit to work within the horizon);
- calibration: observed / predicted work exits (needs a model);
- **gemiste kansen** (``missed``): of those who found work, the share placed in C;
- **onterecht A** (``wrong_A``): of those who did not find work, the share placed in A;
- the work rate *within probability bands* (``band_ratio``): observed work exits /
  the exits expected if, within each probability band and segment, the level
  found work as often as everyone in that cell (indirect standardisation);
- what the two error rates would be if the level's work rate were that of the
  pool in every cell (``missed_expected``, ``wrong_A_expected``): the part of the
  error rate that the level's distribution over probability bands (its base
  rate) explains.

Every rate has a 95% **Wilson score** interval (``*_lo``, ``*_hi``); calibration and
``band_ratio`` have a normal-approximation interval on log(observed/expected)
with variance sum p(1-p) / observed^2 (the expected count treated as fixed).

:func:`fairness_ratios` compares, per attribute and metric, every pair of levels
with at least ``min_n`` people in the denominator and reports the **largest
pairwise ratio** with a 95% interval, Bonferroni-adjusted over the number of
pairs compared (``pairs``: k(k-1)/2 for k levels), because the largest of several
ratios is a selected one. When some pair is flagged, the largest *flagged* ratio is
reported (a small noisy level must not hide a well-measured difference):

- ``missed`` and ``wrong_A``: the ratio of the two rates, interval by the **delta
  method on the log ratio** (var = (1-p1)/x1 + (1-p2)/x2; when a count is 0 both
  levels get the Haldane-Anscombe correction, +0.5 to the count and +1 to the
  denominator);
- ``band_odds``: the **Mantel-Haenszel odds ratio** of finding work between the two
  levels, stratified by probability band and segment, with the
  Robins-Breslow-Greenland variance of its log. It compares people with the same
  predicted chance, on the scale on which :func:`caseload.synth.generate`
  injects a disparity (an odds ratio the features do not show).
 A pair is flagged when
the ratio exceeds ``ratio`` (default 1.25, ``[segment] fairness_ratio``) and its
interval excludes 1. The column ``explanation`` separates differences that the
base rates explain from those they do not: for the error rates the ratio the
base rates predict (``expected_ratio``, from the ``*_expected`` columns) is
divided out; when the remaining ratio (``residual_ratio``) still exceeds
``ratio`` with an interval excluding 1, the difference is *not explained* by
base rates (``flag_unexplained``). The within-band odds ratio compares people
with the same probability band and segment, so a flag on it is unexplained by
construction: the group finds work more (or less) often than others with the
same predicted chance, which is what an injected disparity does.

Probability bands are quantile bands of the predicted chance in the pooled history
(:func:`auto_bands`: one band per 400 rows, at least 10 and at most 50), crossed
with the segment (so that a band never straddles a cut-off). Without a model the
bands are the segments alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from caseload.errors import ConfigError
from caseload.schema import (
    AGE_BANDS_LOSSER,
    MIGRATION_BACKGROUND,
    SEX,
    age_band,
    label_table,
    pick_label,
)
from caseload.segment.intervals import (
    _oe,
    _rate_ratio_cluster_se,
    mantel_haenszel,
    mh_cluster_se,
    wilson_interval,
)

__all__ = ["fairness_report", "fairness_ratios", "auto_bands", "wilson_interval", "mantel_haenszel", "mh_cluster_se",
           "FAIRNESS_GROUPS", "FAIRNESS_METRICS"]

FAIRNESS_GROUPS = ("sex", "age_band", "migration_background", "statushouder", "sex_age_band")

FAIRNESS_METRICS = label_table("segment.fairness.metrics")
"""The metrics :func:`fairness_ratios` compares between levels, with their (Dutch, English) labels."""

_GROUP_LABELS = label_table("segment.fairness.groups")
_EXPLAIN = label_table("segment.fairness.explain")
_WORDS = label_table("segment.fairness.words")


def _level_label(var: str, v, lang: str) -> str:
    unknown = pick_label(_WORDS["unknown"], lang)
    if pd.isna(v):
        return unknown
    if var == "sex":
        return SEX.label(v, lang)
    if var == "migration_background":
        return MIGRATION_BACKGROUND.label(v, lang)
    if var == "statushouder":
        return pick_label(_WORDS["yes" if bool(v) else "no"], lang)
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


def _sex_age_band(df: pd.DataFrame, lang: str) -> pd.Series:
    """``"Vrouw, 27-44 jaar"``: the sex label and the age band, missing when either is."""
    sex = df["sex"].map(lambda v: None if pd.isna(v) else SEX.label(v, lang))
    band = df["age_band"].astype("object")
    out = sex.astype("object") + ", " + band.astype("object")
    return out.where(sex.notna() & band.notna(), None)


def auto_bands(n: int) -> int:
    """Number of probability bands for ``n`` rows: one per 400 rows, between 10 and 50.

    Within a band the predicted chance still varies, and a group whose people sit
    higher inside the bands looks better than its band-mates even when the model is
    right (residual confounding by the chance). On the synthetic benchmark, with the
    generator's true chance as both prediction and outcome, the largest within-band
    odds ratio between age bands is 1.08 with 10 bands, 1.04-1.05 with 20, 1.02-1.03
    with 30 and 1.01-1.02 with 50 (hold-outs of about 19,000 assessments, seeds 0
    and 3). Finer bands remove that bias; 400 rows per band (about 30 exits at a
    work rate of 8%) keep each band's comparison informative, and the
    Mantel-Haenszel estimator is built for many small strata.
    """
    return int(min(50, max(10, n // 400)))


def _bands(pp: np.ndarray | None, seg: np.ndarray, n_bands: int) -> np.ndarray:
    """Cell per row: probability decile x segment (segment alone without a model)."""
    seg_code = seg.astype("int64") + 1  # -1 (no segment) -> 0
    if pp is None:
        return seg_code
    ok = np.isfinite(pp)
    edges = np.unique(np.quantile(pp[ok], np.linspace(0, 1, n_bands + 1)[1:-1])) if ok.any() else []
    band = np.searchsorted(edges, np.where(ok, pp, 0.0), side="right") + 1
    band = np.where(ok, band, 0)
    return band * 4 + seg_code


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
    n_bands: int | None = None,
    cluster: str | None = "dossier_id",
    adjust: str | None = "holm",
) -> pd.DataFrame:
    """Shares, work rate, calibration and the two error rates per group level.

    Parameters
    ----------
    frame : DataFrame or SegmentResult
        One row per example with ``segment``, ``outcome`` (0/1), optionally the
        predicted chance ``p`` and the group columns; ``age_band`` is derived
        from ``age`` and ``sex_age_band`` from ``sex`` and the age band when
        absent. A :class:`SegmentResult` gives its history frame.
    outcome : str
        Observed exit to work (0/1).
    groups : sequence of str
        Group variables; those not in the frame (or entirely missing) are skipped.
    ratio : float
        Threshold of the pairwise ratios (:func:`fairness_ratios`), e.g. 1.25.
    segment, p : str
        Column names of the segment and the predicted chance (``p`` may be absent).
    min_n : int
        Levels with fewer people in a metric's denominator are left out of the
        pairwise comparison of that metric.
    alpha : float
        1 - confidence level of the intervals (0.05: 95%).
    lang : {"nl", "en"}
    n_bands : int, optional
        Number of probability bands (quantiles of ``p``) for the within-band
        comparison and the expected error rates; default :func:`auto_bands`.
    cluster : str or None
        Column of the cluster that shares one outcome (default ``dossier_id``: the
        two partners of a couple share one exit). When present the intervals of
        the pairwise ratios are cluster-robust (:func:`mh_cluster_se`); rows
        with a missing cluster are their own cluster. ``None`` or an absent
        column: every row is independent.
    adjust : {"holm", None}
        Multiple-testing correction of the unexplained flags: the report makes one
        test per attribute and metric (about 15), each already Bonferroni-adjusted
        over the pairs of levels it compares. ``"holm"`` (default): Holm's step-down
        correction over those tests (statsmodels ``multipletests``), so that the
        chance of any false unexplained flag in the report stays near ``alpha``;
        ``None``: each test at ``alpha``.

    Returns
    -------
    DataFrame
        One row per group level: ``group, group_label, level, n, share_A,
        share_B, share_C, work_rate(_lo, _hi), mean_p, calibration(_lo, _hi),
        n_work, missed, missed_lo, missed_hi, missed_expected, n_nowork,
        wrong_A, wrong_A_lo, wrong_A_hi, wrong_A_expected, expected_work,
        band_ratio(_lo, _hi)``, and ``flag`` / ``flag_unexplained``: the level is
        one side of a flagged pair in :func:`fairness_ratios`. That table is in
        ``attrs["ratios"]`` as a list of records (``fairness_ratios(report)``
        rebuilds it as a DataFrame).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"segment": list("CCCCBBAA") * 50,
    ...                   "exit_work_6m": [0, 0, 0, 1, 0, 1, 1, 1] * 50,
    ...                   "sex": ["M", "V"] * 200})
    >>> fairness_report(f, groups=["sex"], p=None)[["level", "n", "share_C", "missed"]].round(3).values.tolist()
    [['Man', 200, 0.5, 0.0], ['Vrouw', 200, 0.5, 0.333]]
    """
    if hasattr(frame, "history"):
        frame = frame.history
    df = frame
    if ("age_band" in groups or "sex_age_band" in groups) and "age_band" not in df and "age" in df:
        df = df.assign(age_band=age_band(df["age"].clip(upper=AGE_BANDS_LOSSER[-1][1]),
                                         suffix=pick_label(_WORDS["age_suffix"], lang, band="")))
    if "sex_age_band" in groups and "sex_age_band" not in df and {"sex", "age_band"} <= set(df.columns):
        df = df.assign(sex_age_band=_sex_age_band(df, lang))
    z = float(norm.isf(alpha / 2))
    y = df[outcome].to_numpy("float64")
    # Segment as small integer codes (A 0, B 1, C 2, other -1): comparisons on an
    # object array cost most of the report at two million history rows.
    seg = pd.Categorical(df[segment].astype("object"), categories=list("ABC")).codes
    has_p = p is not None and p in df
    pp = df[p].to_numpy("float64") if has_p else None
    if n_bands is None:
        n_bands = auto_bands(len(df))
    cell = _bands(pp, seg, n_bands)
    n_cells = int(cell.max()) + 1 if len(cell) else 1
    cell_n = np.bincount(cell, minlength=n_cells)
    cell_y = np.bincount(cell, weights=y, minlength=n_cells)
    r_cell = np.divide(cell_y, cell_n, out=np.zeros(n_cells), where=cell_n > 0)
    r_row = r_cell[cell]  # the pooled work rate of the row's band and segment
    in_c, in_a = seg == 2, seg == 0
    clu = None
    if cluster is not None and cluster in df and df[cluster].notna().any():
        clu = pd.factorize(df[cluster])[0]
        miss = clu < 0
        clu[miss] = clu.max() + 1 + np.arange(int(miss.sum()))
    row_data = {"y": y, "cell": cell, "in_c": in_c, "in_a": in_a, "cluster": clu}
    rows = []
    cell_tables: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for var in groups:
        if var not in df or df[var].isna().all():
            continue
        codes, labels = _level_codes(var, df[var], lang)
        n_lv = len(labels)

        def per_level(w=None, codes=codes, n_lv=n_lv):
            return np.bincount(codes, weights=w, minlength=n_lv)

        n_all = per_level().astype("int64")
        by_seg = np.bincount(codes * 4 + (seg.astype("int64") + 1), minlength=4 * n_lv).reshape(n_lv, 4)
        n_y = per_level(y)
        missed = per_level(y * in_c)
        wrong = per_level((1 - y) * in_a)
        e_work = per_level(r_row)
        v_work = per_level(r_row * (1 - r_row))
        e_missed = per_level(r_row * in_c)
        e_nowork = per_level(1 - r_row)
        e_wrong = per_level((1 - r_row) * in_a)
        if has_p:
            e_p, v_p = per_level(pp), per_level(pp * (1 - pp))
        # per level and cell (band x segment): people and work exits, for the MH odds ratios
        cell_tables[var] = (np.bincount(codes * n_cells + cell, minlength=n_lv * n_cells).reshape(n_lv, n_cells),
                            np.bincount(codes * n_cells + cell, weights=y, minlength=n_lv * n_cells
                                        ).reshape(n_lv, n_cells), codes)
        for i, level in enumerate(labels):
            n = int(n_all[i])
            nw = int(round(n_y[i]))
            row = {"group": var, "group_label": _GROUP_LABELS.get(var, (var, var))[lang == "en"],
                   "level": level, "n": n}
            for k, s in enumerate("ABC"):
                row[f"share_{s}"] = float(by_seg[i, k + 1] / n) if n else np.nan
            row["work_rate"] = nw / n if n else np.nan
            row["work_rate_lo"], row["work_rate_hi"] = map(float, wilson_interval(nw, n, 1 - alpha))
            if has_p:
                row["mean_p"] = e_p[i] / n if n else np.nan
                row["calibration"], row["calibration_lo"], row["calibration_hi"] = _oe(nw, e_p[i], v_p[i], z)
            else:
                row["mean_p"] = row["calibration"] = row["calibration_lo"] = row["calibration_hi"] = np.nan
            row["n_work"] = nw
            row["missed"] = missed[i] / nw if nw else np.nan
            row["missed_lo"], row["missed_hi"] = map(float, wilson_interval(round(missed[i]), nw, 1 - alpha))
            row["missed_expected"] = e_missed[i] / e_work[i] if e_work[i] > 0 else np.nan
            nn = n - nw
            row["n_nowork"] = nn
            row["wrong_A"] = wrong[i] / nn if nn else np.nan
            row["wrong_A_lo"], row["wrong_A_hi"] = map(float, wilson_interval(round(wrong[i]), nn, 1 - alpha))
            row["wrong_A_expected"] = e_wrong[i] / e_nowork[i] if e_nowork[i] > 0 else np.nan
            row["expected_work"] = float(e_work[i])
            row["band_ratio"], row["band_ratio_lo"], row["band_ratio_hi"] = _oe(nw, e_work[i], v_work[i], z)
            row["_missed_x"], row["_wrong_x"], row["_v_work"] = float(missed[i]), float(wrong[i]), float(v_work[i])
            rows.append(row)
    cols = ["group", "group_label", "level", "n", "share_A", "share_B", "share_C",
            "work_rate", "work_rate_lo", "work_rate_hi", "mean_p", "calibration", "calibration_lo",
            "calibration_hi", "n_work", "missed", "missed_lo", "missed_hi", "missed_expected",
            "n_nowork", "wrong_A", "wrong_A_lo", "wrong_A_hi", "wrong_A_expected", "expected_work",
            "band_ratio", "band_ratio_lo", "band_ratio_hi"]
    out = pd.DataFrame(rows, columns=[*cols, "_missed_x", "_wrong_x", "_v_work"])
    if adjust not in ("holm", None):
        raise ConfigError(f"unknown multiple-testing correction {adjust!r}.", column="segment.fairness_adjust",
                          fix='Use "holm" or "none".')
    ratios = _pair_ratios(out, cell_tables, ratio, min_n, z, lang, row_data, adjust=adjust, alpha=alpha)
    out = out[cols].copy()
    out["flag"] = False
    out["flag_unexplained"] = False
    for r in ratios.itertuples():
        for lv in (r.level_high, r.level_low):
            sel = (out["group"] == r.group) & (out["level"] == lv)
            out.loc[sel, "flag"] |= bool(r.flag)
            out.loc[sel, "flag_unexplained"] |= bool(r.flag_unexplained)
    out.attrs.update({"ratio": ratio, "alpha": alpha, "adjust": adjust, "min_n": min_n,
                      "n_bands": n_bands if has_p else 0,
                      "interval": ("Wilson score (rates); delta method on the log ratio (error-rate ratios); "
                                  "Robins-Breslow-Greenland (Mantel-Haenszel odds ratio within bands)"
                                  + ("; ratios cluster-robust by " + cluster if clu is not None else "")),
                      "cluster": cluster if clu is not None else None,
                      "ratios": ratios.to_dict("records")})
    return out


def _pair_ratios(t: pd.DataFrame, cell_tables: dict, threshold: float, min_n: int, z: float,
                 lang: str, row_data: dict | None = None, adjust: str | None = None,
                 alpha: float = 0.05) -> pd.DataFrame:
    """Per attribute and metric the largest pairwise ratio, its interval, flag and explanation.

    Every pair of levels with enough people is compared. The reported pair is the
    largest ratio among the flagged pairs when there is one, else the largest ratio:
    a small, noisy level (e.g. "onbekend") with the most extreme value must not hide
    a well-measured difference between two large groups.
    """
    en = lang == "en"
    out = []
    clu = None if row_data is None else row_data["cluster"]
    for var, g in t.groupby("group", sort=False):
        for metric in FAIRNESS_METRICS:
            if metric == "band_odds":
                n = g["n"].to_numpy("float64")
            elif metric == "missed":
                x, n, e = g["_missed_x"].to_numpy(), g["n_work"].to_numpy("float64"), g["missed_expected"]
            else:
                x, n, e = g["_wrong_x"].to_numpy(), g["n_nowork"].to_numpy("float64"), g["wrong_A_expected"]
            idx = np.flatnonzero(n >= min_n)
            if len(idx) < 2:
                continue
            # The largest of k(k-1)/2 ratios is a selected one: the intervals are
            # Bonferroni-adjusted over the pairs compared.
            n_pairs = len(idx) * (len(idx) - 1) // 2
            zz = float(norm.isf(norm.sf(z) / n_pairs))
            pairs = []  # (ratio, se, hi, lo)
            if metric == "band_odds":
                cn, cy, codes = cell_tables[var]
                for a_i, ii in enumerate(idx):
                    for jj in idx[a_i + 1:]:
                        if clu is None:
                            orr, se = mantel_haenszel(cn[ii], cy[ii], cn[jj], cy[jj])
                        else:
                            side = np.where(codes == ii, 1, np.where(codes == jj, 2, 0))
                            orr, se = mh_cluster_se(row_data["y"], side, row_data["cell"], clu)
                        if np.isfinite(orr) and orr > 0:
                            pairs.append((orr, se, ii, jj) if orr >= 1 else (1 / orr, se, jj, ii))
            else:
                zero = ((x[idx] == 0) | (x[idx] == n[idx])).any()
                xv, nv = x + 0.5 * zero, n + 1.0 * zero  # Haldane-Anscombe when a count is 0
                with np.errstate(divide="ignore", invalid="ignore"):
                    val = xv / nv
                    log_var = (1 - val) / np.maximum(xv, 0.5)
                if clu is not None and not zero:
                    codes = cell_tables[var][2]
                    yy = row_data["y"]
                    in_seg = row_data["in_c"] if metric == "missed" else row_data["in_a"]
                    den = yy if metric == "missed" else 1 - yy
                    xr = den * in_seg
                for a_i, ii in enumerate(idx):
                    for jj in idx[a_i + 1:]:
                        hi_, lo_ = (ii, jj) if val[ii] >= val[jj] else (jj, ii)
                        if val[lo_] > 0:
                            se = float(np.sqrt(log_var[hi_] + log_var[lo_]))
                            if clu is not None and not zero:
                                side = np.where(codes == hi_, 1, np.where(codes == lo_, 2, 0))
                                se = _rate_ratio_cluster_se(xr, den, side, clu)
                            pairs.append((float(val[hi_] / val[lo_]), se, hi_, lo_))
            if not pairs:
                continue
            flagged = [q for q in pairs if q[0] > threshold and q[0] * np.exp(-zz * q[1]) > 1]
            if metric == "band_odds":
                exp_of = [1.0] * len(flagged)
            else:
                ev = e.to_numpy("float64")
                exp_of = [ev[q[2]] / ev[q[3]] if ev[q[3]] > 0 else np.nan for q in flagged]
            # Among the flagged pairs whose residual also exceeds the threshold, the one with
            # the strongest evidence (smallest p) is reported and tested: Bonferroni over the
            # pairs covers choosing any of them, and a small, noisy group with the largest
            # ratio must not hide a well-measured unexplained difference (its p would then
            # decide the Holm step). Otherwise the largest flagged pair, else the largest.
            cand = [(norm.sf(np.log(q[0] / x) / q[1]), -q[0], k)
                    for k, (q, x) in enumerate(zip(flagged, exp_of, strict=True))
                    if np.isfinite(x) and x > 0 and q[0] / x > threshold and q[1] > 0]
            if cand:
                rt, se, hi_i, lo_i = flagged[min(cand)[2]]
            else:
                rt, se, hi_i, lo_i = max(flagged or pairs, key=lambda q: q[0])
            if metric == "band_odds":
                exp_ratio = 1.0
                v_hi, v_lo = float(g["band_ratio"].iloc[hi_i]), float(g["band_ratio"].iloc[lo_i])
            else:
                v_hi, v_lo = float(g[metric].iloc[hi_i]), float(g[metric].iloc[lo_i])
                ev = e.to_numpy("float64")
                exp_ratio = float(ev[hi_i] / ev[lo_i]) if ev[lo_i] > 0 else np.nan
            r_lo, r_hi = rt * np.exp(-zz * se), rt * np.exp(zz * se)
            flag = bool(flagged)
            resid = rt / exp_ratio if exp_ratio and np.isfinite(exp_ratio) else np.nan
            res_lo, res_hi = resid * np.exp(-zz * se), resid * np.exp(zz * se)
            # p-value of "no unexplained difference" (log residual ratio 0), Bonferroni over
            # the pairs like the interval: below alpha exactly when res_lo > 1.
            p_un = (float(min(1.0, n_pairs * 2 * norm.sf(np.log(resid) / se)))
                    if np.isfinite(resid) and resid > 0 and se > 0 else np.nan)
            unexplained = bool(flag and np.isfinite(resid) and resid > threshold and res_lo > 1)
            out.append({
                "group": var, "group_label": g["group_label"].iloc[0], "metric": metric, "pairs": n_pairs,
                "metric_label": FAIRNESS_METRICS[metric][en],
                "level_high": g["level"].iloc[hi_i], "level_low": g["level"].iloc[lo_i],
                "value_high": v_hi, "value_low": v_lo,
                "ratio": float(rt), "ratio_lo": float(r_lo), "ratio_hi": float(r_hi), "flag": flag,
                "expected_ratio": exp_ratio, "residual_ratio": float(resid),
                "residual_lo": float(res_lo), "residual_hi": float(res_hi),
                "flag_unexplained": unexplained, "p_unexplained": p_un, "p_adjusted": p_un,
            })
    res = pd.DataFrame(out, columns=[c for c in _RATIO_COLUMNS if c != "explanation"])
    ok = res["p_unexplained"].notna().to_numpy()
    if adjust == "holm" and ok.any():
        from statsmodels.stats.multitest import multipletests

        res.loc[ok, "p_adjusted"] = multipletests(res.loc[ok, "p_unexplained"].to_numpy(), alpha=alpha,
                                                  method="holm")[1]
        res["flag_unexplained"] = (res["flag_unexplained"] & (res["p_adjusted"] < alpha)).astype(bool)
    adj_off = res["flag"] & ~res["flag_unexplained"] & (res["p_unexplained"] < alpha) \
        & (res["residual_ratio"] > threshold)  # unexplained at alpha, not after Holm
    key = np.where(~res["flag"], "none", np.where(adj_off, "chance", np.where(
        res["metric"] == "band_odds", "within", np.where(res["flag_unexplained"], "unexplained", "explained"))))
    res["explanation"] = [_EXPLAIN[k][en] for k in key]
    return res[_RATIO_COLUMNS]


_RATIO_COLUMNS = ["group", "group_label", "metric", "metric_label", "pairs", "level_high", "level_low", "value_high",
                  "value_low", "ratio", "ratio_lo", "ratio_hi", "flag", "expected_ratio", "residual_ratio",
                  "residual_lo", "residual_hi", "flag_unexplained", "p_unexplained", "p_adjusted",
                  "explanation"]


def fairness_ratios(report: pd.DataFrame) -> pd.DataFrame:
    """The pairwise-ratio table of a :func:`fairness_report` (one row per attribute x metric).

    Columns ``group, group_label, metric, metric_label, level_high, level_low,
    pairs, value_high, value_low, ratio, ratio_lo, ratio_hi, flag, expected_ratio,
    residual_ratio, residual_lo, residual_hi, flag_unexplained, explanation``:
    the largest ratio between two levels of the attribute, its 95% interval
    (delta method on the log ratio), the flag (ratio above the threshold and the
    interval excluding 1), the ratio the base rates explain and what remains.
    For ``band_odds`` the values are the levels' ``band_ratio`` (observed /
    expected within bands) and the ratio is the Mantel-Haenszel odds ratio.
    """
    return pd.DataFrame(report.attrs.get("ratios", []), columns=_RATIO_COLUMNS)
