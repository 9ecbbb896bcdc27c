"""No live content in written tables: neutralise text cells that a spreadsheet would run.

A spreadsheet program reads a CSV cell or a typed cell that starts with ``=``, ``+``, ``-``
or ``@`` as a formula (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``, ``@SUM(...)``). Text
from an extract (a dropout reason, a municipality name) or from the config (the report
title) could start that way. OWASP's guidance on CSV injection
(https://owasp.org/www-community/attacks/CSV_Injection) is to prefix every such cell, and
cells starting with a TAB (0x09) or carriage return (0x0D), with a single quote, so that the
program shows it as text; the content is otherwise kept. This module does that for CSV
files (:func:`neutralise_frame`) and tells the XLSX writer which cells need Excel's own
form of the same quote (:func:`needs_quote`: the cell is written as a string with the
``quotePrefix`` style, which is how Excel stores an apostrophe typed before a text).

Numbers stay numbers: numeric columns are not touched, and a text cell that is a plain
decimal number (``-3``, ``+2.5``, ``-0,75``) is not a formula in any spreadsheet, so it is
left as it is.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Characters that make a spreadsheet read a cell as a formula (OWASP), with their
#: full-width forms (some locales of Excel accept those too), and TAB and CR, which
#: some programs strip before looking at the first character.
FORMULA_START = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"

_RISKY = re.compile(rf"^[\s]*[{re.escape(FORMULA_START)}]")
# A plain decimal number with an optional sign: a spreadsheet reads it as that number.
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def needs_quote(text: object) -> bool:
    """Whether a cell value is text that a spreadsheet could read as a formula.

    Parameters
    ----------
    text : object
        A cell value; anything but ``str`` gives False (numbers stay numbers).

    Returns
    -------
    bool
        True for text whose first character (after leading whitespace) is one of
        ``= + - @``, TAB or CR (or a full-width ``＝ ＋ － ＠``), unless the text is
        a plain number such as ``-3`` or ``+0,5``.

    Examples
    --------
    >>> needs_quote('=HYPERLINK("http://x")'), needs_quote("\\t=1+1"), needs_quote("-3")
    (True, True, False)
    >>> needs_quote("@SUM(A1)"), needs_quote("Werk"), needs_quote(-3)
    (True, False, False)
    """
    if not isinstance(text, str) or not text:
        return False
    if text[0] in "\t\r":
        return True
    if not _RISKY.match(text):
        return False
    return _NUMBER.fullmatch(text.strip()) is None


def neutralise_text(text: object) -> object:
    """``text`` with a single quote in front when a spreadsheet could run it.

    Anything else (numbers, missing values, safe text) is returned unchanged.

    Examples
    --------
    >>> neutralise_text("=1+1"), neutralise_text("-5"), neutralise_text("Werk")
    ("'=1+1", '-5', 'Werk')
    """
    return "'" + text if needs_quote(text) else text


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` (or ``df`` itself when nothing changes) safe to write as CSV.

    Every text cell of object, string and categorical columns, and every column
    header, that :func:`needs_quote` is prefixed with ``'`` (OWASP). Numeric,
    boolean and date columns are not touched.

    Parameters
    ----------
    df : DataFrame

    Returns
    -------
    DataFrame
    """
    out = df
    headers = [neutralise_text(c) if isinstance(c, str) else c for c in df.columns]
    if headers != list(df.columns):
        out = df.copy()
        out.columns = headers
    for pos in range(out.shape[1]):
        s = out.iloc[:, pos]
        if not (isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(s.dtype)
                or pd.api.types.is_string_dtype(s.dtype)):
            continue
        risky = _risky_cells(s)
        if not risky.any():
            continue
        if out is df:
            out = df.copy()
        fixed = s.astype(object).to_numpy(dtype=object, na_value=None).copy()
        fixed[risky] = ["'" + v for v in fixed[risky]]
        new = pd.Series(fixed, index=out.index, dtype=object)
        if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
            new = new.astype(s.dtype)
        out.isetitem(pos, new)
    return out


def _risky_cells(s: pd.Series) -> np.ndarray:
    """Vectorised :func:`needs_quote` over a text (or mixed) column."""
    text = pd.Series(s.astype(object).to_numpy(dtype=object, na_value=None), dtype=object)
    is_str = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if not is_str.any():
        return np.zeros(len(s), dtype=bool)
    t = text.where(is_str, "")
    risky = t.str.match(_RISKY).to_numpy(dtype=bool)
    if risky.any():
        lead = t.str[:1].isin(["\t", "\r"]).to_numpy(dtype=bool)
        number = t.str.strip().str.fullmatch(_NUMBER.pattern).to_numpy(dtype=bool)
        risky &= lead | ~number
    return risky


def protect_workbook(wb) -> None:
    """Make every text cell of an openpyxl workbook plain text, never a formula.

    openpyxl stores a string that starts with ``=`` as a formula. Every string cell
    is set to the string type here, and cells that :func:`needs_quote` also get
    Excel's ``quotePrefix`` style: Excel shows the text as written and keeps it text
    when the cell is edited (the same as an apostrophe typed in front of it).

    Parameters
    ----------
    wb : openpyxl.Workbook
        Changed in place, before it is saved.
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
                    if needs_quote(cell.value):
                        cell.quotePrefix = True
