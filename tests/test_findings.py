"""Kernpunten (key findings) and the disclosure audit: a sentence may not give away a hidden cell."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from caseload.privacy.audit import audit_report
from caseload.publish import Publication, write_report
from caseload.publish.findings import FINDINGS_TABLE, Figure, Finding, findings_relations
from caseload.publish.suppression import (
    DisclosureError,
    protect_publication,
    relations_document,
    write_relations,
)

TABLE = "segment_per_gemeente"


def _publication() -> Publication:
    """A table A/B/C per municipality in which A of the first municipality is small (suppressed)."""
    pub = Publication("Test", "2025-12-31", "test", min_cell=5)
    df = pd.DataFrame({"municipality": ["X", "Y", "Z", "Totaal"],
                       "A": [3, 20, 30, 53], "B": [51, 40, 35, 126], "C": [48, 30, 25, 103],
                       "Totaal": [102, 90, 90, 282]})
    pub.add_table(TABLE, df, title="A/B/C", method="test", counts=["A", "B", "C", "Totaal"],
                  row_total="Totaal", col_total="Totaal")
    return pub


def _cell(name: str, row: int, col: str, value: int) -> Figure:
    return Figure(f"X: {name}", value, ((TABLE, row, col, 1.0),))


def test_the_table_alone_hides_a_and_a_complement():
    pub = _publication()
    shown = protect_publication(pub)[0][TABLE][0]
    assert pd.isna(shown.loc[0, "A"])  # primary
    assert shown.iloc[0][["B", "C"]].isna().sum() >= 1  # a complement in the same row


def test_kernpunten_that_give_back_a_hidden_cell_fail_the_audit(tmp_path):
    """The old line "A niet getoond, B 51, C 48" beside a total of 102: A = 102 - 51 - 48."""
    pub = _publication()
    report = write_report(pub, tmp_path / "ok")  # the table alone passes
    assert audit_report(report.out_dir).disclosed == []
    pub.findings = [Finding("segments", "X", "", "Van de 102: A niet getoond, B 51, C 48.", figures=(
        _cell("totaal", 0, "Totaal", 102), _cell("B", 0, "B", 51), _cell("C", 0, "C", 48)))]
    # relations.json with the Kernpunten: the audit of the folder now finds the hidden cells.
    protected = protect_publication(pub)[0]
    write_relations(report.out_dir, relations_document(pub, protected))
    doc = json.loads((report.out_dir / "relations.json").read_text(encoding="utf-8"))
    assert doc["tables"][FINDINGS_TABLE]["rows"] == 3
    disclosed = audit_report(report.out_dir).disclosed
    assert {(iv.table, iv.row) for iv in disclosed} >= {(TABLE, 0)}
    assert any(iv.table == TABLE and iv.column == 1 and iv.high - iv.low < 1e-6 for iv in disclosed)
    # ... and writing such a report is refused.
    with pytest.raises(DisclosureError):
        write_report(pub, tmp_path / "leak")


def test_kernpunten_that_print_only_shown_cells_and_the_sum_of_hidden_ones_pass(tmp_path):
    pub = _publication()
    shown = protect_publication(pub)[0][TABLE][0]
    row = shown.iloc[0]
    hidden = [c for c in ("A", "B", "C") if pd.isna(row[c])]
    figs = [_cell(c, 0, c, int(row[c])) for c in ("A", "B", "C", "Totaal") if pd.notna(row[c])]
    true = pub.tables[0].data.iloc[0]
    figs.append(Figure("X: hidden together", int(sum(true[c] for c in hidden)),
                       tuple((TABLE, 0, c, 1.0) for c in hidden)))
    pub.findings = [Finding("segments", "X", "", "...", figures=tuple(figs))]
    report = write_report(pub, tmp_path / "ok")
    assert audit_report(report.out_dir).disclosed == []


def test_a_figure_naming_a_missing_table_is_an_error():
    from caseload.publish.items import PublishError

    pub = _publication()
    protected = protect_publication(pub)[0]
    pub.findings = [Finding("x", "X", "", "...", figures=(Figure("n", 3, (("nope", 0, "A", 1.0),)),))]
    with pytest.raises(PublishError, match="not in the report"):
        relations_document(pub, protected)
    assert findings_relations(Publication("T", "2025-12-31", "s"), {}, {}) == (None, [])
