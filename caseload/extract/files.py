"""Read one extract file (CSV, XLSX, Parquet) into factorised string columns.

Every cell is read as text first: the loader, not the file reader, decides what
a value means, so a bad value becomes a rejected row with a reason instead of a
whole column silently turned into ``NaN``. Each column is held *factorised*
(integer codes into an array of distinct strings): an extract with millions of
period rows has only thousands of distinct dates or codes, and everything
downstream parses and checks the distinct values once.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from caseload.errors import ExtractError

__all__ = ["RawColumn", "RawFile", "read_raw", "sniff_delimiter", "detect_encoding"]

DELIMITERS = (";", ",", "\t", "|")
_SNIFF_BYTES = 65536


#: An empty cell of a column read as whole numbers (:attr:`RawColumn.ints`).
MISSING_INT = np.iinfo(np.int64).min


class RawColumn:
    """One column as codes into distinct stripped strings; code -1 is an empty cell.

    A column of whole numbers (client and dossier numbers) may instead hold its
    values as ``int64`` (:attr:`ints`, :data:`MISSING_INT` for an empty cell):
    the reader then skips building a list of hundreds of thousands of distinct
    strings, and :attr:`codes` and :attr:`uniques` are made only if something
    asks for them. The text of such a value is the number's plain decimal
    form: ``"+0123"`` reads as ``123`` (the same client number under
    :func:`caseload.privacy.pseudonymize`, which drops leading zeros and a plus sign).
    """

    __slots__ = ("_codes", "_uniques", "_int_uniques", "ints")

    def __init__(self, codes: np.ndarray | None = None, uniques=None, ints: np.ndarray | None = None):
        if codes is None and ints is None:
            raise ValueError("RawColumn needs codes and uniques, or ints")
        self._codes, self._uniques, self.ints = codes, uniques, ints
        self._int_uniques = None

    def _factorise(self) -> None:
        ints = self.ints
        # exports repeat a number on consecutive rows (the periods of one benefit): factorise the
        # first row of each run of equal numbers and repeat its code (several times faster)
        heads = np.flatnonzero(ints[1:] != ints[:-1])
        if len(ints) and len(heads) < len(ints) // 2:
            heads = np.concatenate([[0], heads + 1])
            codes, uniques = pd.factorize(ints[heads])  # codes in order of first appearance
            codes = np.repeat(np.asarray(codes, dtype=np.int32), np.diff(np.append(heads, len(ints))))
        else:
            codes, uniques = pd.factorize(ints)
        codes = np.asarray(codes, dtype=np.int32)
        gone = np.flatnonzero(uniques == MISSING_INT)
        if len(gone):  # the empty-cell sentinel is not a value: code -1, later codes move down
            k = int(gone[0])
            codes = np.where(codes == k, -1, codes - (codes > k)).astype(np.int32)
            uniques = np.delete(uniques, k)
        self._codes, self._int_uniques = codes, np.asarray(uniques, dtype=np.int64)

    @property
    def int_uniques(self) -> np.ndarray:
        """The distinct values of a column of whole numbers (int64), aligned with :attr:`codes`."""
        if self.ints is None:
            raise TypeError("not a column of whole numbers")
        if self._int_uniques is None:
            self._factorise()
        return self._int_uniques

    def keys(self, idx: np.ndarray) -> np.ndarray:
        """Values at rows ``idx`` as integers that are equal exactly when the cells are (-1/min: empty)."""
        return self.ints[idx] if self.ints is not None else self.codes[idx]

    @property
    def codes(self) -> np.ndarray:
        """Code of each row's value (int32; -1 for an empty cell)."""
        if self._codes is None:
            self._factorise()
        return self._codes

    @property
    def uniques(self) -> np.ndarray:
        """The distinct values (object array of str) that :attr:`codes` point into."""
        if self._uniques is None:
            self._uniques = np.asarray(self.int_uniques.astype(str), dtype=object)
        return self._uniques

    @property
    def missing(self) -> np.ndarray:
        """Whether each row's cell is empty."""
        if self.ints is not None:
            return self.ints == MISSING_INT
        return self._codes < 0

    def values(self) -> np.ndarray:
        """The column as an object array of strings (``None`` for empty cells)."""
        if self.ints is not None:
            out = self.ints.astype(str).astype(object)
            out[self.ints == MISSING_INT] = None
            return out
        if len(self.uniques) == 0:
            return np.full(len(self.codes), None, dtype=object)
        out = self.uniques[np.where(self.codes < 0, 0, self.codes)].astype(object)
        out[self.codes < 0] = None
        return out

    def take(self, idx: np.ndarray) -> RawColumn:
        if self.ints is not None:
            return RawColumn(ints=self.ints[idx])
        return RawColumn(self._codes[idx], self._uniques)

    def __len__(self) -> int:
        return len(self.ints if self._codes is None else self._codes)


@dataclass
class RawFile:
    """The text content of one file, before any interpretation.

    Attributes
    ----------
    path : Path
    headers : list of str
        Header names as in the file (stripped).
    columns : dict
        Header -> :class:`RawColumn`.
    rows : ndarray of int64
        Row number of each data row as a spreadsheet shows it (header = row 1).
    bad_rows : list of (row, text, problem)
        Lines that could not be split into the header's number of columns.
    encoding, delimiter, format : str
        What was detected, for the report.
    """

    path: Path
    headers: list[str]
    columns: dict[str, RawColumn]
    rows: np.ndarray
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    format: str = ""

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.bad_rows)


def _normalise(codes: np.ndarray, uniques) -> RawColumn:
    """Strip the distinct values, make empty strings missing and merge equal values."""
    uniq = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    stripped = uniq.where(uniq.isna(), uniq.astype(str).str.strip())
    new_codes, new_uniques = pd.factorize(stripped.replace("", None), use_na_sentinel=True)
    new_codes = np.asarray(new_codes, dtype=np.int32)
    codes = np.asarray(codes)
    mapped = np.where(codes < 0, -1, new_codes[np.where(codes < 0, 0, codes)] if len(new_codes) else -1)
    return RawColumn(mapped.astype(np.int32), np.asarray(new_uniques, dtype=object))


def _from_strings(values) -> RawColumn:
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    return _normalise(codes, uniques)


# --------------------------------------------------------------------------- detection


def detect_encoding(head: bytes) -> str:
    """Encoding of a text file from its first bytes: BOM, else UTF-8, else cp1252.

    Only a guess from the sample; :func:`read_raw` falls back to cp1252 when the
    whole file turns out not to be valid UTF-8.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still UTF-8
        if not (exc.reason == "unexpected end of data" and exc.start >= len(head) - 3):
            return "cp1252"
    return "utf-8"


def sniff_delimiter(text: str) -> str:
    """The delimiter (``;``, ``,``, tab or ``|``) that splits the first lines consistently.

    The header line decides among delimiters that give every sampled line the
    same number of fields; ties go to the order ``; , tab |`` (Dutch exports use
    ``;`` because ``,`` is the decimal separator).
    """
    lines = [ln for ln in text.splitlines()[:30] if ln.strip()]
    if not lines:
        return ";"
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1] or lines  # the last sampled line may be cut off
    best, best_score = ";", (-1, -1)
    for d in DELIMITERS:
        counts = [_count_outside_quotes(ln, d) for ln in lines]
        header = counts[0]
        if header == 0:
            continue
        consistent = sum(c == header for c in counts)
        score = (consistent, header)
        if score > best_score:
            best, best_score = d, score
    return best


def _count_outside_quotes(line: str, delim: str) -> int:
    if '"' not in line:
        return line.count(delim)
    n, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == delim and not quoted:
            n += 1
    return n


# --------------------------------------------------------------------------- readers


def read_raw(path: Path | str) -> RawFile:
    """Read a CSV, XLSX or Parquet file as text columns.

    Raises
    ------
    ExtractError
        When the file does not exist, is empty, is not a spreadsheet, or has an
        encoding that is neither UTF-8 nor Windows-1252.
    """
    path = Path(path)
    if not path.is_file():
        raise ExtractError("file not found.", file=path,
                           fix="Check the path; relative paths in the config are relative to the config file.")
    if path.stat().st_size == 0:
        raise ExtractError("the file is empty (0 bytes).", file=path,
                           fix="Export the extract again; the export was probably interrupted.")
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        raw = _read_xlsx(path, head)
    elif head.startswith(b"PAR1") or suffix == ".parquet":
        raw = _read_parquet(path, head)
    elif suffix == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExtractError("this is an old Excel 97-2003 (.xls) workbook, which caseload cannot read.",
                           file=path, fix="Open it in Excel and save it as .xlsx or as CSV.")
    else:
        raw = _read_csv(path, head)
    if not raw.headers:
        raise ExtractError("the file has no header row.", file=path,
                           fix="The first row must hold the column names of the export.")
    if raw.rows_read == 0:
        raise ExtractError("the file has a header but no data rows.", file=path,
                           fix="Check that the export selection was not empty.")
    return raw


def _check_text(path: Path, head: bytes) -> None:
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractError("this is not a text (CSV) file, nor an XLSX or Parquet file.", file=path,
                           fix="Export the extract as CSV (semicolon-separated), XLSX or Parquet.")


def _read_csv(path: Path, head: bytes) -> RawFile:
    _check_text(path, head)
    encoding = detect_encoding(head)
    sample = head.decode(encoding if encoding != "utf-8" else "utf-8", errors="replace")
    delimiter = sniff_delimiter(sample.lstrip("\ufeff"))
    if encoding in ("utf-8", "utf-8-sig"):
        fast = _polars_csv(path, encoding, delimiter)
        if fast is not None:
            return fast
    try:
        table, bad = _arrow_csv(path, encoding, delimiter)
    except pa.ArrowInvalid as exc:
        if encoding == "utf-8" and "UTF8" in str(exc).upper():
            encoding = "cp1252"
            table, bad = _arrow_csv(path, encoding, delimiter)
        else:
            raise ExtractError(f"the CSV file cannot be parsed ({exc}).", file=path,
                               fix="Check that it is a delimited text export with one header row.") from exc
    headers = [str(h).strip().lstrip("\ufeff") for h in table.column_names]
    if table.num_rows == 0:
        empty = {h: RawColumn(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=object)) for h in headers}
        return RawFile(path, headers, empty, np.zeros(0, dtype=np.int64), bad, encoding, delimiter, "csv")
    from concurrent.futures import ThreadPoolExecutor

    # dictionary encoding runs in Arrow without the GIL: two columns at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        encoded = list(pool.map(_from_arrow, table.columns))
    del table
    columns: dict[str, RawColumn] = dict(zip(headers, encoded, strict=True))
    n = len(encoded[0].codes) if encoded else 0
    rows = np.arange(2, n + 2, dtype=np.int64)
    if bad:
        # physical line numbers of skipped lines shift the numbers of the rows after them
        bad_lines = np.array(sorted(b[0] for b in bad), dtype=np.int64)
        rows = _rows_around(bad_lines, n)
    return _csv_file(path, headers, columns, rows, bad, encoding, delimiter)


def _csv_file(path: Path, headers: list[str], columns: dict[str, RawColumn], rows: np.ndarray, bad: list,
              encoding: str, delimiter: str, maybe_blank: bool = True) -> RawFile:
    n = len(rows)
    # blank lines are not rows: drop records whose every cell is empty (``maybe_blank`` False: the
    # reader knows a column without empty cells, so there are none)
    if n and columns and maybe_blank:
        empty = np.ones(n, dtype=bool)
        for c in columns.values():
            empty &= c.missing
        if empty.any():
            keep = np.flatnonzero(~empty)
            columns = {k: c.take(keep) for k, c in columns.items()}
            rows = rows[keep]
    return RawFile(path, headers, columns, rows, bad, encoding, delimiter, "csv")


def _polars_csv(path: Path, encoding: str, delimiter: str) -> RawFile | None:
    """Fast path for a plain UTF-8 CSV: polars reads every column straight into codes.

    Each column is read as a polars ``Categorical`` with its own category list,
    so the file is split, decoded and factorised in one multi-threaded pass.
    Returns ``None`` (the caller then uses the Arrow reader, which reports bad
    lines with their line numbers) whenever the two readers could disagree: the
    file holds quote characters or carriage returns inside lines, is not valid
    UTF-8, has duplicate or unreadable headers, or has a line with a wrong number
    of fields. Polars pads a short line with empty cells, so short lines can only
    hide among rows whose last cell is empty; only when there are such rows is
    the file's delimiter count checked (one more pass over the bytes).
    """
    with path.open("rb") as fh:
        first = fh.readline().decode("utf-8-sig", errors="replace")
    names = next(iter(_split_header(first, delimiter)), [])
    if not names or len({h.strip() for h in names}) != len(names) or "" in names:
        return None
    cats = [pl.Categories.random() for _ in names]
    # columns of (nearly) distinct numbers -- ids, amounts -- are not read as categories: building
    # category lists of hundreds of thousands of values inside the parallel reader is slow. Whole
    # numbers (client and dossier numbers) are read as int64; other such columns (amounts) as text,
    # factorised after the read. A value that is not a whole number makes polars refuse the file:
    # it is then read again with those columns as text.
    want_ints, text = _many_distinct(path, delimiter, len(names))
    df, ints = None, set()
    for int_cols in ((want_ints, set()) if want_ints else (set(),)):
        def dtype(j, c, int_cols=int_cols):
            if j in int_cols:
                return pl.Int64
            return pl.String if j in text or j in want_ints else pl.Categorical(c)

        try:
            # quote_char=None: a quoted file must not be read here (a quote shows up as a '"' in a value)
            df = pl.read_csv(path, separator=delimiter, quote_char=None, has_header=True, infer_schema=False,
                             schema_overrides={h: dtype(j, c) for j, (h, c) in enumerate(zip(names, cats,
                                                                                              strict=True))},
                             encoding="utf8", raise_if_empty=False)
            ints = int_cols
            break
        except (pl.exceptions.PolarsError, OSError, ValueError):
            df = None
    if df is None or df.columns != names or df.height == 0:
        return None
    strings = text | (want_ints - ints)
    if strings:
        df = df.with_columns([pl.col(names[j]).cast(pl.Categorical(cats[j])) for j in sorted(strings)])
    uniques = {}
    for j, (h, c) in enumerate(zip(names, cats, strict=True)):
        if j in ints:
            continue
        top = df.get_column(h).to_physical().max()
        # the distinct values in code order (Categories.to_series iterates in Python)
        u = pl.Series(np.arange(0 if top is None else top + 1, dtype=np.uint32)).cat.to(
            pl.Categorical(c)).cast(pl.String)
        if len(u) and (u.str.contains('"', literal=True).any() or u.str.contains("\r", literal=True).any()):
            return None
        uniques[h] = u
    if df.get_column(names[-1]).null_count() and not _fields_consistent(path, delimiter, len(names),
                                                                         df.height + 1):
        return None
    columns: dict[str, RawColumn] = {}
    normalised: set[str] = set()
    for j, h in enumerate(names):
        if j in ints:
            s = df.get_column(h)
            if s.null_count():
                s = s.fill_null(MISSING_INT)
            columns[h] = RawColumn(ints=s.to_numpy())
            continue
        u = uniques[h]
        phys = df.get_column(h).to_physical()
        if phys.null_count():
            phys = phys.fill_null(np.uint32(0xFFFFFFFF))  # viewed as int32: -1, the empty-cell code
        codes = phys.to_numpy().view(np.int32)
        values = u.to_numpy().astype(object)
        if len(u) and ((u.str.strip_chars() != u).any() or (u == "").any()):
            columns[h] = _normalise(codes, values)
            normalised.add(h)  # blank or padded values: may have become empty cells
        else:
            columns[h] = RawColumn(np.asarray(codes, dtype=np.int32), values)
    headers = [str(h).strip() for h in names]
    n = df.height
    # a blank line has an empty cell in every column: there is none if some column has no empty cell
    maybe_blank = all(df.get_column(h).null_count() > 0 or h in normalised for h in names)
    del df
    return _csv_file(path, headers, columns, np.arange(2, n + 2, dtype=np.int64), [], encoding, delimiter,
                     maybe_blank)


_NUMBERISH = re.compile(r"^\s*[+-]?(\d{5,}|[\d.]*\d[.,]\d+)\s*$")
_WHOLE = re.compile(r"^\s*[+-]?\d{5,18}$")


def _many_distinct(path: Path, delimiter: str, n_fields: int) -> tuple[set[int], set[int]]:
    """Positions of the columns whose sampled values are long whole numbers (ids), and of the
    columns with other long numbers or decimals (amounts) that hardly repeat.

    Only a speed hint for :func:`_polars_csv`: either way the column ends up
    with the same values.
    """
    with path.open("rb") as fh:
        lines = fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace").splitlines()[1:-1]
    rows = [ln.split(delimiter) for ln in lines]
    rows = [r for r in rows if len(r) == n_fields]
    ints, text = set(), set()
    for j in range(n_fields):
        values = [r[j] for r in rows if r[j].strip()]
        if len(values) >= 10 and sum(bool(_NUMBERISH.match(v)) for v in values) >= 0.9 * len(values):
            if all(_WHOLE.match(v) for v in values):
                ints.add(j)
            elif len(set(values)) > len(values) // 2:  # amounts that repeat (per benefit) stay categories
                text.add(j)
    return ints, text


def _fields_consistent(path: Path, delimiter: str, n_fields: int, n_lines: int) -> bool:
    """Whether the file has exactly ``n_fields - 1`` delimiters on each of its ``n_lines`` lines.

    No line has more (polars refuses those), so the total count decides.
    """
    delim = ord(delimiter)
    total = 0
    buf = bytearray(1 << 24)
    with path.open("rb", buffering=0) as fh:
        while k := fh.readinto(buf):
            total += int(np.count_nonzero(np.frombuffer(buf, dtype=np.uint8, count=k) == delim))
    return total == (n_fields - 1) * n_lines


def _rows_around(bad_lines: np.ndarray, n_good: int) -> np.ndarray:
    """Line numbers of the good records given the (1-based) line numbers of skipped ones."""
    total = n_good + len(bad_lines)
    all_lines = np.arange(2, total + 2, dtype=np.int64)
    return all_lines[~np.isin(all_lines, bad_lines)]


def _arrow_csv(path: Path, encoding: str, delimiter: str, threads: bool = True):
    bad: list = []

    def handler(row):
        bad.append(row)
        return "skip"

    enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    read = pacsv.ReadOptions(use_threads=threads, encoding=enc, block_size=1 << 24)
    # every column is read as text: the loader decides what a value means
    with path.open("rb") as fh:
        first = fh.readline().decode(encoding if enc != "utf8" else "utf-8-sig", errors="replace")
    names = next(iter(_split_header(first, delimiter)), [])
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler,
                               ignore_empty_lines=False, newlines_in_values=False)
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False, null_values=[], quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except UnicodeDecodeError as exc:
        raise ExtractError(f"the file is neither UTF-8 nor Windows-1252 text ({exc.reason}).", file=path,
                           fix="Save the export as CSV UTF-8 (Excel: 'CSV UTF-8 (door komma's gescheiden)').") from exc
    if bad and threads:
        # line numbers are only known when reading in one thread; rare, so read again
        return _arrow_csv(path, encoding, delimiter, threads=False)
    out = []
    for r in bad:
        problem = (f"the line has {r.actual_columns} fields where the header has {r.expected_columns}")
        out.append((int(r.number) if r.number is not None else -1, r.text, problem))
    return table, out


def _split_header(line: str, delimiter: str):
    import csv

    return csv.reader([line.strip("\r\n")], delimiter=delimiter)


def _from_arrow(col: pa.ChunkedArray) -> RawColumn:

    if col.num_chunks == 0:
        return RawColumn(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=object))
    if not pa.types.is_dictionary(col.type):
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        col = pc.dictionary_encode(col)
    chunks = col.chunks
    last = chunks[-1].dictionary
    if all(c.dictionary.buffers()[-1] is not None and
           c.dictionary.buffers()[-1].address == last.buffers()[-1].address
           and len(c.dictionary) == len(last) for c in chunks):
        # dictionary_encode of a chunked array gives every chunk the same dictionary: keep the
        # indices as they are (unify_dictionaries would rebuild a hash table for nothing)
        indices = pa.chunked_array([c.indices for c in chunks], type=chunks[0].indices.type)
        codes = pc.fill_null(indices, -1).to_numpy()
        dictionary = last
    else:
        arr = col.unify_dictionaries().combine_chunks() if col.num_chunks > 1 else col.chunk(0)
        codes = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False)
        dictionary = arr.dictionary
    codes = np.asarray(codes, dtype=np.int32)
    stripped = pc.utf8_trim_whitespace(dictionary)
    if stripped.equals(dictionary):
        # fast path (the usual case): values are distinct already; only '' must become missing
        uniques = dictionary.to_numpy(zero_copy_only=False)
        empty = np.flatnonzero(pc.equal(dictionary, "").to_numpy(zero_copy_only=False))
        if len(empty):
            codes = np.where(codes == empty[0], -1, codes).astype(np.int32)
        return RawColumn(codes, uniques.astype(object))
    return _normalise(codes, dictionary.to_pylist())


def _cell_text(v) -> str | None:
    import datetime as dt

    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if (v.hour, v.minute, v.second) == (0, 0, 0) else v.isoformat(" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "1" if v else "0"
    return str(v)


def _read_xlsx(path: Path, head: bytes) -> RawFile:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise ExtractError(f"this is not a readable Excel workbook ({exc}).", file=path,
                           fix="Open it in Excel and save it as .xlsx, or export the extract as CSV.") from exc
    try:
        ws = wb.worksheets[0]
        rows_iter = ws.iter_rows(values_only=True)
        header = next(rows_iter, None)
        if header is None:
            raise ExtractError("the first worksheet is empty.", file=path,
                               fix="Put the extract on the first worksheet, with the column names in row 1.")
        headers = [str(h).strip() if h is not None else "" for h in header]
        while headers and headers[-1] == "":
            headers.pop()
        width = len(headers)
        data: list[list] = [[] for _ in range(width)]
        rows: list[int] = []
        for i, r in enumerate(rows_iter, start=2):
            cells = [_cell_text(v) for v in r[:width]]
            if all(c is None or c.strip() == "" for c in cells):
                continue
            cells += [None] * (width - len(cells))
            for j in range(width):
                data[j].append(cells[j])
            rows.append(i)
    finally:
        wb.close()
    columns = {h: _from_strings(data[j]) for j, h in enumerate(headers) if h}
    return RawFile(path, [h for h in headers if h], columns, np.asarray(rows, dtype=np.int64),
                   [], "xlsx", "", "xlsx")


def _read_parquet(path: Path, head: bytes) -> RawFile:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExtractError(f"this is not a readable Parquet file ({exc}).", file=path,
                           fix="Write the extract again with pandas.DataFrame.to_parquet or export it as CSV.") from exc
    columns = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            col = pc.strftime(col.cast(pa.timestamp("s")) if pa.types.is_date(t) else col, format="%Y-%m-%d")
        elif pa.types.is_floating(t):
            # whole numbers (birth years read as float) print without '.0'
            vals = col.to_numpy(zero_copy_only=False)
            txt = pd.Series(vals).map(lambda v: None if v != v else (str(int(v)) if float(v).is_integer() else repr(float(v))))
            columns[str(name).strip()] = _from_strings(txt.to_numpy(dtype=object))
            continue
        elif pa.types.is_dictionary(t):
            col = col.cast(pa.string())
        columns[str(name).strip()] = _from_arrow(col.cast(pa.string()) if not pa.types.is_string(col.type) else col)
    n = table.num_rows
    return RawFile(path, list(columns), columns, np.arange(2, n + 2, dtype=np.int64), [], "parquet", "", "parquet")


def raw_from_frame(df: pd.DataFrame, name: str = "<DataFrame>") -> RawFile:
    """A :class:`RawFile` from an in-memory DataFrame (every cell as text)."""
    columns = {str(c).strip(): _from_strings(df[c].map(_cell_text).to_numpy(dtype=object)) for c in df.columns}
    return RawFile(Path(name), list(columns), columns, np.arange(2, len(df) + 2, dtype=np.int64), [],
                   "", "", "frame")

