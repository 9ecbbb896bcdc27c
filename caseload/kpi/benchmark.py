"""Benchmark a municipality among Dutch municipalities of similar size (CBS 2015-2017).

The bundled file ``caseload/data/cbs_participatiewet_gemeente_2015_2017.csv`` holds the
real CBS figures per region and year: inhabitants, bijstand recipients and density,
inflow, outflow and outflow to work (counts and CBS percentages). CBS rounds counts
to tens (its own disclosure control) and leaves a cell empty when it is not
published; empty cells are ``NaN`` here and are left out of the peer statistics.

Source: CBS StatLine, Participatiewet, re-integratie en Wsw per gemeente, 2015-2017
(CC BY 4.0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema.labels import label_table

__all__ = [
    "CBS_SOURCE",
    "INDICATORS",
    "SIZE_CLASSES",
    "load_cbs_municipalities",
    "size_class",
    "peer_group",
    "peer_values",
    "benchmark_municipality",
    "extract_indicators",
]

CBS_SOURCE = ("CBS StatLine, Participatiewet, re-integratie en Wsw per gemeente 2015-2017 "
              "(CC BY 4.0)")
"""Source line for tables and figures made from the bundled CBS file."""

_FILE = "data/cbs_participatiewet_gemeente_2015_2017.csv"

_RENAME = {
    "Leeftijd": "age_group", "Regio": "municipality", "jaar": "year", "Inwoners": "inhabitants",
    "Bijstandsontvangers": "recipients", "Bijstandsdichtheid_per1000": "density",
    "Instroom": "inflow", "Instroom_pct": "inflow_pct", "Uitstroom": "outflow",
    "Uitstroom_pct": "outflow_pct", "UitstroomNaarWerk": "outflow_work",
    "UitstroomNaarWerk_pct": "outflow_work_pct",
    "PersonenMetReIntegratievoorziening": "reintegration", "WSWWerknemers": "wsw_employees",
    "WSWDichtheid": "wsw_density",
}

INDICATORS: dict[str, tuple[str, str]] = label_table("values.indicator")
"""Indicators that can be benchmarked: code -> (Dutch label, English label).

``density``, ``*_pct`` are CBS's published figures. ``outflow_work_share`` =
100 x outflow to work / outflow and ``*_per_1000`` = 1000 x count / inhabitants are
computed here from CBS's counts (rounded to tens, so small municipalities carry
a rounding error of up to a few percentage points)."""

DEFAULT_INDICATORS = ("density", "inflow_pct", "outflow_pct", "outflow_work_pct", "outflow_work_share")

SIZE_CLASSES: tuple[tuple[int, float, str], ...] = (
    (0, 5_000, "< 5.000"),
    (5_000, 10_000, "5.000-10.000"),
    (10_000, 20_000, "10.000-20.000"),
    (20_000, 50_000, "20.000-50.000"),
    (50_000, 100_000, "50.000-100.000"),
    (100_000, 150_000, "100.000-150.000"),
    (150_000, 250_000, "150.000-250.000"),
    (250_000, np.inf, ">= 250.000"),
)
"""CBS municipality size classes (gemeentegrootteklasse) by number of inhabitants.

The bundled file has inhabitants aged 15 and over, not the total population CBS
uses for its official class, so the class here is an approximation."""


@lru_cache(maxsize=1)
def _read_cbs() -> pd.DataFrame:
    text = resources.files("caseload").joinpath(_FILE).open("r", encoding="utf-8")
    with text as fh:
        return pd.read_csv(fh)


def load_cbs_municipalities(age_group: str = "15+ totaal") -> pd.DataFrame:
    """The bundled CBS figures for all municipalities (``GM`` codes), 2015-2017.

    Parameters
    ----------
    age_group : {"15+ totaal", "15 tot AOW", "AOW+"}
        Age group of the counts and rates.

    Returns
    -------
    DataFrame
        One row per municipality and year: ``municipality`` (CBS code), ``year``,
        ``age_group``, ``inhabitants``, ``inhabitants_total`` (15+, used for size),
        ``size_class``, ``recipients``, ``density``, ``inflow``, ``inflow_pct``,
        ``outflow``, ``outflow_pct``, ``outflow_work``, ``outflow_work_pct``, the
        derived ``outflow_work_share``, ``inflow_per_1000``, ``outflow_per_1000``,
        and other CBS columns. ``attrs["source"]`` holds the source line.

    Examples
    --------
    >>> cbs = load_cbs_municipalities()
    >>> sorted(cbs["year"].unique().tolist())
    [2015, 2016, 2017]
    """
    raw = _read_cbs()
    groups = sorted(raw["Leeftijd"].unique())
    if age_group not in groups:
        raise CaseloadError(f"unknown age group {age_group!r}.", value=age_group,
                            fix=f"Use one of {', '.join(groups)}.")
    gm = raw[raw["Regio"].str.startswith("GM")].rename(columns=_RENAME)
    size = gm.loc[gm["age_group"] == "15+ totaal", ["municipality", "year", "inhabitants"]]
    df = gm.loc[gm["age_group"] == age_group].merge(
        size.rename(columns={"inhabitants": "inhabitants_total"}), on=["municipality", "year"], how="left")
    df["size_class"] = size_class(df["inhabitants_total"])
    df["outflow_work_share"] = 100 * df["outflow_work"] / df["outflow"].where(df["outflow"] > 0)
    df["inflow_per_1000"] = 1000 * df["inflow"] / df["inhabitants"]
    df["outflow_per_1000"] = 1000 * df["outflow"] / df["inhabitants"]
    df = df.sort_values(["year", "municipality"]).reset_index(drop=True)
    df.attrs["source"] = CBS_SOURCE
    return df


def size_class(inhabitants) -> pd.Series:
    """CBS size class label (see :data:`SIZE_CLASSES`) for numbers of inhabitants."""
    x = pd.Series(np.asarray(inhabitants, dtype="float64"))
    bins = [lo for lo, _, _ in SIZE_CLASSES] + [np.inf]
    return pd.cut(x, bins=bins, right=False, labels=[lab for _, _, lab in SIZE_CLASSES]).astype(str)


def _year_frame(cbs: pd.DataFrame, year: int) -> pd.DataFrame:
    y = cbs.loc[cbs["year"] == int(year)]
    if y.empty:
        raise CaseloadError(f"no CBS figures for year {year}.", value=year,
                            fix=f"Use one of {', '.join(map(str, sorted(cbs['year'].unique())))}.")
    return y


def peer_group(cbs: pd.DataFrame, municipality: str | None = None, *, year: int = 2017,
               inhabitants: float | None = None, band: tuple[float, float] = (0.5, 2.0),
               method: str = "band") -> pd.DataFrame:
    """Municipalities of similar size to ``municipality`` (itself included).

    Parameters
    ----------
    cbs : DataFrame
        From :func:`load_cbs_municipalities`.
    municipality : str, optional
        CBS code (``GM0168``). Needed unless ``inhabitants`` is given.
    year : int, default 2017
    inhabitants : float, optional
        Size to match (inhabitants 15+); default the municipality's own CBS figure.
        Use it for a municipality not in the file (e.g. formed by a later merger).
    band : (low, high), default (0.5, 2.0)
        With ``method="band"``: peers have between low x and high x the inhabitants.
    method : {"band", "size_class"}
        Size band around the municipality, or the same CBS size class.
    """
    y = _year_frame(cbs, year)
    if inhabitants is None:
        own = y.loc[y["municipality"] == municipality]
        if own.empty:
            raise CaseloadError(f"municipality {municipality!r} is not in the CBS figures for {year}.",
                                value=municipality,
                                fix="Give a CBS code as 'GM0168' (4 digits), or pass inhabitants=... .")
        inhabitants = float(own["inhabitants_total"].iloc[0])
    if method == "band":
        lo, hi = band
        if not 0 < lo <= 1 <= hi:
            raise CaseloadError(f"size band {band} must satisfy 0 < low <= 1 <= high.", value=band,
                                fix="Use e.g. band=(0.5, 2.0).")
        keep = y["inhabitants_total"].between(lo * inhabitants, hi * inhabitants)
    elif method == "size_class":
        keep = y["size_class"] == size_class([inhabitants]).iloc[0]
    else:
        raise CaseloadError(f"unknown peer method {method!r}.", value=method,
                            fix="Use method='band' or method='size_class'.")
    if municipality is not None:
        keep |= y["municipality"] == municipality
    return y.loc[keep].reset_index(drop=True)


def peer_values(cbs: pd.DataFrame, municipality: str | None = None, *, year: int = 2017,
                indicators: Sequence[str] = DEFAULT_INDICATORS, values: Mapping[str, float] | None = None,
                inhabitants: float | None = None, band: tuple[float, float] = (0.5, 2.0),
                method: str = "band") -> pd.DataFrame:
    """Long table of indicator values of the peer group (one row per municipality and indicator).

    ``values`` replaces the municipality's own figures (e.g. computed from its own
    extract with the CBS definitions). Columns: municipality, indicator, value,
    is_self.
    """
    unknown = [i for i in indicators if i not in INDICATORS]
    if unknown:
        raise CaseloadError(f"unknown indicator(s) {', '.join(unknown)}.", value=unknown[0],
                            fix=f"Use any of {', '.join(INDICATORS)}.")
    peers = peer_group(cbs, municipality, year=year, inhabitants=inhabitants, band=band, method=method)
    name = municipality if municipality is not None else "eigen"
    if municipality is None or not (peers["municipality"] == municipality).any():
        peers = pd.concat([peers, pd.DataFrame({"municipality": [name]})], ignore_index=True)
    long = peers.melt(id_vars=["municipality"], value_vars=list(indicators), var_name="indicator",
                      value_name="value")
    long["is_self"] = long["municipality"] == name
    for key, v in (values or {}).items():
        if key not in indicators:
            raise CaseloadError(f"value given for indicator {key!r} that is not benchmarked.", value=key,
                                fix="Add it to indicators or drop it from values.")
        long.loc[long["is_self"] & (long["indicator"] == key), "value"] = float(v)
    long["value"] = long["value"].astype("float64")
    return long


def benchmark_municipality(cbs: pd.DataFrame, municipality: str | None = None, *, year: int = 2017,
                           indicators: Sequence[str] = DEFAULT_INDICATORS,
                           values: Mapping[str, float] | None = None, inhabitants: float | None = None,
                           band: tuple[float, float] = (0.5, 2.0), method: str = "band",
                           lang: str = "nl") -> pd.DataFrame:
    """Place a municipality among municipalities of similar size, per indicator.

    Parameters
    ----------
    cbs : DataFrame
        From :func:`load_cbs_municipalities`.
    municipality : str, optional
        CBS code; ``None`` with ``inhabitants`` and ``values`` for an own figure.
    year : int, default 2017
    indicators : list of str
        Codes of :data:`INDICATORS`.
    values : dict, optional
        Own values replacing the CBS figures of the municipality.
    inhabitants, band, method
        Peer selection, see :func:`peer_group`.
    lang : {"nl", "en"}
        Language of the ``label`` column.

    Returns
    -------
    DataFrame
        One row per indicator: indicator, label, value, n_peers (peers with a
        published value, the municipality included), rank (1 = highest value;
        ties share the best rank), percentile, peer_median, peer_p25, peer_p75,
        peer_min, peer_max.

    Notes
    -----
    percentile = 100 x (number of peers below + 0.5 x number equal) / n_peers,
    the "mean" definition of :func:`scipy.stats.percentileofscore`, with the
    municipality itself among the peers. A value CBS did not publish is NaN and
    leaves rank and percentile NaN; the peer statistics are still given.
    """
    long = peer_values(cbs, municipality, year=year, indicators=indicators, values=values,
                       inhabitants=inhabitants, band=band, method=method)
    rows = []
    for ind in indicators:
        g = long.loc[long["indicator"] == ind]
        v = g["value"].dropna()
        own = g.loc[g["is_self"], "value"].iloc[0]
        have = not np.isnan(own)
        rows.append({
            "indicator": ind, "label": INDICATORS[ind][0 if lang == "nl" else 1],
            "value": own, "n_peers": int(v.size),
            "rank": int((v > own).sum()) + 1 if have else np.nan,
            "percentile": 100 * ((v < own).sum() + 0.5 * (v == own).sum()) / v.size if have else np.nan,
            "peer_median": v.median(), "peer_p25": v.quantile(0.25), "peer_p75": v.quantile(0.75),
            "peer_min": v.min(), "peer_max": v.max(),
        })
    out = pd.DataFrame(rows)
    out.attrs.update(source=CBS_SOURCE, year=year, municipality=municipality,
                     peers=sorted(long["municipality"].unique().tolist()), method=method, band=band)
    return out


def extract_indicators(spells: pd.DataFrame, year: int, inhabitants: float, *,
                       municipality: str | None = None) -> dict[str, float]:
    """A municipality's own indicators from its extract, in the definitions computed here.

    Pass the result as ``values`` to :func:`benchmark_municipality` to place the
    extract's own figures among the CBS peers (same ``year``).

    Parameters
    ----------
    spells : DataFrame
        Canonical spells.
    year : int
        Calendar year.
    inhabitants : float
        Inhabitants (15+) of the municipality, e.g. the ``inhabitants`` of
        :func:`load_cbs_municipalities` for that year.
    municipality : str, optional
        Keep only spells of this CBS code.

    Returns
    -------
    dict
        ``density`` (persons with a benefit on 31 December per 1,000 inhabitants),
        ``inflow_per_1000`` and ``outflow_per_1000`` (persons with a spell starting,
        resp. ending, in the year), ``outflow_work_share`` (100 x persons whose spell
        ended in work / persons with an ending spell).

    Notes
    -----
    Persons are counted once per measure, like CBS. CBS's own ``*_pct`` figures
    use denominators not in the bundled file, so they are not reproduced here.
    """
    if not inhabitants > 0:
        raise CaseloadError("inhabitants must be positive.", value=inhabitants,
                            fix="Pass the number of inhabitants aged 15 and over.")
    s = spells if municipality is None else spells[spells["municipality"] == municipality]
    first, last = pd.Timestamp(year=int(year), month=1, day=1), pd.Timestamp(year=int(year), month=12, day=31)
    start, end = s["start_date"], s["end_date"]
    on_last = (start <= last) & (end.isna() | (end > last))
    started = start.between(first, last)
    ended = end.notna() & end.between(first, last)
    work = ended & s["end_reason"].isin(["werk", "werk_deels"]).fillna(False)
    persons = {k: s.loc[m.to_numpy(), "client_id"].nunique()
               for k, m in (("stock", on_last), ("in", started), ("out", ended), ("work", work))}
    return {
        "density": 1000 * persons["stock"] / inhabitants,
        "inflow_per_1000": 1000 * persons["in"] / inhabitants,
        "outflow_per_1000": 1000 * persons["out"] / inhabitants,
        "outflow_work_share": 100 * persons["work"] / persons["out"] if persons["out"] else np.nan,
    }
