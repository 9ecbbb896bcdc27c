"""Frames for the segmentation: history examples and the current caseload.

:func:`training_frame` turns history into examples for the model (one row per
assessment made during an open spell, labelled by exit to work within the
horizon); :func:`client_frame` gives one row per client at the peildatum with the
latest assessment; :func:`time_split` splits examples by date.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from caseload.durations.tables import age_at
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


def _codes(*columns: pd.Series) -> list[np.ndarray]:
    """Integer codes of client ids over several columns (one code per distinct id)."""
    sizes = [len(c) for c in columns]
    codes, _ = pd.factorize(pd.concat([pd.Series(c.array, copy=False) for c in columns], ignore_index=True))
    return np.split(codes, np.cumsum(sizes)[:-1])


def _latest_on_or_before(code: np.ndarray, when: np.ndarray, q_code: np.ndarray, q_when: np.ndarray
                         ) -> np.ndarray:
    """Row of the latest (code, when) with the query's code and ``when <= q_when``; -1: none.

    Among rows with equal times the last one of the table wins (stable sorts), as
    with :func:`pandas.merge_asof` on a stably sorted table.
    """
    left = pd.DataFrame({"k": q_code, "t": q_when, "q": np.arange(len(q_code))}).sort_values(
        "t", kind="stable")
    right = pd.DataFrame({"k": code, "t": when, "row": np.arange(len(code))}).dropna(subset=["t"])
    right = right.sort_values("t", kind="stable")
    hit = pd.merge_asof(left, right, on="t", by="k", direction="backward", allow_exact_matches=True)
    out = np.full(len(q_code), -1, dtype="int64")
    out[hit["q"].to_numpy()] = hit["row"].fillna(-1).to_numpy("int64")
    return out


def _spell_of(a_code: np.ndarray, a_when: np.ndarray, s_code: np.ndarray, s_start: np.ndarray,
              s_end: np.ndarray) -> np.ndarray:
    """Per assessment the spell open on its date (started last if several); -1: none.

    Open on the date: ``start <= date`` and no end or ``end >= date``. The spell that
    started last on or before the date is open in nearly every case; only when it
    had ended and an earlier spell of the client is still open (overlapping spells)
    is that earlier spell looked up.
    """
    row = _latest_on_or_before(s_code, s_start, a_code, a_when)
    has = row >= 0
    r = np.maximum(row, 0)
    end = s_end[r]
    open_ = has & (np.isnat(end) | (end >= a_when))
    out = np.where(open_, row, -1)
    todo = np.flatnonzero(has & ~open_)
    if len(todo):
        # The other spells of these clients, by a merge on the few rows left.
        m = pd.DataFrame({"q": todo, "k": a_code[todo], "t": a_when[todo]}).merge(
            pd.DataFrame({"k": s_code, "row": np.arange(len(s_code)), "start": s_start, "end": s_end}),
            on="k")
        m = m[(m["start"] <= m["t"]) & (m["end"].isna() | (m["end"] >= m["t"]))]
        m = m.sort_values(["q", "start", "row"]).drop_duplicates("q", keep="last")
        out[m["q"].to_numpy()] = m["row"].to_numpy()
    return out


def _partner_codes(s_dossier: pd.Series, s_code: np.ndarray, dossier: pd.Series, code: np.ndarray
                   ) -> np.ndarray:
    """Per row (dossier, client) the partner's client code; -1: none.

    The partner is another client on the same dossier: for the first client of a
    dossier (in the order of the spells) the second, for every other client the
    first.
    """
    d_codes, d_uniques = pd.factorize(pd.concat([pd.Series(s_dossier.array, copy=False),
                                                 pd.Series(dossier.array, copy=False)], ignore_index=True))
    sd, qd = d_codes[:len(s_dossier)], d_codes[len(s_dossier):]
    n_c = int(max(s_code.max(initial=-1), code.max(initial=-1))) + 1
    ok = (sd >= 0) & (s_code >= 0)
    pair = np.unique(sd[ok].astype("int64") * n_c + s_code[ok], return_index=True)[1]
    first_seen = np.sort(np.flatnonzero(ok)[pair])  # each (dossier, client) once, in spell order
    m_d, m_c = sd[first_seen], s_code[first_seen]
    order = np.argsort(m_d, kind="stable")
    md_sorted = m_d[order]
    start = np.r_[True, md_sorted[1:] != md_sorted[:-1]]
    grp_first = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0))
    first_c = m_c[order][grp_first]
    second_ok = np.r_[md_sorted[1:] == md_sorted[:-1], False]
    second_c = np.where(second_ok, np.r_[m_c[order][1:], -1], -1)
    partner = np.where(start, second_c, first_c)
    # Look up each query (dossier, client) among the members.
    member_key = pd.Index(md_sorted.astype("int64") * n_c + m_c[order])
    pos = member_key.get_indexer(np.where((qd >= 0) & (code >= 0), qd.astype("int64") * n_c + code, -1))
    return np.where(pos >= 0, partner[np.maximum(pos, 0)], -1)


def training_frame(caseload: Caseload, horizon_months: int = 6,
                   columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Examples for the model: assessments during an open spell, labelled by exit to work.

    Parameters
    ----------
    caseload : Caseload
    horizon_months : int
        Label window: exit to work (``werk``, ``werk_deels``) within this many
        months after the assessment date.
    columns : sequence of str, optional
        Build only these columns (with ``client_id``, ``assessed_on`` and the
        label); default all. The segmentation's fairness report needs a dozen of
        the forty, and at 500,000 clients the others cost seconds and memory.

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
    The label window starts the day after the assessment: an assessment made on
    the day its spell ended is left out (counted as ``ended_on_assessment_day``).
    An assessment whose window ends after the peildatum is censored and left out,
    whatever happened: keeping only the early exits among those windows would
    over-state the exit rate. Other exits within the window (moving, partner
    income, ...) count as "no exit to work". When two spells are open at the
    assessment date, the one that started last is used.

    The tables are joined on integer client codes and row positions (binary
    searches and ``take``), not by merging on the string ids: at 500,000 clients
    (two million assessments) that is what keeps this within seconds and memory.
    """
    return _training_frame(caseload, horizon_months, columns, _client_codes(caseload))


def _client_codes(caseload: Caseload) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer client codes of the assessments, spells and clients (one factorisation)."""
    a_code, s_code, c_code = _codes(caseload.assessments["client_id"], caseload.spells["client_id"],
                                    caseload.clients["client_id"])
    return a_code, s_code, c_code


def _training_frame(caseload: Caseload, horizon_months: int, columns: Sequence[str] | None,
                    codes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    peil = _peildatum(caseload)
    a = caseload.assessments
    s = caseload.spells
    spell_cols = ["spell_id", "start_date", "end_date", "end_reason",
                  *[c for c in ("household", "dossier_id") if c in s]]
    clients = caseload.clients
    keep = (a["assessed_on"] <= peil).to_numpy()
    n_read = int(keep.sum())
    a_code, s_code, c_code = codes
    a_when = a["assessed_on"].to_numpy("datetime64[ns]")
    s_start = s["start_date"].to_numpy("datetime64[ns]")
    s_end = s["end_date"].to_numpy("datetime64[ns]")
    rows = np.flatnonzero(keep)
    spell = _spell_of(a_code[rows], a_when[rows], s_code, s_start, s_end)
    rows, spell = rows[spell >= 0], spell[spell >= 0]
    n_in_spell = len(rows)
    at = a_when[rows]
    window_end = (pd.DatetimeIndex(at) + pd.DateOffset(months=horizon_months)).to_numpy("datetime64[ns]")
    censored = window_end > np.datetime64(peil)
    rows, spell, at, window_end = rows[~censored], spell[~censored], at[~censored], window_end[~censored]
    # The label window starts the day after the assessment: an assessment on the day its
    # spell ended predicts nothing (the outcome was known), so it is no example.
    s_end_at = s_end[spell]
    same_day = ~np.isnat(s_end_at) & (s_end_at <= at)
    rows, spell, at, window_end = rows[~same_day], spell[~same_day], at[~same_day], window_end[~same_day]
    del s_end_at

    # Sorted by date, then id (the ids' string order from their distinct values only),
    # before the columns are taken: the frame is built once, in its final order.
    id_rank = pd.factorize(a["client_id"].take(rows), sort=True)[0]
    order = np.lexsort((id_rank, at))
    rows, spell, at, window_end = rows[order], spell[order], at[order], window_end[order]
    del id_rank, order

    want = None if columns is None else {*columns, "client_id", "assessed_on", LABEL}

    def wanted(c: str) -> bool:
        return want is None or c in want

    cols: dict[str, object] = {c: a[c].array.take(rows) for c in a.columns if wanted(c)}
    for c in spell_cols:
        if c not in a.columns and wanted(c):
            cols[c] = s[c].array.take(spell)
    end = s_end[spell]
    work = s["end_reason"].isin(list(WORK_END_REASONS)).to_numpy()[spell]
    cols[LABEL] = (~np.isnat(end) & (end <= window_end) & work).astype("int64")
    del end, work, window_end
    # Client attributes; the spell's household wins over the client's (it is dated).
    first = pd.Series(np.arange(len(c_code))).groupby(c_code).first()  # drop_duplicates("client_id")
    c_row = pd.Series(first.to_numpy(), index=first.index).reindex(a_code[rows]).fillna(-1).to_numpy("int64")
    for c in _client_columns(clients.iloc[:0]).columns:
        if c != "client_id" and c not in a.columns and not (c == "household" and "household" in s) \
                and wanted(c):
            cols[c] = _take(clients[c], c_row).array
    n = len(rows)
    partner_cols = ("partner", "partner_ladder_step", "partner_werkfit")
    if any(wanted(c) for c in partner_cols):
        cols["partner"] = np.zeros(n, dtype=bool)
        cols["partner_ladder_step"] = np.full(n, np.nan)
        cols["partner_werkfit"] = np.zeros(n, dtype=bool)
    dossier = s["dossier_id"].array.take(spell) if "dossier_id" in s else None
    if any(wanted(c) for c in partner_cols) and dossier is not None and not pd.isna(dossier).all():
        partner = _partner_codes(s["dossier_id"], s_code, pd.Series(dossier, copy=False), a_code[rows])
        p_row = _latest_on_or_before(a_code, a_when, partner, at)
        p_row[partner < 0] = -1
        cols["partner"] = partner >= 0
        cols["partner_ladder_step"] = pd.to_numeric(_take(a["ladder_step"], p_row), errors="coerce").to_numpy(
            "float64", na_value=np.nan)
        if "werkfit" in a:
            cols["partner_werkfit"] = (_take(a["werkfit"], p_row).astype("boolean").fillna(False)
                                       .to_numpy(bool))
    del dossier
    if wanted("age"):
        # The durations package's age rule (exact age from a birth date, else completed
        # years since 1 July of the birth year), so that age bands agree between reports.
        cols["age"] = (age_at(clients, at, a["client_id"].take(rows)) if "birth_year" in clients
                       else np.full(n, np.nan))
    if wanted("duration_months"):
        cols["duration_months"] = (at - s_start[spell]).astype("timedelta64[D]").astype("float64") / 30.4375
    f = pd.DataFrame(cols, copy=False)
    if want is not None:
        f = f[[c for c in f.columns if c in want]]
    f.attrs["counts"] = {
        "assessments": n_read,
        "not_during_spell": int(n_read - n_in_spell),
        "censored": int(censored.sum()),
        "ended_on_assessment_day": int(same_day.sum()),
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
    return _client_frame(caseload, only_open, _client_codes(caseload))


def _client_frame(caseload: Caseload, only_open: bool,
                  codes: tuple[np.ndarray, np.ndarray, np.ndarray]) -> pd.DataFrame:
    peil = _peildatum(caseload)
    a_code, s_code, c_code = codes
    clients = caseload.clients
    # The first row of each client (drop_duplicates("client_id")), and per client code
    # its row: integer positions instead of merging on string ids and filtering whole
    # tables (at 500,000 clients string merges and frame copies cost seconds).
    n_codes = int(max(a_code.max(initial=-1), s_code.max(initial=-1), c_code.max(initial=-1))) + 1
    known = np.flatnonzero(c_code >= 0)
    first = known[np.unique(c_code[known], return_index=True)[1]]
    first.sort()
    if len(first) < len(clients):
        clients = clients.iloc[first]
    row_of = np.full(n_codes + 1, -1, dtype="int64")  # the extra last entry serves code -1
    row_of[c_code[first]] = np.arange(len(first))
    n_clients = len(first)
    s = caseload.spells
    is_open = ((s["start_date"] <= peil) & (s["end_date"].isna() | (s["end_date"] >= peil))).to_numpy()
    spell_row = _last_per_client(row_of[s_code], is_open, s["start_date"].to_numpy(), n_clients)
    keep = spell_row >= 0 if (only_open and len(s)) else np.ones(n_clients, dtype=bool)
    a = caseload.assessments
    a_row = _last_per_client(row_of[a_code], (a["assessed_on"] <= peil).to_numpy(),
                             a["assessed_on"].to_numpy(), n_clients)
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
    cols["age"] = age_at(clients, peil, pd.Series(cols["client_id"])) if "birth_year" in clients \
        else np.full(len(sel), np.nan)
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
