"""The `caseload segment` command: published tables without ids, internal list, model, overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from caseload.cli import app

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample" / "caseload.toml"
runner = CliRunner()

pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="data/sample not present")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("segment")
    result = runner.invoke(app, ["segment", "--config", str(SAMPLE), "--fit-model", "--out", str(out),
                                 "--intern", str(out.parent / f"{out.name}-intern")])
    assert result.exit_code == 0, result.output
    return out, result.output


def _intern(out: Path) -> Path:
    return out.parent / f"{out.name}-intern" / "segment_clienten_INTERN.csv"


def test_outputs_and_no_ids_in_published_tables(run):
    out, output = run
    published = sorted((out / "tables").glob("*.csv"))
    names = {p.stem for p in published}
    assert {"segment_pmc", "segment_kandidaten", "segment_per_gemeente",
            "segment_overschrijvingen", "segment_fairness", "segment_model_kalibratie",
            "segment_model_vs_consulent", "segment_model_coefficienten", "segment_afkappunten",
            "segment_fairness_verhoudingen", "segment_overschrijvingen_status"} <= names
    intern = pd.read_csv(_intern(out), sep=";", dtype=str)
    ids = set(intern["client_id"])
    for path in [*published, out / "index.html", out / "tabellen.xlsx"]:
        text = path.read_bytes().decode("utf-8", errors="replace")
        assert "client_id" not in text
        assert not (set(re.findall(r"[0-9a-f]{20}", text)) & ids), path
    figures = out / "figures"
    assert (figures / "segment_piramide.png").is_file() and (figures / "segment_pmc_heatmap.svg").is_file()
    assert (out / "models" / "segment_logistic.skops").is_file()
    assert (out / "models" / "segment_logistic.card.json").is_file()
    assert "ROC AUC" in output and "INTERN" in output


def test_pmc_table_is_suppressed(run):
    out, _ = run
    t = pd.read_csv(out / "tables" / "segment_pmc.csv", sep=";", decimal=",", encoding="utf-8-sig")
    shown = t.iloc[:, -1].dropna()
    assert t.iloc[:, -1].isna().any()
    assert ((shown == 0) | (shown >= 5)).all()


def test_saved_model_and_overrides(run, tmp_path):
    out, _ = run
    intern = pd.read_csv(_intern(out), sep=";", dtype=str)
    first = intern.iloc[0]
    new = "A" if first["segment"] != "A" else "C"
    ov = tmp_path / "overrides.csv"
    pd.DataFrame({"client_id": [first["client_id"]], "segment": [new], "reason": ["gesprek gehad"],
                  "date": ["01-12-2025"]}).to_csv(ov, sep=";", index=False)
    out2 = tmp_path / "out2"
    result = runner.invoke(app, ["segment", "--config", str(SAMPLE), "--model",
                                 str(out / "models" / "segment_logistic.skops"), "--overrides", str(ov),
                                 "--out", str(out2), "--intern", str(tmp_path / "out2-intern")])
    assert result.exit_code == 0, result.output
    c = pd.read_csv(_intern(out2), sep=";", dtype=str)
    row = c[c["client_id"] == first["client_id"]].iloc[0]
    assert row["segment"] == new and row["overridden"] == "True"
    assert "overschrijvingen verwerkt 1" in " ".join(result.output.split())


def test_bad_override_gives_message_and_exit_2(tmp_path):
    ov = tmp_path / "overrides.csv"
    ov.write_text("client_id;segment;reason;date\nx;Q;reden;01-12-2025\n", encoding="utf-8")
    result = runner.invoke(app, ["segment", "--config", str(SAMPLE), "--overrides", str(ov),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "override segment must be A, B or C" in result.output
    assert "Traceback" not in result.output


def test_per_client_list_stays_out_of_every_report(tmp_path, sample_config):
    """Issue 11: the internal list went to <out_dir>/segment_intern/ and the next refresh carried
    it into the report. Now it goes to [segment] internal_dir, and a refresh holds only its own."""
    from caseload.refresh import refresh

    config = sample_config
    result = runner.invoke(app, ["segment", "--config", str(config)])
    assert result.exit_code == 0, result.output
    intern = tmp_path / "sample" / "intern" / "segment_clienten_INTERN.csv"
    assert intern.is_file()
    assert (tmp_path / "reports-segment" / "index.html").is_file()  # beside the report folder
    assert not (tmp_path / "reports").exists()
    out = refresh(config, steps=["validate"]).out_dir
    assert out == (tmp_path / "reports").resolve()
    manifest = (out / "manifest.json").read_text(encoding="utf-8")
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == set(json.loads(manifest)["files"]) | {"manifest.json"}
    assert not [p for p in tmp_path.glob("reports*/**/*") if "INTERN" in p.name.upper()]


def test_internal_folder_inside_a_report_folder_is_refused(tmp_path, sample_config):
    config = sample_config
    for intern in (tmp_path / "reports" / "intern", tmp_path / "seg" / "x"):
        result = runner.invoke(app, ["segment", "--config", str(config), "--out", str(tmp_path / "seg"),
                                     "--intern", str(intern)])
        assert result.exit_code == 2, result.output
        assert "lies inside the report folder" in result.output and "internal_dir" in result.output
        assert not intern.exists()
    assert not (tmp_path / "seg").exists()


def test_console_is_dutch_in_a_dutch_run(run):
    """Issue 12: `segment` printed English lines (Read Caseload(...), Model fitted on, tables,) in Dutch."""
    _, output = run
    flat = " ".join(output.split())
    assert "Gelezen: " in flat and "Model geschat op" in flat and "zonder diagnose" in flat
    assert "lijst per cliënt in" in flat and "peildatum" in flat
    english = ("Read ", "Caseload(", "Model fitted on", "assessments;", "without assessment", "overrides applied",
               "tables,", "figures ->", "per-client list", "reference date")
    assert not {w for w in english if w in flat}, flat
