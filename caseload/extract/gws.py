"""Benefit-administration period exports (``gws`` preset) to ``spells`` and ``clients``.

The export has one row per payment period. The loader checks every row
(:func:`check_rows`), rejects duplicates, consolidates the accepted period rows
into spells (:mod:`caseload.extract.spells`) and derives one ``clients`` row per
client from the client's latest period.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from caseload.errors import ExtractError
from caseload.extract.common import (
    MAX_AGE,
    MIN_AGE,
    UNKNOWN_MUNICIPALITY,
    LoadOptions,
    first_seen_order,
    format_days,
    map_uniques,
    municipality_lookup,
    spell_ids,
    string_array,
)
from caseload.extract.files import RawColumn, RawFile
from caseload.extract.mapping import (
    GWS_FIELDS,
    LOOKUPS,
    Layout,
    inflow_lookup,
    lookup_key,
    text_lookup,
)
from caseload.extract.parse import INVALID, MISSING, parse_dates, parse_numbers
from caseload.extract.rejections import RowChecks
from caseload.extract.spells import OPEN, sort_order, sorted_spell_groups
from caseload.schema import END_REASON, HOUSEHOLD

__all__ = ["GwsFile", "prepare_gws", "load_gws", "check_rows"]


@dataclass
class GwsFile:
    """A gws export with its dates parsed (needed first, for the default peildatum)."""

    raw: RawFile
    layout: Layout
    dates: dict[str, np.ndarray]  # field -> days per row (MISSING / INVALID sentinels)
    parsed: dict[str, np.ndarray | None]  # field -> days per distinct value, MISSING last; None: no column
    rows_excluded: int = 0  # rows outside [extract] groups

    def col(self, f: str) -> RawColumn | None:
        header = self.layout.columns.get(f)
        return None if header is None else self.raw.columns[header]

    def header(self, f: str) -> str:
        return self.layout.columns.get(f, GWS_FIELDS[f][0])

    def latest_date(self) -> int | None:
        """Latest start or end date in the file, ignoring placeholder end dates.

        End dates more than 31 days after the latest period start (such as
        31-12-9999 for "no end") are not evidence of the extract date.
        """
        starts = np.concatenate([self.dates["period_start"], self.dates["start_date"]])
        starts = starts[starts > INVALID]
        if not len(starts):
            return None
        top = int(starts.max())
        ends = self.dates["period_end"]
        ends = ends[(ends > INVALID) & (ends <= top + 31)]
        return max(top, int(ends.max())) if len(ends) else top


def prepare_gws(raw: RawFile, layout: Layout, groups: list[str] | None = None) -> GwsFile:
    """Keep the rows of ``groups`` ('Kode groep', when given) and parse the three date columns.

    Each distinct date text is parsed once; the three columns share one cache.
    """
    excluded = 0
    if groups is not None:
        header = layout.columns.get("group")
        if header is None:
            raise ExtractError(
                f"[extract] groups is set, but the file has no column '{GWS_FIELDS['group'][0]}'.",
                file=raw.path, fix="Add the column to the export, or remove [extract] groups from the config.")
        col = raw.columns[header]
        wanted = {lookup_key(g) for g in groups}
        keep = np.append(np.array([lookup_key(u) in wanted for u in col.uniques], dtype=bool), False)[col.codes]
        excluded = int((~keep).sum())
        if excluded:
            raw = raw.take(np.flatnonzero(keep))
    dates, parsed = {}, {}
    cache: dict[str, int] = {}
    for f in ("period_start", "period_end", "start_date"):
        header = layout.columns.get(f)
        col = raw.columns.get(header) if header else None
        if col is None:
            dates[f], parsed[f] = np.full(raw.n_rows, MISSING, dtype=np.int64), None
            continue
        todo = [u for u in col.uniques if u not in cache]
        cache.update(zip(todo, parse_dates(np.asarray(todo, dtype=object)).tolist(), strict=True))
        per_unique = np.array([cache[u] for u in col.uniques] + [MISSING], dtype=np.int64)
        dates[f], parsed[f] = per_unique[col.codes], per_unique
    return GwsFile(raw, layout, dates, parsed, excluded)


# --------------------------------------------------------------------- checks


_FIXES = {
    "sex": "Use M (man), V (vrouw) or X (onbekend).",
    "household": "Add the text to [extract.households] in the config (text = one of "
                 + ", ".join(HOUSEHOLD.codes) + ").",
    "end_reason": "Add the text to [extract.end_reasons] in the config (text = one of "
                  + ", ".join(END_REASON.codes) + ").",
    "benefit": "Use PW, IOAW, IOAZ or BBZ.",
    "inflow_reason": "Use a code or description of the list 'Oorzaak bijstandsafhankelijkheid' "
                     "(caseload.schema.inflow_reasons()), or add the text to [extract.inflow_reasons] "
                     "in the config (text = code).",
    "municipality": "Use the CBS municipality code, e.g. GM0168.",
}


def check_rows(g: GwsFile, peil_days: int, opts: LoadOptions):
    """Run every row check; returns the checks, the mapped code columns and the parsed numbers.

    Checks that depend on one column are decided per distinct value (a flag per
    distinct value, the last for empty cells, spread over the rows by the
    column's codes). Returns
    ``(checks, mapped, birth_year, amount)``; ``mapped[field]`` is ``(code per
    distinct value, column codes, code values)``, ``birth_year`` and ``amount``
    are ``(value per distinct value, column codes)`` (the last distinct value
    stands for empty cells).
    """
    n = g.raw.n_rows
    chk = RowChecks(n)
    H = g.header

    def date_rows(f, sentinel):
        if g.parsed[f] is None:  # no such column: every row is empty
            return np.ones(n, dtype=bool) if sentinel == MISSING else None
        return (g.parsed[f] == sentinel)[g.col(f).codes]

    chk.fail(g.col("client_id").missing, "missing_id", H("client_id"), "the client number is empty.",
             "Fill in the client number in the administration, or remove the row from the export.")
    for f in ("period_start", "start_date"):
        chk.fail(date_rows(f, MISSING), "missing_value", H(f), "'{column}' is empty.",
                 "Every period row needs this date; correct the export.")
    by = g.col("birth_year")
    chk.fail(by.missing, "missing_value", H("birth_year"), "'{column}' is empty.",
             "Fill in the year of birth (four digits).")
    for f in ("period_start", "period_end", "start_date"):
        chk.fail(date_rows(f, INVALID), "bad_date", H(f), "'{value}' in '{column}' is not a date.",
                 "Write dates as dd-mm-jjjj (31-01-2024), jjjj-mm-dd or as an Excel date.")
    ps, pe, st = g.dates["period_start"], g.dates["period_end"], g.dates["start_date"]
    ends = np.where(pe > INVALID, pe, OPEN)  # an open period never ends before anything
    chk.fail(ends < ps, "end_before_start", H("period_end"),
             "the period ends on {value}, before it starts ({detail}).",
             "Correct the period dates in the administration.", detail=lambda idx: format_days(ps[idx]))
    chk.fail(ends < st, "end_before_start", H("start_date"),
             "the benefit's original start {value} lies after the end of this period ({detail}).",
             "Correct 'Oorspronkelijke begindatum uitkeringsdossier' in the administration.",
             detail=lambda idx: format_days(pe[idx]))

    # numbers, judged per distinct value
    by_u = np.append(parse_numbers(by.uniques), np.nan)
    whole = np.isfinite(by_u) & (np.mod(np.nan_to_num(by_u), 1) == 0)
    bad_by = ~whole
    bad_by[-1] = False  # empty: rejected above
    chk.fail(bad_by[by.codes], "bad_number", H("birth_year"), "'{value}' is not a year of birth.",
             "Write the year of birth as four digits, e.g. 1978.")
    am = g.col("amount")
    if am is not None:
        am_u = np.append(parse_numbers(am.uniques), np.nan)
        bad_am = np.isnan(am_u)
        bad_am[-1] = False  # an empty amount is allowed
        chk.fail(bad_am[am.codes], "bad_number", H("amount"),
                 "'{value}' is not an amount.", "Write amounts like 1234,56 (decimal comma).")
        amount = (am_u, am.codes)
    else:
        amount = (np.array([np.nan]), np.full(n, -1, dtype=np.int32))
    peil_year = int(pd.Timestamp(np.datetime64(peil_days, "D")).year)
    age_u = peil_year - by_u
    # the age is stated only for a birth year of at most four digits: a longer number may be a
    # personal number, masked in the value, and must not be computable from the message
    chk.fail((np.isfinite(by_u) & ((age_u < MIN_AGE) | (age_u > MAX_AGE)))[by.codes],
             "impossible_age", H("birth_year"),
             "birth year {value} gives {detail} at the peildatum; expected an age of "
             f"{MIN_AGE} to {MAX_AGE}.",
             "Correct the year of birth (or the peildatum if the extract is older than assumed).",
             detail=lambda idx: _age_text(age_u[by.codes[idx]], by_u[by.codes[idx]]))
    # nobody gets a benefit before the age of 15: a period start before 1 January of the year the
    # client turns 15. Rows still unchecked have a plausible whole birth year, so that date exists.
    plausible = whole & (by_u >= peil_year - MAX_AGE) & (by_u <= peil_year - MIN_AGE)
    turns = np.where(plausible, np.nan_to_num(by_u) + MIN_AGE, 1970).astype(np.int64)
    first_day = np.where(plausible, (turns - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64),
                         np.iinfo(np.int64).min)
    chk.fail((ps > INVALID) & (ps < first_day[by.codes]),
             "impossible_age", H("birth_year"),
             "birth year {value} gives {detail} at the start of this period; expected at least "
             f"{MIN_AGE}.", "Correct the year of birth or the period dates.",
             detail=lambda idx: _age_text(_years(ps[idx]) - by_u[by.codes[idx]], by_u[by.codes[idx]]))

    # codes
    mapped: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    extras = {"end_reason": opts.end_reasons, "household": opts.households}
    for f in ("sex", "household", "inflow_reason", "end_reason", "benefit", "municipality"):
        col = g.col(f)
        if col is None:
            continue
        if f in LOOKUPS:
            base, codelist = LOOKUPS[f]
            lookup = text_lookup(base, codelist, extras.get(f), name=f + "s")
        elif f == "inflow_reason":
            lookup = inflow_lookup(opts.inflow_reasons)
        else:
            lookup = municipality_lookup(col.uniques)
        per_unique, values = map_uniques(col, lookup)
        chk.fail((per_unique == -2)[col.codes], "unknown_code", H(f),
                 "'{value}' is not a known value of '{column}'.", _FIXES[f])
        mapped[f] = (per_unique, col.codes, values)
    if "municipality" in mapped and opts.municipality is None:
        per_unique, codes, _ = mapped["municipality"]
        chk.fail((per_unique == -1)[codes], "missing_value", H("municipality"),
                 "'{column}' is empty.",
                 "Fill in the municipality code, or set [extract] municipality = \"GM....\" in the config.")
    return chk, mapped, (by_u, by.codes), amount


def _age_text(age: np.ndarray, birth_year: np.ndarray) -> np.ndarray:
    return np.array([f"an age of {int(a)}" if abs(b) < 10_000 else "no possible age"
                     for a, b in zip(age, birth_year, strict=True)], dtype=object)


def _years(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


# --------------------------------------------------------------------- duplicates and spells


def _duplicates(g: GwsFile, chk: RowChecks, client_sorted: np.ndarray, start_sorted: np.ndarray,
                sorted_rows: np.ndarray) -> bool:
    """Exact copies (later copies rejected) and conflicting rows (all rejected) per (client, period start).

    ``sorted_rows`` are the file positions of the rows that passed the checks,
    sorted by client and period start; ``client_sorted`` and ``start_sorted``
    their client codes and period starts. Returns whether any row was rejected.
    """
    if len(sorted_rows) < 2:
        return False
    same = (client_sorted[1:] == client_sorted[:-1]) & (start_sorted[1:] == start_sorted[:-1])
    if not same.any():
        return False
    dup_pos = np.zeros(len(sorted_rows), dtype=bool)
    dup_pos[1:] |= same
    dup_pos[:-1] |= same
    rows, clients = sorted_rows[dup_pos], client_sorted[dup_pos].astype(np.int64)
    keys = clients * (1 << 32) + (start_sorted[dup_pos] + (1 << 31))
    by_file = np.lexsort((rows, keys))  # within a key, in file order: the first copy is the earliest
    rows, keys, clients = rows[by_file], keys[by_file], clients[by_file]
    frame = pd.DataFrame({h: c.keys(rows) for h, c in g.raw.columns.items()})
    frame[g.header("client_id")] = clients  # client numbers compare as normalised (000123 is 123)
    frame["_key"] = keys
    exact = frame.duplicated(keep="first").to_numpy()
    detail = np.full(chk.n, "", dtype=object)
    if exact.any():
        # position of the first copy of every row: first index of its group of identical rows
        gid = frame.groupby(list(g.raw.columns), sort=False, dropna=False).ngroup().to_numpy()
        _, first_idx = np.unique(gid, return_index=True)
        detail[rows[exact]] = g.raw.rows[rows[first_idx[gid[exact]]]].astype(str)
    mask = np.zeros(chk.n, dtype=bool)
    mask[rows[exact]] = True
    chk.fail(mask, "exact_duplicate", g.header("client_id"),
             "the row is an exact copy of row {detail}; the copy was not loaded.",
             "Remove the duplicate rows from the export (the first copy is loaded).", detail=detail)
    rest = frame.loc[~exact]
    conflict = rest.index[rest.groupby("_key")["_key"].transform("size").to_numpy() > 1]
    if len(conflict):
        crow = rows[conflict]
        ckeys = frame.loc[conflict, "_key"].to_numpy()
        together = pd.Series(g.raw.rows[crow].astype(str)).groupby(ckeys).agg(", ".join)
        detail = np.full(chk.n, "", dtype=object)
        detail[crow] = together.reindex(ckeys).to_numpy()
        mask = np.zeros(chk.n, dtype=bool)
        mask[crow] = True
        chk.fail(mask, "conflicting_duplicate", g.header("period_start"),
                 "rows {detail} have the same client and period start but different values; none of "
                 "them was loaded.",
                 "Keep one correct row per client and period in the administration and export again.",
                 detail=detail)
    return bool(exact.any() or len(conflict))


def _spells(g: GwsFile, chk: RowChecks, cid: np.ndarray, gap_days: int):
    """Spells of the rows that passed the checks, after rejecting duplicates.

    Returns ``(first_row, last_row, end, group_first, n_periods)`` per spell, in
    the order client, original start, period start; rows are file positions.
    """
    ps, st = g.dates["period_start"], g.dates["start_date"]
    ok = np.flatnonzero(chk.ok)
    by_period = ok[sort_order(cid[ok], ps[ok], st[ok])]  # client, period start, original start
    c, p = cid[by_period], ps[by_period]
    if _duplicates(g, chk, c, p, by_period):
        keep = chk.ok[by_period]
        by_period, c, p = by_period[keep], c[keep], p[keep]
    s = st[by_period]
    resort = sort_order(c, s, p)  # the consolidation order: client, original start, period start
    rows, c, s, p = by_period[resort], c[resort], s[resort], p[resort]
    first, last, end, group_first = sorted_spell_groups(c, s, p, g.dates["period_end"][rows], gap_days)
    return rows[first], rows[last], end, group_first, last - first + 1


def clients_disagreeing(client: np.ndarray, codes: np.ndarray) -> int:
    """How many clients have rows with different values (``codes``: one int per row, -1 empty)."""
    if len(client) < 2:
        return 0
    width = int(codes.max()) + 2
    pairs = pd.unique(client.astype(np.int64) * width + (codes + 1))
    return int((np.bincount(pairs // width) > 1).sum())


def _warn_disagreeing_clients(g: GwsFile, cid: np.ndarray, mapped: dict, rows: np.ndarray) -> None:
    """Warn when a client's loaded rows disagree on year of birth or sex (the latest row is used)."""
    found = []
    columns = [("birth_year", g.col("birth_year").codes)]
    if "sex" in mapped:
        per_unique, codes, _ = mapped["sex"]
        columns.append(("sex", per_unique[codes]))
    for f, codes in columns:
        n = clients_disagreeing(cid[rows], codes[rows])
        if n:
            found.append(f"'{g.header(f)}' for {n:,} clients")
    if found:
        warnings.warn(f"{g.raw.path.name}: rows of the same client differ in " + " and ".join(found)
                      + "; each client gets the value of their latest period. Correct the administration "
                        "if a value is wrong.", UserWarning, stacklevel=4)


# --------------------------------------------------------------------- load


def load_gws(g: GwsFile, peil_days: int, opts: LoadOptions, pseudonyms):
    """Validate a gws file and build its spells and clients.

    ``pseudonyms(values, domain)`` gives the keyed pseudonyms of an array of
    distinct id texts (an object array aligned with it).

    Returns
    -------
    spells, clients : DataFrame
    checks : RowChecks
    """
    client = g.col("client_id")
    # pseudonyms of the distinct client numbers; numbers that differ only in leading zeros share
    # one, so rows are grouped by pseudonym, not by the raw text
    pcodes, pseudo = pd.factorize(pseudonyms(client.uniques, "client"))
    cid = np.append(np.asarray(pcodes, dtype=np.int32), -1)[client.codes]
    cid, order = first_seen_order(cid, len(pseudo))
    pseudo = pa.array(np.asarray(pseudo, dtype=object)[order], type=pa.string())
    chk, mapped, birth_year, amount = check_rows(g, peil_days, opts)
    fr, la, end, group_first, n_periods = _spells(g, chk, cid, opts.gap_days)
    d = g.dates
    start = np.where(group_first, d["start_date"][fr], d["period_start"][fr])
    end = np.where(end > peil_days, OPEN, end)
    spell_client = cid[la]
    _warn_disagreeing_clients(g, cid, mapped, np.flatnonzero(chk.ok))
    closed = end < OPEN
    municipality = opts.municipality or UNKNOWN_MUNICIPALITY

    def codes_at(f, idx, default=None, where=None):
        """Text of field ``f`` at rows ``idx`` (``default`` for empty cells; missing where ``where`` is False)."""
        if f in mapped:
            per_unique, codes, values = mapped[f]
            k = per_unique[codes[idx]]
        else:
            k, values = np.full(len(idx), -1, dtype=np.int32), np.zeros(0, dtype=object)
        if default is not None and (k < 0).any():
            values = np.append(values, default)
            k = np.where(k < 0, len(values) - 1, k)
        if where is not None:
            k = np.where(where, k, -1)
        return string_array(k, values)

    dossier = g.col("dossier_id")
    if dossier is not None:
        dossier_id = string_array(dossier.codes[la], pseudonyms(dossier.uniques, "dossier"))
    else:
        dossier_id = string_array(np.full(len(la), -1), [])
    spells = pd.DataFrame({
        # spell id: the client's pseudonym and the spell's start date (yyyymmdd)
        "spell_id": spell_ids(spell_client, pseudo, start),
        "client_id": string_array(spell_client, pseudo),
        "dossier_id": dossier_id,
        "municipality": codes_at("municipality", la, municipality),
        "benefit": codes_at("benefit", la, "PW"),
        "start_date": start.astype("datetime64[D]").astype("datetime64[ns]"),
        "end_date": np.where(closed, end, np.iinfo(np.int64).min).astype("datetime64[D]").astype(
            "datetime64[ns]"),
        "inflow_reason": codes_at("inflow_reason", fr),
        "end_reason": codes_at("end_reason", la, where=closed),
        "household": codes_at("household", la),
        "n_periods": pd.array(n_periods, dtype="Int64"),
        "amount": amount[0][amount[1][la]],
    })
    # clients: attributes of each client's latest period (spells are sorted by client, then time)
    cl_last = (np.flatnonzero(np.append(spell_client[1:] != spell_client[:-1], True)) if len(la)
               else np.zeros(0, dtype=np.int64))
    cl_rows = la[cl_last]
    clients = pd.DataFrame({
        "client_id": string_array(spell_client[cl_last], pseudo),
        "municipality": codes_at("municipality", cl_rows, municipality),
        "birth_year": pd.array(birth_year[0][birth_year[1][cl_rows]].astype(np.int64), dtype="Int64"),
        "sex": codes_at("sex", cl_rows, "X"),
        "household": codes_at("household", cl_rows),
    })
    return spells, clients, chk
