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


def main() -> None:
    """Entry point of the ``caseload`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
