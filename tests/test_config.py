"""The TOML configuration: defaults, errors that name the key, the generated reference."""

import tomllib

import pytest
from typer.testing import CliRunner

from caseload.cli import app
from caseload.config import Config, default_config_toml, load_config
from caseload.errors import ConfigError


def test_empty_file_gives_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.privacy.min_cell == 5
    assert cfg.base_dir == tmp_path.resolve()
    assert cfg.resolve("x.csv") == tmp_path.resolve() / "x.csv"


def test_unknown_key_is_an_error_naming_it(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[privacy]\nmin_cel = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"privacy\.min_cel"):
        load_config(path)


def test_invalid_toml_and_missing_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[privacy\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_overrides_replace_keys():
    cfg = load_config(None, report={"language": "en"})
    assert cfg.report.language == "en"


def test_reference_round_trips_to_the_defaults():
    text = default_config_toml()
    data = tomllib.loads(text)
    assert Config.model_validate(data) == Config()
    # every section and every key of every section is written (as a value or a comment)
    for section in Config.model_fields:
        if section == "base_dir":
            continue
        assert f"[{section}]" in text
        for key in type(getattr(Config(), section)).model_fields:
            assert key in text, (section, key)


def test_cli_config_prints_reference_and_checks_a_file(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0
    assert tomllib.loads(result.stdout)["privacy"]["min_cell"] == 5
    bad = tmp_path / "bad.toml"
    bad.write_text("[kpi]\ntarget = 'hoog'\n", encoding="utf-8")
    result = runner.invoke(app, ["config", "--config", str(bad)])
    assert result.exit_code == 2
    assert "kpi.target" in result.output and "Traceback" not in result.output
