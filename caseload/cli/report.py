"""The batch run and its audit: ``refresh`` and ``audit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from caseload.cli._app import (
    LangOption,
    _lang,
    app,
    console,
    friendly_errors,
    num,
    say,
    set_console_language,
)

# --- refresh ---


@app.command("refresh")
@friendly_errors
def refresh_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="caseload.toml with the settings.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: report.out_dir of the config)."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """Refresh every table, figure and index.html from the extract in the config.

    Output is written to a temporary folder and swapped in only when every step
    succeeded; a failed run leaves the previous reports untouched.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from caseload.config import load_config
    from caseload.refresh import refresh

    if lang is not None and lang not in ("nl", "en"):
        raise typer.BadParameter(say("console_use_lang"), param_hint="--lang")
    set_console_language(lang or load_config(config).report.language)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        result = refresh(config, out_dir=out, lang=lang, progress=progress)
    from caseload.refresh import STEPS
    from caseload.schema import fmt_number, report_text

    used = result.report.manifest.get("language", "nl")
    table = Table(title="caseload refresh")
    for key, just in (("summary_step", "left"), ("summary_rows", "right"), ("summary_tables", "right"),
                      ("summary_figures", "right"), ("summary_seconds", "right")):
        table.add_column(report_text(key, used), justify=just)
    titles = {st.name: st.title(used) for st in STEPS}
    for s in result.steps:
        # The step's title in the report language, with its name as [report] steps takes it.
        table.add_row(f"{titles.get(s.name, s.name)} ({s.name})", fmt_number(s.rows, 0, used),
                      str(len(s.tables)), str(len(s.figures)), fmt_number(s.seconds, 2, used))
    console.print(table)
    n_supp = sum(t["suppressed"]["primary"] + t["suppressed"]["secondary"]
                 for t in result.report.manifest["tables"])
    n_tables, n_figures = len(result.report.manifest["tables"]), len(result.report.manifest["figures"])
    secs = fmt_number(result.seconds, 1, used)
    console.print(report_text("summary_line", used, tables=n_tables, cells=n_supp, figures=n_figures,
                              seconds=secs, path=result.out_dir / "index.html"),
                  highlight=False, soft_wrap=True)


# --- audit ---


@app.command("audit")
@friendly_errors
def audit_command(
    report_dir: Annotated[Path, typer.Argument(
        help="A report folder written by `caseload refresh`, or the folder of the reports per "
             "municipality (with joint-relations.json: audited together with the combined report).")],
    protection: Annotated[
        float | None,
        typer.Option("--protection", help="Protection level (default: the report's, at least min_cell)."),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list suppressed cells that are in no relation.")
    ] = False,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="Language of the console: nl or en (default: the report's language).")] = None,
) -> None:
    """Disclosure audit: the feasible interval of every suppressed cell under the report's relations.

    A folder with ``joint-relations.json`` (``[report] per_municipality``) is audited together
    with the reports it lists. Exits with code 1 when a suppressed cell's interval is narrower
    than the protection level.
    """
    from rich.table import Table

    from caseload.privacy.audit import audit_report
    from caseload.privacy.joint_audit import JOINT_FILE, audit_reports

    _lang(lang or _report_language(report_dir))
    joint = report_dir.name == JOINT_FILE or (report_dir / JOINT_FILE).is_file()
    rep = audit_reports(report_dir, protection) if joint else audit_report(report_dir, protection)
    table = Table(title=say("audit_title", path=escape(str(report_dir))))
    for key, just in (("audit_table", "left"), ("audit_row", "left"), ("audit_column", "left"),
                      ("audit_low", "right"), ("audit_high", "right"), ("audit_width", "right")):
        table.add_column(say(key), justify=just)
    table.add_column("", justify="left")
    hidden = 0
    for iv in rep.intervals:
        if iv.relations == 0 and not iv.disclosed and not show_all:
            hidden += 1
            continue
        t = rep.tables[iv.table]
        row = t.row_labels[iv.row] if iv.row < len(t.row_labels) else str(iv.row + 1)
        col = t.columns[iv.column] if iv.column < len(t.columns) else str(iv.column + 1)
        table.add_row(iv.table, escape(row), escape(col), f"{iv.low:g}", f"{iv.high:g}",
                      f"{iv.width:g}", f"[bold red]{say('audit_disclosed')}[/]" if iv.disclosed else say("audit_ok"))
    console.print(table)
    if hidden:
        console.print(say("audit_hidden", n=num(hidden)), highlight=False)
    words = {"cells": num(len(rep.intervals)), "tables": num(len(rep.tables)), "relations": num(rep.n_relations),
             "protection": f"{rep.protection_level:g}", "disclosed": num(len(rep.disclosed)),
             "seconds": num(rep.seconds, 2)}
    if joint:
        console.print(say("audit_summary_joint", reports=num(len(rep.reports)), cross=num(rep.n_cross), **words),
                      highlight=False)
    else:
        console.print(say("audit_summary", **words), highlight=False)
    if rep.disclosed:
        raise typer.Exit(1)


def _report_language(report_dir: Path) -> str | None:
    """The language in the manifest of a report folder (or of the first report a joint folder lists)."""
    import json

    folder = report_dir.parent if report_dir.is_file() else report_dir
    for manifest in [folder / "manifest.json", *sorted(folder.glob("*/manifest.json"))]:
        try:
            return json.loads(manifest.read_text(encoding="utf-8")).get("language")
        except (OSError, ValueError):
            continue
    return None
