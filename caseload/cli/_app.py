"""The typer app, the consoles and the options and helpers the commands share."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
        bool | None,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Benefit-caseload analysis for Dutch municipal social services (Participatiewet)."""
    import warnings

    # Warnings from the library (a new pseudonym key, a heuristic used) are messages for the
    # user: print them as one readable line, not as a source location.
    def _show(message, category, filename, lineno, file=None, line=None):
        err_console.print(f"[yellow]Note:[/] {escape(str(message))}", highlight=False, soft_wrap=True)

    warnings.showwarning = _show


def friendly_errors(func):
    """Turn a CaseloadError into its message on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CaseloadError as exc:
            # escape: messages quote config keys like [kpi.target], which rich would eat as markup
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="caseload.toml with the settings.", exists=False),
]


FilesArgument = Annotated[
    list[Path] | None,
    typer.Argument(help="Extract files (default: [extract] files of the config)."),
]
MappingOption = Annotated[
    str | None,
    typer.Option("--mapping", "-m", help="Column mapping preset (gws, canonical)."),
]
LangOption = Annotated[
    str | None,
    typer.Option("--lang", help="Language of tables and figures: nl or en (default: config)."),
]


def _lang(lang: str | None, cfg) -> str:
    """The --lang option, else the config's language; a clear error for anything else."""
    if lang is not None and lang not in ("nl", "en"):
        raise typer.BadParameter("use nl or en.", param_hint="--lang")
    return lang or cfg.report.language


# Commands are added below, one section per module.


def _beside_report(cfg, name: str) -> Path:
    """Default output folder of a single-analysis command: next to the report folder.

    Not inside it: ``caseload refresh`` replaces the report folder as a whole and refuses
    one that holds files it did not write.
    """
    report = cfg.resolve(cfg.report.out_dir).resolve()
    return report.parent / f"{report.name}-{name}"



def _read_for_analysis(files, config, mapping):
    from caseload.config import load_config
    from caseload.extract import read_extract

    cfg = load_config(config)
    with console.status("Reading the extract..."):
        cs = read_extract(list(files) or None, mapping=mapping, config=cfg)
    return cfg, cs

