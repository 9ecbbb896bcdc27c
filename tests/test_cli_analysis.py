"""The console of `caseload kpi`, `capacity`, `forecast` and `durations` (caseload.cli.analysis).

Issue 12: these commands printed English lines in a Dutch run. Every console line now comes
from the label catalogue: Dutch by default, English with ``--lang en`` or ``language = "en"``.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from caseload.cli import app

runner = CliRunner()

#: Words of the English console that a Dutch run must not print (the old console's lines).
ENGLISH = ("Exit to work", "estimate (", "judgement", "durability", "revolving door", "tables,",
           "figures ->", "Note:", "contact scheme", "productive hours", "per year, exit rate",
           "Source check", "Elapsed duration", "restricted mean", "delayed entry", "reference date",
           "municipalities)")


def _english(text: str) -> set[str]:
    flat = " ".join(text.split())
    return {w for w in ENGLISH if w in flat}


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    from caseload.synth import generate, write_extract

    folder = tmp_path_factory.mktemp("extract")
    return [str(p) for p in write_extract(generate(n_clients=300, random_state=2), folder, layout="gws").values()]


def _en_config(tmp_path):
    toml = tmp_path / "en.toml"
    toml.write_text('[report]\nlanguage = "en"\n', encoding="utf-8")
    return str(toml)


def test_kpi_console_nl_by_default_en_from_the_config(extract, tmp_path):
    nl = runner.invoke(app, ["kpi", *extract, "--out", str(tmp_path / "nl")], env={"COLUMNS": "200"})
    assert nl.exit_code == 0, nl.output
    flat = " ".join(nl.output.split())
    assert "Uitstroom naar werk binnen 24 maanden" in flat and "duurzaamheid" in flat
    assert "draaideur" in flat and "oordeel" in flat and "tabel(len)" in flat
    assert not _english(nl.output), _english(nl.output)
    en = runner.invoke(app, ["kpi", *extract, "--config", _en_config(tmp_path), "--out", str(tmp_path / "en")],
                       env={"COLUMNS": "200"})
    assert en.exit_code == 0, en.output
    flat = " ".join(en.output.split())
    assert "Exit to work within 24 months" in flat and "durability" in flat and "revolving door" in flat
    assert "duurzaamheid" not in flat and "draaideur" not in flat


def test_capacity_console_nl_and_en():
    nl = runner.invoke(app, ["capacity"], env={"COLUMNS": "200"})
    assert nl.exit_code == 0, nl.output
    assert "Benodigde formatie" in nl.output and "productieve uren per fte" in nl.output
    assert "2,9 fte" in nl.output and not _english(nl.output), _english(nl.output)
    en = runner.invoke(app, ["capacity", "--lang", "en"], env={"COLUMNS": "200"})
    assert en.exit_code == 0, en.output
    assert "Coach capacity needed" in en.output and "productive hours per FTE" in en.output
    assert "2.9 FTE" in en.output and "productieve" not in en.output
    bad = runner.invoke(app, ["capacity", "--lang", "fr"])
    assert bad.exit_code == 2 and "gebruik nl of en" in " ".join(bad.output.split())


def test_forecast_console_nl_and_en(tmp_path):
    nl = runner.invoke(app, ["forecast", "--out", str(tmp_path / "nl")], env={"COLUMNS": "200"})
    assert nl.exit_code == 0, nl.output
    assert "instroom" in nl.output and "uitstroomkans" in nl.output and "rijen" in nl.output
    assert not _english(nl.output), _english(nl.output)
    en = runner.invoke(app, ["forecast", "--out", str(tmp_path / "en"), "--lang", "en"], env={"COLUMNS": "200"})
    assert en.exit_code == 0, en.output
    assert "per year, exit rate" in en.output and "uitstroomkans" not in en.output


@pytest.mark.slow
def test_durations_console_nl_and_en(extract, tmp_path):
    nl = runner.invoke(app, ["durations", *extract, "--out", str(tmp_path / "nl")], env={"COLUMNS": "200"})
    assert nl.exit_code == 0, nl.output
    flat = " ".join(nl.output.split())
    assert "Verstreken duur van het bestand (peildatum" in flat and "beperkt gemiddelde" in flat
    assert "Kaplan-Meier per leeftijdsklasse" in flat and not _english(nl.output), _english(nl.output)
    en = runner.invoke(app, ["durations", *extract, "--lang", "en", "--out", str(tmp_path / "en")],
                       env={"COLUMNS": "200"})
    assert en.exit_code == 0, en.output
    flat = " ".join(en.output.split())
    assert "Elapsed duration of the stock" in flat and "restricted mean" in flat and "Verstreken" not in flat
