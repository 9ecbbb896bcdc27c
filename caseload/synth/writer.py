"""``write_extract``: a :class:`~caseload.schema.Caseload` as extract files.

Writing is vectorised: every distinct date or amount is formatted once and the
strings are gathered by index, and the CSV is written by pyarrow. Five million
period rows take seconds, not minutes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from caseload.errors import CaseloadError
from caseload.schema import TABLES, Caseload, inflow_reasons
from caseload.synth.codes import END_REASON_TEXT, GWS_COLUMNS, HOUSEHOLD_TEXT
from caseload.synth.generator import spell_periods

__all__ = ["write_extract", "BAD_ROW_KINDS", "CANONICAL_FILES", "GWS_FILES"]

BAD_ROW_KINDS: dict[str, str] = {
    "missing_id": "Clientnummer is empty",
    "bad_date": "Startdatum periodiek algemeen is not a real date (31 February)",
    "end_before_start": "Einddatum periodiek algemeen lies before Startdatum periodiek algemeen",
    "impossible_age": "geboortejaar gives an age below 0 or above 110 at the period start",
    "unknown_code": "Oorzaak bijstandsafhankelijkheid is a code that is not in the code list",
    "exact_duplicate": "an exact copy of the row above",
    "conflicting_duplicate": "same Dossiernr, Clientnummer and Startdatum as the row above, "
                             "another Bedrag periodiek",
}
"""Kinds of bad rows :func:`write_extract` can inject into ``uitkeringen.csv``."""

GWS_FILES = {"spells": "uitkeringen.csv", "clients": "clienten.csv",
             "assessments": "diagnoses.csv", "activities": "activiteiten.csv"}
CANONICAL_FILES = {"clients": "clients.csv", "spells": "spells.csv",
                   "assessments": "assessments.csv", "activities": "activities.csv"}
_XLSX_MAX_ROWS = 1_048_575


# ----------------------------------------------------------------- formatting
# A column is kept "coded" until it is written: integer codes (-1 = empty) into a
# small array of distinct strings. Each distinct date or amount is formatted once
# and pyarrow expands the codes in C++, so 5 million rows cost seconds.

Coded = tuple[np.ndarray, np.ndarray]


def _coded(values, fmt=str) -> Coded:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.asarray(uniques, dtype=object)
    if fmt is not str or (len(text) and not isinstance(text[0], str)):
        text = np.asarray([fmt(u) for u in text], dtype=object)
    return codes.astype(np.int32), text


def _coded_dates(values, date_format: str) -> Coded:
    return _coded(pd.DatetimeIndex(pd.to_datetime(values)), lambda u: u.strftime(date_format))


def _coded_amounts(values, decimal: str) -> Coded:
    cents = np.round(np.asarray(values, dtype=float) * 100)
    codes, uniques = pd.factorize(pd.Series(cents), use_na_sentinel=True)
    text = [f"{int(u) // 100}{decimal}{int(u) % 100:02d}" for u in uniques]
    return codes.astype(np.int32), np.asarray(text, dtype=object)


def _coded_column(s: pd.Series, date_format: str, decimal: str) -> Coded:
    if pd.api.types.is_datetime64_any_dtype(s):
        return _coded_dates(s, date_format)
    if pd.api.types.is_bool_dtype(s):
        a = s.astype("boolean")
        codes = np.where(a.isna().to_numpy(), -1, a.fillna(False).to_numpy(dtype=bool).astype(np.int32))
        return codes.astype(np.int32), np.array(["0", "1"], dtype=object)
    if pd.api.types.is_float_dtype(s):
        return _coded(s, lambda u: f"{u:g}".replace(".", decimal))
    return _coded(s)


def _take(col: Coded, index: np.ndarray) -> Coded:
    return col[0][index], col[1]


def _arrow(columns: dict[str, Coded]) -> pa.Table:
    """Coded columns as a pyarrow table of strings."""
    arrays = {}
    for name, (codes, text) in columns.items():
        indices = pa.array(codes, type=pa.int32(), mask=codes < 0)
        arrays[name] = pa.DictionaryArray.from_arrays(
            indices, pa.array(list(text), type=pa.string())).dictionary_decode()
    return pa.table(arrays)


def _objects(columns: dict[str, Coded]) -> pd.DataFrame:
    """Coded columns as a DataFrame of str/None (to edit single cells)."""
    return pd.DataFrame({name: np.append(text, None).astype(object)[codes]
                         for name, (codes, text) in columns.items()})


def _canonical_columns(df: pd.DataFrame, table: str, date_format: str, decimal: str) -> dict[str, Coded]:
    """A canonical table as coded strings, without ground-truth columns."""
    cols = [c for c in TABLES[table].names if c in df.columns]
    return {c: _coded_column(df[c], date_format, decimal) for c in cols}


# ----------------------------------------------------------------- the gws period file

def _gws_columns(caseload: Caseload, start, date_format: str,
                 decimal: str) -> tuple[dict[str, Coded], pd.DatetimeIndex]:
    """Period rows of ``uitkeringen.csv`` as coded columns, in the administration's order."""
    spells = caseload.spells.reset_index(drop=True)
    peil = caseload.peildatum if caseload.peildatum is not None else spells["peildatum"].max()
    if start is None:
        start = spells.attrs.get("window_start", spells["start_date"].min())
    per = spell_periods(spells, pd.Timestamp(start), pd.Timestamp(peil))
    clients = caseload.clients.set_index("client_id")
    household_text = {v: k for k, v in HOUSEHOLD_TEXT.items()}
    household_text["overig"] = "Overige leefvorm"
    end_text = {v: k for k, v in END_REASON_TEXT.items()}
    reasons = inflow_reasons().labels_nl

    def text(col: str, table: Mapping) -> Coded:
        return _coded(spells[col].astype(object), lambda u: table.get(u, u))

    role = (spells["true_type"] if "true_type" in spells
            else pd.Series("aanvrager", index=spells.index))
    # per spell first (few rows), expanded to periods by index
    by_spell = {
        "Dossiernr": _coded(spells["dossier_id"]),
        "Clientnummer": _coded(spells["client_id"]),
        "geboortejaar": _coded(clients["birth_year"].reindex(spells["client_id"]).to_numpy()),
        "geslacht": _coded(clients["sex"].reindex(spells["client_id"]).astype(object).to_numpy()),
        "Type": _coded(role.astype(object)),
        "Gemeentecode": _coded(spells["municipality"]),
        "Regeling": _coded(spells["benefit"]),
        "Oorspronkelijke begindatum uitkeringsdossier": _coded_dates(spells["start_date"], date_format),
        "Omschrijving leefvorm": text("household", household_text),
        "Oorzaak bijstandsafhankelijkheid": _coded(spells["inflow_reason"]),
        "Omschrijving oorzaak bijstandsafhankelijkheid": text("inflow_reason", reasons),
        "Omschrijving einde bijstandsafhankelijkheid": text("end_reason", end_text),
    }
    # the administration's own order: dossier, client, period
    dossier_rank = pd.factorize(spells["dossier_id"], sort=True)[0]
    client_rank = pd.factorize(spells["client_id"], sort=True)[0]
    i = per["spell"].to_numpy()
    order = np.lexsort((per["period_start"].to_numpy(), client_rank[i], dossier_rank[i]))
    i = i[order]
    per = per.iloc[order]
    columns = {name: _take(col, i) for name, col in by_spell.items()}
    columns["Startdatum periodiek algemeen"] = _coded_dates(per["period_start"], date_format)
    columns["Einddatum periodiek algemeen"] = _coded_dates(per["period_end"], date_format)
    columns["Bedrag periodiek"] = _coded_amounts(per["amount"], decimal)
    return {c: columns[c] for c in GWS_COLUMNS}, pd.DatetimeIndex(per["period_start"])


def _inject_bad_rows(frame: pd.DataFrame, start_dates: pd.DatetimeIndex,
                     bad_rows: Mapping[str, float], rng, date_format: str,
                     decimal: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make a share of rows bad, each kind on distinct rows; return the file frame and the truth."""
    unknown = set(bad_rows) - set(BAD_ROW_KINDS)
    if unknown:
        raise CaseloadError(f"unknown bad-row kind(s): {', '.join(sorted(unknown))}.",
                            fix=f"Use some of: {', '.join(BAD_ROW_KINDS)}.")
    for kind, share in bad_rows.items():
        if not 0 <= float(share) <= 0.1:
            raise CaseloadError(f"bad_rows[{kind!r}] = {share!r} is not a share between 0 and 0.1.",
                                fix="Give a share such as 0.01 (1% of the rows).")
    n = len(frame)
    counts = {k: int(round(float(s) * n)) for k, s in bad_rows.items()}
    if sum(counts.values()) > n:
        raise CaseloadError("more bad rows asked for than there are rows.", fix="Use smaller shares.")
    frame = frame.copy()
    picked = rng.permutation(n)[: sum(counts.values())]
    truth = []
    pos = 0
    dup_after: dict[int, tuple[str, dict]] = {}
    for kind in BAD_ROW_KINDS:
        k = counts.get(kind, 0)
        rows = np.sort(picked[pos: pos + k])
        pos += k
        if k == 0:
            continue
        if kind == "missing_id":
            col = "Clientnummer"
            new = np.full(k, None, dtype=object)
        elif kind == "bad_date":
            col = "Startdatum periodiek algemeen"
            years = start_dates[rows].year
            fmt = date_format.replace("%d", "31").replace("%m", "02")
            new = np.array([fmt.replace("%Y", str(y)) for y in years], dtype=object)
        elif kind == "end_before_start":
            col = "Einddatum periodiek algemeen"
            back = pd.to_timedelta(rng.integers(1, 200, k), unit="D")
            codes, text = _coded_dates(start_dates[rows] - back, date_format)
            new = text[codes]
        elif kind == "impossible_age":
            col = "geboortejaar"
            years = start_dates[rows].year
            new = np.where(rng.random(k) < 0.5, (1790 + rng.integers(0, 100, k)).astype(str),
                           (years + rng.integers(1, 10, k)).astype(str)).astype(object)
        elif kind == "unknown_code":
            col = "Oorzaak bijstandsafhankelijkheid"
            new = rng.choice(["97", "98", "99"], size=k).astype(object)
        else:
            for r in rows:
                dup_after[int(r)] = (kind, {})
            continue
        old = frame[col].to_numpy()[rows].copy()
        frame.loc[rows, col] = new
        truth.append(pd.DataFrame({"source_row": rows, "kind": kind, "column": col,
                                   "value": new, "original": old, "duplicate_of": pd.NA}))
    # duplicates: a copy directly below the original (the copy is the bad row)
    dup_rows = np.array(sorted(dup_after), dtype=np.int64)
    if len(dup_rows):
        copies = frame.iloc[dup_rows].copy()
        kinds = np.array([dup_after[int(r)][0] for r in dup_rows], dtype=object)
        conflict = kinds == "conflicting_duplicate"
        old_amount = copies["Bedrag periodiek"].to_numpy().copy()
        amount = pd.Series(old_amount).str.replace(decimal, ".", regex=False).astype(float)
        codes, text = _coded_amounts(amount * 1.1 + 5, decimal)
        new_amount = text[codes]
        copies.loc[conflict, "Bedrag periodiek"] = new_amount[conflict]
        copies.index = dup_rows + 0.5
        frame.index = frame.index.astype(float)
        frame = pd.concat([frame, copies]).sort_index(kind="stable")
        truth.append(pd.DataFrame({
            "source_row": dup_rows + 0.5, "kind": kinds,
            "column": np.where(conflict, "Bedrag periodiek", None),
            "value": np.where(conflict, new_amount, None),
            "original": np.where(conflict, old_amount, None),
            "duplicate_of": dup_rows}))
    # file row numbers as a spreadsheet shows them: header is row 1
    row_of = pd.Series(np.arange(len(frame)) + 2, index=frame.index)
    truth_df = (pd.concat(truth, ignore_index=True) if truth else
                pd.DataFrame(columns=["source_row", "kind", "column", "value", "original", "duplicate_of"]))
    truth_df["row"] = row_of.loc[truth_df["source_row"].astype(float)].to_numpy()
    dup = truth_df["duplicate_of"].notna()
    truth_df["duplicate_of"] = pd.array([None] * len(truth_df), dtype="Int64")
    if dup.any():
        src = truth_df.loc[dup, "source_row"].to_numpy() - 0.5
        truth_df.loc[dup, "duplicate_of"] = row_of.loc[src].to_numpy()
    truth_df = truth_df.drop(columns="source_row").sort_values("row").reset_index(drop=True)
    truth_df = truth_df[["row", "kind", "column", "value", "original", "duplicate_of"]]
    return frame.reset_index(drop=True), truth_df


# ----------------------------------------------------------------- writing

def _string_table(frame: pd.DataFrame) -> pa.Table:
    """A DataFrame of str/None (or numbers) as a pyarrow table of strings."""
    cols = {}
    for c in frame.columns:
        a = frame[c].to_numpy(dtype=object)
        if not all(isinstance(v, str) or v is None for v in a[:1000]):
            a = np.where(pd.isna(a), None, a.astype(str)).astype(object)
        cols[c] = pa.array(a, type=pa.string(), from_pandas=True)
    return pa.table(cols)


def _write_csv(table: pa.Table, path: Path, delimiter: str, encoding: str) -> None:
    """Write a table of strings with pyarrow (fast), then re-encode if not ASCII.

    Values are not quoted (as most exports do) unless one contains the delimiter,
    a quote or a line break."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(
            delimiter=delimiter, quoting_style="none", quoting_header="none"))
    except pa.ArrowInvalid:
        pacsv.write_csv(table, tmp, write_options=pacsv.WriteOptions(
            delimiter=delimiter, quoting_style="needed", quoting_header="none"))
    ascii_only = all(
        pa.compute.all(pa.compute.string_is_ascii(col.fill_null(""))).as_py() is not False
        for col in table.columns
    )
    if encoding.lower().replace("-", "").replace("_", "") == "utf8" or ascii_only:
        os.replace(tmp, path)
        return
    try:
        with open(tmp, encoding="utf-8", newline="") as src, \
                open(path, "w", encoding=encoding, newline="") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
    except UnicodeEncodeError as exc:
        path.unlink(missing_ok=True)
        raise CaseloadError(f"a value cannot be written in encoding {encoding}: {exc}.",
                            file=path, fix="Use encoding='utf-8'.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _write(table: pa.Table, path: Path, fmt: str, delimiter: str, encoding: str) -> Path:
    if fmt == "csv":
        _write_csv(table, path, delimiter, encoding)
    elif fmt == "parquet":
        path = path.with_suffix(".parquet")
        pq.write_table(table, path)
    elif fmt == "xlsx":
        path = path.with_suffix(".xlsx")
        if table.num_rows > _XLSX_MAX_ROWS:
            raise CaseloadError(f"{table.num_rows:,} rows do not fit in one Excel sheet.", file=path,
                                fix="Write csv or parquet for extracts above a million rows.")
        table.to_pandas().to_excel(path, index=False)
    else:
        raise CaseloadError(f"unknown format {fmt!r}.", fix="Use 'csv', 'xlsx' or 'parquet'.")
    return path


def write_extract(
    caseload: Caseload,
    out_dir: str | os.PathLike,
    layout: str = "gws",
    *,
    encoding: str = "cp1252",
    delimiter: str = ";",
    date_format: str = "%d-%m-%Y",
    decimal: str = ",",
    bad_rows: Mapping[str, float] | None = None,
    random_state: int | None = 0,
    formats: Iterable[str] = ("csv",),
    start: str | pd.Timestamp | None = None,
) -> dict[str, Path]:
    """Write a caseload as extract files, as a municipal administration exports them.

    Parameters
    ----------
    caseload : Caseload
        Usually from :func:`caseload.synth.generate`. ``true_*`` columns are never written.
    out_dir : path-like
        Folder; created if missing. Existing files of the same name are replaced.
    layout : {"gws", "canonical"}
        ``"gws"``: ``uitkeringen.csv`` with one row per payment period and the Dutch
        columns of :data:`caseload.synth.GWS_COLUMNS`, plus ``clienten.csv``,
        ``diagnoses.csv`` and ``activiteiten.csv`` with canonical headers.
        ``"canonical"``: ``clients.csv``, ``spells.csv``, ``assessments.csv``,
        ``activities.csv`` with canonical headers.
    encoding, delimiter, date_format, decimal : str
        Text encoding (default Windows-1252), field separator, date format and
        decimal mark (Dutch defaults). Booleans are written ``1``/``0``.
    bad_rows : dict, optional
        Share of the period rows to spoil per kind of :data:`BAD_ROW_KINDS`, e.g.
        ``{"missing_id": 0.01, "exact_duplicate": 0.01}`` (``gws`` layout only).
        Each kind hits distinct rows; the truth goes to ``bad_rows_truth.csv``
        (``row`` = line number in ``uitkeringen.csv`` with the header as row 1,
        ``kind``, ``column``, ``value``, ``original``, ``duplicate_of``).
    random_state : int or None
        Seed for choosing the bad rows.
    formats : iterable of {"csv", "xlsx", "parquet"}
        One file per table and format.
    start : date-like, optional
        First day of the extract window: period rows start no earlier (the
        original start date stays in ``Oorspronkelijke begindatum``). Default:
        the ``start`` given to :func:`generate`, else the earliest spell start.

    Returns
    -------
    dict of str to Path
        ``{table: path}`` for the first format, plus ``"<table>.<format>"`` keys
        for further formats and ``"bad_rows_truth"`` when bad rows were injected.

    Notes
    -----
    A spell becomes one period row per calendar quarter (the amount changes each
    January and July with the norms): periods are adjacent (next start = previous end + 1 day) and the
    last period of an open spell has no end date. ``Bedrag periodiek`` is the
    monthly amount paid on the row's person (half the couple norm for each
    partner of a couple). A couple is two rows per period with one ``Dossiernr``
    (``Type`` aanvrager and partner).
    """
    if layout not in ("gws", "canonical"):
        raise CaseloadError(f"unknown layout {layout!r}.", fix="Use 'gws' or 'canonical'.")
    formats = tuple(formats)
    if not formats:
        raise CaseloadError("no output format given.", fix="Pass formats=('csv',).")
    if bad_rows and layout != "gws":
        raise CaseloadError("bad rows can only be injected in the gws layout.",
                            fix="Use layout='gws' or bad_rows=None.")
    for fmt in formats:
        if fmt not in ("csv", "xlsx", "parquet"):
            raise CaseloadError(f"unknown format {fmt!r}.", fix="Use 'csv', 'xlsx' or 'parquet'.")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, pa.Table] = {}
    names = GWS_FILES if layout == "gws" else CANONICAL_FILES
    truth = None
    for name, df in caseload.tables().items():
        if layout == "gws" and name == "spells":
            columns, start_dates = _gws_columns(caseload, start, date_format, decimal)
            if bad_rows:
                frame, truth = _inject_bad_rows(_objects(columns), start_dates, bad_rows,
                                                np.random.default_rng(random_state), date_format,
                                                decimal)
                tables[name] = _string_table(frame)
            else:
                tables[name] = _arrow(columns)
        else:
            tables[name] = _arrow(_canonical_columns(df, name, date_format, decimal))
    paths: dict[str, Path] = {}
    for i, fmt in enumerate(formats):
        for name, table in tables.items():
            p = _write(table, out / names[name], fmt, delimiter, encoding)
            paths[name if i == 0 else f"{name}.{fmt}"] = p
    if truth is not None:
        p = out / "bad_rows_truth.csv"
        _write_csv(_string_table(truth), p, delimiter, encoding)
        paths["bad_rows_truth"] = p
    return paths
