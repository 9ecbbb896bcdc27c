"""The typer app, the consoles and the options and helpers the commands share."""

from __future__ import annotations

import functools
import re
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


#: The language of the console's own words ("nl" unless the command's config or --lang says
#: "en"); set by a command with :func:`set_console_language` once it knows the language.
_CONSOLE = {"lang": "nl"}


def set_console_language(lang: str | None) -> str:
    """Use ``lang`` ("nl" or "en"; anything else: "nl") for the console's words; returns it."""
    _CONSOLE["lang"] = lang if lang in ("nl", "en") else "nl"
    return _CONSOLE["lang"]


def say(key: str, **values) -> str:
    """A console text of the label catalogue (:data:`caseload.schema.REPORT_TEXT`)."""
    from caseload.schema import report_text

    return report_text(key, _CONSOLE["lang"], **values)


def num(x: float, decimals: int = 0) -> str:
    """A number in the console's language: ``1.234,5`` in Dutch, ``1,234.5`` in English."""
    from caseload.schema import fmt_number

    return fmt_number(x, decimals, _CONSOLE["lang"])


def pct(x: float, decimals: int = 1) -> str:
    """A fraction as a percentage in the console's language (``0.123`` -> ``12,3%``)."""
    return f"{num(100 * x, decimals)}%"


def error_text(exc: CaseloadError) -> str:
    """An error as the console prints it: the frame (file, row, column, fix) in the console's
    language, the message itself as the library wrote it (English)."""
    words = {part: say(f"error_{part}") for part in ("file", "row", "column", "value", "fix")}
    return exc.describe(words)


def extract_summary(cs) -> str:
    """One line on an extract read or simulated: rows per table, rejected rows, peildatum."""
    from caseload.schema import report_value

    lang = _CONSOLE["lang"]
    tables = ", ".join(f"{report_value('table', name, lang)} {num(len(df))}" for name, df in cs.tables().items())
    peil = "-" if cs.peildatum is None else f"{cs.peildatum:%d-%m-%Y}"
    return say("console_extract", peildatum=peil, tables=tables, rejected=num(len(cs.rejected)))


@functools.cache
def _note_patterns() -> list[tuple[re.Pattern, str]]:
    """(English message as a regex, key) for every library warning in the catalogue."""
    from caseload.schema import REPORT_TEXT

    out = []
    for key, (_nl, en) in REPORT_TEXT.items():
        if key.startswith("note_"):
            parts = re.split(r"\{(\w+)\}", en)
            rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
            out.append((re.compile(rx + r"\Z", re.S), key))
    return out


def console_text(message: str) -> str:
    """A library warning in the console's language: its catalogue text (``note_*`` keys) if any."""
    if _CONSOLE["lang"] == "en":
        return message
    for rx, key in _note_patterns():
        m = rx.match(message)
        if m:
            return say(key, **m.groupdict())
    return message


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
        err_console.print(f"[yellow]{say('console_note')}:[/] {escape(console_text(str(message)))}",
                          highlight=False, soft_wrap=True)

    warnings.showwarning = _show
    set_console_language("nl")  # until the command knows its language


def friendly_errors(func):
    """Turn a CaseloadError into its message on stderr and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CaseloadError as exc:
            # escape: messages quote config keys like [kpi.target], which rich would eat as markup
            err_console.print(f"[bold red]{say('console_error')}:[/] {escape(error_text(exc))}", highlight=False,
                              soft_wrap=True)
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


def _lang(lang: str | None, cfg=None) -> str:
    """The --lang option, else the config's language (no config: Dutch); a clear error for
    anything else. The console speaks that language from here on."""
    if lang is not None and lang not in ("nl", "en"):
        raise typer.BadParameter(say("console_use_lang"), param_hint="--lang")
    return set_console_language(lang or (cfg.report.language if cfg is not None else "nl"))


# Commands are added below, one section per module.


def _beside_report(cfg, name: str) -> Path:
    """Default output folder of a single-analysis command: next to the report folder.

    Not inside it: ``caseload refresh`` replaces the report folder as a whole and refuses
    one that holds files it did not write.
    """
    report = cfg.resolve(cfg.report.out_dir).resolve()
    return report.parent / f"{report.name}-{name}"



def _read_for_analysis(files, config, mapping, lang: str | None = None):
    """The config, the language (``--lang``, else the config's) and the extract."""
    from caseload.config import load_config
    from caseload.extract import read_extract

    cfg = load_config(config)
    lang = _lang(lang, cfg)
    with console.status(say("console_reading_extract")):
        cs = read_extract(list(files) or None, mapping=mapping, config=cfg)
    return cfg, cs, lang

