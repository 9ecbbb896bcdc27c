"""Rejected rows: one tidy table saying which row, which column, what value and what to do.

A row with several problems is rejected once, with the first problem in the
order of :data:`REASONS`; the counts then always add up:
``rows_read == rows_loaded + rows_rejected`` for every file.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from caseload.privacy.pseudonyms import normalise_id

__all__ = ["REASONS", "REASONS_NL", "REJECTED_COLUMNS", "RowChecks", "empty_rejected"]

REASONS: dict[str, str] = {
    "bad_line": "The line does not have the header's number of fields.",
    "missing_id": "The client number is empty.",
    "missing_value": "A required value is empty.",
    "bad_date": "A date cannot be read.",
    "end_before_start": "An end date lies before its start date.",
    "bad_number": "A number cannot be read.",
    "impossible_age": "The birth year gives an age outside 15-110 at the peildatum, or under 15 at a period start.",
    "unknown_code": "A code or text is not in the code list.",
    "exact_duplicate": "A second copy of an identical row.",
    "conflicting_duplicate": "Rows with the same key but different values.",
}
"""Reason codes in the order they are checked, with a one-line explanation."""

REASONS_NL: dict[str, str] = {
    "bad_line": "De regel heeft niet evenveel velden als de kopregel.",
    "missing_id": "Het cliëntnummer is leeg.",
    "missing_value": "Een verplichte waarde is leeg.",
    "bad_date": "Een datum is niet te lezen.",
    "end_before_start": "Een einddatum ligt voor de bijbehorende begindatum.",
    "bad_number": "Een getal is niet te lezen.",
    "impossible_age": "Het geboortejaar geeft een leeftijd buiten 15-110 op de peildatum, of onder 15 bij "
                      "het begin van een periode.",
    "unknown_code": "Een code of omschrijving staat niet in de codelijst.",
    "exact_duplicate": "Een tweede, gelijke kopie van een rij.",
    "conflicting_duplicate": "Rijen met dezelfde sleutel maar verschillende waarden.",
}
"""The explanations of :data:`REASONS` in Dutch, for published reports."""

_LONG_DIGITS = re.compile(r"\d{8,}")

REJECTED_COLUMNS = ["file", "row", "column", "value", "reason", "message", "fix"]


def empty_rejected() -> pd.DataFrame:
    """An empty rejected-rows table with the right columns."""
    return pd.DataFrame({
        "file": pd.Series(dtype="string"), "row": pd.Series(dtype="Int64"),
        "column": pd.Series(dtype="string"), "value": pd.Series(dtype="string"),
        "reason": pd.Series(dtype="string"), "message": pd.Series(dtype="string"),
        "fix": pd.Series(dtype="string"),
    })


class RowChecks:
    """Collect the first failed check of every row of one file, vectorised.

    Parameters
    ----------
    n : int
        Number of data rows.
    """

    def __init__(self, n: int):
        self.n = n
        self.reason = np.full(n, -1, dtype=np.int16)
        self._ok = np.ones(n, dtype=bool)
        self._checks: list[tuple[str, str, str, str, object]] = []
        # per check: reason, column header, message template, fix, detail per row (or None)

    @property
    def ok(self) -> np.ndarray:
        """Whether each row passed every check so far (do not modify)."""
        return self._ok

    def fail(self, mask: np.ndarray | None, reason: str, column: str, message: str, fix: str,
             detail=None) -> None:
        """Mark rows in ``mask`` (that passed every earlier check) as failing.

        ``mask`` ``None`` means no row fails this check. ``message`` may contain
        ``{value}``, ``{column}`` and ``{detail}``; ``detail`` is an array with
        one entry per row, a function of the rejected rows' positions that
        returns their details (computed only for rows that fail), or ``None``.
        """
        assert reason in REASONS, reason
        if mask is not None and mask.any():
            new = mask & self._ok
            if new.any():
                self.reason[new] = len(self._checks)
                self._ok[new] = False
        self._checks.append((reason, column, message, fix, detail))

    def table(self, file: str, rows: np.ndarray, raw_values, mask_value,
              id_columns: set[str]) -> pd.DataFrame:
        """The rejected rows as a DataFrame (values masked where they could be personal numbers).

        ``raw_values(column, idx)`` returns the file's text of ``column`` at row
        positions ``idx``.
        """
        parts = []
        for i, (reason, column, message, fix, detail) in enumerate(self._checks):
            idx = np.flatnonzero(self.reason == i)
            if not len(idx):
                continue
            values = np.asarray(raw_values(column, idx), dtype=object)
            values = np.array(["" if v is None else str(v) for v in values], dtype=object)
            if column in id_columns:
                # masked as the normalised number (0012345 as 12345, however the reader held it)
                shown = np.array([mask_value(normalise_id(v) or "") if v else "" for v in values],
                                 dtype=object)
            else:
                # a personal number can hide in any text: mask every run of 8 or more digits
                shown = np.array([_LONG_DIGITS.sub(lambda m: mask_value(m.group(0)), v) for v in values],
                                 dtype=object)
            if detail is None:
                det = np.full(len(idx), "", dtype=object)
            else:
                det = np.asarray(detail(idx) if callable(detail) else detail[idx], dtype=object)
                # A detail computed from a masked value (an age from a birth year) would give
                # the value back: say it is hidden instead.
                # (A detail without digits, such as "no possible age", gives nothing back.)
                risky = (shown != values) & np.array([any(ch.isdigit() for ch in str(d)) for d in det], dtype=bool)
                det[risky] = "(hidden: it would reveal the masked value)"
            msgs = [message.format(value=v, column=column, detail=d) for v, d in zip(shown, det, strict=True)]
            parts.append(pd.DataFrame({
                "file": file, "row": rows[idx], "column": column, "value": shown,
                "reason": reason, "message": msgs, "fix": fix,
            }))
        if not parts:
            return empty_rejected()
        out = pd.concat(parts, ignore_index=True).sort_values(["row"], kind="stable")
        return out.astype({"file": "string", "row": "Int64", "column": "string", "value": "string",
                           "reason": "string", "message": "string", "fix": "string"}).reset_index(drop=True)
