"""Read the caseworkers' segment overrides (human in the loop) from a file.

An overrides file has one row per decision: who, the segment the caseworker
chose, why, and when. The client is given either by the pseudonym of the
internal client list (``client_id``) or by the client number from the benefit
administration (``Clientnummer`` / ``client_number``), which is pseudonymised
here with the same key as the extract, so that no raw number passes the loader.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from caseload import privacy
from caseload.errors import ExtractError
from caseload.extract.files import detect_encoding, sniff_delimiter
from caseload.extract.parse import INVALID, MISSING, days_to_datetime, parse_date_text

__all__ = ["read_overrides"]

_ALIASES = {
    "client_id": "client_id", "pseudoniem": "client_id",
    "clientnummer": "client_number", "client_number": "client_number", "clientnr": "client_number",
    "segment": "segment", "groep": "segment",
    "reason": "reason", "reden": "reason",
    "date": "date", "datum": "date",
}


def read_overrides(path: str | Path, key: bytes | None = None) -> pd.DataFrame:
    """The overrides table ``client_id, segment, reason, date`` from a CSV or XLSX file.

    Parameters
    ----------
    path : path-like
        CSV (delimiter and encoding detected) or XLSX. Columns (Dutch or English):
        ``client_id``/``pseudoniem`` or ``Clientnummer``/``client_number``;
        ``segment``/``groep`` (A, B or C); ``reason``/``reden``; ``date``/``datum``
        (dd-mm-jjjj or jjjj-mm-dd).
    key : bytes, optional
        Pseudonym key for client numbers; default :func:`caseload.privacy.load_key`.

    Returns
    -------
    DataFrame
        ``client_id`` (pseudonym), ``segment``, ``reason``, ``date``; checked
        further (segment codes, dates) by :func:`caseload.segment.apply_overrides`.

    Raises
    ------
    ExtractError
        The file is missing or unreadable, a column is missing, or a date cannot
        be read (the message names the row).
    """
    path = Path(path)
    if not path.is_file():
        raise ExtractError("overrides file not found.", file=path,
                           fix="Give the path of a CSV or XLSX with client, segment, reason and date.")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        df = pd.read_excel(path, dtype=str)
    else:
        raw = path.read_bytes()
        enc = detect_encoding(raw[:65536])
        text = raw.decode(enc if enc != "utf-8" else "utf-8-sig", errors="strict")
        from io import StringIO

        df = pd.read_csv(StringIO(text), sep=sniff_delimiter(text[:65536]), dtype=str,
                         keep_default_na=False, na_values=[""])
    df = df.rename(columns={c: _ALIASES.get(str(c).strip().lower(), c) for c in df.columns})
    if "client_id" not in df and "client_number" not in df:
        raise ExtractError("no client column.", file=path, column="client_id",
                           fix="Add a column 'Clientnummer' (client number) or 'client_id' (pseudonym).")
    for col in ("segment", "reason", "date"):
        if col not in df:
            raise ExtractError(f"column '{col}' not found (found: {', '.join(map(str, df.columns))}).",
                               file=path, column=col,
                               fix="Use the columns client, segment, reason and date (Dutch: groep, reden, datum).")
    if "client_number" in df:
        key = privacy.load_key() if key is None else key
        ids = privacy.pseudonymize(df["client_number"], key, domain="client")
        if "client_id" in df:
            ids = df["client_id"].astype("string").fillna(ids)
        df["client_id"] = ids
    days = [parse_date_text(None if pd.isna(v) else str(v)) for v in df["date"]]
    for i, d in enumerate(days):
        if d in (MISSING, INVALID):
            raise ExtractError("the date of an override is missing or cannot be read.", file=path,
                               row=i + 2, column="date", value=df["date"].iloc[i],
                               fix="Write the date as dd-mm-jjjj or jjjj-mm-dd.")
    out = pd.DataFrame({
        "client_id": df["client_id"].astype("string"),
        "segment": df["segment"].astype("string").str.strip().str.upper(),
        "reason": df["reason"].astype("string"),
        "date": days_to_datetime(pd.Series(days).to_numpy()),
    })
    return out
