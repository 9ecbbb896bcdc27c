"""The ``caseload`` command line. Thin: parse arguments, call the library, print.

Every command catches :class:`caseload.errors.CaseloadError` and prints its
message (never a traceback), exiting with code 2. Every console word comes from the
``[console]`` group of the label catalogue (``caseload/data/labels.toml``): Dutch unless
the config's ``language`` or ``--lang`` says English. The commands live in one module
per group; importing them registers them on :data:`app`.
"""

from __future__ import annotations

import sys

from caseload.cli._app import app, console, err_console

# Importing a module registers its commands; this order is the order of `caseload --help`.
# isort: off
from caseload.cli import inputs, segment, report, analysis  # noqa: F401
# isort: on

__all__ = ["app", "console", "err_console", "main"]


def main() -> None:
    """Entry point of the ``caseload`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
