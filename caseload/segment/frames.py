"""Frames for the segmentation: history examples and the current caseload.

:func:`training_frame` turns history into examples for the model (one row per
assessment made during an open spell, labelled by exit to work within the
horizon); :func:`client_frame` gives one row per client at the peildatum with the
latest assessment; :func:`time_split` splits examples by date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import WORK_END_REASONS, Caseload

__all__ = ["LABEL", "training_frame", "client_frame", "time_split"]

LABEL = "exit_work_6m"
"""Column of the label: exit to work within the horizon (0/1)."""


def _peildatum(caseload: Caseload) -> pd.Timestamp:
    if caseload.peildatum is not None:
        return pd.Timestamp(caseload.peildatum)
    dates = [caseload.spells["start_date"].max(), caseload.spells["end_date"].max(),
             caseload.assessments["assessed_on"].max()]
    return pd.Timestamp(max(d for d in dates if pd.notna(d)))


def _client_columns(clients: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in ("client_id", "municipality", "birth_year", "sex", "migration_background",
                        "statushouder", "education", "new_target_group", "work_limitation", "household")
            if c in clients]
    return clients[keep].drop_duplicates("client_id")


def _add_partner(f: pd.DataFrame, caseload: Caseload, at: pd.Series) -> pd.DataFrame:
    """Partner columns: ``partner`` (another client on the same dossier), and the
    partner's ladder step and werkfit from the partner's latest assessment on or
    before ``at``.

    A couple leaves benefit when either partner finds work, so the partner's
    distance to work is part of the chance (the generator shows it: without these
    columns the model ranks couples far worse than single people).
    """
    f = f.copy()
    f["partner"] = False
    f["partner_ladder_step"] = np.nan
    f["partner_werkfit"] = False
    if "dossier_id" not in f or "dossier_id" not in caseload.spells or f["dossier_id"].isna().all():
        return f
    members = caseload.spells[["dossier_id", "client_id"]].dropna().drop_duplicates()
    pairs = members.merge(members, on="dossier_id", suffixes=("", "_partner"))
    pairs = pairs[pairs["client_id"] != pairs["client_id_partner"]]
    # One partner per dossier and client (the first, if an extract has more).
    pairs = pairs.drop_duplicates(["dossier_id", "client_id"])
    f["_at"] = pd.to_datetime(at.to_numpy()).astype("datetime64[ns]")
    f["_order"] = np.arange(len(f))
    f = f.merge(pairs, on=["dossier_id", "client_id"], how="left")
    f["partner"] = f["client_id_partner"].notna()
    pa = caseload.assessments
    if "werkfit" not in pa:
        pa = pa.assign(werkfit=pd.array([pd.NA] * len(pa), dtype="boolean"))
    pa = pa[["client_id", "assessed_on", "ladder_step", "werkfit"]].rename(
        columns={"client_id": "client_id_partner", "assessed_on": "_at_partner",
                 "ladder_step": "_pl", "werkfit": "_pw"})
    pa = pa.assign(client_id_partner=pa["client_id_partner"].astype("object"),
                   _pl=pd.to_numeric(pa["_pl"], errors="coerce").astype("float64"),
                   _pw=pa["_pw"].astype("boolean"),
                   _at_partner=pa["_at_partner"].astype("datetime64[ns]")).sort_values("_at_partner")
    f["client_id_partner"] = f["client_id_partner"].astype("object")
    f = pd.merge_asof(f.sort_values("_at"), pa, left_on="_at", right_on="_at_partner",
                      by="client_id_partner", direction="backward")
    f["partner_ladder_step"] = f["_pl"]
    f["partner_werkfit"] = f["_pw"].astype("boolean").fillna(False).astype(bool)
    f = f.sort_values("_order").drop(columns=["_at", "_order", "_at_partner", "_pl", "_pw", "client_id_partner"])
    return f.reset_index(drop=True)


def _with_client_columns(f: pd.DataFrame, clients: pd.DataFrame) -> pd.DataFrame:
    """Join client attributes; the spell's household wins over the client's (it is dated)."""
    c = _client_columns(clients)
    if "household" in f:
        c = c.drop(columns=["household"], errors="ignore")
    return f.merge(c, on="client_id", how="left")


def training_frame(caseload: Caseload, horizon_months: int = 6) -> pd.DataFrame:
    """Examples for the model: assessments during an open spell, labelled by exit to work.

    Parameters
    ----------
    caseload : Caseload
    horizon_months : int
        Label window: exit to work (``werk``, ``werk_deels``) within this many
        months after the assessment date.

    Returns
    -------
    DataFrame
        One row per usable assessment: ``client_id``, ``municipality``,
        ``assessed_on``, the assessment columns, ``age``, ``duration_months``,
        ``sex``, ``migration_background``, ``statushouder`` (for fairness only),
        ``exit_work_6m`` (0/1) and any ``true_*`` columns. ``frame.attrs["counts"]``
        holds the numbers of assessments read, not during a spell, censored and used.

    Notes
    -----
    An assessment whose window ends after the peildatum is censored and left out,
    whatever happened: keeping only the early exits among those windows would
    over-state the exit rate. Other exits within the window (moving, partner
    income, ...) count as "no exit to work". When two spells are open at the
    assessment date, the one that started last is used.
    """
    peil = _peildatum(caseload)
    a = caseload.assessments
    s = caseload.spells[["client_id", "spell_id", "start_date", "end_date", "end_reason",
                         *[c for c in ("household", "dossier_id") if c in caseload.spells]]]
    a = a[a["assessed_on"] <= peil].reset_index(drop=True)
    a["_row"] = np.arange(len(a))
    m = a[["client_id", "assessed_on", "_row"]].merge(s, on="client_id", how="inner")
    inside = (m["start_date"] <= m["assessed_on"]) & (m["end_date"].isna() | (m["end_date"] >= m["assessed_on"]))
    m = m[inside].sort_values(["_row", "start_date"]).drop_duplicates("_row", keep="last")
    f = a.merge(m[["_row", *[c for c in s.columns if c != "client_id"]]], on="_row", how="inner")
    n_in_spell = len(f)
    window_end = f["assessed_on"] + pd.DateOffset(months=horizon_months)
    censored = window_end > peil
    f = f[~censored.to_numpy()].copy()
    window_end = window_end[~censored]
    f[LABEL] = (f["end_date"].notna() & (f["end_date"] <= window_end)
                & f["end_reason"].isin(list(WORK_END_REASONS))).astype("int64")
    f = _with_client_columns(f, caseload.clients)
    f = _add_partner(f, caseload, f["assessed_on"])
    f["age"] = f["assessed_on"].dt.year - f["birth_year"].astype("float64")
    f["duration_months"] = (f["assessed_on"] - f["start_date"]).dt.days / 30.4375
    f = f.drop(columns=["_row"]).sort_values(["assessed_on", "client_id"]).reset_index(drop=True)
    f.attrs["counts"] = {
        "assessments": int(len(a)),
        "not_during_spell": int(len(a) - n_in_spell),
        "censored": int(censored.sum()),
        "used": int(len(f)),
        "events": int(f[LABEL].sum()),
        "horizon_months": horizon_months,
        "peildatum": peil.date().isoformat(),
    }
    return f


def client_frame(caseload: Caseload, only_open: bool = True) -> pd.DataFrame:
    """One row per client at the peildatum with the latest assessment on or before it.

    Parameters
    ----------
    caseload : Caseload
    only_open : bool
        Keep only clients with a spell open at the peildatum (the current
        caseload). Ignored when the extract has no spells.

    Returns
    -------
    DataFrame
        ``client_id, municipality``, the latest assessment's columns (missing when
        a client has none; ``has_assessment`` says which), ``age`` and
        ``duration_months`` (of the open spell) at the peildatum, and the fairness
        columns.
    """
    peil = _peildatum(caseload)
    clients = caseload.clients
    if not clients["client_id"].is_unique:
        clients = clients.drop_duplicates("client_id")
    # Work on integer positions instead of merging on string ids and filtering whole
    # tables: at 500,000 clients string merges and frame copies cost seconds.
    key = pd.Index(clients["client_id"])
    s = caseload.spells
    is_open = ((s["start_date"] <= peil) & (s["end_date"].isna() | (s["end_date"] >= peil))).to_numpy()
    spell_row = _last_per_client(key.get_indexer(s["client_id"]), is_open, s["start_date"].to_numpy(),
                                 len(key))
    keep = spell_row >= 0 if (only_open and len(s)) else np.ones(len(key), dtype=bool)
    a = caseload.assessments
    a_row = _last_per_client(key.get_indexer(a["client_id"]), (a["assessed_on"] <= peil).to_numpy(),
                             a["assessed_on"].to_numpy(), len(key))
    spell_row, a_row = spell_row[keep], a_row[keep]
    sel = np.flatnonzero(keep)

    cols: dict[str, object] = {}
    for c in _client_columns(clients.iloc[:0]).columns:
        cols[c] = clients[c].array.take(sel)
    for c in a.columns:
        if c not in ("client_id", "peildatum", "municipality"):
            cols[c] = _take(a[c], a_row).array
    if "household" in s:
        hh = _take(s["household"], spell_row)
        cols["household"] = (hh.fillna(pd.Series(cols["household"])) if "household" in cols else hh).array
    cols["has_assessment"] = a_row >= 0
    start = _take(s["start_date"], spell_row)
    cols["age"] = float(peil.year) - pd.to_numeric(pd.Series(cols["birth_year"]), errors="coerce").to_numpy(
        "float64", na_value=np.nan)
    cols["duration_months"] = (peil - start).dt.days.to_numpy() / 30.4375
    # Partner: another client on the dossier of the open spell, and their latest assessment.
    n = len(sel)
    partner = np.full(n, -1, dtype="int64")
    if "dossier_id" in s and s["dossier_id"].notna().any():
        codes, _ = pd.factorize(_take(s["dossier_id"], spell_row), use_na_sentinel=True)
        order = np.argsort(codes, kind="stable")
        c_sorted = codes[order]
        same = c_sorted[1:] == c_sorted[:-1]
        same_next = np.r_[same, False] & (c_sorted >= 0)
        same_prev = np.r_[False, same]
        first = np.flatnonzero(same_next & ~same_prev)  # the first two members are partners
        partner[order[first]] = order[first + 1]
        partner[order[first + 1]] = order[first]
    has_p = partner >= 0
    p_row = np.where(has_p, a_row[np.maximum(partner, 0)], -1)
    cols["partner"] = has_p
    cols["partner_ladder_step"] = pd.to_numeric(_take(a["ladder_step"], p_row), errors="coerce").to_numpy(
        "float64", na_value=np.nan)
    cols["partner_werkfit"] = (_take(a["werkfit"], p_row).astype("boolean").fillna(False).to_numpy(bool)
                               if "werkfit" in a else np.zeros(n, dtype=bool))
    return pd.DataFrame(cols)


def _last_per_client(pos: np.ndarray, valid: np.ndarray, when: np.ndarray, n: int) -> np.ndarray:
    """Row number of the latest valid row per client position (-1: none)."""
    rows = np.flatnonzero(valid & (pos >= 0))
    p = pos[rows]
    order = np.lexsort((when[rows], p))
    p_sorted = p[order]
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True] if len(order) else np.array([], dtype=bool)
    out = np.full(n, -1, dtype="int64")
    out[p_sorted[last]] = rows[order[last]]
    return out


def _take(col: pd.Series, rows: np.ndarray) -> pd.Series:
    """``col`` at positions ``rows``; -1 gives a missing value of the column's type."""
    from pandas.api.extensions import ExtensionDtype, take

    arr = col.array if isinstance(col.dtype, ExtensionDtype) else col.to_numpy()
    if arr.dtype == bool:
        arr = pd.array(arr, dtype="boolean")
    return pd.Series(take(arr, rows, allow_fill=True), copy=False)


def time_split(frame: pd.DataFrame, split_date=None, test_fraction: float = 0.25):
    """Split examples by assessment date: train before ``split_date``, test on or after.

    Without ``split_date`` the date is chosen so that about ``test_fraction`` of
    the examples (the most recent) form the test set.
    """
    if split_date is None:
        split_date = frame["assessed_on"].quantile(1 - test_fraction)
    split_date = pd.Timestamp(split_date)
    train = frame[frame["assessed_on"] < split_date]
    test = frame[frame["assessed_on"] >= split_date]
    if len(train) == 0 or len(test) == 0:
        raise CaseloadError(f"time split at {split_date.date()} leaves an empty train or test set.",
                            column="segment.holdout_from",
                            fix="Choose a date between the first and the last assessment.")
    return train, test
