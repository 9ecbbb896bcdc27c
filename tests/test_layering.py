"""Layering: the analysis packages and the figures do not depend on the report layer.

The analyses (durations, kpi, forecast, segment, capacity, flows, synth) take plain
values and return tables; the batch/publish layer (:mod:`caseload.refresh`,
:mod:`caseload.publish`) reads the configuration and builds the report sections.
This test walks every import statement with :mod:`ast`, including imports inside
functions, relative imports and ``import_module("...")`` calls, and fails on an
import of ``caseload.config``, ``caseload.refresh`` or ``caseload.publish``. Figures
get what they draw as arguments: besides the matplotlib stack they import only
:mod:`caseload.figures`, the labels of :mod:`caseload.schema`, the disclosure
control of :mod:`caseload.privacy` and :mod:`caseload.errors`.
"""

from __future__ import annotations

import ast
from dataclasses import asdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "caseload"
ANALYSES = ["durations", "kpi", "forecast", "segment", "capacity.py", "flows.py", "synth"]
FORBIDDEN = ("caseload.config", "caseload.refresh", "caseload.publish")
FIGURES_MAY_IMPORT = ("caseload.figures", "caseload.schema", "caseload.privacy", "caseload.errors")


def _module_name(path: Path) -> str:
    parts = list(path.resolve().relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """Every module a file imports, with its line: ``import a.b``, ``from a.b import c``
    (as ``a.b``), ``from caseload import b`` and ``from .. import b`` (as the module ``b``), relative imports resolved against ``module``, and
    ``import_module("a.b")`` / ``__import__("a.b")`` with a literal name; at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (module or "").split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            if node.module is None or name == "caseload":  # `from caseload import config`: a module
                out += [(node.lineno, f"{name}.{a.name}") for a in node.names if a.name != "*"]
            else:
                out.append((node.lineno, name))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))
                   or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module"))):
            out.append((node.lineno, node.args[0].value))
    return out


def _is(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(path: Path, module: str | None = None) -> list[str]:
    """``file:line imports module`` for each import of the report layer."""
    return [f"{path.name}:{line} imports {name}" for line, name in imported_modules(path, module)
            if _is(name, FORBIDDEN)]


def figure_violations(path: Path, module: str | None = None) -> list[str]:
    """Imports of a figure module from caseload outside what figures may use."""
    return [f"{path.name}:{line} imports {name}" for line, name in imported_modules(path, module)
            if _is(name, ("caseload",)) and name != "caseload" and not _is(name, FIGURES_MAY_IMPORT)]


def _files(entry: str) -> list[Path]:
    p = PACKAGE / entry
    return sorted(p.rglob("*.py")) if p.is_dir() else [p]


ANALYSIS_FILES = [f for e in ANALYSES for f in _files(e)]
FIGURE_FILES = _files("figures")


def test_the_walk_covers_every_analysis_module():
    assert len(ANALYSIS_FILES) >= 20, ANALYSIS_FILES
    assert all(f.exists() for f in ANALYSIS_FILES)
    assert {f.parent.name for f in ANALYSIS_FILES} >= {"durations", "kpi", "forecast", "segment", "synth"}
    assert len(FIGURE_FILES) >= 5


@pytest.mark.parametrize("path", ANALYSIS_FILES + FIGURE_FILES,
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_analysis_and_figures_do_not_import_the_report_layer(path):
    assert violations(path, _module_name(path)) == []


@pytest.mark.parametrize("path", FIGURE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_figures_import_only_style_labels_and_disclosure_control(path):
    assert figure_violations(path, _module_name(path)) == []


def test_the_walker_finds_injected_violations(tmp_path):
    pkg = tmp_path / "caseload" / "kpi"
    pkg.mkdir(parents=True)
    bad = pkg / "bad.py"
    bad.write_text(
        "import numpy as np\n"
        "from caseload.schema import SEX\n"
        "import caseload.publish.files as pf\n"
        "def f():\n"
        "    from caseload.config import Config\n"
        "    return Config\n"
        "class A:\n"
        "    def g(self):\n"
        "        from caseload import refresh\n"
        "        from .. import config\n"
        "        from ..refresh.sections import kpi\n"
        "        return importlib.import_module('caseload.publish')\n",
        encoding="utf-8")
    found = violations(bad, "caseload.kpi.bad")
    assert found == ["bad.py:3 imports caseload.publish.files", "bad.py:5 imports caseload.config",
                     "bad.py:9 imports caseload.refresh", "bad.py:10 imports caseload.config",
                     "bad.py:11 imports caseload.refresh.sections",
                     "bad.py:12 imports caseload.publish"]
    ok = pkg / "ok.py"
    ok.write_text("from caseload.schema import SEX\nfrom caseload.configurations import x\n", encoding="utf-8")
    assert violations(ok, "caseload.kpi.ok") == []


def test_the_figure_rule_finds_an_analysis_import(tmp_path):
    bad = tmp_path / "fig.py"
    bad.write_text("from caseload.figures.style import new_figure\nfrom caseload.schema import SEX\n"
                   "def f():\n    from caseload.kpi.outflow import JUDGEMENT\n", encoding="utf-8")
    assert figure_violations(bad, "caseload.figures.fig") == ["fig.py:4 imports caseload.kpi.outflow"]


def test_analysis_settings_defaults_match_the_config():
    """The analyses' own settings (plain values) have the defaults of the config sections."""
    from caseload.config import CapacityConfig, DurationsConfig, ForecastConfig, KpiConfig
    from caseload.durations import DurationSettings
    from caseload.forecast import ForecastSettings
    from caseload.kpi.report import CapacitySettings, KpiSettings

    for settings, section in ((DurationSettings, DurationsConfig), (ForecastSettings, ForecastConfig),
                              (KpiSettings, KpiConfig), (CapacitySettings, CapacityConfig)):
        assert asdict(settings()) == section().model_dump(), settings.__name__


def test_figure_words_for_judgements_are_those_of_the_kpi_module():
    from caseload.figures.kpi import _W
    from caseload.kpi.outflow import JUDGEMENT

    assert {k: v for k, v in _W.items() if k.startswith("j_")} == {f"j_{k}": v for k, v in JUDGEMENT.items()}
