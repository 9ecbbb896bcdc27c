"""The one exception family of ``caseload``.

Every error a user can cause is a :class:`CaseloadError` whose message names the
file, row, column and value where it applies, and says what to do next. The CLI
prints the message (never a traceback) and exits with code 2.
"""

from __future__ import annotations

__all__ = ["CaseloadError", "ExtractError", "ConfigError", "NotFittedError", "ModelCardError", "PrivacyError"]


class CaseloadError(Exception):
    """Base class: a problem the user can fix; the message says how.

    Parameters
    ----------
    message : str
        What went wrong, in one sentence.
    file, row, column, value : optional
        Where it went wrong. ``row`` is the 1-based line/row number in the file
        as a spreadsheet program shows it (header = row 1).
    fix : str, optional
        What to do about it.
    """

    def __init__(self, message: str, *, file=None, row=None, column=None, value=None, fix=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return self.describe()

    def describe(self, words: dict[str, str] | None = None) -> str:
        """The message with where and the fix; ``words`` names the frame's parts (``file``,
        ``row``, ``column``, ``value``, ``fix``) in another language, e.g. Dutch on the console.

        Examples
        --------
        >>> err = CaseloadError("not a date.", file="a.csv", row=3, column="start", fix="Use dd-mm-jjjj.")
        >>> str(err)
        "file 'a.csv', row 3, column 'start': not a date. Fix: Use dd-mm-jjjj."
        >>> err.describe({"file": "bestand", "row": "rij", "column": "kolom", "fix": "Oplossing"})
        "bestand 'a.csv', rij 3, kolom 'start': not a date. Oplossing: Use dd-mm-jjjj."
        """
        w = {"file": "file", "row": "row", "column": "column", "value": "value", "fix": "Fix", **(words or {})}
        where = []
        if self.file is not None:
            where.append(f"{w['file']} '{self.file}'")
        if self.row is not None:
            where.append(f"{w['row']} {self.row}")
        if self.column is not None:
            where.append(f"{w['column']} '{self.column}'")
        if self.value is not None:
            where.append(f"{w['value']} {self.value!r}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.fix:
            text += f" {w['fix']}: {self.fix}"
        return text


class ExtractError(CaseloadError):
    """A whole input file cannot be read (missing column, empty, encoding, format)."""


class ConfigError(CaseloadError):
    """The TOML configuration is invalid."""


class NotFittedError(CaseloadError, AttributeError):
    """An estimator was used before ``fit``."""


class ModelCardError(CaseloadError):
    """A saved model file does not match its card (tampered or wrong file)."""


class PrivacyError(CaseloadError):
    """Personal data would leave the toolkit, or the pseudonym key is unsafe."""
