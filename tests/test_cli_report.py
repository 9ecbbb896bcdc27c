"""The console of `caseload audit` (caseload.cli.report): the report's language, or --lang.

Issue 12: `audit` printed English in a Dutch run.
"""

from __future__ import annotations

import re

import pandas as pd
from typer.testing import CliRunner

from caseload.cli import app
from caseload.publish import Publication, write_report

runner = CliRunner()


def _report(folder, lang):
    df = pd.DataFrame({"label": ["a", "b", "c", "Totaal"], "n": [12, 3, 20, 35]})
    pub = Publication("t", "2025-12-31", "test", lang=lang)
    pub.add_table("t", df, title="t", method="m", counts=["n"], row_total="Totaal")
    return write_report(pub, folder).out_dir


def test_audit_speaks_the_reports_language_unless_lang_says_otherwise(tmp_path):
    nl_dir = _report(tmp_path / "nl", "nl")
    nl = runner.invoke(app, ["audit", str(nl_dir), "--all"], env={"COLUMNS": "200"})
    assert nl.exit_code == 0, nl.output
    assert re.search(r"onderdrukte cellen in 1 tabellen, \d+ relaties, beschermingsniveau 5: 0 onthuld", nl.output)
    assert "kolom" in nl.output and "breedte" in nl.output
    assert not {w for w in ("suppressed cells", "relations", "protection level", "disclosed", "width")
                if w in nl.output}, nl.output
    en = runner.invoke(app, ["audit", str(nl_dir), "--lang", "en"], env={"COLUMNS": "200"})
    assert en.exit_code == 0 and "protection level 5: 0 disclosed" in en.output, en.output
    en_dir = _report(tmp_path / "en", "en")
    en = runner.invoke(app, ["audit", str(en_dir)], env={"COLUMNS": "200"})
    assert en.exit_code == 0 and "0 disclosed" in en.output and "onthuld" not in en.output, en.output
