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

from caseload.durations.tables import (
    DEFAULT_AGE_RULE,
    _positions,
    _take,
    age_at,
    age_rule_text,
    check_age_rule,
)
from caseload.errors import CaseloadError
from caseload.schema import SPELLS, age_band
from caseload.schema.labels import label_table, pick_label

__all__ = ["cohort_curves", "cohort_tables", "active_share", "cohort_method", "COHORT_AGE_CLASSES",
           "COHORT_GROUPINGS"]

_W = label_table("report.durations")  # the method texts

COHORT_AGE_CLASSES: tuple[tuple[int, int], ...] = ((0, 29), (30, 50), (51, 150))
"""Age classes of "Sturen op bijstand" (age at start): < 30, 30-50, 50+.

The script computes age as the completed years since 1 July of the birth year
(``age_rule="mid_year"``); with that rule these tables follow its convention.
"""

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


def _frame(spells, clients, peildatum, age_classes, window_start=None, age_rule=DEFAULT_AGE_RULE) -> pd.DataFrame:
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
    age = age_at(clients, start, s[SPELLS.client_id], rule=age_rule)
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
    age_rule: str = DEFAULT_AGE_RULE,
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
    age_rule : {"birth_date", "mid_year", "calendar_year"}
        How the age at start is computed
        (:func:`~caseload.durations.tables.age_at`); ``"mid_year"`` is the
        rule of "Sturen op bijstand".

    Returns
    -------
    DataFrame
        ``group, years_since_start, share_active, n`` for ``k = 0..max_years``;
        ``n`` is the number of benefits observable for ``k`` years.
        ``attrs["method"]`` describes the table and names the age rule.

    Notes
    -----
    A benefit counts at ``k`` only when ``start + k years <= peildatum``; it is
    active at ``k`` when it has no end date or ends after ``start + k years``.
    Groups other than the inflow year pool all observable cohorts. Unlike
    Kaplan-Meier this ignores censoring within cohorts only in that it drops
    too-young cohorts, which is exactly right for this share.
    """
    return cohort_tables(spells, clients, peildatum, [by], max_years=max_years, age_classes=age_classes,
                         window_start=window_start, age_rule=age_rule)[0]


def cohort_tables(
    spells: pd.DataFrame,
    clients: pd.DataFrame,
    peildatum,
    groupings,
    max_years: int = 10,
    age_classes=COHORT_AGE_CLASSES,
    window_start=None,
    age_rule: str = DEFAULT_AGE_RULE,
    lang: str = "nl",
) -> list[pd.DataFrame]:
    """:func:`cohort_curves` for several groupings at once, one table per grouping.

    The spell frame and the anniversary tests are built once and shared, which
    matters at national size (six groupings by default). Arguments as in
    :func:`cohort_curves`; ``groupings`` is a list of its ``by`` values;
    ``lang`` is the language of ``attrs["method"]``.
    """
    check_age_rule(age_rule)
    peil = pd.Timestamp(peildatum)
    df = _frame(spells, clients, peil, age_classes, window_start, age_rule)
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
        curves = curves.sort_values(["group", "years_since_start"], kind="mergesort").reset_index(drop=True)
        curves.attrs.update(age_rule=age_rule, method=cohort_method(age_rule, lang))
        out.append(curves)
    return out


def cohort_method(age_rule: str = DEFAULT_AGE_RULE, lang: str = "nl") -> str:
    """Method text of the cohort curves, naming the age rule of the age classes."""
    return pick_label(_W["cohort_method"], lang, age=age_rule_text(age_rule, lang))


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
    age_rule: str = DEFAULT_AGE_RULE,
    lang: str = "nl",
) -> pd.DataFrame:
    """Share of each inflow year's benefits still active on the peildatum, per group.

    The main table of the VNG Data Science Hub script "Sturen op bijstand"
    (gemeente Nissewaard): its "Actieve uitkeringen per ..." figures. A benefit
    is active on the peildatum when it has no end date or ends after it.

    Parameters
    ----------
    spells, clients : DataFrame
        Canonical tables.
    peildatum : date-like
        Date of the extract; benefits starting after it are ignored.
    by : str or list of str
        ``"inflow_reason"``, ``"household"``, ``"sex"``, ``"age_class"`` (age at
        start in ``age_classes``), ``"inflow_year"`` or a list such as
        ``["age_class", "sex"]`` (labels joined with " / ").
    age_classes : sequence of (low, high)
        Inclusive age classes; default :data:`COHORT_AGE_CLASSES` (< 30, 30-50, 50+).
    window_start : date-like, optional
        As in :func:`cohort_curves`: benefits that started before it are left out.
    age_rule : {"birth_date", "mid_year", "calendar_year"}
        How the age at start is computed
        (:func:`~caseload.durations.tables.age_at`). ``"mid_year"`` (completed
        years since 1 July of the birth year) is the script's rule: use it to
        reproduce the script's tables.
    lang : {"nl", "en"}
        Language of ``attrs["method"]``.

    Returns
    -------
    DataFrame
        ``group, inflow_year, share_active, n, n_active``: per group and inflow
        year the benefits that started (``n``), those still active on the
        peildatum (``n_active``) and their share. Summed over inflow years,
        ``n_active`` is the stock on the peildatum by group (e.g. by
        ``["age_class", "household"]``). ``attrs["method"]`` names the age rule.

    Examples
    --------
    >>> spells = pd.DataFrame({"spell_id": ["s1", "s2"], "client_id": ["a", "b"],
    ...     "start_date": pd.to_datetime(["2020-06-30", "2020-07-01"]),
    ...     "end_date": pd.to_datetime([None, "2021-01-31"])})
    >>> clients = pd.DataFrame({"client_id": ["a", "b"], "birth_year": [1990, 1990], "sex": ["V", "M"]})
    >>> active_share(spells, clients, "2021-12-31", by="age_class", age_rule="mid_year")
       group  inflow_year  share_active  n  n_active
    0  30-50         2020           0.0  1         0
    1   < 30         2020           1.0  1         1
    """
    check_age_rule(age_rule)
    peil = pd.Timestamp(peildatum)
    df = _frame(spells, clients, peil, age_classes, window_start, age_rule)
    group = _group_labels(df, by)
    active = (df["end"].isna() | (df["end"] > peil)).to_numpy()
    agg = pd.DataFrame({"group": group, "inflow_year": df["inflow_year"], "active": active}).groupby(
        ["group", "inflow_year"], sort=True)["active"].agg(["mean", "size", "sum"]).reset_index()
    out = agg.rename(columns={"mean": "share_active", "size": "n", "sum": "n_active"})
    out["n_active"] = out["n_active"].astype("int64")
    method = pick_label(_W["inflow_year_method"], lang, age=age_rule_text(age_rule, lang))
    out.attrs.update(age_rule=age_rule, method=method)
    return out
