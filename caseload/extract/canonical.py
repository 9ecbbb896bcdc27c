"""Files in the canonical layout: one of the four tables of :mod:`caseload.schema`.

Canonical files are already in the shape of the tables (spells are spells, not
payment periods), so loading them is parsing and validating each column by its
declared dtype and code list. Identifiers (client, dossier, spell and activity
numbers) become keyed pseudonyms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.extract.common import (
    MAX_AGE,
    MIN_AGE,
    UNKNOWN_MUNICIPALITY,
    LoadOptions,
    format_days,
    map_codes,
    municipality_lookup,
    spell_ids,
    string_array,
)
from caseload.extract.files import RawColumn, RawFile
from caseload.extract.mapping import LOOKUPS, Layout, inflow_lookup, text_lookup
from caseload.extract.parse import (
    INVALID,
    MISSING,
    days_to_datetime,
    normalise_text,
    parse_dates,
    parse_numbers,
)
from caseload.extract.rejections import RowChecks
from caseload.schema import TABLES

__all__ = ["CanonicalFile", "prepare_canonical", "load_canonical", "ID_DOMAINS"]

ID_DOMAINS = {"client_id": "client", "dossier_id": "dossier", "spell_id": "spell", "activity_id": "activity"}
"""Identifier columns and the pseudonym domain of each."""

_BOOL = {"1": True, "0": False, "true": True, "false": False, "ja": True, "nee": False, "j": True,
         "n": False, "waar": True, "onwaar": False, "yes": True, "no": False, "y": True, "wel": True,
         "niet": False}


class CanonicalFile:
    """A canonical file with its date columns parsed."""

    def __init__(self, raw: RawFile, layout: Layout):
        self.raw, self.layout = raw, layout
        self.table = TABLES[layout.kind]
        self.dates: dict[str, np.ndarray] = {}
        for name, header in layout.columns.items():
            if self.table[name].dtype.startswith("datetime") and name != "peildatum":
                col = raw.columns[header]
                self.dates[name] = np.append(parse_dates(col.uniques), MISSING)[col.codes]

    def col(self, name: str) -> RawColumn | None:
        h = self.layout.columns.get(name)
        return None if h is None else self.raw.columns[h]

    def latest_date(self) -> int | None:
        starts = [v[v > INVALID] for k, v in self.dates.items() if k not in ("end_date", "birth_date")]
        starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        return int(starts.max()) if len(starts) else None


def prepare_canonical(raw: RawFile, layout: Layout) -> CanonicalFile:
    return CanonicalFile(raw, layout)


def _codes_lookup(name: str, column, uniques: np.ndarray, opts: LoadOptions) -> dict[str, str] | None:
    if name == "inflow_reason":
        return inflow_lookup(opts.inflow_reasons)
    if name == "municipality":
        return municipality_lookup(uniques)
    if column.codes is None:
        return None
    for base, codelist in LOOKUPS.values():
        if codelist is column.codes:
            return text_lookup(base, codelist)
    return text_lookup({}, column.codes)


def load_canonical(f: CanonicalFile, peil_days: int, opts: LoadOptions, pseudonyms):
    """Validate a canonical file; returns the loaded table and the row checks.

    ``pseudonyms(values, domain)`` gives the keyed pseudonyms of an array of id texts.
    """
    raw, table, n = f.raw, f.table, f.raw.n_rows
    chk = RowChecks(n)
    H = f.layout.columns.get
    out: dict[str, object] = {}
    file_required = [c for c in table.required if c in f.layout.columns
                     and not (c == "municipality" and opts.municipality is not None)]

    # required values present
    for name in file_required:
        col = f.col(name)
        reason = "missing_id" if name == "client_id" else "missing_value"
        chk.fail(col.codes < 0, reason, H(name), "'{column}' is empty.",
                 "Fill in this value, or remove the row from the file.")
    # dates
    for name, days in f.dates.items():
        chk.fail(days == INVALID, "bad_date", H(name), "'{value}' in '{column}' is not a date.",
                 "Write dates as dd-mm-jjjj (31-01-2024), jjjj-mm-dd or as an Excel date.")
    if "start_date" in f.dates and "end_date" in f.dates:
        s, e = f.dates["start_date"], f.dates["end_date"]
        chk.fail((e > INVALID) & (s > INVALID) & (e < s), "end_before_start", H("end_date"),
                 "the end date {value} lies before the start date ({detail}).",
                 "Correct the dates in the source system.", detail=lambda idx: format_days(s[idx]))
    for name, header in f.layout.columns.items():
        column = table[name]
        col = raw.columns[header]
        if name == "peildatum":
            continue
        if column.dtype.startswith("datetime"):
            days = f.dates[name]
            out[name] = days_to_datetime(days)
        elif column.dtype in ("Int64", "float64"):
            vals = np.append(parse_numbers(col.uniques), np.nan)[col.codes]
            bad = (col.codes >= 0) & np.isnan(vals)
            if column.dtype == "Int64":
                bad |= (col.codes >= 0) & ~np.isnan(vals) & (np.mod(np.nan_to_num(vals), 1) != 0)
            chk.fail(bad, "bad_number", header, "'{value}' in '{column}' is not a number.",
                     "Write numbers with digits only (decimal comma allowed).")
            if column.codes is not None:
                known = np.isin(vals, [float(c) for c in column.codes])
                chk.fail(~bad & (col.codes >= 0) & ~known, "unknown_code", header,
                         "'{value}' is not a known value of '{column}'.",
                         f"Use one of: {', '.join(column.codes.codes)}.")
            out[name] = vals
        elif column.dtype == "boolean":
            lut = [_BOOL.get(normalise_text(u)) for u in col.uniques]
            per_u = np.array([(-1 if v is None else int(v)) for v in lut] + [-2], dtype=np.int8)
            v = per_u[col.codes]
            chk.fail(v == -1, "unknown_code", header, "'{value}' in '{column}' is not yes/no.",
                     "Write 1/0, ja/nee or true/false.")
            out[name] = pd.array(np.where(v < 0, False, v == 1), dtype="boolean")
            out[name][v < 0] = pd.NA
        elif name in ID_DOMAINS:
            out[name] = col
        else:
            lookup = _codes_lookup(name, column, col.uniques, opts)
            if lookup is None:
                out[name] = string_array(col.codes, col.uniques)
            else:
                codes, values = map_codes(col, lookup)
                chk.fail(codes == -2, "unknown_code", header, "'{value}' is not a known value of '{column}'.",
                         "Use a code of the code list in caseload.schema.")
                out[name] = string_array(codes, values)
    if "birth_year" in out:
        by = np.asarray(out["birth_year"], dtype=float)
        age = int(pd.Timestamp(np.datetime64(peil_days, "D")).year) - by
        chk.fail(~np.isnan(by) & ((age < MIN_AGE) | (age > MAX_AGE)), "impossible_age", H("birth_year"),
                 "birth year {value} gives {detail} at the peildatum; expected an age of "
                 f"{MIN_AGE} to {MAX_AGE}.", "Correct the year of birth.",
                 detail=lambda idx: np.array([f"an age of {int(a)}" if abs(b) < 10_000 else "no possible age"
                                              for a, b in zip(age[idx], by[idx], strict=True)], dtype=object))
    _duplicates(f, chk)

    ok = np.flatnonzero(chk.ok)
    frame = {}
    for name, v in out.items():
        if isinstance(v, RawColumn):
            used = np.unique(v.codes[ok][v.codes[ok] >= 0])
            ps = pseudonyms(v.uniques[used], ID_DOMAINS[name])
            rec = np.full(len(v.uniques) + 1, -1, dtype=np.int32)
            rec[used] = np.arange(len(used), dtype=np.int32)
            frame[name] = string_array(rec[v.codes[ok]], ps)
        else:
            frame[name] = v[ok]
    df = pd.DataFrame(frame)
    if "municipality" in table.columns:
        # no column or an empty cell: the configured municipality, else unknown
        fill = opts.municipality or UNKNOWN_MUNICIPALITY
        df["municipality"] = df["municipality"].fillna(fill) if "municipality" in df else fill
    if table.name == "spells" and "spell_id" not in df:
        codes, uniq = pd.factorize(df["client_id"])
        start = df["start_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        df.insert(0, "spell_id", spell_ids(codes, np.asarray(uniq, dtype=object), start))
    if table.name == "activities" and "activity_id" not in df:
        key_text = (df["client_id"].astype(str) + "|" + df["instrument"].astype(str) + "|"
                    + df["start_date"].astype(str))
        df.insert(0, "activity_id", pd.array(pseudonyms(key_text.to_numpy(dtype=object), "activity"),
                                             dtype="string"))
    if table.name == "spells" and "benefit" in table.columns and "benefit" not in df:
        df["benefit"] = "PW"
    if table.name == "spells" and "end_date" in df:
        peil = np.datetime64(peil_days, "D").astype("datetime64[ns]")
        df.loc[df["end_date"] > peil, "end_date"] = pd.NaT
        if "end_reason" in df:
            df.loc[df["end_date"].isna(), "end_reason"] = pd.NA
    return df, chk


def _duplicates(f: CanonicalFile, chk: RowChecks) -> None:
    """Exact copies (later ones rejected) and rows sharing the table key with other values (all rejected)."""
    table = f.table
    key = [k for k in table.key if k in f.layout.columns]
    if not key:  # generated ids: the natural key
        key = [k for k in ("client_id", "instrument", "start_date") if k in f.layout.columns]
    ok = np.flatnonzero(chk.ok)
    if len(ok) < 2 or not key:
        return
    key_cols = [f.layout.columns[k] for k in key]
    # only rows whose key occurs more than once can be copies or conflicts: compare whole rows there
    shared = pd.DataFrame({h: f.raw.columns[h].keys(ok) for h in key_cols}).duplicated(keep=False).to_numpy()
    if not shared.any():
        return
    ok = ok[shared]
    frame = pd.DataFrame({h: c.keys(ok) for h, c in f.raw.columns.items()})
    exact = frame.duplicated(keep="first").to_numpy()
    detail = np.full(chk.n, "", dtype=object)
    if exact.any():
        firsts = frame.reset_index().groupby(list(frame.columns), sort=False)["index"].transform("first")
        detail[ok[exact]] = [str(f.raw.rows[ok[i]]) for i in firsts.to_numpy()[exact]]
    mask = np.zeros(chk.n, dtype=bool)
    mask[ok[exact]] = True
    chk.fail(mask, "exact_duplicate", key_cols[0], "the row is an exact copy of row {detail}; the copy was "
             "not loaded.", "Remove the duplicate rows (the first copy is loaded).", detail=detail)
    rest = frame.loc[~exact]
    size = rest.groupby(key_cols)[key_cols[0]].transform("size").to_numpy()
    conflict = ok[rest.index[size > 1]]
    if len(conflict):
        sheet = pd.Series(f.raw.rows[conflict])
        keys = rest.loc[rest.index[size > 1], key_cols].astype(str).agg("|".join, axis=1).to_numpy()
        detail = np.full(chk.n, "", dtype=object)
        detail[conflict] = sheet.astype(str).groupby(keys).agg(", ".join).reindex(keys).to_numpy()
        mask = np.zeros(chk.n, dtype=bool)
        mask[conflict] = True
        chk.fail(mask, "conflicting_duplicate", key_cols[0],
                 "rows {detail} have the same " + " and ".join(key) + " but different values; none of "
                 "them was loaded.", "Keep one correct row per key and export again.", detail=detail)
