"""Shared test set-up: no display, and a fixed pseudonym key (never the user's key file)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["CASELOAD_PSEUDONYM_KEY"] = "test-key-not-secret-0123456789abcdef"

import shutil
from pathlib import Path

import pytest

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture
def sample_config(tmp_path: Path) -> Path:
    """The sample extract and its caseload.toml copied to ``tmp_path/sample``.

    ``out_dir`` points to ``tmp_path/reports`` (not the repository's reports/ folder);
    returns the path of the copied caseload.toml.
    """
    dst = tmp_path / "sample"
    dst.mkdir()
    for p in SAMPLE_DIR.iterdir():
        if p.is_file():
            shutil.copy2(p, dst / p.name)
    toml = (dst / "caseload.toml").read_text(encoding="utf-8")
    assert 'out_dir = "../../reports"' in toml, "the sample config's out_dir changed; update this fixture"
    (dst / "caseload.toml").write_text(toml.replace('out_dir = "../../reports"', 'out_dir = "../reports"'),
                                       encoding="utf-8")
    return dst / "caseload.toml"
