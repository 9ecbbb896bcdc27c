"""Privacy: keyed pseudonyms, BSN detection and small-cell suppression.

Three safeguards keep personal data out of what ``caseload`` publishes:

1. **Keyed pseudonyms** (:func:`pseudonymize`). Client and dossier numbers become
   HMAC-SHA256 pseudonyms on the way in. The key (:func:`load_key`) lives outside the
   project folder, so the same client gets the same pseudonym in every monthly extract,
   while nobody without the key can link a pseudonym back to a client number.
2. **BSN guard** (:func:`check_no_bsn`, :func:`check_file_no_bsn`,
   :func:`published_table_guard`). Every table and file that is published is scanned
   for 8- or 9-digit numbers that pass the 11-test (elfproef) of the Dutch citizen
   service number; a hit stops the publication.
3. **Disclosure control** (:func:`suppress_small_cells`, :func:`suppress_long`,
   :func:`suppress_percentages`). Counts of 1 to ``threshold - 1`` people are blanked,
   plus complementary cells so that a blanked count cannot be recomputed from the
   totals.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = [
    "KEY_ENV",
    "PSEUDONYM_LENGTH",
    "PrivacyError",
    "load_key",
    "default_key_file",
    "pseudonymize",
    "is_valid_bsn",
    "looks_like_bsn",
    "mask_value",
    "check_no_bsn",
    "check_file_no_bsn",
    "published_table_guard",
    "SuppressionResult",
    "suppress_small_cells",
    "suppress_percentages",
    "suppress_long",
]

#: Environment variable holding the pseudonym key (takes precedence over any key file).
KEY_ENV = "CASELOAD_PSEUDONYM_KEY"
#: Length of a pseudonym in hex characters (80 bits).
PSEUDONYM_LENGTH = 20


class PrivacyError(CaseloadError):
    """Personal data would leave the toolkit, or the pseudonym key is unsafe."""


# --------------------------------------------------------------------------- key


def default_key_file() -> Path:
    """Where the pseudonym key lives unless configured otherwise.

    ``$XDG_CONFIG_HOME/caseload/pseudonym.key``, falling back to
    ``~/.config/caseload/pseudonym.key``.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "caseload" / "pseudonym.key"


def _git_work_tree(path: Path) -> Path | None:
    """The enclosing git work tree of ``path`` (a folder with ``.git``), or None."""
    for folder in [path, *path.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def load_key(key_file: str | Path | None = None) -> bytes:
    """The secret key for :func:`pseudonymize`.

    Looked up in this order:

    1. the environment variable ``CASELOAD_PSEUDONYM_KEY`` (any text, used as its
       UTF-8 bytes without surrounding whitespace) -- the way to pass the key to a
       scheduled batch run;
    2. ``key_file`` (e.g. ``[privacy] key_file`` from the config);
    3. the default file ``$XDG_CONFIG_HOME/caseload/pseudonym.key``
       (``~/.config/caseload/pseudonym.key``).

    A key file holds the key as text (surrounding whitespace ignored), so copying the
    file's content into ``CASELOAD_PSEUDONYM_KEY`` gives the same pseudonyms. If the
    file does not exist it is created with 32 random bytes (64 hex characters),
    readable by the owner only, and a :class:`UserWarning` says where it is.

    Parameters
    ----------
    key_file : str or Path, optional
        Key file to use instead of the default location.

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    PrivacyError
        The key file lies inside a git work tree (a key must never be committed:
        anyone with the repository could then re-identify clients), or the key is
        empty. A key file that other users can read gives a warning.

    Notes
    -----
    Keep the key: the same key is needed to give the same client the same pseudonym in
    next month's extract. If it is lost, new pseudonyms differ from the old ones and
    results cannot be linked to earlier runs (nothing can be recovered; there is no
    table from pseudonym to client number). Back the file up in the place where the
    municipality keeps other secrets, never in the project repository.
    """
    env = os.environ.get(KEY_ENV)
    if env is not None:
        if not env.strip():
            # A blank variable is a broken batch set-up; silently falling back to a key
            # file could start a new series of pseudonyms.
            raise PrivacyError(
                f"the environment variable {KEY_ENV} is set but empty.",
                fix=f"put the key in it, or unset it to use the key file "
                f"({default_key_file()}).",
            )
        return env.strip().encode("utf-8")

    path = Path(key_file).expanduser() if key_file is not None else default_key_file()
    path = path.absolute()
    repo = _git_work_tree(path.parent)
    if repo is not None:
        raise PrivacyError(
            f"the pseudonym key file lies inside the git work tree '{repo}'; a key must "
            "never be committed, because anyone with the repository could then link "
            "pseudonyms back to client numbers.",
            file=path,
            fix=f"keep the key outside the repository (default {default_key_file()}), "
            f"or pass it in the environment variable {KEY_ENV}.",
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create with owner-only permissions from the start (no window where it is readable).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        warnings.warn(
            f"caseload created a new pseudonym key in '{path}'. Keep this file (and back "
            "it up outside the project): the same key is needed to keep pseudonyms stable "
            "across monthly extracts; with a new key every client gets a new pseudonym. "
            f"For batch runs, pass its content in the environment variable {KEY_ENV}.",
            UserWarning,
            stacklevel=2,
        )
    elif os.name == "posix" and path.stat().st_mode & 0o077:
        warnings.warn(
            f"the pseudonym key file '{path}' can be read by other users; "
            f"restrict it with: chmod 600 '{path}'.",
            UserWarning,
            stacklevel=2,
        )
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PrivacyError(
            f"cannot read the pseudonym key: {exc.strerror}.",
            file=path,
            fix="check the file permissions, or set the environment variable " + KEY_ENV + ".",
        ) from exc
    if not text:
        raise PrivacyError(
            "the pseudonym key file is empty.",
            file=path,
            fix="restore the key from its backup; delete the file only if you accept that "
            "all pseudonyms change.",
        )
    return text.encode("utf-8")


# --------------------------------------------------------------------- pseudonyms


def _normalise_id(v) -> str | None:
    """Canonical text of one id: stripped; numeric ids without leading zeros; blank -> None."""
    if isinstance(v, float | np.floating):
        # A float from an Excel export (123.0) is the same client number as 123.
        v = str(int(v)) if np.isfinite(v) and float(v).is_integer() else str(v)
    elif not isinstance(v, str):
        v = str(v)
    v = v.strip()
    head, dot, tail = v.partition(".")
    if dot and tail and head.isascii() and head.isdigit() and tail.strip("0") == "":
        v = head
    if v.isascii() and v.isdigit():
        return v.lstrip("0") or "0"
    return v or None


def _normalised_uniques(uniques) -> list:
    """:func:`_normalise_id` of each distinct value from ``pd.factorize``."""
    dtype = getattr(uniques, "dtype", np.dtype(object))
    if pd.api.types.is_integer_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        # Integers have no whitespace or leading zeros: their decimal text is canonical.
        return np.asarray(uniques).astype(str).tolist()
    return [_normalise_id(v) for v in np.asarray(uniques, dtype=object).tolist()]


def _hmac_sha256_hex(key: bytes, prefix: bytes, messages: list, length: int) -> list:
    """``hmac.new(key, prefix + m, sha256).hexdigest()[:length]`` for many messages.

    HMAC (RFC 2104) with the padded-key states computed once and copied per message:
    about twice as fast as calling :func:`hmac.digest` per value. The test suite checks
    the result against :mod:`hmac`.
    """
    block = 64  # SHA-256 block size in bytes
    if len(key) > block:
        key = sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + prefix)
    outer = sha256(bytes(b ^ 0x5C for b in key))
    nbytes = (length + 1) // 2
    out = []
    for m in messages:
        if m is None:
            out.append(None)
            continue
        i = inner.copy()
        i.update(m.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        out.append(o.digest()[:nbytes].hex()[:length])
    return out


def pseudonymize(values, key: bytes, domain: str = "client") -> pd.Series:
    """Keyed pseudonyms for client, dossier or other personal numbers.

    ``pseudonym = hex(HMAC-SHA256(key, domain + ":" + normalised value))[:20]``

    The value is normalised first, so pseudonyms are stable across extracts whose
    exports format numbers differently: surrounding whitespace is removed, and purely
    numeric ids lose their leading zeros (``"000123"``, ``"123"``, ``123`` and ``123.0``
    are the same client number). Other text is used as is (case-sensitive).

    Parameters
    ----------
    values : Series, Index, array-like
        Client numbers, BSNs, dossier numbers (strings, integers or integral floats).
    key : bytes
        Secret key from :func:`load_key`.
    domain : str, default "client"
        What kind of number this is (``"client"``, ``"dossier"``...). The same number
        gets a different pseudonym in another domain, so a dossier number that happens
        to equal a client number does not link the two.

    Returns
    -------
    Series of dtype "string"
        Pseudonyms of 20 lower-case hex characters; missing or blank values stay
        missing. The index is that of ``values`` if it is a Series.

    Notes
    -----
    *Why a keyed hash.* A plain hash of a 9-digit number can be reversed by hashing all
    10^9 candidates (minutes on a laptop); with a secret key that is impossible without
    the key. HMAC is the standard construction for this (RFC 2104).

    *Why 20 hex characters.* 80 bits. By the birthday bound the chance that any two of
    ``n`` distinct clients share a pseudonym is about ``n**2 / 2**81``: for one million
    clients ``1e12 / 2.4e24 = 4e-13``, negligible even for all Dutch benefit recipients
    over many years, while the column stays short enough to read.

    *Speed.* Each distinct value is normalised and hashed once (``pd.factorize``), then
    mapped back to the rows: 5 million rows with 500,000 clients take about 1.5 s as
    text and 0.7 s as integers (2-core machine; most of it ``pd.factorize`` and the
    500,000 HMACs).

    Examples
    --------
    >>> key = b"example key - use load_key()"
    >>> p = pseudonymize(["000123", " 123", 123, None], key)
    >>> p.iloc[0] == p.iloc[1] == p.iloc[2], bool(p.isna().iloc[3])
    (True, True)
    >>> len(p.iloc[0])
    20
    """
    if not isinstance(key, bytes | bytearray) or not key:
        raise PrivacyError(
            "the pseudonym key must be non-empty bytes.",
            value=type(key).__name__,
            fix="get the key with caseload.privacy.load_key().",
        )
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.Series | pd.Index):
        arr = values
    else:
        arr = pd.Series(list(values) if not isinstance(values, np.ndarray) else values)
        if arr.dtype == object:
            arr = arr.infer_objects()
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    prefix = domain.encode("utf-8") + b":"
    hashes = _hmac_sha256_hex(bytes(key), prefix, _normalised_uniques(uniques), PSEUDONYM_LENGTH)
    out = pd.array(np.array(hashes, dtype=object), dtype="string").take(codes, allow_fill=True)
    return pd.Series(out, index=index, name=getattr(values, "name", None), dtype="string")


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
# A BSN as people write it: 1234.56.782 (the official grouping) or 123-456-782. Dots
# between groups of three are left alone: 123.456.782 is a Dutch amount (a budget).
_FORMATTED = r"(?<![\d.])(\d{4})[. -](\d{2})[. -](\d{3})(?![\d])|(?<![\d-])(\d{3})-(\d{3})-(\d{3})(?![\d-])"
_CANDIDATE = r"\d{8}|\d{4}[. -]\d{2}[. -]\d{3}|\d{3}-\d{3}-\d{3}"
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
    caseload.privacy.PrivacyError: column 'note', value '12*****82': example: ...
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
        f"(index {first['index']!r}).",
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
    if suffix not in _TEXT_SUFFIXES:
        raise PrivacyError(
            "cannot check files of this type for personal numbers.",
            file=path,
            fix="write tables as csv/xlsx/parquet, figures as svg/png, reports as html/json.",
        )
    content = path.read_text(encoding="utf-8", errors="replace")
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


# ------------------------------------------------------------ disclosure control


@dataclass
class SuppressionResult:
    """A table after small-cell suppression.

    Attributes
    ----------
    table : DataFrame
        The counts as float, ``NaN`` where suppressed (publish as an empty cell or a
        dot).
    suppressed : DataFrame or Series of bool
        True where a cell is suppressed (primary or secondary).
    primary : DataFrame or Series of bool
        True where the cell itself is a small count.
    threshold : int
        Counts from 1 to ``threshold - 1`` were suppressed.
    n_primary, n_secondary : int
        Number of primary and of complementary (secondary) suppressions.
    unprotected : list
        Suppressed cells that no complementary suppression can protect (the table has
        no other cell to pair them with); empty in practice. Their value still follows
        from the totals: do not publish those totals.
    """

    table: pd.DataFrame
    suppressed: pd.DataFrame | pd.Series
    primary: pd.DataFrame | pd.Series
    threshold: int
    n_primary: int
    n_secondary: int
    unprotected: list = field(default_factory=list)

    def note(self, lang: str = "nl") -> str:
        """The suppression rule in one sentence, for the footer of a table or figure."""
        k = self.threshold - 1
        if lang == "nl":
            return (f"Aantallen van 1 tot en met {k} zijn niet getoond, en zo nodig ook "
                    "andere cellen, zodat ze niet uit de totalen terug te rekenen zijn.")
        return (f"Counts of 1 to {k} are not shown, nor, where needed, other cells from "
                "which they could be recomputed using the totals.")


def _bridges(n_nodes: int, edges: Sequence[tuple[int, int]]) -> set[int]:
    """Indices of the bridges of a multigraph (Tarjan's algorithm, iterative).

    A bridge is an edge on no cycle. In the graph whose nodes are the published sums
    (one per row and per column) and whose edges are the suppressed cells, a cell's
    value is determined by the sums exactly when its edge is a bridge.
    """
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        adj[u].append((v, k))
        adj[v].append((u, k))
    disc = [-1] * n_nodes
    low = [0] * n_nodes
    clock = 0
    found: set[int] = set()
    for root in range(n_nodes):
        if disc[root] != -1 or not adj[root]:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            u, parent_edge, it = stack[-1]
            for v, k in it:
                if k == parent_edge:
                    continue
                if disc[v] == -1:
                    disc[v] = low[v] = clock
                    clock += 1
                    stack.append((v, k, iter(adj[v])))
                    break
                low[u] = min(low[u], disc[v])
            else:
                stack.pop()
                if stack:
                    p = stack[-1][0]
                    low[p] = min(low[p], low[u])
                    if low[u] > disc[p]:
                        found.add(parent_edge)
    return found


def _cheapest_path(n_nodes, edges, costs, start, goal, banned):
    """Edge indices of the cheapest path from ``start`` to ``goal`` (Dijkstra).

    ``costs`` are tuples compared lexicographically and added element-wise; ``banned``
    is the edge that must not be used. None if ``goal`` cannot be reached.
    """
    import heapq

    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (u, v) in enumerate(edges):
        if k == banned or costs[k] is None:
            continue
        adj[u].append((v, k))
        adj[v].append((u, k))
    zero = (0,) * len(next(c for c in costs if c is not None))
    best = {start: zero}
    via: dict[int, tuple[int, int]] = {}
    heap = [(zero, start)]
    while heap:
        cost, u = heapq.heappop(heap)
        if u == goal:
            break
        if cost > best.get(u, cost):
            continue
        for v, k in adj[u]:
            new = tuple(a + b for a, b in zip(cost, costs[k], strict=True))
            if v not in best or new < best[v]:
                best[v] = new
                via[v] = (u, k)
                heapq.heappush(heap, (new, v))
    if goal not in best:
        return None
    path, node = [], goal
    while node != start:
        node, k = via[node]
        path.append(k)
    return path


def _protect(n_nodes, edges, values, is_total, primary, suppress_zeros):
    """Complementary suppression on the sums graph until no suppressed cell is a bridge.

    Returns the final boolean mask over the edges and the list of edges that could not
    be protected.
    """
    suppressed = np.asarray(primary, dtype=bool).copy()
    unprotected: set[int] = set()
    while True:
        cells = np.flatnonzero(suppressed)
        sub = [edges[k] for k in cells]
        bridges = sorted(
            (int(cells[b]) for b in _bridges(n_nodes, sub)),
            # Protect primary cells first, then complements; smaller counts first.
            key=lambda k: (not primary[k], values[k], k),
        )
        bridges = [k for k in bridges if k not in unprotected]
        if not bridges:
            return suppressed, sorted(unprotected)
        k = bridges[0]
        costs = [
            (0, 0, 0.0, 0) if suppressed[j] else
            (int(is_total[j]), int(values[j] == 0 and not suppress_zeros), float(values[j]), 1)
            for j in range(len(edges))
        ]
        path = _cheapest_path(n_nodes, edges, costs, edges[k][0], edges[k][1], banned=k)
        if path is None:
            unprotected.add(k)
            continue
        suppressed[path] = True


def _count_frame(table: pd.DataFrame, what: str) -> np.ndarray:
    values = table.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise CaseloadError(
            f"{what}: counts must be non-negative numbers without gaps.",
            row=_plain(table.index[r]),
            column=_plain(table.columns[c]),
            value=_plain(table.iat[r, c]),
            fix="fill structural gaps with 0 before suppression (pivot_table(fill_value=0)).",
        )
    return values


def suppress_small_cells(
    table: pd.DataFrame,
    threshold: int = 5,
    *,
    row_total: Hashable | None = None,
    col_total: Hashable | None = None,
    secondary: bool = True,
    suppress_zeros: bool = False,
) -> SuppressionResult:
    """Small-cell suppression of a two-way count table, with complementary cells.

    Parameters
    ----------
    table : DataFrame
        Counts (index x columns), e.g. clients by ladder step and municipality.
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are suppressed (primary suppression).
    row_total : label, optional
        Label of the total *row* (holding the column totals), e.g. ``"Totaal"``.
    col_total : label, optional
        Label of the total *column* (holding the row totals).
    secondary : bool, default True
        Add complementary suppressions so that no suppressed cell can be recomputed
        from the totals.
    suppress_zeros : bool, default False
        Also suppress zero counts. Off by default: under the usual threshold rule a zero
        discloses nothing about a person (there is nobody in the cell), and zeros are
        often structural (no statushouders in an age band they cannot be in). Switch on
        when "nobody in this group did X" would itself be sensitive.

    Returns
    -------
    SuppressionResult
        ``table`` with NaN in suppressed cells, the ``suppressed`` and ``primary``
        masks, their counts, and ``note(lang)`` for the footer.

    Notes
    -----
    *Primary.* Cells (totals included) with ``0 < n < threshold``.

    *Secondary (complementary) suppression.* Every row and every column is a published
    sum: either its total is in the table, or it could be added up from another
    publication, so the method assumes every row and column total is known (a
    one-row table has no column sums). Think of a graph whose nodes are these sums and
    whose edges are the suppressed cells (a cell joins its row and its column). A
    suppressed cell can be recomputed exactly from the published numbers if and only if
    its edge lies on no cycle (is a *bridge*); the total row and column are part of the
    graph too. The method repeatedly takes a bridge (primary cells first, smallest
    first) and suppresses the cheapest set of further cells that closes a cycle through
    it -- for a cell in the body of the table that is usually the rectangle of the
    classic hypercube method: one cell in its row, one in its column, and the cell
    where those cross. "Cheapest" prefers, in this order, cells that are not totals,
    non-zero cells, the smallest sum of counts, and the fewest cells. It stops when no
    suppressed cell is a bridge. This guarantees:

    - no suppressed cell can be recomputed exactly from the table and its row and
      column totals, even by combining several rows and columns;
    - hence every row and column with a suppressed cell has at least two.

    It does not guarantee a minimal number of suppressions (that is an integer
    programme, as in tau-Argus's optimal method), nor a minimum width of the interval
    in which an attacker can place a suppressed value: with small complements the
    interval can be narrow (a 2 paired with a 3 shows the pair adds up to 5). It knows
    only this table: if the same counts are published in another table with a
    different breakdown, protect the tables together.

    Examples
    --------
    >>> t = pd.DataFrame({"A": [20, 3, 15], "B": [12, 30, 9], "C": [8, 11, 25]},
    ...                  index=["x", "y", "z"])
    >>> res = suppress_small_cells(t)
    >>> int(res.n_primary), int(res.n_secondary)
    (1, 3)
    >>> res.table.isna().sum().tolist()
    [2, 0, 2]
    """
    if threshold < 1:
        raise CaseloadError("the suppression threshold must be at least 1.",
                            value=threshold, fix="use e.g. threshold=5.")
    for name, label, axis in (("row_total", row_total, table.index),
                              ("col_total", col_total, table.columns)):
        if label is not None and sum(lab == label for lab in axis) != 1:
            raise CaseloadError(
                f"{name} {label!r} must be the label of exactly one "
                f"{'row' if name == 'row_total' else 'column'} of the table.",
                fix=f"pass one of {list(axis)[:10]!r}, or None if the table has no total.",
            )
    values = _count_frame(table, "suppress_small_cells")
    if suppress_zeros:
        primary = values < threshold
    else:
        primary = (values > 0) & (values < threshold)
    suppressed = primary.copy()
    unprotected: list = []
    if secondary and primary.any():
        suppressed, unprotected = _secondary_2d(table, values, primary, row_total, col_total,
                                                suppress_zeros)
    masked = pd.DataFrame(np.where(suppressed, np.nan, values), index=table.index,
                          columns=table.columns)
    supp = pd.DataFrame(suppressed, index=table.index, columns=table.columns)
    prim = pd.DataFrame(primary, index=table.index, columns=table.columns)
    if unprotected:
        warnings.warn(
            f"{len(unprotected)} suppressed cell(s) cannot be protected by complementary "
            "suppression (no other cell to pair them with); do not publish their totals.",
            UserWarning, stacklevel=2,
        )
    return SuppressionResult(masked, supp, prim, threshold, int(primary.sum()),
                             int((suppressed & ~primary).sum()), unprotected)


def _secondary_2d(table, values, primary, row_total, col_total, suppress_zeros):
    """Map a 2-D table (with optional margins) onto the sums graph and protect it."""
    nrow, ncol = values.shape
    row_is_total = np.array([lab == row_total for lab in table.index]) if row_total is not None \
        else np.zeros(nrow, dtype=bool)
    col_is_total = np.array([lab == col_total for lab in table.columns]) \
        if col_total is not None else np.zeros(ncol, dtype=bool)
    m = int((~row_is_total).sum())
    n = int((~col_is_total).sum())
    # Which sums exist: rows add up to a (explicit or implied) row total when there is a
    # total column or at least two columns; likewise for columns.
    row_sums = col_total is not None or n >= 2
    col_sums = row_total is not None or m >= 2
    free = (m + 1) + (n + 1)
    row_node = np.where(row_is_total, m, np.cumsum(~row_is_total) - 1)
    col_node = np.where(col_is_total, n, np.cumsum(~col_is_total) - 1)
    edges, vals, is_total, prim, where = [], [], [], [], []
    for i in range(nrow):
        for j in range(ncol):
            u = int(row_node[i]) if row_sums else free
            v = (m + 1) + int(col_node[j]) if col_sums else free
            edges.append((u, v))
            vals.append(values[i, j])
            is_total.append(bool(row_is_total[i] or col_is_total[j]))
            prim.append(bool(primary[i, j]))
            where.append((i, j))
    mask, unprotected = _protect(free + 1, edges, vals, is_total, prim, suppress_zeros)
    out = np.zeros_like(primary)
    for k, (i, j) in enumerate(where):
        out[i, j] = mask[k]
    return out, [(_plain(table.index[where[k][0]]), _plain(table.columns[where[k][1]]))
                 for k in unprotected]


def _align(other, like, what: str, axis: str | None):
    """``other`` (DataFrame, Series or scalar) broadcast to the shape of ``like``."""
    if isinstance(other, SuppressionResult):
        other = other.table
    if not isinstance(other, pd.Series | pd.DataFrame):
        return pd.DataFrame(other, index=like.index, columns=like.columns) \
            if isinstance(like, pd.DataFrame) else pd.Series(other, index=like.index)
    if isinstance(like, pd.Series):
        if isinstance(other, pd.DataFrame):
            raise CaseloadError(f"{what} is a table but the percentages are a single column.",
                                fix=f"pass {what} as a Series with the same index.")
        return other.reindex(like.index)
    if isinstance(other, pd.DataFrame):
        return other.reindex(index=like.index, columns=like.columns)
    if axis is None:
        on_index = other.index.equals(like.index)
        on_columns = other.index.equals(like.columns)
        if on_index == on_columns:
            raise CaseloadError(
                f"cannot tell whether {what} holds one value per row or per column.",
                fix="pass axis='index' (one base per row) or axis='columns'.",
            )
        axis = "index" if on_index else "columns"
    if axis == "index":
        arr = np.repeat(other.reindex(like.index).to_numpy()[:, None], len(like.columns), axis=1)
    else:
        arr = np.repeat(other.reindex(like.columns).to_numpy()[None, :], len(like.index), axis=0)
    return pd.DataFrame(arr, index=like.index, columns=like.columns)


def suppress_percentages(
    pct_table: pd.DataFrame | pd.Series,
    base_counts,
    threshold: int = 5,
    *,
    suppressed=None,
    scale: float = 100.0,
    axis: str | None = None,
):
    """Blank percentages that would disclose a small count.

    A percentage is blanked (NaN) when

    - its base (denominator) is below ``threshold`` or is itself missing/suppressed --
      "50% of 2 clients" discloses a person, and a percentage on a suppressed base
      would let the base be recomputed;
    - the count it was computed from is suppressed (``suppressed`` mask);
    - the count it implies, ``round(pct / scale * base)``, lies between 1 and
      ``threshold - 1``: 3% of 100 discloses 3 people as surely as the count does.

    Parameters
    ----------
    pct_table : DataFrame or Series
        Percentages (0-100 with the default ``scale``; use ``scale=1`` for shares).
    base_counts : DataFrame, Series, scalar or SuppressionResult
        The denominators: a table like ``pct_table``, or one base per row or per column
        (a Series on the index or on the columns of ``pct_table``).
    threshold : int, default 5
        Same threshold as for the counts.
    suppressed : DataFrame, Series or SuppressionResult, optional
        Suppression mask of the numerator counts, e.g. from :func:`suppress_small_cells`
        on the count table the percentages come from. Pass it whenever percentages of a
        row add up to 100%: it carries the complementary suppressions, without which a
        single blanked percentage is 100 minus the others.
    scale : float, default 100
        100 for percentages, 1 for proportions.
    axis : {"index", "columns"}, optional
        Where a Series of bases belongs when that cannot be told from its labels.

    Returns
    -------
    DataFrame or Series
        ``pct_table`` as float with NaN where blanked.

    Examples
    --------
    >>> pct = pd.Series([50.0, 3.0, 40.0], index=["a", "b", "c"])
    >>> base = pd.Series([2, 100, 50], index=["a", "b", "c"])
    >>> suppress_percentages(pct, base).tolist()
    [nan, nan, 40.0]
    """
    pct = pct_table.astype(float)
    base = _align(base_counts, pct, "base_counts", axis).apply(pd.to_numeric, errors="coerce") \
        if isinstance(pct, pd.DataFrame) else pd.to_numeric(
            _align(base_counts, pct, "base_counts", axis), errors="coerce")
    base_v = base.to_numpy(dtype=float, na_value=np.nan)
    pct_v = pct.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        blank = ~(base_v >= threshold)
        implied = np.rint(pct_v / scale * base_v)
        blank |= (implied >= 1) & (implied < threshold)
    if suppressed is not None:
        mask = suppressed.suppressed if isinstance(suppressed, SuppressionResult) else suppressed
        mask = _align(mask, pct, "suppressed", axis)
        blank |= mask.fillna(False).to_numpy(dtype=bool)
    out = pct.copy()
    out[:] = np.where(blank, np.nan, pct_v)
    return out


def _groupings(by) -> list[list[Hashable]]:
    if by is None:
        return [[]]
    if isinstance(by, str) or not isinstance(by, Sequence):
        return [[by]]
    by = list(by)
    if by and all(isinstance(b, list | tuple) for b in by):
        return [list(b) for b in by]
    return [by]


def suppress_long(
    df: pd.DataFrame,
    count_col: str,
    by=None,
    threshold: int = 5,
    *,
    secondary: bool = True,
    suppress_zeros: bool = False,
) -> SuppressionResult:
    """Small-cell suppression of a tidy table with one count column.

    Parameters
    ----------
    df : DataFrame
        One row per cell (e.g. municipality, sector, ``n``); no total rows.
    count_col : str
        The count column.
    by : column, list of columns, or list of such lists, optional
        The groupings whose sums are published (or can be added up by a reader):
        ``"municipality"`` means the counts of each municipality add up to a published
        municipal total; ``[["municipality"], ["sector"]]`` means totals per
        municipality and per sector are both known. None: the whole column adds up to
        a published grand total.
    threshold : int, default 5
        Counts from 1 to ``threshold - 1`` are suppressed.
    secondary : bool, default True
        Add complementary suppressions within the groupings.
    suppress_zeros : bool, default False
        See :func:`suppress_small_cells`.

    Returns
    -------
    SuppressionResult
        ``table`` is ``df`` with ``count_col`` as float and NaN where suppressed; the
        masks are Series on ``df.index``.

    Notes
    -----
    What is guaranteed, by the number of groupings:

    - one grouping (or None): every group has no suppressed count or at least two, so
      no suppressed count follows from its group total;
    - two groupings (two-way totals): no suppressed count can be recomputed exactly from
      the group totals of both groupings together -- the same graph method and
      guarantee as :func:`suppress_small_cells`;
    - three or more: every group of every grouping has none or at least two suppressed
      counts (greedy, smallest complements first, repeated until stable); combinations
      of groupings are not checked.

    A group of a single row cannot be protected (its total is the count); such cells
    are listed in ``unprotected`` and a warning says not to publish their totals.
    """
    if count_col not in df.columns:
        raise CaseloadError("the count column is not in the table.", column=count_col,
                            fix=f"pass one of {list(df.columns)!r}.")
    groupings = _groupings(by)
    for cols in groupings:
        for c in cols:
            if c not in df.columns:
                raise CaseloadError("a grouping column of `by` is not in the table.",
                                    column=c, fix=f"pass columns of {list(df.columns)!r}.")
    values = _count_frame(df[[count_col]], "suppress_long")[:, 0]
    primary = (values < threshold) if suppress_zeros else (values > 0) & (values < threshold)
    suppressed = primary.copy()
    unprotected: list = []
    codes = [
        df.groupby(cols, dropna=False, sort=False).ngroup().to_numpy() if cols
        else np.zeros(len(df), dtype=np.int64)
        for cols in groupings
    ]
    if secondary and primary.any():
        if len(groupings) <= 2:
            g1 = int(codes[0].max()) + 1 if len(df) else 0
            free = g1 + (int(codes[1].max()) + 1 if len(codes) == 2 else 0)
            second = g1 + codes[1] if len(codes) == 2 else np.full(len(df), free)
            edges = list(zip(codes[0].tolist(), second.tolist(), strict=True))
            suppressed, bad = _protect(free + 1, edges, values.tolist(), [False] * len(df),
                                       primary.tolist(), suppress_zeros)
            unprotected = [_plain(df.index[k]) for k in bad]
        else:
            suppressed, bad = _greedy_groups(codes, values, primary, suppress_zeros)
            unprotected = [_plain(df.index[k]) for k in bad]
    table = df.copy()
    table[count_col] = np.where(suppressed, np.nan, values)
    if unprotected:
        warnings.warn(
            f"{len(unprotected)} suppressed count(s) are the only row of their group and "
            "cannot be protected; do not publish the totals of those groups.",
            UserWarning, stacklevel=2,
        )
    return SuppressionResult(
        table, pd.Series(suppressed, index=df.index, name="suppressed"),
        pd.Series(primary, index=df.index, name="primary"), threshold,
        int(primary.sum()), int((suppressed & ~primary).sum()), unprotected,
    )


def _greedy_groups(codes, values, primary, suppress_zeros):
    """At least two suppressed cells in every group that has one (any number of groupings)."""
    suppressed = primary.copy()
    # Zero counts are complements of last resort (see suppress_small_cells).
    is_zero = ((values == 0) & (not suppress_zeros)).astype(int)
    alone: set[int] = set()
    changed = True
    while changed:
        changed = False
        for code in codes:
            counts = np.bincount(code, weights=suppressed, minlength=code.max() + 1)
            for g in np.flatnonzero(counts == 1):
                members = np.flatnonzero((code == g) & ~suppressed)
                if len(members) == 0:
                    alone.update(np.flatnonzero((code == g) & suppressed).tolist())
                    continue
                pick = members[np.lexsort((members, values[members], is_zero[members]))[0]]
                suppressed[pick] = True
                changed = True
    return suppressed, sorted(alone)
