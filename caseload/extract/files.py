"""Read one extract file (CSV, XLSX, Parquet) into factorised text columns.

Every cell is read as text first: the loader, not the file reader, decides what
a value means, so a bad value becomes a rejected row with a reason instead of a
whole column silently turned into ``NaN``. Each column is held *factorised*
(integer codes into an array of distinct strings): an extract with millions of
period rows has only thousands of distinct dates or codes, and everything
downstream parses and checks the distinct values once.

What the reader cleans, and counts for the file report: surrounding whitespace,
and invisible characters (a byte-order mark or a zero-width character, which
would otherwise become part of a client number and silently change its
pseudonym). It finds the header row among the first :data:`HEADER_SEARCH_ROWS`
rows (title rows above it are skipped and counted), refuses a header that names
a column twice, and refuses an XLSX workbook that would unpack to more than a
set size before unpacking it.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from caseload.errors import ExtractError

__all__ = ["RawColumn", "RawFile", "read_raw", "sniff_delimiter", "detect_encoding", "find_header",
           "INVISIBLE", "HEADER_SEARCH_ROWS", "MAX_XLSX_UNPACKED_MB"]

DELIMITERS = (";", ",", "\t", "|")
_SNIFF_BYTES = 65536

#: The header row is looked for among this many first rows of a file.
HEADER_SEARCH_ROWS = 20
#: A row is the header when it holds at least this many known column names.
HEADER_MIN_KNOWN = 3
#: Default limit on the unpacked size of an XLSX workbook (a full Excel sheet unpacks to well under 1 GB).
MAX_XLSX_UNPACKED_MB = 2048

#: Invisible characters removed from every field: byte-order mark, zero-width space, non-joiner and
#: joiner, word joiner, soft hyphen, left-to-right and right-to-left marks.
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060\u00ad\u200e\u200f"
_INVISIBLE_RE = "[" + INVISIBLE + "]"
_NO_INVISIBLE = {ord(ch): None for ch in INVISIBLE}


@dataclass
class RawColumn:
    """One column as codes into distinct stripped strings; code -1 is an empty cell."""

    codes: np.ndarray  # int32 per row
    uniques: np.ndarray  # object array of str

    @property
    def missing(self) -> np.ndarray:
        """Whether each row's cell is empty."""
        return self.codes < 0

    def keys(self, idx: np.ndarray) -> np.ndarray:
        """Values at rows ``idx`` as integers that are equal exactly when the cells are (-1: empty)."""
        return self.codes[idx]

    def values(self) -> np.ndarray:
        """The column as an object array of strings (``None`` for empty cells)."""
        if len(self.uniques) == 0:
            return np.full(len(self.codes), None, dtype=object)
        out = self.uniques[np.where(self.codes < 0, 0, self.codes)].astype(object)
        out[self.codes < 0] = None
        return out

    def take(self, idx: np.ndarray) -> RawColumn:
        return RawColumn(self.codes[idx], self.uniques)

    def __len__(self) -> int:
        return len(self.codes)


@dataclass
class RawFile:
    """The text content of one file, before any interpretation.

    Attributes
    ----------
    path : Path
    headers : list of str
        Header names as in the file (stripped; unnamed columns left out).
    columns : dict
        Header -> :class:`RawColumn`.
    rows : ndarray of int64
        Row number of each data row as a spreadsheet shows it.
    bad_rows : list of (row, text, problem)
        Lines that could not be split into the header's number of columns.
    encoding, delimiter, format : str
        What was detected, for the report.
    header_row : int
        Row number of the header (1 unless title rows stand above it).
    invisible : int
        Cells from which invisible characters (:data:`INVISIBLE`) were removed.
    """

    path: Path
    headers: list[str]
    columns: dict[str, RawColumn]
    rows: np.ndarray
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    format: str = ""
    header_row: int = 1
    invisible: int = 0

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.bad_rows)

    @property
    def rows_skipped(self) -> int:
        """Rows above the header (titles, notes)."""
        return self.header_row - 1

    def take(self, idx: np.ndarray) -> RawFile:
        """The same file with only the data rows at positions ``idx``."""
        return RawFile(self.path, self.headers, {h: c.take(idx) for h, c in self.columns.items()},
                       self.rows[idx], self.bad_rows, self.encoding, self.delimiter, self.format,
                       self.header_row, self.invisible)


def _clean(codes: np.ndarray, dictionary: pa.Array) -> tuple[RawColumn, int]:
    """Strip whitespace and invisible characters from the distinct values; make '' missing.

    Returns the column and the number of cells that held an invisible character.
    """
    codes = np.asarray(codes, dtype=np.int32)
    if not pa.types.is_string(dictionary.type):
        dictionary = dictionary.cast(pa.string())
    has_invisible = pc.fill_null(pc.match_substring_regex(dictionary, _INVISIBLE_RE), False)
    n_invisible = 0
    if pc.any(has_invisible).as_py():
        flags = has_invisible.to_numpy(zero_copy_only=False)
        n_invisible = int(np.bincount(codes[codes >= 0], minlength=len(flags))[flags].sum())
        dictionary = pc.replace_substring_regex(dictionary, _INVISIBLE_RE, "")
    # values that differed only in spaces or invisible characters are one value now; '' is empty
    merged = pc.dictionary_encode(pc.utf8_trim_whitespace(dictionary))
    uniques = merged.dictionary.to_numpy(zero_copy_only=False).astype(object)
    new_codes = np.append(merged.indices.to_numpy(zero_copy_only=False).astype(np.int32), -1)
    empty = np.flatnonzero(uniques == "")
    if len(empty):  # the empty value goes: its code becomes -1, later codes move down by one
        k = int(empty[0])
        new_codes = np.where(new_codes == k, -1, new_codes - (new_codes > k)).astype(np.int32)
        uniques = np.delete(uniques, k)
    return RawColumn(new_codes[codes], uniques), n_invisible


def _from_arrow(col: pa.ChunkedArray | pa.Array) -> tuple[RawColumn, int]:
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 0:
            return RawColumn(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=object)), 0
        if col.num_chunks > 1:
            # each chunk read has its own dictionary: one for all, in order of first appearance
            col = (col.unify_dictionaries() if pa.types.is_dictionary(col.type) else col).combine_chunks()
        else:
            col = col.chunk(0)
    if not pa.types.is_dictionary(col.type):
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        col = pc.dictionary_encode(col)
    idx = col.indices
    codes = (idx if idx.null_count == 0 else pc.fill_null(idx, -1)).to_numpy(zero_copy_only=False)
    return _clean(codes, col.dictionary)


def _from_strings(values) -> tuple[RawColumn, int]:
    return _from_arrow(pa.array(list(values), type=pa.string()))


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
        counts = [len(next(csv.reader([ln], delimiter=d))) - 1 for ln in lines]
        header = counts[0]
        if header == 0:
            continue
        score = (sum(c == header for c in counts), header)
        if score > best_score:
            best, best_score = d, score
    return best


def norm_header(h) -> str:
    """A header as compared with known names: no invisible characters, single spaces, lower case."""
    return "" if h is None else " ".join(str(h).translate(_NO_INVISIBLE).split()).lower()


def find_header(rows: list[list], known: set[str] | None) -> int | None:
    """Position (0-based) of the header among the first rows of a file, or ``None``.

    The header is the first of the first :data:`HEADER_SEARCH_ROWS` rows that
    holds at least :data:`HEADER_MIN_KNOWN` names of ``known`` (normalised by
    :func:`norm_header`).
    """
    for i, r in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if sum(norm_header(c) in (known or ()) for c in r if c is not None) >= HEADER_MIN_KNOWN:
            return i
    return None


def _headers(cells: list, path: Path, header_row: int) -> list[str]:
    """Stripped header names (unnamed trailing columns dropped); a name used twice is an error."""
    names = ["" if c is None else " ".join(str(c).translate(_NO_INVISIBLE).split()) for c in cells]
    while names and names[-1] == "":
        names.pop()
    seen: dict[str, int] = {}
    for j, h in enumerate(names):
        key = h.lower()
        if not h:
            continue
        if key in seen:
            raise ExtractError(
                f"the column name '{h}' appears twice in the header (row {header_row}), as column "
                f"{seen[key] + 1} ({_letters(seen[key])}) and column {j + 1} ({_letters(j)}).",
                file=path, column=h,
                fix="Rename or remove one of the two columns in the export; caseload cannot tell "
                    "which one holds the right values.")
        seen[key] = j
    return names


def _letters(j: int) -> str:
    """The spreadsheet letter of 0-based column ``j`` (0 -> A, 26 -> AA)."""
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


# --------------------------------------------------------------------------- readers


def read_raw(path: Path | str, known: set[str] | None = None, header_row: int | None = None,
             max_xlsx_mb: float = MAX_XLSX_UNPACKED_MB) -> RawFile:
    """Read a CSV, XLSX or Parquet file as text columns.

    Parameters
    ----------
    path : path-like
    known : set of str, optional
        Known column names (normalised by :func:`norm_header`) to find the
        header row with (:func:`find_header`).
    header_row : int, optional
        The header's row number (1-based); default: found.
    max_xlsx_mb : float
        Largest unpacked size of an XLSX workbook (MB) that is read.

    Raises
    ------
    ExtractError
        When the file does not exist or is a folder, is empty, is not a
        spreadsheet, has an encoding that is neither UTF-8 nor Windows-1252,
        names a column twice, or is an XLSX that unpacks to more than ``max_xlsx_mb``.
    """
    path = Path(path)
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".parquet",
                                                                                ".txt"))[:6]
        listed = f" (it holds {', '.join(inside)})" if inside else ""
        raise ExtractError(f"is a folder; name the files in it{listed}.", file=path,
                           fix="List the extract files themselves, e.g. [extract] files = "
                               "[\"extract/uitkeringen.csv\", ...].")
    if not path.is_file():
        raise ExtractError("file not found.", file=path,
                           fix="Check the path; relative paths in the config are relative to the config file.")
    if path.stat().st_size == 0:
        raise ExtractError("the file is empty (0 bytes).", file=path,
                           fix="Export the extract again; the export was probably interrupted.")
    if header_row is not None and not 1 <= int(header_row) <= 1000:
        raise ExtractError(f"header_row {header_row} is not a row number from 1 to 1000.", file=path,
                           fix="Set [extract] header_row to the row that holds the column names (1 = first).")
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        raw = _read_xlsx(path, known, header_row, max_xlsx_mb)
    elif head.startswith(b"PAR1") or suffix == ".parquet":
        raw = _read_parquet(path)
    elif suffix == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExtractError("this is an old Excel 97-2003 (.xls) workbook, which caseload cannot read.",
                           file=path, fix="Open it in Excel and save it as .xlsx or as CSV.")
    else:
        raw = _read_csv(path, head, known, header_row)
    if not raw.headers:
        raise ExtractError("the file has no header row.", file=path,
                           fix="The first row must hold the column names of the export (or set "
                               "[extract] header_row).")
    if raw.rows_read == 0:
        raise ExtractError("the file has a header but no data rows.", file=path,
                           fix="Check that the export selection was not empty.")
    return raw


def _read_csv(path: Path, head: bytes, known: set[str] | None, header_row: int | None) -> RawFile:
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExtractError("this is not a text (CSV) file, nor an XLSX or Parquet file.", file=path,
                           fix="Export the extract as CSV (semicolon-separated), XLSX or Parquet.")
    encoding = detect_encoding(head)
    sample = head.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = sample.splitlines()[:HEADER_SEARCH_ROWS if header_row is None else max(header_row, 1)]
    # the delimiter whose split finds the header (title rows above it may hold no delimiter at all)
    delimiter, at = sniff_delimiter(sample), 0
    if header_row is not None:
        at = header_row - 1
        if at >= len(lines):
            raise ExtractError(f"the file has fewer than {header_row} rows.", file=path,
                               fix="Set [extract] header_row to the row that holds the column names.")
    elif known:
        for d in dict.fromkeys((delimiter, *DELIMITERS)):
            i = find_header([next(csv.reader([ln], delimiter=d), []) for ln in lines], known)
            if i is not None:
                delimiter, at = d, i
                break
    cells = next(csv.reader([lines[at]], delimiter=delimiter), []) if lines else []
    headers = _headers(cells, path, at + 1)
    try:
        table, bad = _arrow_csv(path, encoding, delimiter, len(cells), at + 1)
    except pa.ArrowInvalid as exc:
        if encoding == "utf-8" and "UTF8" in str(exc).upper():
            encoding = "cp1252"
            table, bad = _arrow_csv(path, encoding, delimiter, len(cells), at + 1)
        else:
            raise ExtractError(f"the CSV file cannot be parsed ({exc}).", file=path,
                               fix="Check that it is a delimited text export with one header row.") from exc
    columns, invisible = {}, 0
    for h, col in zip(headers, table.columns, strict=False):
        if h:
            columns[h], k = _from_arrow(col)
            invisible += k
    n = table.num_rows
    del table
    first = at + 2  # line number of the first data row
    rows = np.arange(first, n + first, dtype=np.int64)
    if bad:
        # physical line numbers of skipped lines shift the numbers of the rows after them
        lines_all = np.arange(first, n + len(bad) + first, dtype=np.int64)
        rows = lines_all[~np.isin(lines_all, [b[0] for b in bad])]
    # blank lines are not rows: drop records whose every cell is empty (none if a column has no empty cell)
    empty = None
    for c in columns.values():
        empty = c.missing if empty is None else empty & c.missing
        if not empty.any():
            break
    if empty is not None and empty.any():
        keep = np.flatnonzero(~empty)
        columns = {k: c.take(keep) for k, c in columns.items()}
        rows = rows[keep]
    return RawFile(path, [h for h in headers if h], columns, rows, bad, encoding, delimiter, "csv",
                   at + 1, invisible)


def _arrow_csv(path: Path, encoding: str, delimiter: str, width: int, header_line: int,
               threads: bool = True):
    """The data rows after line ``header_line`` as a table of ``width`` text columns, and the bad lines."""
    bad: list = []

    def handler(row):
        bad.append(row)
        return "skip"

    names = [f"c{j}" for j in range(width)]
    enc = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
    read = pacsv.ReadOptions(use_threads=threads, encoding=enc, block_size=1 << 24, skip_rows=header_line,
                             column_names=names)
    parse = pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=handler,
                               ignore_empty_lines=False, newlines_in_values=False)
    # every column is read as text (the loader decides what a value means), straight into codes
    # and distinct values
    text = pa.dictionary(pa.int32(), pa.string())
    convert = pacsv.ConvertOptions(column_types=dict.fromkeys(names, text), strings_can_be_null=False,
                                   null_values=[], quoted_strings_can_be_null=False)
    try:
        table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    except UnicodeDecodeError as exc:
        raise ExtractError(f"the file is neither UTF-8 nor Windows-1252 text ({exc.reason}).", file=path,
                           fix="Save the export as CSV UTF-8 (Excel: 'CSV UTF-8 (door komma's gescheiden)').") from exc
    if bad and threads:
        # line numbers are only known when reading in one thread; rare, so read again
        return _arrow_csv(path, encoding, delimiter, width, header_line, threads=False)
    out = [(int(r.number) if r.number is not None else -1, r.text,
            f"the line has {r.actual_columns} fields where the header has {r.expected_columns}") for r in bad]
    return table, out


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


def _check_unpacked_size(path: Path, max_mb: float) -> None:
    """Refuse a workbook whose members unpack to more than ``max_mb`` MB (read from the zip directory,
    before anything is unpacked)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExtractError(f"this is not a readable Excel workbook ({exc}).", file=path,
                           fix="Open it in Excel and save it as .xlsx, or export the extract as CSV.") from exc
    total = sum(m.file_size for m in members)
    if total > max_mb * 2**20:
        biggest = max(members, key=lambda m: m.file_size)
        raise ExtractError(
            f"the workbook unpacks to {total / 2**20:,.0f} MB ('{biggest.filename}' alone "
            f"{biggest.file_size / 2**20:,.0f} MB), more than the limit of {max_mb:,.0f} MB; it was not "
            "unpacked.", file=path,
            fix="Export the extract as CSV; or, if the workbook is a genuine extract, raise "
                "[extract] max_xlsx_mb.")


def _read_xlsx(path: Path, known: set[str] | None, header_row: int | None, max_mb: float) -> RawFile:
    import openpyxl

    _check_unpacked_size(path, max_mb)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise ExtractError(f"this is not a readable Excel workbook ({exc}).", file=path,
                           fix="Open it in Excel and save it as .xlsx, or export the extract as CSV.") from exc
    try:
        rows_iter = wb.worksheets[0].iter_rows(values_only=True)
        top = []
        for r in rows_iter:
            top.append([_cell_text(v) for v in r])
            if len(top) >= max(HEADER_SEARCH_ROWS, header_row or 0):
                break
        if not top:
            raise ExtractError("the first worksheet is empty.", file=path,
                               fix="Put the extract on the first worksheet, with the column names in row 1.")
        at = header_row - 1 if header_row is not None else (find_header(top, known) or 0)
        if at >= len(top):
            raise ExtractError(f"the worksheet has fewer than {header_row} rows.", file=path,
                               fix="Set [extract] header_row to the row that holds the column names.")
        headers = _headers(top[at], path, at + 1)
        width = len(headers)
        data: list[list] = [[] for _ in range(width)]
        rows: list[int] = []

        def add(i, cells):
            cells = list(cells[:width]) + [None] * (width - len(cells))
            if all(c is None or c.strip() == "" for c in cells):
                return
            for j in range(width):
                data[j].append(cells[j])
            rows.append(i)

        for i, cells in enumerate(top[at + 1:], start=at + 2):
            add(i, cells)
        for i, r in enumerate(rows_iter, start=len(top) + 1):
            add(i, [_cell_text(v) for v in r[:width]])
    finally:
        wb.close()
    columns, invisible = {}, 0
    for j, h in enumerate(headers):
        if h:
            columns[h], k = _from_strings(data[j])
            invisible += k
    return RawFile(path, [h for h in headers if h], columns, np.asarray(rows, dtype=np.int64),
                   [], "xlsx", "", "xlsx", at + 1, invisible)


def _read_parquet(path: Path) -> RawFile:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ExtractError(f"this is not a readable Parquet file ({exc}).", file=path,
                           fix="Write the extract again with pandas.DataFrame.to_parquet or export it as CSV.") from exc
    headers = _headers(list(table.column_names), path, 1)
    columns, invisible = {}, 0
    for name, col in zip(headers, table.columns, strict=True):
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            col = pc.strftime(col.cast(pa.timestamp("s")) if pa.types.is_date(t) else col, format="%Y-%m-%d")
        elif pa.types.is_floating(t):
            # whole numbers (birth years read as float) print without '.0'
            col = pa.array([None if v is None or v != v else (str(int(v)) if float(v).is_integer()
                                                               else repr(float(v))) for v in col.to_pylist()],
                           type=pa.string())
        elif pa.types.is_dictionary(t):
            col = col.cast(pa.string())
        columns[name], k = _from_arrow(col)
        invisible += k
    n = table.num_rows
    return RawFile(path, list(columns), columns, np.arange(2, n + 2, dtype=np.int64), [], "parquet", "",
                   "parquet", 1, invisible)


def raw_from_frame(df: pd.DataFrame, name: str = "<DataFrame>") -> RawFile:
    """A :class:`RawFile` from an in-memory DataFrame (every cell as text)."""
    columns = {str(c).strip(): _from_strings(df[c].map(_cell_text).to_numpy(dtype=object))[0] for c in df.columns}
    return RawFile(Path(name), list(columns), columns, np.arange(2, len(df) + 2, dtype=np.int64), [],
                   "", "", "frame")
