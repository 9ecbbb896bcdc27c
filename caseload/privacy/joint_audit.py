"""Disclosure audit of several report folders together (a combined report and its parts).

:func:`caseload.privacy.audit.audit_report` audits one folder under its own
``relations.json``. A reader who holds the combined report and the reports per
municipality also knows the relations *between* them: the row of Losser in the
combined table is the row of Losser in Losser's own report, and a combined count is
the sum of the municipalities' counts. :func:`audit_reports` audits all folders as one
publication: every folder's tables and relations, plus the cross-report relations of
``joint-relations.json`` (written by ``caseload refresh`` with ``[report]
per_municipality = true`` into the folder of the reports per municipality), with the
same linear programmes (:func:`caseload.privacy.audit.audit_cells`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from caseload.privacy.audit import (
    RELATIONS_FILE,
    AuditError,
    CellInterval,
    PublishedTable,
    audit_cells,
    published_tables,
)

#: The file with the reports and the relations between them (see caseload.publish.joint).
JOINT_FILE = "joint-relations.json"
SEP = "::"


@dataclass
class JointAuditReport:
    """The audit of several report folders together."""

    joint_file: str
    reports: dict[str, str]
    protection_level: float
    intervals: list[CellInterval]
    tables: dict[str, PublishedTable]
    n_relations: int
    n_cross: int
    seconds: float

    @property
    def disclosed(self) -> list[CellInterval]:
        return [iv for iv in self.intervals if iv.disclosed]

    def describe(self, iv: CellInterval) -> str:
        """``<report>: <table> row r column <name> in [low, high]``."""
        t = self.tables[iv.table]
        col = t.columns[iv.column] if t.columns else iv.column
        label = f" ({t.row_labels[iv.row]})" if t.row_labels and t.row_labels[iv.row] else ""
        return (f"{iv.table.replace(SEP, ': ')} row {iv.row + 1}{label} column {col} "
                f"in [{iv.low:g}, {iv.high:g}]")

    def summary(self) -> str:
        return (f"{len(self.reports)} reports, {len(self.intervals)} suppressed cells in "
                f"{len(self.tables)} tables, {self.n_relations} relations of which {self.n_cross} "
                f"between reports, protection level {self.protection_level:g}: "
                f"{len(self.disclosed)} disclosed ({self.seconds:.2f} s).")


def _load_folder(root: Path, key: str, tables: dict, relations: list, leaked: list) -> float:
    """Add one report folder's tables (named ``<key>::<table>``) and relations; its protection level."""
    meta_path = root / RELATIONS_FILE
    if not meta_path.is_file():
        raise AuditError("the report folder has no relations.json, so it cannot be audited.",
                         file=str(meta_path), fix="Refresh the reports with this version of caseload.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        own, own_leaked = published_tables(root, meta, prefix=f"{key}{SEP}")
        tables.update(own)
        leaked.extend(own_leaked)
        for rel in meta["relations"]:
            relations.append(([((f"{key}{SEP}{t[0]}", int(t[1]), int(t[2])), float(t[3]))
                               for t in rel["terms"]], rel["op"], float(rel["rhs"])))
        return float(meta["protection_level"])
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AuditError(f"relations.json is not as written by caseload ({type(exc).__name__}: {exc}).",
                         file=str(meta_path), fix="Refresh the report to write it again.") from None


def audit_reports(joint_file, protection: float | None = None) -> JointAuditReport:
    """Audit the reports listed in ``joint-relations.json`` together.

    Parameters
    ----------
    joint_file : path-like
        ``joint-relations.json``, or the folder holding it (the folder of the reports
        per municipality, e.g. ``reports-gemeenten``).
    protection : float, optional
        Protection level; default the highest of the file's and the reports' own.

    Returns
    -------
    JointAuditReport
        ``disclosed`` lists every suppressed count that the reports together narrow to
        an interval shorter than the protection level (or that a CSV shows).
    """
    t0 = time.perf_counter()
    path = Path(joint_file)
    if path.is_dir():
        path = path / JOINT_FILE
    if not path.is_file():
        raise AuditError("no joint-relations.json: these reports were not published together.",
                         file=str(path),
                         fix="Audit the folder of the reports per municipality written by `caseload "
                             "refresh` with [report] per_municipality = true, or each report alone.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        reports = {str(k): str(v) for k, v in doc["reports"].items()}
        cross_doc = doc["relations"]
        level = float(doc["protection_level"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AuditError(f"joint-relations.json is not as written by caseload ({type(exc).__name__}: "
                         f"{exc}).", file=str(path), fix="Refresh the reports to write it again.") from None
    tables: dict[str, PublishedTable] = {}
    relations: list = []
    leaked: list[CellInterval] = []
    for key, rel_path in reports.items():
        if SEP in key:
            raise AuditError(f"report key {key!r} contains {SEP!r}.", file=str(path),
                             fix="Refresh the reports to write the file again.")
        level = max(level, _load_folder((path.parent / rel_path).resolve(), key, tables, relations, leaked))
    if protection is not None:
        level = max(level, float(protection))
    n_own = len(relations)
    try:
        for rel in cross_doc:
            terms = [((f"{t[0]}{SEP}{t[1]}", int(t[2]), int(t[3])), float(t[4])) for t in rel["terms"]]
            relations.append((terms, rel["op"], float(rel["rhs"])))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise AuditError(f"joint-relations.json: a relation is malformed ({type(exc).__name__}: {exc}).",
                         file=str(path), fix="Refresh the reports to write it again.") from None
    for terms, _op, _rhs in relations[n_own:]:
        for (name, r, c), _ in terms:
            if name not in tables or not (0 <= r < tables[name].values.shape[0]
                                          and 0 <= c < tables[name].values.shape[1]):
                raise AuditError(f"a relation between reports refers to a cell that is not published "
                                 f"({name.replace(SEP, ': ')}, row {r}, column {c}).", file=str(path),
                                 fix="The folders were changed after the run; refresh the reports.")
    intervals = audit_cells(tables, relations, level)
    order = list(tables)
    intervals = sorted([*intervals, *leaked], key=lambda iv: (order.index(iv.table), iv.row, iv.column))
    return JointAuditReport(str(path), reports, level, intervals, tables, len(relations),
                            len(relations) - n_own, time.perf_counter() - t0)


def check_reports(joint_file, protection: float | None = None) -> JointAuditReport:
    """:func:`audit_reports`, raising :class:`AuditError` when a count is disclosed."""
    rep = audit_reports(joint_file, protection)
    if rep.disclosed:
        cells = "; ".join(rep.describe(iv) for iv in rep.disclosed[:10])
        raise AuditError(
            f"the reports published together disclose {len(rep.disclosed)} suppressed count(s) "
            f"(interval narrower than {rep.protection_level:g}): {cells}"
            f"{' ...' if len(rep.disclosed) > 10 else ''}.", file=rep.joint_file,
            fix="Do not publish these folders together; refresh them so that they are protected "
                "jointly, or publish only the combined report.")
    return rep


__all__ = ["JOINT_FILE", "JointAuditReport", "audit_reports", "check_reports"]
