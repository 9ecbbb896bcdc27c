"""Benefit-administration period exports (``gws`` preset) to ``spells`` and ``clients``.

The export has one row per payment period. The loader validates every row,
then consolidates the accepted period rows into spells (:func:`consolidate_spells`)
and derives one ``clients`` row per client from the client's latest period.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from caseload.errors import ExtractError
from caseload.extract.files import RawColumn, RawFile
from caseload.extract.mapping import GWS_FIELDS, LOOKUPS, Layout, text_lookup
from caseload.extract.parse import INVALID, MISSING, normalise_text, parse_dates, parse_numbers
from caseload.extract.rejections import RowChecks
from caseload.schema import END_REASON, HOUSEHOLD, inflow_reasons

__all__ = ["GwsFile", "prepare_gws", "load_gws", "consolidate_spells", "spell_groups"]

_OPEN = np.int64(10**7)  # an open period ends "never" (days; far beyond any real date)
MIN_AGE, MAX_AGE = 15, 110


@dataclass
class LoadOptions:
    """Settings of one load (from :class:`caseload.config.ExtractConfig`)."""

    gap_days: int = 1
    municipality: str | None = None
    end_reasons: dict[str, str] = field(default_factory=dict)
    households: dict[str, str] = field(default_factory=dict)


@dataclass
class GwsFile:
    """A gws export with its dates parsed (first pass: needed for the default peildatum)."""

    raw: RawFile
    layout: Layout
    dates: dict[str, np.ndarray]  # field -> days per row (MISSING / INVALID sentinels)
    date_uniques: dict[str, tuple[np.ndarray, np.ndarray] | None] = field(default_factory=dict)
    # field -> (days per distinct value with MISSING last, column codes); None: no such column
    _ends_open: np.ndarray | None = field(default=None, repr=False)

    def ends_open(self) -> np.ndarray:
        """Period end per row, with an open (empty or unreadable) end as a day far in the future."""
        if self._ends_open is None:
            pe = self.dates["period_end"]
            self._ends_open = np.where(pe > INVALID, pe, _OPEN)
        return self._ends_open

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


def prepare_gws(raw: RawFile, layout: Layout) -> GwsFile:
    """Parse the three date columns of a gws file (each distinct date string once).

    The three columns share most of their dates, so one cache serves them all.
    """
    n = raw.n_rows
    dates, date_uniques = {}, {}
    cache: dict[str, int] = {}
    for f in ("period_start", "period_end", "start_date"):
        header = layout.columns.get(f)
        col = raw.columns.get(header) if header else None
        if col is None:
            dates[f] = np.full(n, MISSING, dtype=np.int64)
            date_uniques[f] = None
            continue
        todo = [u for u in col.uniques if u not in cache]
        cache.update(zip(todo, parse_dates(np.asarray(todo, dtype=object)).tolist(), strict=True))
        parsed = np.fromiter((cache[u] for u in col.uniques), dtype=np.int64, count=len(col.uniques))
        parsed = np.append(parsed, MISSING)  # code -1 (empty cell) -> last entry
        dates[f] = parsed[col.codes]
        date_uniques[f] = (parsed, col.codes)
    return GwsFile(raw, layout, dates, date_uniques)


def _fmt_days(days: np.ndarray) -> np.ndarray:
    out = np.full(len(days), "", dtype=object)
    ok = days > INVALID
    if ok.any():
        out[ok] = pd.to_datetime(days[ok].astype("datetime64[D]")).strftime("%d-%m-%Y").to_numpy()
    return out


def _map_uniques(col: RawColumn, lookup: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct value (and a last entry for empty cells): index into the returned code values
    (-1 empty, -2 unknown)."""
    mapped = [lookup.get(normalise_text(u)) for u in col.uniques]
    values = sorted({m for m in mapped if m is not None})
    pos = {v: i for i, v in enumerate(values)}
    per_unique = np.array([pos[m] if m is not None else -2 for m in mapped] + [-1], dtype=np.int32)
    return per_unique, np.asarray(values, dtype=object)


def _map_codes(col: RawColumn, lookup: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: index into the returned code values (-1 empty, -2 unknown)."""
    per_unique, values = _map_uniques(col, lookup)
    return per_unique[col.codes], values


_GM = re.compile(r"^(?:GM)?\s*(\d{1,4})$", re.IGNORECASE)


def _municipality_lookup(uniques: np.ndarray) -> dict[str, str]:
    out = {}
    for u in uniques:
        m = _GM.match(str(u).strip())
        if m:
            out[normalise_text(u)] = f"GM{int(m[1]):04d}"
    return out


def _inflow_lookup(uniques: np.ndarray) -> dict[str, str]:
    codes = set(inflow_reasons().codes)
    out = {}
    for u in uniques:
        s = str(u).strip()
        key = str(int(s)) if s.isdigit() else s
        if key in codes:
            out[normalise_text(u)] = key
    return out


_DIGITS = re.compile(r"^[0-9]{1,18}$")


def pseudonyms(uniques: np.ndarray, pseudonymize, key: bytes, domain: str) -> np.ndarray:
    """Pseudonyms of distinct id strings, as an object array aligned with ``uniques``.

    Purely numeric ids are handed over as integers: the same pseudonym as their
    text without leading zeros (how :func:`caseload.privacy.pseudonymize`
    normalises them), but without a Python-level normalisation per value.
    """
    uniques = np.asarray(uniques, dtype=object)
    if not len(uniques):
        return np.zeros(0, dtype=object)
    numbers = integer_ids(uniques)
    values = pd.Series(numbers) if numbers is not None else pd.Series(uniques, dtype=object)
    return np.asarray(pseudonymize(values, key, domain=domain), dtype=object)


def first_seen_order(codes: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ``codes`` (0 to ``n_values - 1``; -1 missing) in the order of first appearance.

    Returns the new codes and ``order``: value ``order[k]`` gets code ``k``
    (``values[order]`` are the values in their new order). Spells and clients
    come out in the order their client first appears in the file, whatever
    order the reader gave the distinct values in.
    """
    seen = pl.Series(codes).unique(maintain_order=True).to_numpy()
    seen = seen[seen >= 0]
    if len(seen) == n_values and (seen == np.arange(n_values)).all():
        return codes, seen
    unseen = np.ones(n_values, dtype=bool)
    unseen[seen] = False
    order = np.concatenate([seen, np.flatnonzero(unseen)]).astype(np.int64)
    rank = np.empty(n_values + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1
    return rank[codes], order


def integer_ids(uniques: np.ndarray) -> np.ndarray | None:
    """The distinct id strings as ``int64`` when every one is 1 to 18 digits, else ``None``."""
    import pyarrow.compute as pc

    if not len(uniques):
        return None
    arr = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    if not pc.all(pc.match_substring_regex(arr, _DIGITS.pattern)).as_py():
        return None
    return arr.cast(pa.int64()).to_numpy()


def spell_ids(client_codes: np.ndarray, client_pseudonyms: np.ndarray, start_days: np.ndarray):
    """Spell ids ``<client pseudonym>-<yyyymmdd of the start>``, built in polars without a Python loop."""
    codes = pl.Series(np.asarray(client_codes, dtype=np.int32))
    cl = _text_array(client_pseudonyms)
    day = pl.Series(np.asarray(start_days, dtype=np.int64)).cast(pl.Int32).cast(pl.Date)
    ids = pl.select(pl.concat_str([pl.lit(pl.Series(cl)).gather(codes), pl.lit(day).dt.strftime("%Y%m%d")],
                                  separator="-")).to_series()
    return pd.arrays.ArrowStringArray(ids.to_arrow().cast(pa.string()))


def _text_array(values) -> pa.Array:
    """``values`` as an Arrow string array (every value through ``str`` unless all are text already)."""
    if isinstance(values, pa.Array) and values.type == pa.string():
        return values
    try:
        vals = pa.array(values, type=pa.string())
        if vals.null_count == 0:
            return vals
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    return pa.array([str(v) for v in values], type=pa.string())


def string_array(codes: np.ndarray, values) -> pd.api.extensions.ExtensionArray:
    """A pandas string array from codes into ``values`` (code < 0: missing), without a Python loop."""
    codes = np.asarray(codes, dtype=np.int32)
    mask = codes < 0
    vals = _text_array(values)
    if not len(vals):
        vals = pa.array([""], type=pa.string())
        codes = np.zeros_like(codes)
    arr = pa.DictionaryArray.from_arrays(pa.array(np.where(mask, 0, codes), mask=mask), vals)
    return pd.arrays.ArrowStringArray(arr.cast(pa.string()))


# --------------------------------------------------------------------- validation


def _rows_where(codes: np.ndarray, bad: np.ndarray) -> np.ndarray | None:
    """Rows whose value is flagged in ``bad`` (one flag per distinct value, the last for empty cells).

    ``None`` when no distinct value is flagged: the check then costs nothing per row.
    """
    return bad[codes] if bad.any() else None


def _check_rows(g: GwsFile, peil_days: int, opts: LoadOptions):
    """Run every row check; returns the checks, the mapped code columns and the parsed numbers.

    Checks that depend on one column are decided per distinct value and only
    spread over the rows when some value fails. Returns ``(checks, mapped,
    birth_year, amount)``; ``mapped[field]`` is ``(code per distinct value,
    column codes, code values)``, ``birth_year`` and ``amount`` are ``(value per
    distinct value, column codes)`` (the last distinct value stands for empty cells).
    """
    n = g.raw.n_rows
    chk = RowChecks(n)
    H = g.header
    d = g.dates
    du = g.date_uniques

    def date_rows(f, sentinel):
        if du.get(f) is None:  # no such column: every row is empty
            return np.ones(n, dtype=bool) if sentinel == MISSING else None
        parsed, codes = du[f]
        return _rows_where(codes, parsed == sentinel)

    client = g.col("client_id")
    chk.fail(client.missing, "missing_id", H("client_id"), "the client number is empty.",
             "Fill in the client number in the administration, or remove the row from the export.")
    for f in ("period_start", "start_date"):
        chk.fail(date_rows(f, MISSING), "missing_value", H(f), "'{column}' is empty.",
                 "Every period row needs this date; correct the export.")
    by = g.col("birth_year")
    chk.fail(by.codes < 0, "missing_value", H("birth_year"), "'{column}' is empty.",
             "Fill in the year of birth (four digits).")
    for f in ("period_start", "period_end", "start_date"):
        chk.fail(date_rows(f, INVALID), "bad_date", H(f), "'{value}' in '{column}' is not a date.",
                 "Write dates as dd-mm-jjjj (31-01-2024), jjjj-mm-dd or as an Excel date.")
    ps, pe, st = d["period_start"], d["period_end"], d["start_date"]
    ends = g.ends_open()  # an open period never ends before anything
    chk.fail(ends < ps, "end_before_start", H("period_end"),
             "the period ends on {value}, before it starts ({detail}).",
             "Correct the period dates in the administration.", detail=_lazy_dates(ps))
    chk.fail(ends < st, "end_before_start", H("start_date"),
             "the benefit's original start {value} lies after the end of this period ({detail}).",
             "Correct 'Oorspronkelijke begindatum uitkeringsdossier' in the administration.",
             detail=_lazy_dates(pe))

    # numbers, judged per distinct value
    by_u = np.append(parse_numbers(by.uniques), np.nan)
    whole = np.isfinite(by_u) & (np.mod(np.nan_to_num(by_u), 1) == 0)
    bad_by = ~whole
    bad_by[-1] = False  # empty: rejected above
    chk.fail(_rows_where(by.codes, bad_by), "bad_number", H("birth_year"), "'{value}' is not a year of birth.",
             "Write the year of birth as four digits, e.g. 1978.")
    am = g.col("amount")
    if am is not None:
        am_u = np.append(parse_numbers(am.uniques), np.nan)
        bad_am = np.isnan(am_u)
        bad_am[-1] = False  # an empty amount is allowed
        chk.fail(_rows_where(am.codes, bad_am), "bad_number", H("amount"),
                 "'{value}' is not an amount.", "Write amounts like 1234,56 (decimal comma).")
        amount = (am_u, am.codes)
    else:
        amount = (np.array([np.nan]), np.full(n, -1, dtype=np.int32))
    peil_year = int(pd.Timestamp(np.datetime64(peil_days, "D")).year)
    age_u = peil_year - by_u
    chk.fail(_rows_where(by.codes, np.isfinite(by_u) & ((age_u < MIN_AGE) | (age_u > MAX_AGE))),
             "impossible_age", H("birth_year"),
             "birth year {value} gives an age of {detail} at the peildatum; expected "
             f"{MIN_AGE} to {MAX_AGE}.",
             "Correct the year of birth (or the peildatum if the extract is older than assumed).",
             detail=_lazy_int_codes(age_u, by.codes))
    # nobody gets a benefit before the age of 15 (or before being born): a period start before
    # 1 January of the year the client turns 15. Rows still unchecked here have a whole birth year
    # within MAX_AGE years of the peildatum, so that date always exists.
    plausible = whole & (by_u >= peil_year - MAX_AGE) & (by_u <= peil_year - MIN_AGE)
    turns = np.where(plausible, np.nan_to_num(by_u) + MIN_AGE, 1970).astype(np.int64)
    first_day = np.where(plausible, (turns - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64),
                         np.iinfo(np.int64).min)
    chk.fail((ps > INVALID) & (ps < first_day[by.codes]) if plausible.any() else None,
             "impossible_age", H("birth_year"),
             "birth year {value} gives an age of {detail} at the start of this period; expected at least "
             f"{MIN_AGE}.", "Correct the year of birth or the period dates.",
             detail=_lazy_age_then(ps, by_u, by.codes))

    # codes
    mapped: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    extras = {"end_reason": opts.end_reasons, "household": opts.households}
    fixes = {
        "sex": "Use M (man), V (vrouw) or X (onbekend).",
        "household": "Add the text to [extract.households] in the config (text = one of "
                     + ", ".join(HOUSEHOLD.codes) + ").",
        "end_reason": "Add the text to [extract.end_reasons] in the config (text = one of "
                      + ", ".join(END_REASON.codes) + ").",
        "benefit": "Use PW, IOAW, IOAZ or BBZ.",
        "inflow_reason": "Use a code of the list 'Oorzaak bijstandsafhankelijkheid' "
                         "(caseload.schema.inflow_reasons()).",
        "municipality": "Use the CBS municipality code, e.g. GM0168.",
    }
    for f in ("sex", "household", "inflow_reason", "end_reason", "benefit", "municipality"):
        col = g.col(f)
        if col is None:
            continue
        if f in LOOKUPS:
            base, codelist = LOOKUPS[f]
            lookup = text_lookup(base, codelist, extras.get(f), name=f + "s")
        elif f == "inflow_reason":
            lookup = _inflow_lookup(col.uniques)
        else:
            lookup = _municipality_lookup(col.uniques)
        per_unique, values = _map_uniques(col, lookup)
        chk.fail(_rows_where(col.codes, per_unique == -2), "unknown_code", H(f),
                 "'{value}' is not a known value of '{column}'.", fixes[f])
        mapped[f] = (per_unique, col.codes, values)
    if "municipality" in mapped and opts.municipality is None:
        per_unique, codes, _ = mapped["municipality"]
        chk.fail(_rows_where(codes, per_unique == -1), "missing_value", H("municipality"),
                 "'{column}' is empty.",
                 "Fill in the municipality code, or set [extract] municipality = \"GM....\" in the config.")
    return chk, mapped, (by_u, by.codes), amount


def _years(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number, through a table of the days in range (one conversion per day)."""
    if not len(days):
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(days.min()), int(days.max())
    table = np.arange(lo, hi + 1).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    return table[days - lo]


class _lazy_dates:
    """Format dates only for the rows that end up rejected."""

    def __init__(self, days):
        self.days = days

    def __array__(self, dtype=None, copy=None):  # pragma: no cover - not used as a full array
        return _fmt_days(self.days)

    def __getitem__(self, idx):
        return _fmt_days(self.days[idx])


class _lazy_int(_lazy_dates):
    def __getitem__(self, idx):
        return np.array([str(int(v)) for v in self.days[idx]], dtype=object)


class _lazy_int_codes(_lazy_dates):
    """Whole numbers given per distinct value, formatted for the rejected rows only."""

    def __init__(self, per_unique, codes):
        self.per_unique, self.codes = per_unique, codes

    def __getitem__(self, idx):
        return np.array([str(int(v)) for v in self.per_unique[self.codes[idx]]], dtype=object)


class _lazy_age_then(_lazy_dates):
    """Age in the year a period starts (year of the start minus birth year), for rejected rows only."""

    def __init__(self, period_start, birth_year_u, codes):
        self.ps, self.by_u, self.codes = period_start, birth_year_u, codes

    def __getitem__(self, idx):
        age = _years(self.ps[idx]) - self.by_u[self.codes[idx]]
        return np.array([str(int(v)) for v in age], dtype=object)


def _duplicates(g: GwsFile, chk: RowChecks, client_sorted: np.ndarray, start_sorted: np.ndarray,
                sorted_rows: np.ndarray) -> bool:
    """Exact copies (later copies rejected) and conflicting rows (all rejected) per (client, period start).

    ``sorted_rows`` are the file positions of the rows that passed the checks,
    sorted by client and period start; ``client_sorted`` and ``start_sorted``
    their client codes and period starts. Returns whether any row was rejected.
    """
    if len(sorted_rows) < 2:
        return False
    same = client_sorted[1:] == client_sorted[:-1]
    same &= start_sorted[1:] == start_sorted[:-1]
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
    # client numbers compare as normalised (000123 is 123), however the reader held them
    frame[g.header("client_id")] = clients
    frame["_key"] = keys
    exact = frame.duplicated(keep="first").to_numpy()
    detail = np.full(chk.n, "", dtype=object)
    if exact.any():
        # position of the first copy of every row: first index of its group of identical rows
        gid = frame.groupby(list(g.raw.columns), sort=False, dropna=False).ngroup().to_numpy()
        _, first_idx = np.unique(gid, return_index=True)
        first_pos = first_idx[gid[exact]]
        detail[rows[exact]] = g.raw.rows[rows[first_pos]].astype(str)
    mask = np.zeros(chk.n, dtype=bool)
    mask[rows[exact]] = True
    chk.fail(mask, "exact_duplicate", g.header("client_id"),
             "the row is an exact copy of row {detail}; the copy was not loaded.",
             "Remove the duplicate rows from the export (the first copy is loaded).", detail=detail)
    rest = frame.loc[~exact]
    n_versions = rest.groupby("_key")["_key"].transform("size")
    conflict = rest.index[n_versions.to_numpy() > 1]
    if len(conflict):
        crow = rows[conflict]
        keys = frame.loc[conflict, "_key"].to_numpy()
        sheet_rows = g.raw.rows[crow]
        together = pd.Series(sheet_rows.astype(str)).groupby(keys).agg(", ".join)
        detail = np.full(chk.n, "", dtype=object)
        detail[crow] = together.reindex(keys).to_numpy()
        mask = np.zeros(chk.n, dtype=bool)
        mask[crow] = True
        chk.fail(mask, "conflicting_duplicate", g.header("period_start"),
                 "rows {detail} have the same client and period start but different values; none of "
                 "them was loaded.",
                 "Keep one correct row per client and period in the administration and export again.",
                 detail=detail)
    return bool(exact.any() or len(conflict))


# --------------------------------------------------------------------- consolidation


def sort_order(first: np.ndarray, second: np.ndarray, third: np.ndarray) -> np.ndarray:
    """Positions sorting three non-negative/day-number int arrays lexicographically (one int64 sort).

    Returns ``arange`` without sorting when the rows are in order already (exports
    usually are).
    """
    n = len(first)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lo = int(min(second.min(), third.min()))
    span = int(max(second.max(), third.max())) - lo + 1
    if first.min() >= 0 and int(first.max()) < (1 << 62) // (span * span):
        # one int64 key, built in place (no 5-million-row temporaries)
        key = np.asarray(first, dtype=np.int64).copy()
        key *= span
        key += second
        key -= lo
        key *= span
        key += third
        key -= lo
        return _argsort_runs(key)
    return np.lexsort((third, second, np.asarray(first, dtype=np.int64)))


def _argsort_runs(key: np.ndarray) -> np.ndarray:
    """Positions sorting ``key``, fast when it consists of ascending runs (the periods of one benefit).

    Exports list the periods of a benefit one after the other, but not always the
    benefits of a client together. The ascending runs are then sorted by their
    first key and laid end to end; if that is not sorted (runs overlap), a full
    sort is done. Ties (duplicate rows) are ordered by ``_duplicates`` itself, so
    stability is not needed.
    """
    n = len(key)
    starts = np.flatnonzero(key[1:] < key[:-1]) + 1
    if not len(starts):
        return np.arange(n)
    if len(starts) < n // 4:
        starts = np.concatenate([[0], starts])
        ends = np.append(starts[1:], n)
        by_first = np.argsort(key[starts], kind="stable")
        s, e = starts[by_first], ends[by_first]
        if (key[e[:-1] - 1] <= key[s[1:]]).all():
            lengths = e - s
            shift = s - (np.cumsum(lengths) - lengths)  # run start minus its place in the result
            order = np.repeat(shift, lengths)
            order += np.arange(n)
            return order
    return np.argsort(key, kind="stable")


def clients_disagreeing(client: np.ndarray, codes: np.ndarray) -> int:
    """How many clients have rows with different values (``codes``: one int per row, -1 empty).

    Equal (client, value) pairs on consecutive rows are dropped first, so a
    file listed client by client costs one pass over the rows.
    """
    if len(client) < 2:
        return 0
    width = int(codes.max()) + 2
    key = client.astype(np.int64) * width + (codes + 1)
    heads = key[np.concatenate([[0], np.flatnonzero(key[1:] != key[:-1]) + 1])]
    pairs = pd.unique(heads)
    return int((np.bincount(pairs // width) > 1).sum())


def _warn_disagreeing_clients(g: GwsFile, cid: np.ndarray, mapped: dict, rows: np.ndarray | None) -> None:
    """Warn when a client's loaded rows disagree on year of birth or sex (the latest row is used)."""
    import warnings

    found = []
    by = g.col("birth_year")
    columns = [("birth_year", by.codes)]
    if "sex" in mapped:
        per_unique, codes, _ = mapped["sex"]
        columns.append(("sex", per_unique[codes]))
    for f, codes in columns:
        n = clients_disagreeing(cid if rows is None else cid[rows], codes if rows is None else codes[rows])
        if n:
            found.append(f"'{g.header(f)}' for {n:,} clients")
    if found:
        warnings.warn(f"{g.raw.path.name}: rows of the same client differ in " + " and ".join(found)
                      + "; each client gets the value of their latest period. Correct the administration "
                        "if a value is wrong.", UserWarning, stacklevel=4)


def _spells_by_sorting(g: GwsFile, chk: RowChecks, cid: np.ndarray, gap_days: int):
    """Spells of the rows that passed the checks, after rejecting duplicates (the general way).

    Returns ``(first_row, last_row, end, group_first, n_periods)`` per spell, in
    the order client, original start, period start; rows are file positions.
    """
    d = g.dates
    ps, st = d["period_start"], d["start_date"]
    if chk.ok.all():  # every row passed: no copies of the columns needed
        by_period = sort_order(cid, ps, st)
    else:
        ok = np.flatnonzero(chk.ok)
        by_period = ok[sort_order(cid[ok], ps[ok], st[ok])]  # client, period start, original start
    c, p = cid[by_period], ps[by_period]
    if _duplicates(g, chk, c, p, by_period):
        keep = chk.ok[by_period]
        rows, c, p = by_period[keep], c[keep], p[keep]
    else:
        rows = by_period
    s = st[rows]
    # when the original start never decreases within a client (the usual case) this order is
    # also the consolidation order (client, original start, period start): no second sort
    if not ((c[1:] != c[:-1]) | (s[1:] >= s[:-1])).all():
        resort = sort_order(c, s, p)
        rows, c, s, p = rows[resort], c[resort], s[resort], p[resort]
    first, last, end, group_first = _sorted_spell_groups(c, s, p, d["period_end"][rows], gap_days)
    return rows[first], rows[last], end, group_first, last - first + 1


def spells_from_runs(client: np.ndarray, start: np.ndarray, period_start: np.ndarray,
                     period_end: np.ndarray, gap_days: int = 1):
    """Spells of period rows that an export lists benefit by benefit, without sorting the rows.

    A *piece* is a stretch of consecutive rows of one client and original start
    whose periods follow each other (each starts after the one before, within
    ``gap_days`` of its end, and ends no earlier). Only the pieces (about one per
    benefit, not one per period) are sorted, by client and first period start.
    The result is the one :func:`spell_groups` gives after sorting every row,
    provided the sorted pieces fit together: the periods of one client do not
    overlap (so there are no duplicate rows either), the original start never
    decreases, and within a benefit the period ends never decrease. When they
    do not, ``None`` is returned and the caller sorts the rows.

    Parameters
    ----------
    client : int array
        Client codes, ``>= 0``, in order of first appearance.
    start, period_start, period_end : int64 arrays
        Days since 1970 (period end < 0 sentinels: open).
    gap_days : int

    Returns
    -------
    (first_row, last_row, end, group_first, n_periods) or None
        Per spell, in the order client, original start, period start.
    """
    n = len(client)
    if n == 0:
        return None
    e = period_end if period_end.min() > INVALID else np.where(period_end > INVALID, period_end, _OPEN)
    cont = client[1:] == client[:-1]
    cont &= start[1:] == start[:-1]
    cont &= period_start[1:] > period_start[:-1]
    cont &= e[1:] >= e[:-1]
    step = period_start[1:] - e[:-1]
    cont &= step <= gap_days
    del step
    starts = np.flatnonzero(~cont)
    starts += 1
    starts = np.concatenate([[0], starts])
    ends = np.append(starts[1:], n) - 1  # last row of each piece
    pc, ps0, pst = client[starts], period_start[starts], start[starts]
    lo = int(ps0.min())
    span = int(ps0.max()) - lo + 1
    if int(pc.max()) >= (1 << 62) // span:
        return None
    key = pc.astype(np.int64) * span + (ps0 - lo)
    order = np.argsort(key, kind="stable")
    starts, ends, pc, ps0, pst = starts[order], ends[order], pc[order], ps0[order], pst[order]
    e_first, e_last, p_last = e[starts], e[ends], period_start[ends]
    same_client = pc[1:] == pc[:-1]
    same_group = same_client & (pst[1:] == pst[:-1])
    fits = ~same_client | ((p_last[:-1] < ps0[1:]) & (pst[:-1] <= pst[1:]))
    fits &= ~same_group | (e_last[:-1] <= e_first[1:])
    if not fits.all():
        return None
    new_spell = np.ones(len(starts), dtype=bool)
    new_spell[1:] = ~same_group | ((ps0[1:] - e_last[:-1]) > gap_days)
    first_piece = np.flatnonzero(new_spell)
    last_piece = np.append(first_piece[1:] - 1, len(starts) - 1)
    lengths = np.cumsum(ends - starts + 1)
    n_periods = lengths[last_piece] - np.concatenate([[0], lengths[:-1]])[first_piece]
    group_first = np.ones(len(first_piece), dtype=bool)
    group_first[1:] = ~same_group[first_piece[1:] - 1]
    return starts[first_piece], ends[last_piece], e_last[last_piece], group_first, n_periods


def _increasing(a: np.ndarray) -> bool:
    return bool((a[1:] > a[:-1]).all())


def spell_groups(client: np.ndarray, start: np.ndarray, period_start: np.ndarray,
                 period_end: np.ndarray, gap_days: int = 1, order: np.ndarray | None = None):
    """Vectorised consolidation of period rows into spells.

    Parameters
    ----------
    client : int array
        Client codes (any integer identifying the client).
    start, period_start, period_end : int64 arrays
        Days since 1970: original start of the benefit, period start, period
        end (``< 0`` sentinel values :data:`MISSING`/:data:`INVALID` = open).
    gap_days : int
        A period that starts more than ``gap_days`` days after the latest end
        of the earlier periods of its group begins a new spell.
    order : int array, optional
        Positions already sorted by client, original start and period start
        (only these rows are consolidated); computed when not given.

    Returns
    -------
    order : int array
        Row positions sorted by client, original start, period start.
    first, last : int arrays
        For each spell, positions in ``order`` of its first and last period.
    end : int64 array
        Latest period end of each spell (``_OPEN`` if any period is open).
    group_first : bool array
        Whether the spell is the first of its (client, original start) group.
    """
    if order is None:
        order = sort_order(client, start, period_start)
    n = len(order)
    if n == len(client) and (n == 0 or (order[0] == 0 and order[-1] == n - 1 and _increasing(order))):
        c, s, ps, pe = client, start, period_start, period_end  # every row, in order: no copies
    else:
        c, s, ps, pe = client[order], start[order], period_start[order], period_end[order]
    return (order, *_sorted_spell_groups(c, s, ps, pe, gap_days))


def _sorted_spell_groups(c, s, ps, pe, gap_days):
    """:func:`spell_groups` of rows already in consolidation order: ``first, last, end, group_first``."""
    n = len(c)
    pe = np.where(pe > INVALID, pe, _OPEN)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (c[1:] != c[:-1]) | (s[1:] != s[:-1])
    if n < 2 or ((pe[1:] >= pe[:-1]) | new_group[1:]).all():
        # period ends never decrease within a group (the usual case): they are their own running max
        acc = pe
    else:
        gid = np.cumsum(new_group) - 1
        # running max of period ends within each group: offset groups so maximum.accumulate cannot cross
        base = int(pe.min())
        width = int(_OPEN) - base + 1
        acc = np.maximum.accumulate(gid * width + (pe - base)) - gid * width + base
    new_spell = new_group.copy()
    new_spell[1:] |= (ps[1:] - acc[:-1]) > gap_days  # acc[:-1]: latest end of the periods before
    first = np.flatnonzero(new_spell)
    last = np.append(first[1:] - 1, n - 1).astype(np.int64) if n else first
    return first, last, acc[last], new_group[first]


def consolidate_spells(periods: pd.DataFrame, gap_days: int = 1,
                       peildatum: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Consolidate payment-period rows into benefit spells.

    The rule: period rows of the same ``client_id`` with the same original start
    date (``start_date``, the export's 'Oorspronkelijke begindatum
    uitkeringsdossier') belong to one benefit. Within it, periods are sorted by
    ``period_start``; a period that starts more than ``gap_days`` days after the
    latest end of the periods before it begins a new spell (``gap_days=1``:
    periods that follow day after day, 31-01 then 01-02, merge).

    The first spell of a benefit starts on the original start date, a spell
    after a gap on its first period's start. A spell ends on the latest period
    end; it is open (``NaT``) when any period is open or the end lies after the
    peildatum. ``end_reason`` (and every other column) comes from the last
    period, ``inflow_reason`` from the first; ``n_periods`` counts the rows.

    Parameters
    ----------
    periods : DataFrame
        Columns ``client_id``, ``start_date``, ``period_start``, ``period_end``
        (datetimes) and any others (carried from the last period).
    gap_days : int, default 1
    peildatum : date-like, optional
        Ends after it are treated as open.

    Returns
    -------
    DataFrame
        One row per spell: ``client_id, start_date, end_date, n_periods`` and
        the other columns of ``periods``.

    Examples
    --------
    >>> p = pd.DataFrame({"client_id": ["a", "a", "a"],
    ...     "start_date": pd.to_datetime(["2020-01-01"] * 3),
    ...     "period_start": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-06-01"]),
    ...     "period_end": pd.to_datetime(["2020-01-31", "2020-02-29", "2020-06-30"])})
    >>> consolidate_spells(p)[["start_date", "end_date", "n_periods"]]
      start_date   end_date  n_periods
    0 2020-01-01 2020-02-29          2
    1 2020-06-01 2020-06-30          1
    """
    def days(s):
        v = pd.to_datetime(s).to_numpy(dtype="datetime64[D]").astype(np.int64)
        return np.where(pd.isna(s).to_numpy(), MISSING, v)

    client_codes, _ = pd.factorize(periods["client_id"])
    order, first, last, end, group_first = spell_groups(
        client_codes, days(periods["start_date"]), days(periods["period_start"]),
        days(periods["period_end"]), gap_days)
    ps = days(periods["period_start"])[order]
    st = days(periods["start_date"])[order]
    start = np.where(group_first, st[first], ps[first])
    if peildatum is not None:
        peil = pd.Timestamp(peildatum).to_datetime64().astype("datetime64[D]").astype(np.int64)
        end = np.where(end > peil, _OPEN, end)
    others = [c for c in periods.columns if c not in ("start_date", "period_start", "period_end")]
    out = periods[others].iloc[order[last]].reset_index(drop=True)
    if "inflow_reason" in out:
        out["inflow_reason"] = periods["inflow_reason"].iloc[order[first]].to_numpy()
    out.insert(1, "start_date", start.astype("datetime64[D]").astype("datetime64[ns]"))
    end_dt = np.where(end >= _OPEN, np.datetime64("NaT"), end.astype("datetime64[D]"))
    out.insert(2, "end_date", end_dt.astype("datetime64[ns]"))
    if "end_reason" in out:
        out.loc[out["end_date"].isna(), "end_reason"] = pd.NA
    out["n_periods"] = (last - first + 1).astype("int64")
    return out


# --------------------------------------------------------------------- load


def load_gws(g: GwsFile, peil_days: int, opts: LoadOptions, pseudonymize, key: bytes, hasher=None):
    """Validate a gws file and build its spells and clients.

    ``hasher`` (a :class:`caseload.privacy.IdHasher` or
    :class:`caseload.privacy.PseudonymMemo`), if given, hashes the client and
    dossier numbers that were read as whole numbers (in child processes, or
    remembering them across the files of one load); otherwise ``pseudonymize``
    runs in a second thread.

    Returns
    -------
    spells, clients : DataFrame
    checks : RowChecks
    """
    raw = g.raw
    if g.col("municipality") is None and opts.municipality is None:
        raise ExtractError(
            "the file has no column 'Gemeentecode' and no municipality is configured.", file=raw.path,
            fix="Set [extract] municipality = \"GM....\" (CBS code) in the config, or add the column.")
    with ThreadPoolExecutor(max_workers=1) as pool:
        return _load_gws(g, peil_days, opts, pseudonymize, key, pool, hasher)


def _load_gws(g: GwsFile, peil_days: int, opts: LoadOptions, pseudonymize, key: bytes, pool, hasher=None):
    # The keyed hashes are the one Python-level loop of a load. They run in child processes
    # (``hasher``, large files with whole-number ids) or in a second thread while the checks and
    # the consolidation go on.
    client = g.col("client_id")
    if client.ints is not None:
        # read as whole numbers: the codes are already in order of first appearance and the
        # number is the normalised client number
        cid, ivalues = client.codes, client.int_uniques
        client_hashes = (hasher.submit(ivalues, "client", pool) if hasher is not None
                         else pool.submit(pseudonymize, pd.Series(ivalues), key, domain="client"))
        client_order = None
    elif (numbers := integer_ids(client.uniques)) is not None:
        # all client numbers are digits: the pseudonym of a number ignores leading zeros, so
        # grouping by the integer value is grouping by pseudonym, and hashing need not wait
        icodes, ivalues = pd.factorize(numbers)
        cid = np.append(np.asarray(icodes, dtype=np.int32), -1)[client.codes]
        client_hashes = pool.submit(pseudonymize, pd.Series(ivalues), key, domain="client")
    else:
        # pseudonyms of the distinct client numbers; numbers that differ only in leading zeros
        # share one, so grouping uses the pseudonym codes, not the raw text
        pseudo_all = pseudonyms(client.uniques, pseudonymize, key, "client")
        pcodes, ivalues = pd.factorize(pseudo_all)
        cid = np.append(np.asarray(pcodes, dtype=np.int32), -1)[client.codes]
        client_hashes = None
    dossier = g.col("dossier_id")
    if dossier is None:
        dossier_hashes = None
    elif dossier.ints is not None:
        dossier_hashes = (hasher.submit(dossier.int_uniques, "dossier", pool) if hasher is not None
                          else pool.submit(pseudonymize, pd.Series(dossier.int_uniques), key, domain="dossier"))
    else:
        dossier_hashes = pool.submit(pseudonyms, dossier.uniques, pseudonymize, key, "dossier")
    chk, mapped, birth_year, amount = _check_rows(g, peil_days, opts)
    if client.ints is None:
        cid, client_order = first_seen_order(cid, len(ivalues))
    d = g.dates
    ps, st = d["period_start"], d["start_date"]
    # tried without sorting the rows first; if the rows do not fit together that way (duplicates,
    # overlapping periods), they are sorted
    if chk.ok.all():  # every row passed: no copies of the columns needed
        found = spells_from_runs(cid, st, ps, g.ends_open(), opts.gap_days)
    else:
        ok = np.flatnonzero(chk.ok)
        found = spells_from_runs(cid[ok], st[ok], ps[ok], g.ends_open()[ok], opts.gap_days)
        if found is not None:
            found = (ok[found[0]], ok[found[1]], *found[2:])
    if found is None:
        found = _spells_by_sorting(g, chk, cid, opts.gap_days)
    fr, la, end, group_first, n_periods = found
    start = np.where(group_first, d["start_date"][fr], d["period_start"][fr])
    end = np.where(end > peil_days, _OPEN, end)
    spell_client = cid[la]
    _warn_disagreeing_clients(g, cid, mapped, None if chk.ok.all() else np.flatnonzero(chk.ok))
    pseudo = client_hashes.result() if client_hashes is not None else ivalues
    if client_order is not None:
        pseudo = np.asarray(pseudo, dtype=object)[client_order]
    pseudo = _text_array(pseudo)  # once, for the three tables that use it
    # spell id: the client's pseudonym and the spell's start date (yyyymmdd): unique per spell,
    # stable across extracts, and no new personal information
    spell_id = spell_ids(spell_client, pseudo, start)
    closed = end < _OPEN

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

    spells = {
        "spell_id": spell_id,
        "client_id": string_array(spell_client, pseudo),
        "dossier_id": (string_array(dossier.codes[la], dossier_hashes.result()) if dossier is not None
                       else string_array(np.full(len(la), -1), [])),
        "municipality": codes_at("municipality", la, opts.municipality),
        "benefit": codes_at("benefit", la, "PW"),
        "start_date": start.astype("datetime64[D]").astype("datetime64[ns]"),
        "end_date": np.where(closed, end, np.iinfo(np.int64).min).astype("datetime64[D]").astype(
            "datetime64[ns]"),
        "inflow_reason": codes_at("inflow_reason", fr),
        "end_reason": codes_at("end_reason", la, where=closed),
        "household": codes_at("household", la),
        "n_periods": pd.array(n_periods, dtype="Int64"),
        "amount": amount[0][amount[1][la]],
    }
    spells = pd.DataFrame(spells)

    # clients: attributes of each client's latest period (rows are sorted by client, then time)
    cl_last = (np.flatnonzero(np.append(spell_client[1:] != spell_client[:-1], True)) if len(la)
               else np.zeros(0, dtype=np.int64))
    cl_rows = la[cl_last]
    clients = pd.DataFrame({
        "client_id": string_array(spell_client[cl_last], pseudo),
        "municipality": codes_at("municipality", cl_rows, opts.municipality),
        "birth_year": pd.array(birth_year[0][birth_year[1][cl_rows]].astype(np.int64), dtype="Int64"),
        "sex": codes_at("sex", cl_rows, "X"),
        "household": codes_at("household", cl_rows),
    })
    return spells, clients, chk
