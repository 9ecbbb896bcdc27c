"""Interval estimators of the fairness report: Wilson intervals for rates, the Mantel-Haenszel
odds ratio within probability bands with a dossier-cluster-robust standard error, and the
cluster-robust standard error of a rate ratio.

Split from :mod:`caseload.segment.fairness`, which builds the report from them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

__all__ = ["wilson_interval", "mantel_haenszel", "mh_cluster_se"]


def wilson_interval(x, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion ``x / n`` (NaN where ``n`` is 0).

    Examples
    --------
    >>> lo, hi = wilson_interval(30, 100)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2189, 0.3958)
    """
    x = np.asarray(x, dtype="float64")
    n = np.asarray(n, dtype="float64")
    z = float(norm.isf((1 - level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (x + z * z / 2) / (n + z * z)
        half = z * np.sqrt(x * (n - x) / n + z * z / 4) / (n + z * z)
    lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    # exact at the edges (rounding can leave 1e-17 instead of 0)
    lo = np.where(p == 0, 0.0, lo)
    hi = np.where(p == 1, 1.0, hi)
    return lo, hi


def _oe(o: float, e: float, v: float, z: float) -> tuple[float, float, float]:
    """Observed / expected with a normal interval on the log scale (var = v / o^2)."""
    if not e > 0:
        return np.nan, np.nan, np.nan
    est = o / e
    se = np.sqrt(v) / max(o, 0.5)
    base = max(o, 0.5) / e
    return float(est), float(base * np.exp(-z * se)), float(base * np.exp(z * se))


def mantel_haenszel(n1: np.ndarray, y1: np.ndarray, n2: np.ndarray, y2: np.ndarray) -> tuple[float, float]:
    """Mantel-Haenszel odds ratio of level 1 vs level 2 over strata, and the SE of its log.

    ``n*``, ``y*``: people and events per stratum. The standard error is the
    Robins-Breslow-Greenland estimator; strata with only one level add nothing.
    """
    a, b = y1, n1 - y1
    c, d = y2, n2 - y2
    tot = n1 + n2
    ok = (n1 > 0) & (n2 > 0)
    a, b, c, d, tot = a[ok], b[ok], c[ok], d[ok], tot[ok]
    r, s_ = a * d / tot, b * c / tot
    sr, ss = r.sum(), s_.sum()
    if not (sr > 0 and ss > 0):
        return np.nan, np.nan
    p_, q_ = (a + d) / tot, (b + c) / tot
    var = ((p_ * r).sum() / (2 * sr**2) + (p_ * s_ + q_ * r).sum() / (2 * sr * ss)
           + (q_ * s_).sum() / (2 * ss**2))
    return float(sr / ss), float(np.sqrt(var))


def mh_cluster_se(y: np.ndarray, side: np.ndarray, stratum: np.ndarray, cluster: np.ndarray | None = None
                  ) -> tuple[float, float]:
    """Mantel-Haenszel odds ratio (side 1 vs side 2) and a cluster-robust SE of its log.

    ``y`` (0/1), ``side`` (1, 2, or 0 for rows in neither level), ``stratum`` and
    ``cluster`` (integer codes; ``None``: every row its own cluster) per row. The
    estimating function of the MH estimator, ``U(psi) = sum_k (a_k d_k - psi b_k
    c_k) / N_k``, is linearised per row: a row of level 1 in stratum ``k``
    contributes ``(y d_k - psi (1 - y) c_k) / N_k``, a row of level 2
    ``((1 - y) a_k - psi y b_k) / N_k``. The contributions are summed per cluster
    (a couple shares one outcome: two rows, one cluster), and
    ``Var(log psi) = G / (G - 1) * sum_g U_g^2 / (sum_k a_k d_k / N_k)^2``
    (a sandwich estimator, valid when the strata are large). Without clusters it
    agrees with the Robins-Breslow-Greenland variance to within a few per cent
    (tests/test_segment.py checks both against references).
    """
    y = np.asarray(y, dtype="float64")
    side = np.asarray(side)
    stratum = np.asarray(stratum, dtype="int64")
    use = side > 0
    y, side, stratum = y[use], side[use], stratum[use]
    k = int(stratum.max()) + 1 if len(stratum) else 1
    one = side == 1
    n1 = np.bincount(stratum[one], minlength=k).astype("float64")
    n2 = np.bincount(stratum[~one], minlength=k).astype("float64")
    a = np.bincount(stratum[one], weights=y[one], minlength=k)
    c = np.bincount(stratum[~one], weights=y[~one], minlength=k)
    b, d = n1 - a, n2 - c
    tot = n1 + n2
    ok = (n1 > 0) & (n2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(ok, a * d / tot, 0.0)
        s_ = np.where(ok, b * c / tot, 0.0)
    sr, ss = r.sum(), s_.sum()
    if not (sr > 0 and ss > 0):
        return np.nan, np.nan
    psi = sr / ss
    inv = np.where(ok, 1.0 / np.where(tot > 0, tot, 1.0), 0.0)[stratum]
    u = np.where(one, y * d[stratum] - psi * (1 - y) * c[stratum],
                 (1 - y) * a[stratum] - psi * y * b[stratum]) * inv
    if cluster is None:
        ug = u
    else:
        cl = pd.factorize(np.asarray(cluster)[use])[0]
        ug = np.bincount(cl, weights=u)
    g = len(ug)
    var = g / max(g - 1, 1) * float(np.sum(ug ** 2)) / sr ** 2
    return float(psi), float(np.sqrt(var))


def _rate_ratio_cluster_se(x: np.ndarray, den: np.ndarray, side: np.ndarray, cluster: np.ndarray) -> float:
    """Cluster-robust SE of log(rate_1 / rate_2), rate = sum x / sum den per side.

    Per row the linearised contribution ``(x - p den) / X`` (minus for side 2), summed
    per cluster: the covariance of the two rates when a cluster (a couple) has a
    row in each level is included.
    """
    use = side > 0
    x, den, side, cl = x[use], den[use], side[use], cluster[use]
    one = side == 1
    x1, x2 = x[one].sum(), x[~one].sum()
    if not (x1 > 0 and x2 > 0):
        return np.nan
    p1, p2 = x1 / den[one].sum(), x2 / den[~one].sum()
    u = np.where(one, (x - p1 * den) / x1, -(x - p2 * den) / x2)
    ug = np.bincount(pd.factorize(cl)[0], weights=u)
    g = len(ug)
    return float(np.sqrt(g / max(g - 1, 1) * np.sum(ug ** 2)))
