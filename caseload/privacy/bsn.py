"""BSN detection (the 11-test) and the guards that keep personal numbers and pseudonyms
out of every published table and file.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from caseload.errors import PrivacyError
from caseload.privacy.pseudonyms import PSEUDONYM_LENGTH

# --------------------------------------------------------------------------- BSN

#: 11-test weights of the nine BSN digits: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9.
_BSN_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)
_POW10 = 10 ** np.arange(8, -1, -1, dtype=np.int64)


def _elfproef(numbers: np.ndarray) -> np.ndarray:
    """11-test on integers 0..999,999,999 read as nine digits (leading zeros kept)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    digits = (numbers[:, None] // _POW10) % 10
    return (numbers > 0) & ((digits @ _BSN_WEIGHTS) % 11 == 0)


def _digits_to_int(text: pd.Series) -> np.ndarray:
    """Digit strings (8 or 9 digits, already validated) as int64."""
    return text.astype("int64").to_numpy() if len(text) else np.zeros(0, dtype=np.int64)


def _cell_text(v) -> str | None:
    """The text a reader sees for a cell of an object column (None for non-text)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return None
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating) and np.isfinite(v) and float(v).is_integer():
        return str(int(v))
    return None


def is_valid_bsn(s) -> bool:
    """Whether ``s`` is a valid Dutch citizen service number (BSN).

    Nine digits (or eight, when an export dropped the leading zero) passing the
    11-test: ``9*d1 + 8*d2 + 7*d3 + 6*d4 + 5*d5 + 4*d6 + 3*d7 + 2*d8 - 1*d9`` is a
    multiple of 11, and not all digits are zero.

    Parameters
    ----------
    s : str or int
        Candidate number; surrounding whitespace is ignored.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_valid_bsn("111222333"), is_valid_bsn(123456782), is_valid_bsn("123456789")
    (True, True, False)
    """
    return bool(looks_like_bsn([s])[0])


def looks_like_bsn(values) -> np.ndarray:
    """Element-wise :func:`is_valid_bsn`, vectorised.

    Parameters
    ----------
    values : array-like of str or int
        Strings must consist of 8 or 9 digits (surrounding whitespace ignored);
        integers must lie in 10,000,000..999,999,999; integral floats count as integers.
        Anything else (missing, text, other lengths) is False.

    Returns
    -------
    numpy.ndarray of bool

    Notes
    -----
    The digits of all candidates are computed at once as a ``(n, 9)`` matrix
    (``n // 10**k % 10``) and multiplied by the weight vector; no Python loop per value.
    About 1 in 11 random 9-digit numbers passes the 11-test, so a match means "could
    be a BSN", not "is a BSN".
    """
    if isinstance(values, pd.Series | pd.Index):
        s = pd.Series(values.array, copy=False)
    elif isinstance(values, np.ndarray | pd.api.extensions.ExtensionArray):
        s = pd.Series(values, copy=False)
    else:
        s = pd.Series(list(values), dtype=object)
    out = np.zeros(len(s), dtype=bool)
    if len(s) == 0:
        return out
    if s.dtype == object:
        s = s.infer_objects()
    if pd.api.types.is_bool_dtype(s.dtype):
        return out
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
        num = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(num) & (num == np.floor(num)) & (num >= 1e7) & (num < 1e9)
        if ok.any():
            out[ok] = _elfproef(num[ok].astype(np.int64))
        return out
    # Mixed objects (ints among strings): their text is what a reader would see.
    text = s.map(_cell_text, na_action="ignore").astype("string").str.strip()
    ok = text.str.fullmatch(r"\d{8,9}").fillna(False).to_numpy(dtype=bool)
    if ok.any():
        out[ok] = _elfproef(_digits_to_int(text[ok]))
    return out


def mask_value(value) -> str:
    """A value that could be a personal number, safe to show in a message or log.

    Digit strings (or integers) longer than four characters keep their first two and
    last two digits: ``"123456789"`` -> ``"12*****89"``. Shorter or non-numeric values
    are returned unchanged (as text); missing values give ``""``.

    Examples
    --------
    >>> mask_value("123456789"), mask_value(42), mask_value("abc"), mask_value(None)
    ('12*****89', '42', 'abc', '')
    """
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value)
                         and pd.isna(value)):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        value = int(value)
    text = str(value).strip() if not isinstance(value, str) else value.strip()
    if text.isascii() and text.isdigit() and len(text) > 4:
        return text[:2] + "*" * (len(text) - 4) + text[-2:]
    return str(value)


# ------------------------------------------------------------------- BSN guard

# A run of exactly 8 or 9 digits: longer runs (IBAN parts, phone numbers with country
# code, timestamps) are not a BSN; letters around it do not matter ('x123456782').
_DIGIT_RUN = r"(?<!\d)(\d{8,9})(?!\d)"
# A BSN as people write it, in groups: 3-3-3 (``111 222 333``, ``111.222.333``,
# ``111-222-333``) and 4-2-3 (``1234.56.782``, the grouping on the passport), separated by a
# space (also a no-break or narrow no-break space), a dot or a dash. A group of digits that
# continues on either side (``1.123.456.782``, ``123 456 789 012``) is a longer number, not a
# BSN. Amounts written with thousands separators (``€ 123.456.782``) are caught when the nine
# digits pass the 11-test: one in eleven such amounts is a false alarm, the price of catching
# every written BSN.
_SEP = "[ .\\-\u00a0\u202f]"
_NOT_BEFORE = rf"(?<!\d)(?<!\d{_SEP})"
_NOT_AFTER = rf"(?!\d)(?!{_SEP}\d)"
_FORMATTED = (rf"{_NOT_BEFORE}(\d{{3}}){_SEP}(\d{{3}}){_SEP}(\d{{3}}){_NOT_AFTER}"
              rf"|{_NOT_BEFORE}(\d{{4}}){_SEP}(\d{{2}}){_SEP}(\d{{3}}){_NOT_AFTER}")
_CANDIDATE = rf"\d{{8}}|\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}|\d{{4}}{_SEP}\d{{2}}{_SEP}\d{{3}}"
# Long hex tokens (hashes, pseudonyms, generated ids) contain digit runs by chance:
# about 1 in 35 SHA-256 hex digests holds a run that passes the 11-test.
_HEX_TOKEN = r"(?<![0-9A-Za-z])[0-9a-fA-F]{16,}(?![0-9A-Za-z])"
# Base64 blobs (embedded images) likewise.
_BASE64_BLOB = r"[A-Za-z0-9+/]{100,}={0,2}"


def _join_groups(match: re.Match) -> str:
    return "".join(g for g in match.groups() if g)


def _text_hits(text: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Row positions and first matching digit run of string cells holding a possible BSN."""
    text = pd.Series(text.array, copy=False).astype(object)
    has_run = text.str.contains(_CANDIDATE, regex=True, na=False).to_numpy(dtype=bool)
    if not has_run.any():
        return np.zeros(0, dtype=np.int64), []
    cand = text[has_run]
    cand.index = np.flatnonzero(has_run)
    cand = (cand.str.replace(_HEX_TOKEN, " ", regex=True)
            .str.replace(_BASE64_BLOB, " ", regex=True)
            .str.replace(_FORMATTED, _join_groups, regex=True))
    runs = cand.str.extractall(_DIGIT_RUN)[0]
    if runs.empty:
        return np.zeros(0, dtype=np.int64), []
    ok = _elfproef(runs.astype("int64").to_numpy())
    runs = runs[ok]
    runs = runs[~runs.index.get_level_values(0).duplicated()]
    return runs.index.get_level_values(0).to_numpy(dtype=np.int64), runs.tolist()


def _bsn_hits(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Row positions and the possible BSN found in each offending cell of one column."""
    values = pd.Series(values.array, copy=False)
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats_pos, cats_hit = _bsn_hits(pd.Series(dtype.categories))
        if len(cats_pos) == 0:
            return cats_pos, []
        codes = values.cat.codes.to_numpy()
        lookup = dict(zip(cats_pos.tolist(), cats_hit, strict=True))
        pos = np.flatnonzero(np.isin(codes, cats_pos))
        return pos, [lookup[c] for c in codes[pos]]
    if pd.api.types.is_bool_dtype(dtype) or not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    ):
        return np.zeros(0, dtype=np.int64), []
    if pd.api.types.is_numeric_dtype(dtype):
        ok = looks_like_bsn(values)
        pos = np.flatnonzero(ok)
        num = values.iloc[pos].astype("float64").to_numpy().astype(np.int64)
        return pos, [f"{v:09d}" if v < 1e8 else str(v) for v in num.tolist()]
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = values.map(_cell_text, na_action="ignore")
    return _text_hits(values)


def _findings(df: pd.DataFrame, ignore: Sequence[Hashable] = ()) -> pd.DataFrame:
    """One row per offending cell: column, 1-based row, index label, masked value."""
    rows = []
    index = df.index
    columns: list[tuple[str, pd.Series]] = []
    for level in range(index.nlevels):
        name = index.names[level]
        columns.append((f"index:{name}" if name is not None else "index",
                        pd.Series(index.get_level_values(level))))
    for pos, col in enumerate(df.columns):
        if col in ignore:
            continue
        columns.append((col, df.iloc[:, pos]))
    index_hits: set[int] = set()
    for k, (col, values) in enumerate(columns):
        where, hits = _bsn_hits(values)
        if k < index.nlevels:
            index_hits.update(where.tolist())
        for p, hit in zip(where.tolist(), hits, strict=True):
            rows.append((col, p + 1, p, mask_value(hit)))
    found = pd.DataFrame(rows, columns=["column", "row", "index", "value"])
    # The index label identifies the row in the message, unless it is itself the hit.
    found["index"] = [
        "(masked)" if p in index_hits else _plain(index[p]) for p in found["index"].tolist()
    ]
    return found


def _plain(label):
    """numpy scalars as Python scalars, so messages read ``2``, not ``np.int64(2)``."""
    if isinstance(label, tuple):
        return tuple(_plain(x) for x in label)
    return label.item() if isinstance(label, np.generic) else label


def check_no_bsn(df: pd.DataFrame, where: str, *, ignore: Sequence[Hashable] = ()) -> None:
    """Stop if any cell of a table could be a BSN.

    Every integer, integral float, string and object column (and the index) is
    scanned, including digits inside text (``"x123456782"``, ``"BSN 123456782"``) and the
    usual written forms ``1234.56.782`` and ``123-456-782``: a run of exactly 8 or 9
    digits that passes the 11-test is a hit.

    Parameters
    ----------
    df : DataFrame
        The table about to be written or published.
    where : str
        What the table is (e.g. ``"table kpi_sector.xlsx"``); named in the error.
    ignore : sequence of column labels, optional
        Columns known to hold large non-personal numbers (e.g. amounts in cents), which
        pass the 11-test by chance one time in eleven.

    Raises
    ------
    PrivacyError
        Names ``where``, the column, the row (1-based position, and the index label)
        and the masked value of the first hit, and how many cells were hit. The full
        list is in the exception's ``findings`` attribute (values masked).

    Notes
    -----
    Vectorised: only string cells containing 8 consecutive digits go through the
    regular-expression extraction; numeric columns are tested as a digit matrix.
    Runs inside hex tokens of 16+ characters (hashes, pseudonyms) and base64 blobs
    are skipped, because they pass the test by chance; a BSN hidden inside such a token
    is not found. About 1 in 11 random 8-9 digit numbers passes the 11-test, so a hit
    can be a false alarm (a phone number, an amount); check the cell, then drop the
    column or pass it in ``ignore``.

    Examples
    --------
    >>> check_no_bsn(pd.DataFrame({"n": [12, 40]}), "example")
    >>> check_no_bsn(pd.DataFrame({"note": ["bsn 123456782"]}), "example")
    Traceback (most recent call last):
    ...
    caseload.errors.PrivacyError: column 'note', value '12*****82': example: ...
    """
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    found = _findings(df, ignore)
    if found.empty:
        return
    first = found.iloc[0]
    err = PrivacyError(
        f"{where}: {len(found)} cell(s) in column(s) "
        f"{', '.join(repr(c) for c in dict.fromkeys(found['column']))} look like a BSN "
        f"(8-9 digits passing the 11-test); the first is in row {first['row']} "
        f"(index {_plain(first['index'])!r}).",
        column=first["column"],
        value=first["value"],
        fix="remove personal numbers before publishing (aggregate, or pseudonymise with "
        "caseload.pseudonymize); if the column holds other numbers (amounts), pass it "
        "in ignore=.",
    )
    err.findings = found
    raise err


_TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".md", ".json", ".html", ".htm", ".svg", ".xml", ".toml",
                  ".yaml", ".yml", ".log", ".css", ".js", ".ipynb"}
# Text files without a suffix: the marker of a report folder (caseload.publish.report.MARKER).
_TEXT_NAMES = {".caseload-report"}
_MARKUP_SUFFIXES = {".html", ".htm", ".svg", ".xml"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


def _blank(match: re.Match) -> str:
    # Same length, newlines kept: positions and line numbers stay valid.
    return re.sub(r"[^\n]", " ", match.group(0))


def check_file_no_bsn(path: str | Path) -> None:
    """Stop if a written file contains something that could be a BSN.

    Parameters
    ----------
    path : str or Path
        A text file (csv, tsv, txt, md, json, html, svg, xml, toml, yaml, css, js, ipynb,
        log), an Excel workbook
        (xlsx, xlsm; cell values as Excel shows them, every sheet) or a parquet file.
        Raster images (png, jpg, ...) are skipped: they hold pixels, and their text is
        checked through the table or svg they were made from.

    Raises
    ------
    PrivacyError
        With the file, the line (or ``Sheet!A1`` cell) and the masked value of the first
        hit. Unsupported file types are refused rather than passed unchecked.

    Notes
    -----
    In markup (html, svg, xml) only text and comments are scanned, not tags and
    attributes: matplotlib writes each label as a comment in its svg files, and
    attributes hold path data and generated ids. See :func:`check_no_bsn` for the
    matching rule.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _IMAGE_SUFFIXES:
        return
    if suffix in {".xlsx", ".xlsm"}:
        _check_workbook(path)
        return
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        try:
            check_no_bsn(frame, str(path))
        except PrivacyError as exc:
            exc.file = str(path)
            raise
        return
    if suffix not in _TEXT_SUFFIXES and path.name not in _TEXT_NAMES:
        raise PrivacyError(
            "cannot check files of this type for personal numbers.",
            file=path,
            fix="write tables as csv/xlsx/parquet, figures as svg/png, reports as html/json.",
        )
    content = path.read_text(encoding="utf-8", errors="replace")
    if suffix == ".json" and MANIFEST_KIND in content:
        import json

        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("kind") == MANIFEST_KIND:
            check_manifest_no_bsn(data, str(path))
            return
    if suffix in _MARKUP_SUFFIXES:
        content = re.sub(r"<(?!!--)[^>]*>", _blank, content)
    content = re.sub(_HEX_TOKEN, _blank, content)
    content = re.sub(_BASE64_BLOB, _blank, content)
    content = re.sub(_FORMATTED, _join_groups, content)  # within a line: line numbers hold
    for match in re.finditer(_DIGIT_RUN, content):
        run = match.group(1)
        if _elfproef(np.array([int(run)]))[0]:
            line = content.count("\n", 0, match.start()) + 1
            raise PrivacyError(
                "the file contains a number that looks like a BSN (8-9 digits passing the "
                "11-test).",
                file=path,
                row=line,
                value=mask_value(run),
                fix="find where the number came from and remove it before publishing.",
            )


#: The ``kind`` of the run manifest that :func:`caseload.publish.write_report` writes.
MANIFEST_KIND = "caseload-report-manifest"


def _manifest_texts(node, path: str, out: list[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((f"{path}/{key} (key)", str(key)))
            _manifest_texts(value, f"{path}/{key}", out)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            _manifest_texts(value, f"{path}[{i}]", out)
    elif isinstance(node, str):
        out.append((path, node))


def check_manifest_no_bsn(manifest: dict, where: str = "manifest.json") -> None:
    """Stop if a run manifest holds text that could be a BSN; its numbers are not checked.

    A manifest holds two kinds of content. Its numbers are the toolkit's own metadata:
    byte sizes and row counts of the inputs and tables, suppression counts, seconds,
    settings. None of them is read from a cell of the extract, and about one in eleven
    8-9 digit numbers passes the 11-test, so checking them only raises false alarms (a
    50,000-client extract of 81,900,429 bytes stopped every refresh). Its texts can
    come from the data or the user: table titles and column labels, file names, the
    config's title, source and code lists. Every text (and every key) is checked as a
    published cell is (:func:`check_no_bsn`: plain 8-9 digit runs and the written forms
    ``111 222 333``, ``111.222.333``, ``111-222-333``, ``1234.56.782``); hashes (hex
    tokens) are skipped.

    Parameters
    ----------
    manifest : dict
        The manifest as written to JSON.
    where : str
        Named in the error.

    Raises
    ------
    PrivacyError
        With the JSON path of the first text that holds a possible BSN (value masked).
    """
    texts: list[tuple[str, str]] = []
    _manifest_texts(manifest, "", texts)
    if not texts:
        return
    pos, hits = _text_hits(pd.Series([t for _, t in texts], dtype=object))
    if len(pos):
        raise PrivacyError(
            f"{where}: the text at {texts[int(pos[0])][0]} holds a number that looks like a BSN "
            "(8-9 digits passing the 11-test).",
            file=where,
            value=mask_value(hits[0]),
            fix="the manifest's texts come from the config, the file names and the table labels: "
                "find the one named here and remove the number.",
        )


def _check_workbook(path: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            cells = [
                (r, c, v)
                for r, row in enumerate(ws.iter_rows(values_only=True), start=1)
                for c, v in enumerate(row, start=1)
                if v is not None and not isinstance(v, bool)
            ]
            if not cells:
                continue
            values = pd.Series([v for _, _, v in cells], dtype=object).map(_cell_text)
            pos, hits = _text_hits(values)
            if len(pos):
                r, c, _ = cells[int(pos[0])]
                raise PrivacyError(
                    f"sheet '{ws.title}', cell {get_column_letter(c)}{r}: a value looks "
                    "like a BSN (8-9 digits passing the 11-test).",
                    file=path,
                    row=r,
                    value=mask_value(hits[0]),
                    fix="find where the number came from and remove it before publishing.",
                )
    finally:
        wb.close()


_ID_NAMES = {
    "id", "clientid", "client", "clientnummer", "clientnr", "klant", "klantid", "klantnummer",
    "klantnr", "spellid", "dossierid", "dossier", "dossiernummer", "dossiernr", "activityid",
    "activiteitid", "bsn", "burgerservicenummer", "sofinummer", "sofinr", "sofi",
    "persoonsnummer", "persoonid", "personid", "relatienummer", "relatienr", "anummer",
    "registratienummer", "pseudonym", "pseudoniem",
}


def _normal_name(name) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _is_id_name(name) -> bool:
    parts = name if isinstance(name, tuple) else (name,)
    for part in parts:
        if part is None:
            continue
        raw = str(part).strip().lower()
        norm = _normal_name(part)
        if (norm in _ID_NAMES or "bsn" in norm or "pseudon" in norm
                or re.search(r"(^|[_\s.-])id$", raw)):
            return True
    return False


_PSEUDONYM_PATTERN = rf"[0-9a-f]{{{PSEUDONYM_LENGTH}}}"


def published_table_guard(df: pd.DataFrame, where: str, *,
                          ignore: Sequence[Hashable] = ()) -> pd.DataFrame:
    """Refuse to publish a table that holds personal identifiers.

    Publish code calls this right before writing any table. It refuses

    1. columns or index levels named like identifiers: ``client_id``, ``spell_id``,
       ``dossier_id``, ``bsn``, ``clientnummer``, ``klantnummer``, ``sofinummer``,
       anything ending in ``_id``, or a label containing "pseudoniem"/"pseudonym";
    2. text columns whose values look like pseudonyms (20 lower-case hex characters);
    3. any cell that could be a BSN (:func:`check_no_bsn`).

    Parameters
    ----------
    df : DataFrame
        The table about to be published.
    where : str
        What the table is; named in the error.
    ignore : sequence of column labels, optional
        Passed to :func:`check_no_bsn` (amount columns).

    Returns
    -------
    DataFrame
        ``df`` itself, so the call can be chained.

    Raises
    ------
    PrivacyError
    """
    names = [(c, c) for c in df.columns] + [
        (f"index:{n}", n) for n in df.index.names if n is not None
    ]
    for label, name in names:
        if _is_id_name(name):
            raise PrivacyError(
                f"{where}: the column is named like a personal identifier; published "
                "tables must not hold client, dossier or citizen service numbers or their "
                "pseudonyms.",
                column=label,
                fix="aggregate to counts per group and drop the column before publishing.",
            )
    for pos, col in enumerate(df.columns):
        values = df.iloc[:, pos]
        if not pd.api.types.is_string_dtype(values.dtype):
            continue
        text = pd.Series(values.array, copy=False).dropna()
        text = text[text.map(lambda v: isinstance(v, str))]
        if len(text) and text.astype(str).str.fullmatch(_PSEUDONYM_PATTERN).mean() > 0.5:
            raise PrivacyError(
                f"{where}: the column holds pseudonyms (20 hex characters); a pseudonym "
                "identifies a client to anyone who has the key or other tables.",
                column=col,
                fix="aggregate to counts per group and drop the column before publishing.",
            )
    check_no_bsn(df, where, ignore=ignore)
    return df
