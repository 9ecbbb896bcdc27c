"""Caseworker overrides: reading, checking and applying them (issue 14).

Split from :mod:`caseload.segment.core`; the names are re-exported there and in
:mod:`caseload.segment`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import SEGMENT, label_table, pick_label

__all__ = ["apply_overrides", "override_rates"]

_AMBIGUOUS_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")

_WORDS = label_table("segment.overrides")
_REJECTION = label_table("segment.overrides.rejection")
"""Why an override is not applied (or applied with a warning): status -> (Dutch, English)."""


def _override_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates of the overrides and which were ambiguous (``03/04/2025``: 3 April or March 4).

    The documented rule: a date with slashes whose first two numbers could both be a
    month is read day first (the Dutch order, like ``dd-mm-jjjj``), with a warning.
    Dates already parsed (datetime) are not ambiguous.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values), np.zeros(len(values), dtype=bool)
    text = values.astype("string")
    parts = text.str.extract(_AMBIGUOUS_DATE)
    a = pd.to_numeric(parts[0], errors="coerce")
    b = pd.to_numeric(parts[1], errors="coerce")
    ambiguous = ((a <= 12) & (b <= 12) & (a != b)).fillna(False).to_numpy(bool)
    return pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=True), ambiguous


def apply_overrides(clients: pd.DataFrame, overrides: pd.DataFrame | None, lang: str = "nl",
                    peildatum=None, assessed_on: pd.Series | None = None,
                    decided_by: str | None = None) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Apply the caseworkers' overrides last; keep the computed segment; log what is not applied.

    Parameters
    ----------
    clients : DataFrame
        With ``client_id, segment_computed, segment_reason_computed``.
    overrides : DataFrame or None
        ``client_id, segment, reason, date`` and optionally ``method`` (the method
        whose groups the caseworker overrode: ``rules``/``regels`` or ``model``);
        the latest date per client wins. ``client_id`` is the pseudonym of the
        internal client list.
    peildatum : date-like, optional
        Overrides dated after it are rejected (a decision cannot come from the future).
    assessed_on : Series, optional
        Per row of ``clients`` the date of the assessment that decides its group.
        An override dated before it has expired: the situation was reassessed since,
        so it is kept in the log and not applied.
    decided_by : {"rules", "model"}, optional
        The method that computed the groups; overrides written against the other
        method's groups are applied but reported.

    Returns
    -------
    (DataFrame, dict, DataFrame)
        Clients with ``segment, segment_reason, overridden, override_reason,
        override_date``; counts (read, applied, unmatched, rejected per reason);
        and the log of overrides that were not applied or need attention:
        ``client_id, segment, reason, date, status`` (``status`` one of
        ``unknown_client, future_date, expired, superseded`` (not applied) or
        ``other_method, ambiguous_date`` (applied)) and ``status_label``.
        The log holds client ids: INTERNAL, like the client list.

    Warns
    -----
    UserWarning
        For unknown clients and ambiguous dates (how many, and the rule used).
    """
    import warnings

    out = clients.copy()
    out["segment"] = out["segment_computed"]
    out["segment_reason"] = out["segment_reason_computed"].astype("object")
    out["overridden"] = False
    out["override_reason"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["override_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    counts = {"overrides_read": 0, "overrides_applied": 0, "overrides_unmatched": 0,
              **{f"overrides_{k}": 0 for k in _REJECTION}}
    log_cols = ["client_id", "segment", "reason", "date", "status", "status_label"]
    log = pd.DataFrame(columns=log_cols)
    if overrides is None or len(overrides) == 0:
        return out, counts, log
    need = ["client_id", "segment", "reason", "date"]
    missing = [c for c in need if c not in overrides]
    if missing:
        raise CaseloadError(f"the overrides table lacks column(s) {missing}.", column=missing[0],
                            fix="Give columns client_id, segment, reason, date (one row per override).")
    ov = overrides[need + (["method"] if "method" in overrides else [])].copy()
    ov["segment"] = ov["segment"].astype("string").str.strip().str.upper()
    bad = ~ov["segment"].isin(list("ABC"))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise CaseloadError("override segment must be A, B or C.", row=i + 2, column="segment",
                            value=str(ov["segment"].iloc[i]), fix="Correct the row in the overrides file.")
    empty = ov["reason"].isna() | (ov["reason"].astype("string").str.strip() == "")
    if empty.any():
        i = int(np.flatnonzero(empty.to_numpy())[0])
        raise CaseloadError("an override needs a reason.", row=i + 2, column="reason",
                            fix="Write down why the caseworker chose another group.")
    ov["date"], ambiguous = _override_dates(overrides["date"])
    if ov["date"].isna().any():
        i = int(np.flatnonzero(ov["date"].isna().to_numpy())[0])
        raise CaseloadError("override date is missing or not a date.", row=i + 2, column="date",
                            value=str(overrides["date"].iloc[i]), fix="Use dd-mm-jjjj or jjjj-mm-dd.")
    ov["client_id"] = ov["client_id"].astype("string")
    ov["_row"] = np.arange(len(ov)) + 2
    counts["overrides_read"] = int(len(ov))
    entries: list[pd.DataFrame] = []

    def reject(mask: np.ndarray, status: str, frame: pd.DataFrame) -> pd.DataFrame:
        if mask.any():
            entries.append(frame.loc[mask].assign(status=status))
            counts[f"overrides_{status}"] += int(mask.sum())
        return frame.loc[~mask]

    if ambiguous.any():
        rows = ov.loc[ambiguous, "_row"].tolist()
        warnings.warn(f"{int(ambiguous.sum())} override date(s) could be dd/mm or mm/dd (rows "
                      f"{', '.join(map(str, rows[:10]))}{', ...' if len(rows) > 10 else ''}); read as "
                      "day/month (dd/mm/jjjj). Write dates as dd-mm-jjjj or jjjj-mm-dd.", stacklevel=2)
        entries.append(ov.loc[ambiguous].assign(status="ambiguous_date"))
        counts["overrides_ambiguous_date"] = int(ambiguous.sum())
    if peildatum is not None:
        ov = reject((ov["date"] > pd.Timestamp(peildatum)).to_numpy(), "future_date", ov)
    pos = pd.Index(out["client_id"].astype("string")).get_indexer(ov["client_id"])
    unknown = pos < 0
    if unknown.any():
        warnings.warn(f"{int(unknown.sum())} override(s) name a client who is not in the current caseload "
                      "(rows " + ", ".join(map(str, ov.loc[unknown, "_row"].tolist()[:10]))
                      + "); they are not applied and listed in the rejected overrides.", stacklevel=2)
    counts["overrides_unmatched"] = int(unknown.sum())
    ov = reject(unknown, "unknown_client", ov)
    # latest per client wins; the earlier ones are superseded (kept in the log)
    ov = ov.sort_values(["client_id", "date", "_row"], kind="stable")
    later = ov.duplicated("client_id", keep="last").to_numpy()
    ov = reject(later, "superseded", ov)
    pos = pd.Index(out["client_id"].astype("string")).get_indexer(ov["client_id"])
    if assessed_on is not None:
        latest = pd.to_datetime(pd.Series(assessed_on).reset_index(drop=True)).to_numpy()[pos]
        expired = (~pd.isna(latest)) & (ov["date"].to_numpy() < latest)
        ov = reject(expired, "expired", ov)
        pos = pos[~expired]
    if decided_by is not None and "method" in ov:
        m = ov["method"].astype("string").str.strip().str.lower().replace({"regels": "rules"})
        other = (m.notna() & (m != decided_by)).to_numpy()
        if other.any():
            entries.append(ov.loc[other].assign(status="other_method"))
            counts["overrides_other_method"] = int(other.sum())
    counts["overrides_applied"] = int(len(pos))
    seg = out["segment"].astype("object").to_numpy()
    was = seg[pos].copy()
    seg[pos] = ov["segment"].to_numpy(dtype=object)
    out["segment"] = pd.Categorical(seg, categories=list("ABC"))
    reason = out["segment_reason"].to_numpy(dtype=object)
    dates = ov["date"].dt.strftime("%d-%m-%Y").to_numpy()
    # One sentence per override (a few hundred at most), so a plain loop is fine here.
    for p, s, w, r, d in zip(pos, ov["segment"], was, ov["reason"], dates, strict=True):
        w = pick_label(_WORDS["none"], lang) if pd.isna(w) else w
        reason[p] = pick_label(_WORDS["reason"], lang, segment=s, date=d, computed=w, reason=r)
    out["segment_reason"] = reason
    # An override that confirms the computed group is logged (reason, date) but is
    # not counted as overridden: the override rate measures disagreement.
    changed = np.zeros(len(out), dtype=bool)
    changed[pos] = seg[pos] != was
    out["overridden"] = changed
    counts["overrides_confirming"] = int(len(pos) - changed.sum())
    out.loc[out.index[pos], "override_reason"] = ov["reason"].astype("string").to_numpy()
    out.loc[out.index[pos], "override_date"] = ov["date"].to_numpy()
    if entries:
        log = pd.concat(entries, ignore_index=True).sort_values("_row", kind="stable")
        log["status_label"] = log["status"].map(lambda k: pick_label(_REJECTION[k], lang))
        log = log[log_cols].reset_index(drop=True)
    return out, counts, log


def override_rates(clients: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """Per computed segment: number of clients, overridden, rate, and the final segment."""
    c = clients[clients["segment_computed"].notna()]
    rows = []
    for s in "ABC":
        sel = c["segment_computed"] == s
        n = int(sel.sum())
        ov = c["overridden"] & sel
        row = {"segment_computed": s, "label": SEGMENT.label(s, lang), "n": n,
               "overridden": int(ov.sum()), "override_rate": float(ov.sum() / n) if n else np.nan}
        for t in "ABC":
            row[f"to_{t}"] = int((ov & (c["segment"] == t)).sum())
        rows.append(row)
    return pd.DataFrame(rows)



def _overrides_from_config(config) -> pd.DataFrame | None:
    """The overrides of ``[segment] overrides_file`` when ``config`` is a loaded Config.

    So that ``cl.segment(caseload, cfg)`` applies the same overrides as the batch
    run (``caseload refresh``); a plain dict of settings has no file to resolve
    against, so its ``overrides_file`` must be read by the caller.
    """
    sec = getattr(config, "segment", None)
    path = getattr(sec, "overrides_file", None)
    if path is None or not hasattr(config, "resolve"):
        return None
    from caseload.extract import read_overrides
    from caseload.privacy import load_key

    key_file = getattr(getattr(config, "privacy", None), "key_file", None)
    return read_overrides(config.resolve(path), load_key(config.resolve(key_file) if key_file else None))
