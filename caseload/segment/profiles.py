"""Competence profiles and profile-market combinations (PMCs).

Each client gets one of the six Drechtsteden profiles (``schema.PROFILE``):

- ``nearest`` (default): the profile whose prototype (a point in the space of the
  seven competence scores, scale 1-5) is nearest in Euclidean distance;
- ``cluster``: k-means with six clusters on the standardised scores of the
  municipality's own clients; each cluster is then matched one-to-one to a named
  profile by the Hungarian algorithm on the distances between cluster centres and
  prototypes (``scipy.optimize.linear_sum_assignment``).

A profile links to one or more markets (a config table); the first market is the
primary market that the Drechtsteden table and the candidate count use, the long
table :func:`pmc_links` counts a client under every linked market.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from caseload.errors import ConfigError
from caseload.schema import COMPETENCES, MARKET, PROFILE

__all__ = [
    "DEFAULT_PROTOTYPES",
    "DEFAULT_MARKETS",
    "assign_profiles",
    "cluster_profiles",
    "pmc_links",
]

# Competence order: drive, physical, precision, practical, social, communication,
# administrative (the order of schema.COMPETENCES). The synthetic generator draws
# competences around these same prototypes (caseload.synth.PROFILE_PROTOTYPES).
DEFAULT_PROTOTYPES: dict[str, list[float]] = {
    "1": [4.5, 3.2, 2.8, 3.2, 3.0, 2.8, 2.3],
    "2": [3.2, 4.2, 4.4, 3.2, 2.6, 2.5, 2.6],
    "3": [3.0, 3.2, 2.8, 4.4, 4.2, 3.1, 2.3],
    "4": [3.1, 2.6, 2.8, 2.7, 4.2, 4.5, 3.0],
    "5": [2.9, 2.3, 4.2, 2.6, 2.8, 3.2, 4.5],
    "6": [4.3, 4.5, 2.6, 3.4, 2.7, 2.3, 2.0],
}
"""Prototype competence scores per profile (scale 1-5), in the order of ``COMPETENCES``."""

DEFAULT_MARKETS: dict[str, list[str]] = {
    "1": ["logistiek", "bouw_infra", "productie", "energietransitie"],
    "2": ["productie", "logistiek", "techniek", "schoonmaak"],
    "3": ["dienstverlening", "techniek", "groen", "zorg"],
    "4": ["detailhandel", "horeca", "zorg", "dienstverlening"],
    "5": ["administratie", "ict", "zorg", "dienstverlening"],
    "6": ["bouw_infra", "groen", "schoonmaak", "vervoer"],
}
"""Markets per profile, most typical first; the first is the primary market. The
generator uses the same links (caseload.synth.PROFILE_MARKETS)."""


def _prototype_matrix(prototypes: Mapping[str, Sequence[float]] | None) -> tuple[list[str], np.ndarray]:
    prototypes = DEFAULT_PROTOTYPES if prototypes is None else prototypes
    keys = [str(k) for k in prototypes]
    bad = [k for k in keys if k not in PROFILE]
    if bad:
        raise ConfigError(f"unknown profile(s) {bad} in segment.prototypes.", column="segment.prototypes",
                          fix=f"Use the profile numbers {PROFILE.codes}.")
    mat = np.asarray([list(map(float, prototypes[k])) for k in prototypes], dtype="float64")
    if mat.ndim != 2 or mat.shape[1] != len(COMPETENCES):
        raise ConfigError(f"each prototype needs {len(COMPETENCES)} scores.", column="segment.prototypes",
                          fix="Give the scores in the order " + ", ".join(COMPETENCES) + ".")
    return keys, mat


def _scores(assessments: pd.DataFrame) -> np.ndarray:
    cols = []
    n = len(assessments)
    for c in COMPETENCES:
        if c in assessments:
            cols.append(pd.to_numeric(assessments[c], errors="coerce").to_numpy("float64", na_value=np.nan))
        else:
            cols.append(np.full(n, np.nan))
    return np.column_stack(cols) if cols else np.empty((n, 0))


def _nearest(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre, with missing scores left out of the distance.

    The squared distance over the observed scores is rescaled by (number of
    competences / number observed), so clients with a missing score are compared
    on the same scale; rows with no score at all get index -1.
    """
    obs = ~np.isnan(x)
    x0 = np.where(obs, x, 0.0)
    k = x.shape[1]
    # (a-b)^2 summed over observed dims = sum(a^2 obs) - 2 a.b + sum(b^2 obs): three matrix products.
    d2 = (np.sum(x0**2, axis=1)[:, None] - 2 * x0 @ centres.T + obs.astype("float64") @ (centres**2).T)
    n_obs = obs.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d2 = d2 * (k / n_obs)[:, None]
    idx = np.argmin(np.where(np.isfinite(d2), d2, np.inf), axis=1)
    idx = np.where(n_obs == 0, -1, idx)
    dist = np.sqrt(np.maximum(d2[np.arange(len(idx)), np.maximum(idx, 0)], 0.0))
    return idx, np.where(idx < 0, np.nan, dist)


def assign_profiles(
    assessments: pd.DataFrame,
    prototypes: Mapping[str, Sequence[float]] | None = None,
    lang: str = "nl",
) -> pd.DataFrame:
    """Nearest-prototype profile per row.

    Parameters
    ----------
    assessments : DataFrame
        Rows with the ``competence_*`` columns (scale 1-5; missing allowed).
    prototypes : mapping, optional
        Profile code -> seven scores; default :data:`DEFAULT_PROTOTYPES`.
    lang : {"nl", "en"}

    Returns
    -------
    DataFrame
        Same index: ``profile`` (string code "1"-"6", missing without scores),
        ``profile_label``, ``profile_distance``.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame([DEFAULT_PROTOTYPES["5"]], columns=list(COMPETENCES))
    >>> assign_profiles(a)[["profile", "profile_label"]].iloc[0].tolist()
    ['5', 'Administratief en nauwkeurig']
    """
    keys, centres = _prototype_matrix(prototypes)
    idx, dist = _nearest(_scores(assessments), centres)
    return _profile_frame(idx, keys, dist, assessments.index, lang)


def _profile_frame(idx, keys, dist, index, lang) -> pd.DataFrame:
    cats = pd.Index(keys)
    profile = pd.Categorical.from_codes(idx, categories=cats)
    labels = pd.Categorical.from_codes(idx, categories=pd.Index([PROFILE.label(k, lang) for k in keys]))
    return pd.DataFrame({"profile": profile, "profile_label": labels, "profile_distance": dist}, index=index)


def cluster_profiles(
    assessments: pd.DataFrame,
    prototypes: Mapping[str, Sequence[float]] | None = None,
    random_state: int = 0,
    lang: str = "nl",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Profiles from the municipality's own clusters, matched to the named profiles.

    K-means (``k`` = number of prototypes, ``n_init=10``) runs on the competence
    scores standardised with the data's own mean and standard deviation (missing
    scores imputed with the column mean for clustering only). Cluster centres are
    mapped back to the 1-5 scale and matched one-to-one to prototypes by
    minimum total Euclidean distance (Hungarian algorithm).

    Returns
    -------
    profiles : DataFrame
        As :func:`assign_profiles`, ``profile_distance`` is the distance to the
        matched prototype.
    clusters : DataFrame
        One row per cluster: ``cluster, n, profile, profile_label,
        distance_to_prototype`` and the centre's scores.
    """
    from scipy.optimize import linear_sum_assignment
    from sklearn.cluster import KMeans

    keys, protos = _prototype_matrix(prototypes)
    x = _scores(assessments)
    has = ~np.all(np.isnan(x), axis=1)
    if has.sum() < len(keys):
        raise ConfigError(f"clustering needs at least {len(keys)} clients with competence scores, "
                          f"found {int(has.sum())}.", column="segment.profile_method",
                          fix='Use profile_method = "nearest" for small caseloads.')
    xs = x[has]
    mean = np.nanmean(xs, axis=0)
    sd = np.nanstd(xs, axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = np.where(np.isnan(xs), 0.0, (xs - mean) / sd)
    km = KMeans(n_clusters=len(keys), n_init=10, random_state=random_state).fit(z)
    centres = km.cluster_centers_ * sd + mean
    cost = np.sqrt(((centres[:, None, :] - protos[None, :, :]) ** 2).sum(axis=2))
    rows, cols = linear_sum_assignment(cost)
    cluster_to_proto = np.empty(len(keys), dtype="int64")
    cluster_to_proto[rows] = cols
    idx = np.full(len(x), -1, dtype="int64")
    idx[has] = cluster_to_proto[km.labels_]
    dist = np.full(len(x), np.nan)
    xf = np.where(np.isnan(xs), mean, xs)
    dist[has] = np.sqrt(((xf - protos[idx[has]]) ** 2).sum(axis=1))
    profiles = _profile_frame(idx, keys, dist, assessments.index, lang)
    clusters = pd.DataFrame(centres.round(2), columns=list(COMPETENCES))
    clusters.insert(0, "cluster", np.arange(len(keys)))
    clusters.insert(1, "n", np.bincount(km.labels_, minlength=len(keys)))
    clusters.insert(2, "profile", [keys[j] for j in cluster_to_proto])
    clusters.insert(3, "profile_label", [PROFILE.label(keys[j], lang) for j in cluster_to_proto])
    clusters.insert(4, "distance_to_prototype", cost[np.arange(len(keys)), cluster_to_proto].round(3))
    return profiles, clusters


def check_markets(markets: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """Validate the profile -> markets table (default :data:`DEFAULT_MARKETS`)."""
    markets = DEFAULT_MARKETS if markets is None else markets
    out = {}
    for k, v in markets.items():
        k = str(k)
        v = [v] if isinstance(v, str) else list(v)
        if k not in PROFILE:
            raise ConfigError(f"unknown profile {k!r} in segment.markets.", column="segment.markets",
                              fix=f"Use the profile numbers {PROFILE.codes}.")
        bad = [m for m in v if m not in MARKET]
        if bad or not v:
            raise ConfigError(f"profile {k}: unknown or no market(s) {bad}.", column="segment.markets",
                              fix=f"Use markets from {MARKET.codes}.")
        out[k] = v
    return out


def pmc_links(clients: pd.DataFrame, markets: Mapping[str, Sequence[str]] | None = None,
              lang: str = "nl") -> pd.DataFrame:
    """Long table: candidates per municipality x segment x profile x every linked market.

    A client whose profile links to three markets is counted in each of them, so
    the totals over markets exceed the number of clients; use the Drechtsteden
    table (primary market only) for totals.
    """
    markets = check_markets(markets)
    base = (clients.dropna(subset=["profile"])
            .groupby(["municipality", "segment", "profile"], observed=True, dropna=False)
            .size().rename("n").reset_index())
    rows = []
    for prof, ms in markets.items():
        sub = base[base["profile"].astype(str) == prof]
        for rank, m in enumerate(ms, start=1):
            rows.append(sub.assign(market=m, market_rank=rank))
    if not rows:
        return pd.DataFrame(columns=["municipality", "segment", "profile", "market", "market_rank", "n"])
    out = pd.concat(rows, ignore_index=True)
    out["profile"] = out["profile"].astype(str)
    out["profile_label"] = out["profile"].map(lambda p: PROFILE.label(p, lang))
    out["market_label"] = out["market"].map(lambda m: MARKET.label(m, lang))
    cols = ["municipality", "segment", "profile", "profile_label", "market", "market_label",
            "market_rank", "n"]
    return out[cols].sort_values(cols[:3] + ["market_rank"]).reset_index(drop=True)
