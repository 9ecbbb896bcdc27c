"""The README and docs/ are correct: every example runs, the site builds, nothing points outside.

* Every fenced ``python`` block of a page runs, the blocks of one page in order in
  one namespace (a later block may use an earlier block's variables), in a
  temporary working folder that holds a copy of ``data/sample/``; afterwards the
  repository is unchanged (examples write only to the temporary folder).
  A block that is not meant to run is marked on the line before its fence with
  ``<!-- not run: <reason> -->``; such marks are counted and kept rare.
* Every ``caseload ...`` command in a shell block is parsed by the CLI itself
  (the command and its options exist), every ``make`` target exists in the
  Makefile, and every ``toml`` block loads as a configuration.
* ``mkdocs build --strict`` builds the site (into a temporary folder): every page
  in the nav exists and every link between pages resolves.
* No page refers to files outside the repository.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
NOT_RUN = re.compile(r"<!-- not run: (.+?) -->\s*$")
MAX_NOT_RUN = 3


def _blocks(page: Path) -> list[tuple[str, str, int, str | None]]:
    """(language, code, line number, reason not run) of every fenced block of ``page``."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        reason = NOT_RUN.search(before)
        out.append((m.group(1).lower(), m.group(2), line, reason.group(1) if reason else None))
    return out


def _python_pages() -> list[Path]:
    return [p for p in PAGES if any(lang == "python" for lang, *_ in _blocks(p))]


def _repo_state() -> dict[str, float]:
    """Path -> mtime of every file of the work tree outside git, venv and caches."""
    skip = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "site"}
    state = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if d not in skip and not d.startswith(".reports")]
        for f in filenames:
            p = os.path.join(dirpath, f)
            state[p] = os.stat(p).st_mtime_ns
    return state


def test_pages_exist_and_readme_is_a_landing_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    n = readme.count("\n")
    assert 120 <= n <= 260, f"README.md has {n} lines; it is a landing page of about 200"
    assert "make refresh" in readme and "make test" in readme
    for name in ("extract", "segment", "durations", "forecast", "kpi", "capacity", "configuration",
                 "privacy", "methods", "architecture"):
        assert (ROOT / "docs" / f"{name}.md").is_file(), name
        assert f"docs/{name}.md" in readme, f"README does not link docs/{name}.md"


@pytest.mark.slow
@pytest.mark.parametrize("page", _python_pages(), ids=lambda p: p.name)
def test_python_examples_run(page: Path, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "data" / "sample", tmp_path / "data" / "sample")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    before = _repo_state()
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for lang, code, line, reason in _blocks(page):
        if lang != "python" or reason:
            continue
        assert "/tmp" not in code, f"{page.name}:{line}: write into the working folder, not /tmp"
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - the message names the block
            pytest.fail(f"{page.name}, block at line {line}: {type(exc).__name__}: {exc}")
        ran += 1
        import matplotlib.pyplot as plt

        plt.close("all")
    assert ran
    after = _repo_state()
    changed = sorted(p for p in after if before.get(p) != after[p])
    assert not changed, f"{page.name} examples wrote into the repository: {changed}"


def test_few_blocks_are_marked_not_run():
    marked = [(p.name, line, reason) for p in PAGES for _, _, line, reason in _blocks(p) if reason]
    assert len(marked) <= MAX_NOT_RUN, marked


def _commands(code: str, keep_redirect: bool = False) -> list[list[str]]:
    out = []
    for raw in code.splitlines():
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        words = shlex.split(raw, comments=True)
        while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value before the command
            words = words[1:]
        for stop in ((("|", "&&")) if keep_redirect else (">", "|", "&&")):
            if stop in words:
                words = words[:words.index(stop)]
        if words:
            out.append(words)
    return out


def _shell_blocks():
    for page in PAGES:
        for lang, code, line, reason in _blocks(page):
            if lang in ("", "bash", "sh", "console", "shell") and not reason:
                for words in _commands(code):
                    yield page, line, words


def test_cli_commands_in_the_docs_exist():
    import click
    import typer

    from caseload.cli import app

    group = typer.main.get_command(app)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    checked = 0
    for page, line, words in _shell_blocks():
        prog = Path(words[0]).name
        if prog == "make":
            missing = [t for t in words[1:] if t not in targets]
            assert not missing, f"{page.name}:{line}: make target(s) {missing} not in the Makefile"
            checked += 1
        elif prog != "caseload":
            pytest.fail(f"{page.name}:{line}: `{' '.join(words)}` in a shell block: only caseload and make "
                        "commands (mark a diagram or listing as ```text)")
        else:
            args = words[1:]
            if not args or args[0].startswith("-"):
                continue
            cmd = group.get_command(None, args[0])
            assert cmd is not None, f"{page.name}:{line}: no command 'caseload {args[0]}'"
            try:
                cmd.make_context(args[0], args[1:], resilient_parsing=False)
            except click.exceptions.Exit:
                pass
            except click.UsageError as exc:
                pytest.fail(f"{page.name}:{line}: `{' '.join(words)}`: {exc}")
            checked += 1
    assert checked >= 20, checked


def test_toml_examples_load_as_configuration(tmp_path):
    import caseload as cl

    n = 0
    for page in PAGES:
        for lang, code, line, reason in _blocks(page):
            if lang != "toml" or reason:
                continue
            path = tmp_path / f"{page.stem}_{line}.toml"
            path.write_text(code, encoding="utf-8")
            try:
                cl.load_config(path)
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"{page.name}:{line}: {exc}")
            n += 1
    assert n >= 2


def test_nothing_refers_outside_the_repository():
    outside = re.compile(r"DOMAIN\.md|\.\./shared|/work/|STYLE\.md|DESIGN\.md")
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not outside.search(text), f"{page.name}: {outside.search(text).group(0)}"
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"^[a-z]+:", target):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{page.name}: link {target} leaves the repository"
            assert resolved.exists(), f"{page.name}: link {target} does not exist"


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "index.html").is_file()
    for page in ("extract", "segment", "durations", "forecast", "kpi", "capacity"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page


# Commands that take a second or two on the sample run for real; the others (refresh, segment,
# durations, forecast, kpi, synth: tens of seconds each) are parsed above and run by their own
# tests (test_refresh.py, test_segment_cli.py, ...).
FAST_COMMANDS = {"validate": (0, 1), "capacity": (0,), "config": (0,)}


def test_fast_cli_examples_run(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from caseload.cli import app

    shutil.copytree(ROOT / "data" / "sample", tmp_path / "data" / "sample")
    shutil.copytree(ROOT / "models", tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    before = _repo_state()
    runner = CliRunner()
    ran = 0
    for page in PAGES:
        for lang, code, line, reason in _blocks(page):
            if lang not in ("", "bash", "sh", "console", "shell") or reason:
                continue
            for words in _commands(code, keep_redirect=True):
                if Path(words[0]).name != "caseload" or len(words) < 2 or words[1] not in FAST_COMMANDS:
                    continue
                args, target = words[1:], None
                if ">" in args:
                    args, target = args[:args.index(">")], args[args.index(">") + 1]
                result = runner.invoke(app, args)
                assert result.exit_code in FAST_COMMANDS[args[0]], \
                    f"{page.name}:{line}: `{' '.join(words)}` exit {result.exit_code}: {result.output[-2000:]}"
                if target:
                    Path(target).write_text(result.stdout, encoding="utf-8")
                ran += 1
    assert ran >= 8, ran
    assert _repo_state() == before
