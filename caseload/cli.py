"""The ``caseload`` command line. Thin: parse arguments, call the library, print.

Every command catches :class:`caseload.errors.CaseloadError` and prints its
message (never a traceback), exiting with code 2.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from caseload import __version__
from caseload.errors import CaseloadError

app = typer.Typer(
    name="caseload",
    help="Benefit-caseload analysis for Dutch municipal social services (Participatiewet).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err_console = Console(stderr=True)


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"caseload {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool],  # noqa: UP007 (typer needs Optional)
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Benefit-caseload analysis for Dutch municipal social services (Participatiewet)."""


def friendly_errors(func):
    """Turn a CaseloadError into its message on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CaseloadError as exc:
            err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


ConfigOption = Annotated[
    Optional[Path],  # noqa: UP007
    typer.Option("--config", "-c", help="caseload.toml with the settings.", exists=False),
]


# Commands are added below, one section per module.


# --- extract ---


@app.command("validate")
@friendly_errors
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Extract files (csv, xlsx, parquet).")],
    config: ConfigOption = None,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", "-m",
                     help="Preset (gws, canonical) or a TOML file with field = \"column\" lines."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the rejected rows (values masked) to this CSV file."),
    ] = None,
    peildatum: Annotated[
        str | None,
        typer.Option("--peildatum", help="Reference date (default: config, else the latest date in the data)."),
    ] = None,
) -> None:
    """Check extract files: rows read, loaded and rejected per file, and why.

    Exit code 0 when every row loads, 1 when some rows were rejected, 2 when a
    whole file cannot be read (the message says which file and what to do).
    """
    from rich.table import Table

    from caseload.config import load_config
    from caseload.extract import read_extract, read_mapping, validation_summary, write_rejected

    cfg = load_config(config)
    with console.status(f"Reading {len(files)} file(s)..."):
        cs = read_extract(files, mapping=read_mapping(mapping), peildatum=peildatum, config=cfg)
    summary = validation_summary(cs)
    table = Table(title=f"caseload validate (peildatum {cs.peildatum:%d-%m-%Y})")
    for col, just in (("Bestand", "left"), ("Tabel", "left"), ("Gelezen", "right"),
                      ("Geladen", "right"), ("Afgewezen", "right"), ("Belangrijkste redenen", "left")):
        table.add_column(col, justify=just)
    for r in summary.itertuples(index=False):
        table.add_row(Path(r.file).name, r.table, f"{r.rows_read:,}", f"{r.rows_loaded:,}",
                      f"{r.rows_rejected:,}", r.top_reasons)
    console.print(table)
    n_rejected = int(summary["rows_rejected"].sum())
    if out is not None:
        write_rejected(cs.rejected, out)
        console.print(f"{n_rejected:,} rejected row(s) written to {out}", highlight=False)
    elif n_rejected:
        console.print("Use --out rejected.csv to list every rejected row with the fix.", highlight=False)
    raise typer.Exit(1 if n_rejected else 0)


# --- refresh ---


@app.command("refresh")
@friendly_errors
def refresh_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="caseload.toml with the settings.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: report.out_dir of the config)."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of tables and figures: nl or en (default: config)."),
    ] = None,
) -> None:
    """Refresh every table, figure and index.html from the extract in the config.

    Output is written to a temporary folder and swapped in only when every step
    succeeded; a failed run leaves the previous reports untouched.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from caseload.refresh import refresh

    if lang is not None and lang not in ("nl", "en"):
        raise typer.BadParameter("use nl or en.", param_hint="--lang")
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        result = refresh(config, out_dir=out, lang=lang, progress=progress)
    table = Table(title="caseload refresh")
    for col, just in (("step", "left"), ("rows", "right"), ("tables", "right"),
                      ("figures", "right"), ("seconds", "right")):
        table.add_column(col, justify=just)
    for s in result.steps:
        table.add_row(s.name, f"{s.rows:,}", str(len(s.tables)), str(len(s.figures)),
                      f"{s.seconds:.2f}")
    console.print(table)
    n_supp = sum(t["suppressed"]["primary"] + t["suppressed"]["secondary"]
                 for t in result.report.manifest["tables"])
    console.print(f"{len(result.report.manifest['tables'])} tables ({n_supp} cells suppressed), "
                  f"{len(result.report.manifest['figures'])} figures in {result.seconds:.1f} s -> "
                  f"{result.out_dir / 'index.html'}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the ``caseload`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
