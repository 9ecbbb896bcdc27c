"""Benefit-administration period exports (``gws`` preset) to ``spells`` and ``clients``.

The export has one row per payment period. The loader validates every row,
then consolidates the accepted period rows into spells (:func:`consolidate_spells`)
and derives one ``clients`` row per client from the client's latest period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
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


def _days(col: RawColumn | None, n: int) -> np.ndarray:
    if col is None:
        return np.full(n, MISSING, dtype=np.int64)
    parsed = np.append(parse_dates(col.uniques), MISSING)  # code -1 -> last entry
    return parsed[col.codes]


def prepare_gws(raw: RawFile, layout: Layout) -> GwsFile:
    """Parse the three date columns of a gws file (each distinct date string once)."""
    n = raw.n_rows
    dates = {}
    for f in ("period_start", "period_end", "start_date"):
        header = layout.columns.get(f)
        dates[f] = _days(raw.columns.get(header) if header else None, n)
    return GwsFile(raw, layout, dates)


def _fmt_days(days: np.ndarray) -> np.ndarray:
    out = np.full(len(days), "", dtype=object)
    ok = days > INVALID
    if ok.any():
        out[ok] = pd.to_datetime(days[ok].astype("datetime64[D]")).strftime("%d-%m-%Y").to_numpy()
    return out


def _map_codes(col: RawColumn, lookup: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: index into the returned code values (-1 empty, -2 unknown)."""
    mapped = [lookup.get(normalise_text(u)) for u in col.uniques]
    values = sorted({m for m in mapped if m is not None})
    pos = {v: i for i, v in enumerate(values)}
    per_unique = np.array([pos[m] if m is not None else -2 for m in mapped] + [-1], dtype=np.int32)
    return per_unique[col.codes], np.asarray(values, dtype=object)


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
    import pyarrow.compute as pc

    arr = pa.array(uniques, type=pa.string())
    if pc.all(pc.match_substring_regex(arr, _DIGITS.pattern)).as_py():
        values = pd.Series(arr.cast(pa.int64()).to_numpy())
    else:
        values = pd.Series(uniques, dtype=object)
    return np.asarray(pseudonymize(values, key, domain=domain), dtype=object)


def spell_ids(client_codes: np.ndarray, client_pseudonyms: np.ndarray, start_days: np.ndarray):
    """Spell ids ``<client pseudonym>-<yyyymmdd of the start>``, built in Arrow without a Python loop."""
    import pyarrow.compute as pc

    cl = pa.DictionaryArray.from_arrays(pa.array(np.asarray(client_codes, dtype=np.int32)),
                                        pa.array(list(client_pseudonyms), type=pa.string())).cast(pa.string())
    day = pa.array(np.asarray(start_days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]"))
    ids = pc.binary_join_element_wise(cl, pc.strftime(day, format="%Y%m%d"), "-")
    return pd.arrays.ArrowStringArray(ids)


def string_array(codes: np.ndarray, values) -> pd.api.extensions.ExtensionArray:
    """A pandas string array from codes into ``values`` (code < 0: missing), without a Python loop."""
    codes = np.asarray(codes, dtype=np.int32)
    mask = codes < 0
    vals = pa.array([str(v) for v in values], type=pa.string())
    if not len(vals):
        vals = pa.array([""], type=pa.string())
        codes = np.zeros_like(codes)
    arr = pa.DictionaryArray.from_arrays(pa.array(np.where(mask, 0, codes), mask=mask), vals)
    return pd.arrays.ArrowStringArray(arr.cast(pa.string()))


# --------------------------------------------------------------------- validation


def _check_rows(g: GwsFile, peil_days: int, opts: LoadOptions):
    """Run every row check; returns the checks and the mapped code columns."""
    n = g.raw.n_rows
    chk = RowChecks(n)
    H = g.header
    d = g.dates

    client = g.col("client_id")
    chk.fail(client.codes < 0, "missing_id", H("client_id"), "the client number is empty.",
             "Fill in the client number in the administration, or remove the row from the export.")
    for f in ("period_start", "start_date"):
        chk.fail(d[f] == MISSING, "missing_value", H(f), "'{column}' is empty.",
                 "Every period row needs this date; correct the export.")
    by = g.col("birth_year")
    chk.fail(by.codes < 0, "missing_value", H("birth_year"), "'{column}' is empty.",
             "Fill in the year of birth (four digits).")
    for f in ("period_start", "period_end", "start_date"):
        chk.fail(d[f] == INVALID, "bad_date", H(f), "'{value}' in '{column}' is not a date.",
                 "Write dates as dd-mm-jjjj (31-01-2024), jjjj-mm-dd or as an Excel date.")
    ps, pe, st = d["period_start"], d["period_end"], d["start_date"]
    has_end = pe > INVALID
    chk.fail(has_end & (pe < ps), "end_before_start", H("period_end"),
             "the period ends on {value}, before it starts ({detail}).",
             "Correct the period dates in the administration.", detail=_lazy_dates(ps))
    chk.fail(has_end & (pe < st), "end_before_start", H("start_date"),
             "the benefit's original start {value} lies after the end of this period ({detail}).",
             "Correct 'Oorspronkelijke begindatum uitkeringsdossier' in the administration.",
             detail=_lazy_dates(pe))

    # numbers
    by_u = np.append(parse_numbers(by.uniques), np.nan)
    birth_year = by_u[by.codes]
    bad_by = (by.codes >= 0) & ~(np.isfinite(birth_year) & (np.mod(birth_year, 1) == 0))
    chk.fail(bad_by, "bad_number", H("birth_year"), "'{value}' is not a year of birth.",
             "Write the year of birth as four digits, e.g. 1978.")
    amount = np.full(n, np.nan)
    am = g.col("amount")
    if am is not None:
        am_u = np.append(parse_numbers(am.uniques), np.nan)
        amount = am_u[am.codes]
        chk.fail((am.codes >= 0) & np.isnan(amount), "bad_number", H("amount"),
                 "'{value}' is not an amount.", "Write amounts like 1234,56 (decimal comma).")
    peil_year = int(pd.Timestamp(np.datetime64(peil_days, "D")).year)
    age = peil_year - birth_year
    chk.fail(np.isfinite(birth_year) & ((age < MIN_AGE) | (age > MAX_AGE)), "impossible_age",
             H("birth_year"),
             "birth year {value} gives an age of {detail} at the peildatum; expected "
             f"{MIN_AGE} to {MAX_AGE}.",
             "Correct the year of birth (or the peildatum if the extract is older than assumed).",
             detail=_lazy_int(age))
    # nobody gets a benefit before the age of 15 (or before being born)
    valid_ps = ps > INVALID
    ps_year = np.where(valid_ps, ps, 0).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    age_then = ps_year - birth_year
    chk.fail(np.isfinite(birth_year) & valid_ps & (age_then < MIN_AGE), "impossible_age", H("birth_year"),
             "birth year {value} gives an age of {detail} at the start of this period; expected at least "
             f"{MIN_AGE}.", "Correct the year of birth or the period dates.", detail=_lazy_int(age_then))

    # codes
    mapped: dict[str, tuple[np.ndarray, np.ndarray]] = {}
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
        codes, values = _map_codes(col, lookup)
        chk.fail(codes == -2, "unknown_code", H(f), "'{value}' is not a known value of '{column}'.",
                 fixes[f])
        mapped[f] = (codes, values)
    if "municipality" in mapped and opts.municipality is None:
        chk.fail(mapped["municipality"][0] == -1, "missing_value", H("municipality"),
                 "'{column}' is empty.",
                 "Fill in the municipality code, or set [extract] municipality = \"GM....\" in the config.")
    return chk, mapped, birth_year, amount


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


def _duplicates(g: GwsFile, chk: RowChecks, client_codes: np.ndarray, sorted_rows: np.ndarray) -> None:
    """Exact copies (later copies rejected) and conflicting rows (all rejected) per (client, period start).

    ``sorted_rows`` are the file positions of the rows that passed the checks,
    sorted by client and period start.
    """
    if len(sorted_rows) < 2:
        return
    key_all = client_codes[sorted_rows].astype(np.int64) * (1 << 32) + (
        g.dates["period_start"][sorted_rows] + (1 << 31))
    same = key_all[1:] == key_all[:-1]
    if not same.any():
        return
    dup_pos = np.zeros(len(sorted_rows), dtype=bool)
    dup_pos[1:] |= same
    dup_pos[:-1] |= same
    rows, keys = sorted_rows[dup_pos], key_all[dup_pos]
    by_file = np.lexsort((rows, keys))  # within a key, in file order: the first copy is the earliest
    rows, keys = rows[by_file], keys[by_file]
    frame = pd.DataFrame({h: c.codes[rows] for h, c in g.raw.columns.items()})
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


# --------------------------------------------------------------------- consolidation


def sort_order(first: np.ndarray, second: np.ndarray, third: np.ndarray) -> np.ndarray:
    """Positions sorting three non-negative/day-number int arrays lexicographically (one int64 sort).

    Returns ``arange`` without sorting when the rows are in order already (exports
    usually are).
    """
    n = len(first)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.asarray(first, dtype=np.int64)
    lo = int(min(second.min(), third.min()))
    span = int(max(second.max(), third.max())) - lo + 1
    if first.min() >= 0 and first.max() < (1 << 62) // (span * span):
        key = (first * span + (second - lo)) * span + (third - lo)
        if (key[1:] >= key[:-1]).all():
            return np.arange(n)
        return np.argsort(key)
    return np.lexsort((third, second, first))


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
    client = np.asarray(client, dtype=np.int64)
    if order is None:
        order = sort_order(client, start, period_start)
    n = len(order)
    c, s, ps = client[order], start[order], period_start[order]
    pe = np.where(period_end[order] > INVALID, period_end[order], _OPEN)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (c[1:] != c[:-1]) | (s[1:] != s[:-1])
    gid = np.cumsum(new_group) - 1
    # running max of period ends within each group: offset groups so maximum.accumulate cannot cross them
    base = int(pe.min()) if n else 0
    width = int(_OPEN) - base + 1
    acc = np.maximum.accumulate(gid * width + (pe - base)) - gid * width + base
    prev_end = np.empty(n, dtype=np.int64)
    prev_end[0:1] = _OPEN
    prev_end[1:] = acc[:-1]
    new_spell = new_group.copy()
    new_spell[1:] |= (ps[1:] - prev_end[1:]) > gap_days
    first = np.flatnonzero(new_spell)
    last = np.append(first[1:] - 1, n - 1).astype(np.int64) if n else first
    return order, first, last, acc[last], new_group[first]


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


def load_gws(g: GwsFile, peil_days: int, opts: LoadOptions, pseudonymize, key: bytes):
    """Validate a gws file and build its spells and clients.

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
    chk, mapped, birth_year, amount = _check_rows(g, peil_days, opts)
    client = g.col("client_id")
    # pseudonyms of the distinct client numbers; numbers that differ only in leading zeros share one,
    # so grouping uses the pseudonym codes, not the raw text
    pseudo_all = pseudonyms(client.uniques, pseudonymize, key, "client")
    pcodes, pseudo = pd.factorize(pseudo_all)
    cid = np.append(np.asarray(pcodes, dtype=np.int32), -1)[client.codes]
    pseudo = np.asarray(pseudo, dtype=object)
    d = g.dates
    ps, st = d["period_start"], d["start_date"]
    ok = np.flatnonzero(chk.ok)
    by_period = ok[sort_order(cid[ok], ps[ok], st[ok])]  # client, period start, original start
    _duplicates(g, chk, cid, by_period)
    rows = by_period[chk.ok[by_period]]
    c, s = cid[rows], st[rows]
    # when the original start never decreases within a client (the usual case) this order is
    # also the consolidation order (client, original start, period start): no second sort
    if not ((c[1:] != c[:-1]) | (s[1:] >= s[:-1])).all():
        rows = rows[sort_order(c, s, ps[rows])]
    _, first, last, end, group_first = spell_groups(cid, st, ps, d["period_end"], opts.gap_days,
                                                    order=rows)
    fr, la = rows[first], rows[last]
    start = np.where(group_first, d["start_date"][fr], d["period_start"][fr])
    end = np.where(end > peil_days, _OPEN, end)
    spell_client = cid[la]
    # spell id: the client's pseudonym and the spell's start date (yyyymmdd): unique per spell,
    # stable across extracts, and no new personal information
    spell_id = spell_ids(spell_client, pseudo, start)

    def codes_at(f, idx, default=None):
        if f in mapped:
            codes, values = mapped[f]
            return string_array(codes[idx], values)
        if default is None:
            return pd.array([None] * len(idx), dtype="string")
        return pd.array([default] * len(idx), dtype="string")

    spells = pd.DataFrame({
        "spell_id": spell_id,
        "client_id": string_array(spell_client, pseudo),
    })
    dossier = g.col("dossier_id")
    if dossier is not None:
        used_d = np.unique(dossier.codes[la][dossier.codes[la] >= 0])
        ps_d = pseudonyms(dossier.uniques[used_d], pseudonymize, key, "dossier")
        rec = np.full(len(dossier.uniques) + 1, -1, dtype=np.int32)
        rec[used_d] = np.arange(len(used_d), dtype=np.int32)
        spells["dossier_id"] = string_array(rec[dossier.codes[la]], ps_d)
    else:
        spells["dossier_id"] = pd.array([None] * len(la), dtype="string")
    spells["municipality"] = codes_at("municipality", la, opts.municipality)
    if opts.municipality is not None and "municipality" in mapped:
        spells["municipality"] = spells["municipality"].fillna(opts.municipality)
    spells["benefit"] = codes_at("benefit", la, "PW").fillna("PW")
    spells["start_date"] = start.astype("datetime64[D]").astype("datetime64[ns]")
    closed = end < _OPEN
    end_dt = np.full(len(la), np.datetime64("NaT"), dtype="datetime64[ns]")
    end_dt[closed] = end[closed].astype("datetime64[D]").astype("datetime64[ns]")
    spells["end_date"] = end_dt
    spells["inflow_reason"] = codes_at("inflow_reason", fr)
    er = codes_at("end_reason", la)
    spells["end_reason"] = pd.Series(er).where(closed, None).astype("string")
    spells["household"] = codes_at("household", la)
    spells["n_periods"] = pd.array(last - first + 1, dtype="Int64")
    spells["amount"] = amount[la]

    # clients: attributes of each client's latest period (rows are sorted by client, then time)
    cl_last = (np.flatnonzero(np.append(spell_client[1:] != spell_client[:-1], True)) if len(la)
               else np.zeros(0, dtype=np.int64))
    cl_rows = la[cl_last]
    clients = pd.DataFrame({
        "client_id": string_array(spell_client[cl_last], pseudo),
        "municipality": spells["municipality"].to_numpy()[cl_last],
        "birth_year": pd.array(birth_year[cl_rows].astype(np.int64), dtype="Int64"),
        "sex": codes_at("sex", cl_rows, "X").fillna("X"),
        "household": codes_at("household", cl_rows),
    })
    clients["municipality"] = clients["municipality"].astype("string")
    return spells, clients, chk
