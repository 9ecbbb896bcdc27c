"""Tests of caseload.publish: atomic writing, determinism, manifest, suppression, guards."""

from __future__ import annotations

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
    out = tmp_path / "reports"
    (out / "kpi").mkdir(parents=True)
    (out / "README.md").write_text("# reports\n", encoding="utf-8")
    (out / "kpi" / "index.html").write_text("other command", encoding="utf-8")
    (out / "index.html").write_text("stale", encoding="utf-8")
    result = write_report(_publication(inputs=inputs), out)
    return out, result


# ------------------------------------------------------------------ layout and content


def test_layout(written):
    out, result = written
    names = set(_snapshot(out))
    assert {"index.html", "tabellen.xlsx", "manifest.json", "README.md",
            "tables/leeftijd_geslacht.csv", "tables/trede_werk.csv", "tables/model.csv",
            "figures/staaf.png", "figures/staaf.svg"} <= names
    # The committed README of reports/ and other commands' output survive the swap.
    assert (out / "README.md").read_text() == "# reports\n"
    assert (out / "kpi" / "index.html").read_text() == "other command"
    assert (out / "index.html").read_text() != "stale"
    # No staging or old folders are left next to the target.
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".reports")] == []
    assert set(result.manifest["files"]) >= {"index.html", "tabellen.xlsx",
                                             "tables/model.csv", "figures/staaf.png"}


def test_csv_format(written):
    """Default "excel-nl": UTF-8 with BOM, ';' separated, decimal comma."""
    out, _ = written
    raw = (out / "tables" / "trede_werk.csv").read_bytes()
    assert b"\r\n" not in raw
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
