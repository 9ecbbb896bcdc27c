"""Sheltered work (beschut werk): national target times a constant municipal share.

The ministry (SZW) sets a yearly national target (taakstelling) for sheltered-work
places and publishes its division over municipalities for the current and next
year. Municipalities plan later years with "the number at an unchanged share of
the national target" (Stadskanaal/Veendam 2017):

.. math::

    x_{m,t} = \\operatorname{round}(s_m N_t), \\qquad s_m = x_{m,b} / N_b

with the ministry's own municipal numbers up to the base year :math:`b` and the
share :math:`s_m` of the base year after it. Rounding is half up, as published.

The inverse: every published municipal number :math:`x` says that the national
target lies in :math:`[(x - \\tfrac12)/s_m, (x + \\tfrac12)/s_m)`. Two municipalities
that used the same national series must have overlapping intervals in every year;
:func:`implied_national` returns the intervals and their intersection.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = [
    "load_national_sheltered_work",
    "project_sheltered_work",
    "implied_national",
    "round_half_up",
]


def round_half_up(x) -> np.ndarray:
    """Round to whole numbers with halves up (2.5 -> 3), as published tables do.

    >>> round_half_up([2.5, 3.49, 3.5]).tolist()
    [3.0, 3.0, 4.0]
    """
    return np.floor(np.asarray(x, dtype=float) + 0.5)


def load_national_sheltered_work() -> pd.DataFrame:
    """The bundled national sheltered-work targets (``beschut_werk_landelijk.csv``).

    Returns
    -------
    DataFrame
        ``year`` (int; the structural level has ``year`` missing and
        ``structural`` True), ``target``, ``status`` (``gepubliceerd`` for
        figures from public sources, ``afgeleid`` for figures derived here from
        the municipal tables with :func:`implied_national`), ``source``.
    """
    with resources.files("caseload.data").joinpath("beschut_werk_landelijk.csv").open(
            encoding="utf-8") as fh:
        df = pd.read_csv(fh, comment="#", dtype={"year": "string"})
    df["structural"] = df["year"] == "structureel"
    df["year"] = pd.to_numeric(df["year"].where(~df["structural"]), errors="coerce").astype("Int64")
    return df


def _check_long(df: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CaseloadError(f"{what} lacks column(s) {missing}.", column=missing[0],
                            fix=f"Pass a long table with columns {', '.join(cols)}.")


def _base_year_shares(national: pd.DataFrame, municipal: pd.DataFrame, base_year: int):
    """National targets by year, and per municipality its own numbers and base-year share.

    Shared by :func:`project_sheltered_work` and :func:`implied_national`: the
    method is one share ``places / target`` in the base year, in both directions.
    """
    _check_long(national, ("year", "target"), "national table")
    _check_long(municipal, ("municipality", "year", "places"), "municipal table")
    nat = national.dropna(subset=["year"]).astype({"year": int}).set_index("year")["target"].astype(float)
    if base_year not in nat.index:
        raise CaseloadError(f"no national target for the base year {base_year}.", value=base_year,
                            fix="Add the base year to the national table or choose another base year.")
    mun = municipal.astype({"year": int})
    shares = {}
    for m, g in mun.groupby("municipality", sort=True):
        own = g.set_index("year")["places"].astype(float)
        if base_year not in own.index:
            raise CaseloadError(f"municipality {m}: no number for the base year {base_year}.",
                                value=base_year, fix="Give the municipality's number for the base year.")
        shares[m] = (own, own[base_year] / nat[base_year])
    return nat, mun, shares


def project_sheltered_work(national: pd.DataFrame, municipal: pd.DataFrame, base_year: int,
                           years=None) -> pd.DataFrame:
    """Sheltered-work places per municipality: own numbers up to ``base_year``, then share x national.

    Parameters
    ----------
    national : DataFrame
        ``year, target``: the national target per year (rows without a year are ignored).
    municipal : DataFrame
        ``municipality, year, places``: the ministry's own municipal numbers for
        the years up to and including ``base_year``.
    base_year : int
        Year whose share ``places / target`` is held constant afterwards.
    years : iterable of int, optional
        Years to return; default every year of ``national`` from the first
        municipal year on.

    Returns
    -------
    DataFrame
        ``municipality, year, places, share, national_target, basis`` where basis is
        ``taakstelling`` (the ministry's own number) or ``aandeel`` (share x
        national target, rounded half up).
    """
    nat, mun, shares = _base_year_shares(national, municipal, base_year)
    if years is None:
        years = [y for y in nat.index if y >= mun["year"].min()]
    out = []
    for m, (own, share) in shares.items():
        for y in years:
            if y <= base_year and y in own.index:
                places, basis = own[y], "taakstelling"
                s = own[y] / nat[y] if y in nat.index else np.nan
            elif y > base_year:
                if y not in nat.index:
                    raise CaseloadError(f"no national target for {y}.", value=y,
                                        fix="Add the year to the national table.")
                places, basis, s = float(round_half_up(share * nat[y])), "aandeel", share
            else:
                continue
            out.append({"municipality": m, "year": int(y), "places": int(places), "share": s,
                        "national_target": nat.get(y, np.nan), "basis": basis})
    return pd.DataFrame(out)


def implied_national(municipal: pd.DataFrame, national: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """National targets implied by municipal tables made with a constant share.

    Parameters
    ----------
    municipal : DataFrame
        ``municipality, year, places`` for years after ``base_year`` and the base
        year itself (published, rounded numbers).
    national : DataFrame
        ``year, target`` with at least the base year.
    base_year : int
        Year of the share.

    Returns
    -------
    DataFrame
        One row per municipality and year after ``base_year``: ``low, high``
        (the national targets that round to the published number at the base
        share, half-open ``[low, high)``), ``point`` (places / share), then one
        row per year with ``municipality = "doorsnede"``: the intersection over
        municipalities, ``consistent`` True when it is not empty.
    """
    nat, _, shares = _base_year_shares(national, municipal, base_year)
    rows = []
    for m, (own, share) in shares.items():
        for y, x in own[own.index > base_year].items():
            rows.append({"municipality": m, "year": int(y), "places": x, "share": share,
                         "low": (x - 0.5) / share, "high": (x + 0.5) / share, "point": x / share})
    per = pd.DataFrame(rows)
    if per.empty:
        return per
    inter = per.groupby("year").agg(low=("low", "max"), high=("high", "min")).reset_index()
    inter["point"] = (inter["low"] + inter["high"]) / 2
    inter["municipality"] = "doorsnede"
    inter["consistent"] = inter["low"] < inter["high"]
    per["consistent"] = np.nan
    return pd.concat([per, inter], ignore_index=True)[
        ["municipality", "year", "places", "share", "low", "high", "point", "consistent"]]
