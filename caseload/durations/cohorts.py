"""Cohort curves as municipalities draw them (VNG Data Science Hub, "Sturen op bijstand").

The reference R script (gemeente Nissewaard) shows, per inflow year, the share
of benefits still active ``k`` years after their start, and the share still
active on the peildatum per inflow year by inflow reason, household form, sex,
age class and age x sex. This module computes the same tables from canonical
spells, with one correction: the script counts a benefit of a cohort that
cannot yet be ``k`` years old as active at ``k``; here only benefits observable
for ``k`` years (``start + k years <= peildatum``) count at ``k``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.durations.tables import _positions, _take, age_at
from caseload.errors import CaseloadError
from caseload.schema import SPELLS, age_band

__all__ = ["cohort_curves", "cohort_tables", "active_share", "COHORT_AGE_CLASSES", "COHORT_GROUPINGS"]

COHORT_AGE_CLASSES: tuple[tuple[int, int], ...] = ((0, 29), (30, 50), (51, 150))
"""Age classes of "Sturen op bijstand" (age at start): < 30, 30-50, 50+."""

COHORT_GROUPINGS = ("inflow_year", "inflow_reason", "household", "sex", "age_class")


def _age_class_labels(bands) -> list[str]:
    labels = []
    for lo, hi in bands:
        if lo <= 0:
            labels.append(f"< {hi + 1}")
        elif hi >= 120:
            labels.append(f"{lo - 1}+")
        else:
            labels.append(f"{lo}-{hi}")
    return labels


def _frame(spells, clients, peildatum, age_classes, window_start=None) -> pd.DataFrame:
    for col in (SPELLS.start_date, SPELLS.end_date, SPELLS.client_id):
        if col not in spells.columns:
            raise CaseloadError(f"the spells table has no column {col!r}.", column=col,
                                fix="Pass the canonical spells table.")
    peil = pd.Timestamp(peildatum)
    start = pd.to_datetime(spells[SPELLS.start_date])
    keep = (start <= peil).to_numpy()
    if window_start is not None:
        # earlier cohorts are seen only through their survivors (stock sample): leave them out
        keep &= (start >= pd.Timestamp(window_start)).to_numpy()
    s = spells[keep].reset_index(drop=True)
    start = pd.to_datetime(s[SPELLS.start_date])
    age = age_at(clients, start, s[SPELLS.client_id])
    cls = age_band(age, age_classes, suffix="")
    cls = cls.rename_categories(_age_class_labels(age_classes))
    cl = clients.drop_duplicates("client_id").set_index("client_id")
    pos = _positions(cl.index, s[SPELLS.client_id])
    household = s[SPELLS.household] if SPELLS.household in s.columns else pd.Series(pd.NA, index=s.index)
    if "household" in cl.columns:
        household = household.fillna(pd.Series(np.asarray(_take(cl["household"].array, pos)), index=s.index))
    return pd.DataFrame({
        "start": start,
        "end": pd.to_datetime(s[SPELLS.end_date]),
        "inflow_year": start.dt.year,
        "inflow_reason": s[SPELLS.inflow_reason] if SPELLS.inflow_reason in s.columns else pd.NA,
        "household": household,
        "sex": np.asarray(_take(cl["sex"].array, pos)) if "sex" in cl.columns else pd.NA,
        "age_class": cls,
    })


def _group_labels(df: pd.DataFrame, by) -> pd.Series:
    cols = [by] if isinstance(by, str) else list(by)
    unknown = [c for c in cols if c not in COHORT_GROUPINGS]
    if unknown:
        raise CaseloadError(f"unknown grouping {unknown[0]!r}.", value=unknown[0],
                            fix=f"Use one of {', '.join(COHORT_GROUPINGS)} or a list of them.")
    parts = [df[c].astype("string").fillna("onbekend") for c in cols]
    label = parts[0]
    for p in parts[1:]:
        label = label + " / " + p
    return label


def cohort_curves(
    spells: pd.DataFrame,
    clients: pd.DataFrame,
    peildatum,
    by="inflow_year",
    max_years: int = 10,
    age_classes=COHORT_AGE_CLASSES,
    window_start=None,
) -> pd.DataFrame:
    """Share of benefits still active ``k`` years after their start, per group.

    Parameters
    ----------
    spells, clients : DataFrame
        Canonical tables.
    peildatum : date-like
        Date of the extract; spells starting after it are ignored.
    by : str or list of str
        ``"inflow_year"`` (cohorts), ``"inflow_reason"``, ``"household"``,
        ``"sex"``, ``"age_class"`` (age at start, :data:`COHORT_AGE_CLASSES`) or
        a list such as ``["age_class", "sex"]`` (labels joined with " / ").
    max_years : int
        Last ``k``.
    age_classes : sequence of (low, high)
        Inclusive age classes for ``"age_class"``.
    window_start : date-like, optional
        First day the extract covers. Benefits that started before it are left
        out: an extract only holds those of them still running at that day, so
        their cohorts would look far too persistent.

    Returns
    -------
    DataFrame
        ``group, years_since_start, share_active, n`` for ``k = 0..max_years``;
        ``n`` is the number of benefits observable for ``k`` years.

    Notes
    -----
    A benefit counts at ``k`` only when ``start + k years <= peildatum``; it is
    active at ``k`` when it has no end date or ends after ``start + k years``.
    Groups other than the inflow year pool all observable cohorts. Unlike
    Kaplan-Meier this ignores censoring within cohorts only in that it drops
    too-young cohorts, which is exactly right for this share.
    """
    return cohort_tables(spells, clients, peildatum, [by], max_years=max_years, age_classes=age_classes,
                         window_start=window_start)[0]


def cohort_tables(
    spells: pd.DataFrame,
    clients: pd.DataFrame,
    peildatum,
    groupings,
    max_years: int = 10,
    age_classes=COHORT_AGE_CLASSES,
    window_start=None,
) -> list[pd.DataFrame]:
    """:func:`cohort_curves` for several groupings at once, one table per grouping.

    The spell frame and the anniversary tests are built once and shared, which
    matters at national size (six groupings by default). Arguments as in
    :func:`cohort_curves`; ``groupings`` is a list of its ``by`` values.
    """
    peil = pd.Timestamp(peildatum)
    df = _frame(spells, clients, peil, age_classes, window_start)
    start = df["start"].to_numpy()
    end = df["end"].to_numpy()
    open_ = np.isnat(end)
    tests = []
    for k in range(0, max_years + 1):
        # DateOffset rolls 29 February to 28 February in non-leap years, as before
        anniversary = (df["start"] + pd.DateOffset(years=k)).to_numpy() if k else start
        observable = anniversary <= peil.to_datetime64()
        active = (open_ | (end > anniversary)) if k else np.ones(len(df), bool)
        tests.append((observable, active))
    out = []
    for by in groupings:
        codes, labels = _group_codes(df, by)
        m = len(labels)
        rows = []
        for k, (observable, active) in enumerate(tests):
            c = codes[observable]
            n = np.bincount(c, minlength=m)
            a = np.bincount(c, weights=active[observable], minlength=m)
            seen = n > 0
            rows.append(pd.DataFrame({"group": labels[seen], "years_since_start": k,
                                      "share_active": a[seen] / n[seen], "n": n[seen]}))
        curves = pd.concat(rows, ignore_index=True)
        curves["group"] = curves["group"].astype("string")
        out.append(curves.sort_values(["group", "years_since_start"], kind="mergesort").reset_index(drop=True))
    return out


def _group_codes(df: pd.DataFrame, by) -> tuple[np.ndarray, np.ndarray]:
    """Integer group code per row and the label of each code (labels as :func:`_group_labels`)."""
    cols = [by] if isinstance(by, str) else list(by)
    unknown = [c for c in cols if c not in COHORT_GROUPINGS]
    if unknown:
        raise CaseloadError(f"unknown grouping {unknown[0]!r}.", value=unknown[0],
                            fix=f"Use one of {', '.join(COHORT_GROUPINGS)} or a list of them.")
    # Factorise each column first and join the few distinct labels, not millions of strings.
    codes = np.zeros(len(df), dtype="int64")
    labels = np.array([""], dtype=object)
    for i, col in enumerate(cols):
        c, u = pd.factorize(df[col].astype("string").fillna("onbekend"), sort=False)
        u = np.asarray(u.astype(object))
        labels = (np.array([f"{a} / {b}" for a in labels for b in u], dtype=object) if i
                  else u)
        codes = codes * len(u) + c
    used, codes = np.unique(codes, return_inverse=True)
    return codes.reshape(-1), labels[used]


def active_share(
    spells: pd.DataFrame,
    clients: pd.DataFrame,
    peildatum,
    by="household",
    age_classes=COHORT_AGE_CLASSES,
    window_start=None,
) -> pd.DataFrame:
    """Share of each inflow year's benefits still active on the peildatum, per group.

    The "Actieve uitkeringen per ..." figures of "Sturen op bijstand". Groups
    and ``window_start`` as in :func:`cohort_curves`.

    Returns
    -------
    DataFrame
        ``group, inflow_year, share_active, n``.
    """
    peil = pd.Timestamp(peildatum)
    df = _frame(spells, clients, peil, age_classes, window_start)
    group = _group_labels(df, by)
    active = (df["end"].isna() | (df["end"] > peil)).to_numpy()
    agg = pd.DataFrame({"group": group, "inflow_year": df["inflow_year"], "active": active}).groupby(
        ["group", "inflow_year"], sort=True)["active"].agg(["mean", "size"]).reset_index()
    return agg.rename(columns={"mean": "share_active", "size": "n"})
