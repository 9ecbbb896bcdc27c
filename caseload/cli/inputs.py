"""Commands around the input: ``config``, ``synth`` and ``validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.cli._app import (
    ConfigOption,
    _lang,
    app,
    console,
    extract_summary,
    friendly_errors,
    num,
    say,
    set_console_language,
)

# --- config ---


@app.command("config")
@friendly_errors
def config_command(
    config: ConfigOption = None,
) -> None:
    """Print the configuration as TOML: every key with its default and description.

    Without --config: the defaults, a starting point for your own file
    (`caseload config > caseload.toml`). With --config: the file is checked
    (unknown or invalid keys are an error) and 'OK' is printed.
    """
    from caseload.config import default_config_toml, load_config

    if config is not None:
        load_config(config)
        console.print(f"{config}: OK", highlight=False)
        return
    typer.echo(default_config_toml(), nl=False)


# --- synth ---


@app.command("synth")
@friendly_errors
def synth_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the extract files.")],
    clients: Annotated[int, typer.Option("--clients", "-n", help="Number of clients (persons).")] = 3000,
    municipalities: Annotated[str, typer.Option(help="CBS codes, comma-separated.")] = "GM0168,GM0037,GM0047",
    peildatum: Annotated[str, typer.Option(help="Reference date of the extract.")] = "2025-12-31",
    start: Annotated[str, typer.Option(help="First day of the extract window.")] = "2008-01-01",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    bad_rows: Annotated[float, typer.Option("--bad-rows", help="Share of period rows spoilt per kind of bad row (0 = none).")] = 0.0,
    layout: Annotated[str, typer.Option(help="'gws' (period rows, Dutch columns) or 'canonical'.")] = "gws",
    fmt: Annotated[list[str], typer.Option("--format", help="csv, xlsx or parquet; repeat for several.")] = ["csv"],  # noqa: B006
    disparity: Annotated[str | None, typer.Option(
        help="Inject a disparity: column=value:odds_ratio, e.g. sex=V:1.5 (odds of work x 1.5 for "
             "women, shown by no feature).")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="Language of the console: nl or en (default: nl).")] = None,
) -> None:
    """Generate a synthetic extract (clients, benefit periods, assessments, activities)."""
    from time import perf_counter

    from rich.table import Table

    from caseload.synth import BAD_ROW_KINDS, generate, write_extract

    _lang(lang)
    t0 = perf_counter()
    codes = tuple(m.strip() for m in municipalities.split(",") if m.strip())
    with console.status(say("synth_simulating", n=num(clients))):
        cl = generate(n_clients=clients, municipalities=codes, peildatum=peildatum, start=start,
                      random_state=seed, disparity=disparity)
    console.print(say("synth_simulated", seconds=num(perf_counter() - t0, 1), extract=extract_summary(cl)),
                  highlight=False, soft_wrap=True)
    t1 = perf_counter()
    spoil = {k: bad_rows for k in BAD_ROW_KINDS} if bad_rows > 0 else None
    with console.status(say("synth_writing", layout=layout, path=out)):
        paths = write_extract(cl, out, layout=layout, bad_rows=spoil, random_state=seed,
                              formats=tuple(fmt))
    table = Table(title=say("synth_written", path=out, seconds=num(perf_counter() - t1, 1)))
    table.add_column(say("synth_file"))
    table.add_column(say("synth_rows"), justify="right")
    table.add_column("MB", justify="right")
    for path in paths.values():
        if path.suffix == ".csv":
            with open(path, "rb") as fh:
                rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
        else:
            rows = -1
        table.add_row(path.name, num(rows) if rows >= 0 else "", num(path.stat().st_size / 1e6, 1))
    console.print(table)


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
    from caseload.schema import fmt_number, report_value

    cfg = load_config(config)
    lang = set_console_language(cfg.report.language)
    with console.status(say("console_reading", n=len(files))):
        cs = read_extract(files, mapping=read_mapping(mapping), peildatum=peildatum, config=cfg)
    summary = validation_summary(cs)
    table = Table(title=say("validate_title", peildatum=f"{cs.peildatum:%d-%m-%Y}"))
    for key, just in (("validate_file", "left"), ("validate_table", "left"), ("validate_read", "right"),
                      ("validate_loaded", "right"), ("validate_rejected", "right"),
                      ("validate_reasons", "left")):
        table.add_column(say(key), justify=just)
    for r in summary.itertuples(index=False):
        table.add_row(Path(r.file).name, report_value("table", r.table, lang), fmt_number(r.rows_read, 0, lang),
                      fmt_number(r.rows_loaded, 0, lang), fmt_number(r.rows_rejected, 0, lang),
                      r.top_reasons)
    console.print(table)
    for r in summary.itertuples(index=False):
        if r.notes:
            console.print(f"{Path(r.file).name}: {r.notes}", highlight=False, soft_wrap=True)
    n_rejected = int(summary["rows_rejected"].sum())
    if out is not None:
        write_rejected(cs.rejected, out)
        console.print(say("validate_written", n=fmt_number(n_rejected, 0, lang), path=out), highlight=False)
    elif n_rejected:
        console.print(say("validate_hint"), highlight=False)
    raise typer.Exit(1 if n_rejected else 0)
