"""Consistency checks on published yearly tables (and the bundled source table).

A table copied into a council report is easily wrong: a total that does not add
up, years out of order, a negative count. :func:`check_published_table` collects
every failure into one table (pandera's lazy validation), so an analyst sees
them all at once; the Stadskanaal/Veendam source of 2017 has such an error
(new target groups 2017: total 162, but 78 + 64 = 142).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = ["check_published_table", "load_published_table", "published_long"]

_ISSUE_COLUMNS = ["table", "row", "year", "column", "check", "value", "expected", "message"]


def load_published_table() -> pd.DataFrame:
    """The Stadskanaal/Veendam table of 2017 as published (``stadskanaal_veendam_2017.csv``).

    Returns
    -------
    DataFrame
        ``table`` (``nieuwe_doelgroepen`` or ``beschut_werk``), ``year`` (string:
        a year or ``structureel``), ``Stadskanaal``, ``Veendam``, ``Totaal``,
        including the wrong 2017 total as published.
    """
    with resources.files("caseload.data").joinpath("stadskanaal_veendam_2017.csv").open(
            encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#", dtype={"year": "string"})


def published_long(table: pd.DataFrame, which: str, value: str = "value",
                   total: str = "Totaal") -> tuple[pd.DataFrame, dict[str, float]]:
    """One part of a published wide table as a long yearly frame plus its structural row.

    Parameters
    ----------
    table : DataFrame
        Wide table as from :func:`load_published_table`.
    which : str
        Value of the ``table`` column (``nieuwe_doelgroepen`` or ``beschut_werk``).
    value : str
        Name of the value column in the result.
    total : str
        Name of the total column, left out.

    Returns
    -------
    (DataFrame, dict)
        ``municipality, year, <value>`` for the yearly rows and
        ``{municipality: structural level}``.
    """
    part = table[table["table"] == which]
    if part.empty:
        raise CaseloadError(f"no rows with table == {which!r}.", column="table", value=which,
                            fix=f"Choose one of {sorted(table['table'].unique())}.")
    munis = [c for c in part.columns if c not in ("table", "year", total)]
    is_struct = part["year"].str.lower() == "structureel"
    years = part[~is_struct].melt(id_vars=["year"], value_vars=munis, var_name="municipality",
                                  value_name=value)
    years["year"] = years["year"].astype(int)
    struct = {m: float(part.loc[is_struct, m].iloc[0]) for m in munis} if is_struct.any() else {}
    return years[["municipality", "year", value]], struct


def check_published_table(table: pd.DataFrame, parts=None, total: str = "Totaal",
                          group: str = "table", year: str = "year", tolerance: float = 0.0) -> pd.DataFrame:
    """Every inconsistency in a published yearly table, one row each.

    Checks, per group of rows (``table`` column): the total equals the sum of the
    parts; years are unique and increasing (a ``structureel`` row last); counts
    are not negative, not missing and whole numbers.

    Parameters
    ----------
    table : DataFrame
        Wide table: a year column, one column per municipality, a total column.
    parts : list of str, optional
        Columns that should add up to ``total``; default every column other than
        ``group``, ``year`` and ``total``.
    total, group, year : str
        Column names. ``group`` may be absent (one table).
    tolerance : float, default 0
        Allowed absolute difference between the total and the sum (e.g. 1 for
        tables whose parts were rounded separately).

    Returns
    -------
    DataFrame
        ``table, row, year, column, check, value, expected, message`` (``row`` is
        the 1-based data row in ``table``); empty when everything is consistent.

    Examples
    --------
    >>> issues = check_published_table(load_published_table())
    >>> issues[["year", "value", "expected"]].values.tolist()
    [['2017', 162.0, 142.0]]
    """
    df = table.reset_index(drop=True)
    if group not in df.columns:
        df = df.assign(**{group: ""})
    if year not in df.columns:
        raise CaseloadError(f"table lacks the year column '{year}'.", column=year,
                            fix="Name the year column with year=...")
    if parts is None:
        parts = [c for c in df.columns if c not in (group, year, total)]
    issues = []

    def add(i, col, check, value, expected, msg):
        issues.append({"table": df.at[i, group], "row": i + 1, "year": str(df.at[i, year]),
                       "column": col, "check": check, "value": value, "expected": expected,
                       "message": msg})

    cols = list(parts) + ([total] if total in df.columns else [])
    for i in df.index:
        for c in cols:
            v = pd.to_numeric(df.at[i, c], errors="coerce")
            if pd.isna(v):
                add(i, c, "ontbrekend", np.nan, np.nan, f"{c} {df.at[i, year]}: missing or not a number.")
            elif v < 0:
                add(i, c, "negatief", float(v), np.nan, f"{c} {df.at[i, year]}: negative count {v:g}.")
            elif v != np.floor(v):
                add(i, c, "geen_geheel_getal", float(v), float(np.round(v)),
                    f"{c} {df.at[i, year]}: a count of persons should be whole, got {v:g}.")
        if total in df.columns:
            vals = pd.to_numeric(df.loc[i, list(parts)], errors="coerce")
            tot = pd.to_numeric(df.at[i, total], errors="coerce")
            if vals.notna().all() and pd.notna(tot) and abs(tot - vals.sum()) > tolerance:
                add(i, total, "totaal", float(tot), float(vals.sum()),
                    f"{df.at[i, group]} {df.at[i, year]}: total {tot:g} but "
                    f"{' + '.join(f'{v:g}' for v in vals)} = {vals.sum():g}.")
    for g, sub in df.groupby(group, sort=False):
        ys = sub[year].astype(str)
        struct = ys.str.lower() == "structureel"
        if struct.any() and not struct.iloc[-1]:
            i = sub.index[struct.to_numpy().argmax()]
            add(i, year, "volgorde", np.nan, np.nan, f"{g}: the structural row is not the last row.")
        num = pd.to_numeric(ys[~struct], errors="coerce")
        for i in num[num.isna()].index:
            add(i, year, "jaar", np.nan, np.nan, f"{g}: '{df.at[i, year]}' is not a year.")
        num = num.dropna()
        dup = num[num.duplicated()]
        for i in dup.index:
            add(i, year, "dubbel_jaar", float(num[i]), np.nan, f"{g}: year {int(num[i])} appears twice.")
        steps = num.diff()
        for i in steps[steps < 0].index:
            add(i, year, "volgorde", float(num[i]), np.nan,
                f"{g}: year {int(num[i])} comes after a later year.")
    return pd.DataFrame(issues, columns=_ISSUE_COLUMNS)
