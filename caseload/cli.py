"""The ``caseload`` command line. Thin: parse arguments, call the library, print.

Every command catches :class:`caseload.errors.CaseloadError` and prints its
message (never a traceback), exiting with code 2.
"""

from __future__ import annotations

import functools
import sys
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


# --- segment ---


@app.command("segment")
@friendly_errors
def segment_command(
    files: FilesArgument = None,
    config: ConfigOption = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="CSV/XLSX with Clientnummer (or client_id pseudonym), segment, "
                                         "reason, date (default: [segment] overrides_file)."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="A saved model (.skops with its .card.json) to score with."),
    ] = None,
    fit_model: Annotated[
        bool,
        typer.Option("--fit-model", help="Fit the statistical model on the history (time-based hold-out), "
                                         "save it under OUT/models/ and score with it."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: <report.out_dir>-segment, next to "
                                         "the report folder)."),
    ] = None,
    intern: Annotated[
        Path | None,
        typer.Option("--intern", help="Folder of the internal per-client list (default: [segment] "
                                      "internal_dir); never inside a report folder."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """Segment the caseload: A/B/C with reasons, profiles and PMCs, overrides, fairness.

    Published tables (no client ids, small cells suppressed) and figures go to OUT;
    the per-client list with pseudonyms goes to the internal folder ([segment]
    internal_dir, default intern/ next to the config), which must not be shared and
    may never lie inside a report folder.
    """
    from rich.table import Table

    from caseload.config import load_config
    from caseload.extract import read_extract
    from caseload.publish import write_report
    from caseload.refresh import run_steps
    from caseload.segment import fit_segment_model, save_model

    base = load_config(config)
    lang = _lang(lang, base)
    out = (out if out is not None else _beside_report(base, "segment")).resolve()
    intern = (intern if intern is not None else base.resolve(base.segment.internal_dir)).resolve()
    _check_internal_dir(intern, [out, base.resolve(base.report.out_dir).resolve()])
    # Command-line choices become settings, so the batch run's segment step does the work.
    settings = {}
    attachments = None
    if overrides is not None:
        settings["overrides_file"] = str(overrides.resolve())
    if model is not None:
        settings["model_file"] = str(model.resolve())
    with console.status("Reading the extract..."):
        cs = read_extract(files or None, config=base)
    console.print(f"Read {cs!r}", highlight=False)
    if fit_model:
        with console.status("Fitting the model on the history..."):
            fitted, fit_report = fit_segment_model(cs, base, lang=lang)
        skops_path, card_path = save_model(fitted, intern / "models" / f"segment_{fitted.method}")
        page_path = card_path.with_name(card_path.name.replace(".card.json", ".card.md"))
        attachments = {f"models/{p.name}": p for p in (skops_path, card_path, page_path) if p.exists()}
        settings["model_file"] = str(skops_path.resolve())
        m = fitted.metrics_
        console.print(f"Model fitted on {fitted.training_['n']:,} assessments; hold-out from "
                      f"{m['holdout_from']}: ROC AUC {m['roc_auc']:.3f}, Brier {m['brier']:.4f}, "
                      f"kappa vs caseworker {m.get('kappa_caseworker', float('nan')):.2f} -> {skops_path}",
                      highlight=False, soft_wrap=True)
    cfg = load_config(config, segment=settings) if settings else base
    with console.status("Segmenting..."):
        pub, results = run_steps(cfg, cs, ["segment"], lang=lang)
    result = results["segment"]
    if fit_model:
        _publish_model_evaluation(pub, fit_report, lang)
    # Published tables and figures: the same suppression and texts as `caseload refresh`; a
    # model fitted in this run is published with them (a copy stays in the internal folder).
    report = write_report(pub, out, protected=[intern], attachments=attachments)
    # The per-client list is internal (pseudonyms, caseworkers' free text): its own folder.
    from caseload.publish.safe import neutralise_frame

    intern.mkdir(parents=True, exist_ok=True)
    (intern / "LEESMIJ.txt").write_text(
        "INTERN: deze map bevat per cliënt het pseudoniem, de groep en de reden. Niet publiceren of "
        "delen buiten het team dat de cliënten begeleidt.\n", encoding="utf-8")
    neutralise_frame(result.clients).to_csv(intern / "segment_clienten_INTERN.csv", sep=";",
                                            decimal=",", index=False, encoding="utf-8-sig",
                                            lineterminator="\r\n")  # a CR in a reason stays in its cell

    table = Table(title=f"caseload segment (peildatum {cs.peildatum:%d-%m-%Y}, {result.decided_by})")
    table.add_column("gemeente" if lang == "nl" else "municipality")
    for col in result.summary().columns:
        table.add_column(str(col), justify="right")
    for muni, row in result.summary().iterrows():
        table.add_row(str(muni), *[f"{int(v):,}" for v in row])
    console.print(table)
    c = result.counts
    console.print(f"{c['without_assessment']:,} client(s) without assessment (segment missing, counted); "
                  f"overrides applied {c['overrides_applied']:,}, unmatched {c['overrides_unmatched']:,}, "
                  f"expired {c.get('overrides_expired', 0):,}, future-dated {c.get('overrides_future_date', 0):,}; "
                  f"{c.get('reassess', 0):,} client(s) to reassess (assessment too old or from an earlier spell).",
                  highlight=False, soft_wrap=True)
    if result.fairness is not None:
        from caseload.segment import fairness_ratios

        flagged = fairness_ratios(result.fairness)
        flagged = flagged[flagged["flag"]]
        console.print(f"Fairness: {len(flagged)} pair(s) flagged (ratio {cfg.segment.fairness_ratio})"
                      + (": " + ", ".join(f"{r.group} {r.metric} {r.level_high}/{r.level_low} {r.ratio:.2f}"
                                          f" ({r.explanation})" for r in flagged.itertuples())
                         if len(flagged) else "."),
                      highlight=False, soft_wrap=True)
    console.print(f"{len(pub.tables)} tables, {len(pub.figures)} figures -> {report.out_dir}; "
                  f"per-client list in {intern} (INTERN).", highlight=False, soft_wrap=True)


def _beside_report(cfg, name: str) -> Path:
    """Default output folder of a single-analysis command: next to the report folder.

    Not inside it: ``caseload refresh`` replaces the report folder as a whole and refuses
    one that holds files it did not write.
    """
    report = cfg.resolve(cfg.report.out_dir).resolve()
    return report.parent / f"{report.name}-{name}"


def _check_internal_dir(intern: Path, report_dirs: list[Path]) -> None:
    """Refuse an internal folder inside a report folder (or inside any marked report folder)."""
    from caseload.errors import ConfigError
    from caseload.publish.report import MARKER

    for folder in report_dirs:
        if intern == folder or folder in intern.parents:
            raise ConfigError(
                f"the internal folder '{intern}' for the per-client list lies inside the report "
                f"folder '{folder}', which is published.",
                fix="set [segment] internal_dir (or --intern) to a folder outside every report "
                    "folder, e.g. 'intern' next to the config.")
    for parent in [intern, *intern.parents]:
        if (parent / MARKER).is_file():
            raise ConfigError(
                f"the internal folder '{intern}' lies inside the report folder '{parent}', which "
                "is published.",
                fix="set [segment] internal_dir (or --intern) to a folder outside every report "
                    "folder, e.g. 'intern' next to the config.")


def _publish_model_evaluation(pub, fit_report: dict, lang: str) -> None:
    """The hold-out evaluation of a freshly fitted model, as suppressed published tables."""
    nl = lang == "nl"
    section = "Model: evaluatie op de hold-out" if nl else "Model: hold-out evaluation"
    split = f"{fit_report['split_date']:%d-%m-%Y}"
    method = (f"Logistische regressie (of gbm) op diagnoses vóór {split}, getoetst op diagnoses vanaf "
              f"{split}; uitkomst: uitstroom naar werk binnen de horizon." if nl else
              f"Model fitted on assessments before {split}, tested on those from {split}; outcome: "
              "exit to work within the horizon.")
    pub.add_table("segment_model_kalibratie", fit_report["calibration"],
                  title="Kalibratie per deciel van de voorspelde kans" if nl else "Calibration by decile",
                  method=method, counts=["n"], percentages={"observed": "n"}, scale=1, secondary=False,
                  decimals=4, section=section)
    confusion = fit_report["confusion"].reset_index()
    confusion.columns = [str(c) for c in confusion.columns]
    pub.add_table("segment_model_vs_consulent", confusion,
                  title="Groep volgens model en volgens consulent" if nl else "Model group vs caseworker group",
                  method=method, counts=list(confusion.columns[1:]), section=section)
    if fit_report.get("coefficients") is not None:
        pub.add_table("segment_model_coefficienten", fit_report["coefficients"],
                      title="Odds ratio's van het model" if nl else "Model odds ratios", method=method,
                      decimals=4, section=section,
                      suppression_note=("Modelcoëfficiënten, geen tellingen van personen." if nl else
                                        "Model coefficients, not counts of persons."))


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
) -> None:
    """Generate a synthetic extract (clients, benefit periods, assessments, activities)."""
    from time import perf_counter

    from rich.table import Table

    from caseload.synth import BAD_ROW_KINDS, generate, write_extract

    t0 = perf_counter()
    codes = tuple(m.strip() for m in municipalities.split(",") if m.strip())
    with console.status(f"Simulating {clients:,} clients..."):
        cl = generate(n_clients=clients, municipalities=codes, peildatum=peildatum, start=start,
                      random_state=seed, disparity=disparity)
    console.print(f"Simulated {cl!r} in {perf_counter() - t0:.1f} s")
    t1 = perf_counter()
    spoil = {k: bad_rows for k in BAD_ROW_KINDS} if bad_rows > 0 else None
    with console.status(f"Writing {layout} files to {out}..."):
        paths = write_extract(cl, out, layout=layout, bad_rows=spoil, random_state=seed,
                              formats=tuple(fmt))
    table = Table(title=f"{out}: written in {perf_counter() - t1:.1f} s")
    table.add_column("file")
    table.add_column("rows", justify="right")
    table.add_column("MB", justify="right")
    for path in paths.values():
        if path.suffix == ".csv":
            with open(path, "rb") as fh:
                rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
        else:
            rows = -1
        table.add_row(path.name, f"{rows:,}" if rows >= 0 else "", f"{path.stat().st_size / 1e6:.1f}")
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
    for r in summary.itertuples(index=False):
        if r.notes:
            console.print(f"{Path(r.file).name}: {r.notes}", highlight=False, soft_wrap=True)
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
    lang: LangOption = None,
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
    from caseload.figures.style import fmt_number
    from caseload.refresh import STEPS
    from caseload.schema import report_text

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
    report_dir: Annotated[Path, typer.Argument(help="A report folder written by `caseload refresh`.")],
    protection: Annotated[
        float | None,
        typer.Option("--protection", help="Protection level (default: the report's, at least min_cell)."),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list suppressed cells that are in no relation.")
    ] = False,
) -> None:
    """Disclosure audit: the feasible interval of every suppressed cell under the report's relations.

    Exits with code 1 when a suppressed cell's interval is narrower than the protection level.
    """
    from rich.table import Table

    from caseload.privacy.audit import audit_report

    rep = audit_report(report_dir, protection)
    table = Table(title=f"caseload audit {escape(str(report_dir))}")
    for col, just in (("table", "left"), ("row", "left"), ("column", "left"), ("low", "right"),
                      ("high", "right"), ("width", "right"), ("", "left")):
        table.add_column(col, justify=just)
    hidden = 0
    for iv in rep.intervals:
        if iv.relations == 0 and not iv.disclosed and not show_all:
            hidden += 1
            continue
        t = rep.tables[iv.table]
        row = t.row_labels[iv.row] if iv.row < len(t.row_labels) else str(iv.row + 1)
        col = t.columns[iv.column] if iv.column < len(t.columns) else str(iv.column + 1)
        table.add_row(iv.table, escape(row), escape(col), f"{iv.low:g}", f"{iv.high:g}",
                      f"{iv.width:g}", "[bold red]DISCLOSED[/]" if iv.disclosed else "ok")
    console.print(table)
    if hidden:
        console.print(f"{hidden} suppressed cells are in no declared relation (interval [0, inf)); "
                      "--all lists them.", highlight=False)
    console.print(rep.summary(), highlight=False)
    if rep.disclosed:
        raise typer.Exit(1)


# --- kpi ---


def _read_for_analysis(files, config, mapping):
    from caseload.config import load_config
    from caseload.extract import read_extract

    cfg = load_config(config)
    with console.status("Reading the extract..."):
        cs = read_extract(list(files) or None, mapping=mapping, config=cfg)
    return cfg, cs


@app.command("kpi")
@friendly_errors
def kpi_command(
    files: FilesArgument = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: <report.out_dir>-kpi)."),
    ] = None,
    mapping: MappingOption = None,
    lang: LangOption = None,
) -> None:
    """Outcome KPIs: outflow to work within N months against the target, durability,
    revolving door, monitoring tables and the CBS benchmark; tables (CSV/XLSX,
    small cells suppressed), figures and index.html in the output folder."""
    import pandas as pd
    from rich.table import Table

    from caseload.kpi.outflow import JUDGEMENT
    from caseload.publish import Publication, write_report
    from caseload.refresh.sections.kpi import add_kpi_to_publication, kpi_results

    cfg, cs = _read_for_analysis(files or [], config, mapping)
    lang = _lang(lang, cfg)
    targets = None
    if cfg.kpi.sheltered_targets is not None:
        path = cfg.resolve(cfg.kpi.sheltered_targets)
        if not path.is_file():
            raise CaseloadError("sheltered-work target file not found.", file=path,
                                fix="Point [kpi] sheltered_targets to a CSV with columns year,target.")
        targets = pd.read_csv(path)
    with console.status("Computing KPIs..."):
        res = kpi_results(cs, cfg, sheltered_targets=targets, lang=lang)
        pub = Publication(f"{cfg.report.title}: KPI", cs.peildatum, cfg.report.source, lang=lang,
                          min_cell=cfg.privacy.min_cell)
        add_kpi_to_publication(pub, res, lang=lang, config=cfg)
    out_dir = out if out is not None else _beside_report(cfg, "kpi")
    with console.status(f"Writing {out_dir}..."):
        report = write_report(pub, out_dir)
    lvl = f"{1 - cfg.kpi.alpha:g}"
    nl = lang == "nl"

    def w(dutch: str, english: str) -> str:
        return dutch if nl else english

    table = Table(title=w(f"Uitstroom naar werk binnen {cfg.kpi.months} maanden, doel {cfg.kpi.target:.0%}",
                          f"Exit to work within {cfg.kpi.months} months, target {cfg.kpi.target:.0%}")
                  + f" (cohort {res.cohort[0]:%d-%m-%Y} - {res.cohort[1]:%d-%m-%Y})")
    for col, just in ((w("groep", "group"), "left"), ("n", "right"),
                      (w(f"schatting ({float(lvl):.0%}-interval)", f"estimate ({float(lvl):.0%} interval)"), "right"),
                      (w("naïef", "naive"), "right"), (w("gecens.", "censored"), "right"),
                      (w("oordeel", "judgement"), "left")):
        table.add_column(col, justify=just)
    for r in res.outflow.to_dict("records"):
        label = " ".join(str(r[c]) for c in res.by) or w("totaal", "total")
        small = r["n_spells"] < cfg.privacy.min_cell
        est = "x" if small else f"{r['estimate']:.1%} ({r[f'lower_{lvl}']:.1%} - {r[f'upper_{lvl}']:.1%})"
        table.add_row(label, f"< {cfg.privacy.min_cell}" if small else f"{r['n_spells']:,}", est,
                      "x" if small else f"{r['naive_share']:.1%}", f"{r['n_censored']:,}",
                      JUDGEMENT[r["judgement"]][0 if nl else 1])
    console.print(table)

    def _n(v: int) -> str:
        return f"< {cfg.privacy.min_cell}" if 0 < v < cfg.privacy.min_cell else f"{v:,}"

    months, judged, recent = w("mnd", "months"), w("beoordeeld", "judged"), w("te recent", "too recent")
    for name, t in ((w("duurzaamheid", "durability"), res.durability),
                    (w("draaideur", "revolving door"), res.revolving_door)):
        parts = [f"{r['months']} {months}: {r['share']:.1%} ({judged} {_n(r['n_judged'])}, "
                 f"{recent} {_n(r['n_too_recent'])})" if r["n_judged"] >= cfg.privacy.min_cell else
                 f"{r['months']} {months}: x ({judged} {_n(r['n_judged'])})" for r in t.to_dict("records")]
        console.print(f"{name}: " + "; ".join(parts), highlight=False)
    if res.benchmark is not None:
        b = res.benchmark
        parts = [f"{r['label']}: {r['value']:.1f} ({w('percentiel', 'percentile')} {r['percentile']:.0f})"
                 for r in b.to_dict("records") if pd.notna(r["percentile"])]
        console.print(f"benchmark {b.attrs['municipality']} ({b.attrs['year']}, {len(b.attrs['peers'])} "
                      f"{w('gemeenten', 'municipalities')}): " + "; ".join(parts), highlight=False, soft_wrap=True)
    for note in res.notes:
        console.print(f"[yellow]Note:[/] {note}", highlight=False)
    console.print(f"{len(pub.tables)} tables, {len(pub.figures)} figures -> {report.out_dir}", highlight=False)


@app.command("capacity")
@friendly_errors
def capacity_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Extract files: count clients per contact group from the extract."),
    ] = None,
    clients: Annotated[
        float | None,
        typer.Option("--clients", "-n", help="Clients in a trajectory (split like Losser's caseload)."),
    ] = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write tables and figure to this folder."),
    ] = None,
    mapping: MappingOption = None,
    lang: LangOption = None,
) -> None:
    """Coach capacity: FTE from the clients-per-FTE norm and from the contact scheme.

    Without files or --clients: Losser's 174 clients (Losser, plan and report Participatiewet 2015/2016), which
    both methods put at 2,9 FTE with the default settings.
    """
    from rich.table import Table

    from caseload.config import load_config
    from caseload.publish import Publication, write_report
    from caseload.refresh.sections.kpi import add_capacity_to_publication, capacity_results

    if files and clients is not None:
        raise typer.BadParameter("give extract files or --clients, not both.", param_hint="--clients")
    if files:
        cfg, cs = _read_for_analysis(files, config, mapping)
        lang = _lang(lang, cfg)
        res = capacity_results(cs=cs, config=cfg, lang=lang)
        peil = cs.peildatum
    else:
        cfg = load_config(config)
        lang = _lang(lang, cfg)
        res = capacity_results(n_clients=clients, config=cfg, lang=lang)
        peil = None
    norm = res["norm"]
    table = Table(title="Benodigde formatie trajectbegeleiding" if lang == "nl" else "Coach capacity needed")
    for col, just in (("groep", "left"), ("cliënten", "right"), ("contacten/jaar", "right"),
                      ("uren/jaar", "right"), ("fte", "right")):
        table.add_column(col, justify=just)
    for r in res["contacts"].to_dict("records"):
        table.add_row(r["label"], f"{r['clients']:.1f}", f"{r['contacts']:,.0f}", f"{r['hours']:,.0f}",
                      f"{r['fte']:.2f}")
    console.print(table)
    console.print(f"contactschema: {res['contacts'].attrs['fte']:.2f} fte "
                  f"({cfg.capacity.minutes_per_contact:g} min per contact, "
                  f"{cfg.capacity.productive_hours_per_fte:g} productieve uren per fte); "
                  f"norm: {norm['n_clients']:.0f} / {norm['clients_per_fte']:g} = {norm['fte']:.2f} "
                  f"-> {norm['fte_rounded']:g} fte", highlight=False)
    if out is not None:
        pub = Publication(f"{cfg.report.title}: formatie", peil if peil is not None else "today",
                          cfg.report.source, lang=lang, min_cell=cfg.privacy.min_cell)
        add_capacity_to_publication(pub, res, lang=lang, config=cfg)
        report = write_report(pub, out)
        console.print(f"{len(pub.tables)} table, {len(pub.figures)} figure -> {report.out_dir}", highlight=False)


# --- forecast ---


@app.command("forecast")
@friendly_errors
def forecast_command(
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: <report.out_dir>-forecast)."),
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Extract file (repeat; default: [extract] files of the config)."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """Forecast tables: new target groups (stock-flow), sheltered work, source checks,
    caseload per month with intervals, A-candidates per PMC per quarter.

    Writes the tables (CSV and one XLSX, each with method, parameters and peildatum;
    small cells suppressed as in `caseload refresh`), the figures and index.html.
    Without an extract in the config only the tables from bundled public sources
    are made.
    """
    from rich.table import Table

    from caseload.config import load_config
    from caseload.publish import write_report
    from caseload.refresh import run_steps

    cfg = load_config(config)
    lang = _lang(lang, cfg)
    cs = None
    if files or cfg.extract.files:
        from caseload.extract import read_extract

        with console.status("Reading the extract..."):
            cs = read_extract(list(files) if files else None, config=cfg)
    with console.status("Fitting the forecasts..."):
        pub, results = run_steps(cfg, cs, ["forecast"], lang=lang)
    out_dir = out if out is not None else _beside_report(cfg, "forecast")
    report = write_report(pub, out_dir)
    tables = results["forecast"]
    summary = Table(title="caseload forecast")
    for col, just in (("tabel", "left"), ("rijen", "right"), ("methode", "left")):
        summary.add_column(col, justify=just)
    for name, df in tables.items():
        summary.add_row(name, f"{len(df):,}", str(df["method"].iloc[0]) if len(df) else "")
    console.print(summary)
    tg = tables["nieuwe_doelgroepen"].drop_duplicates("municipality")
    for r in tg.itertuples(index=False):
        console.print(f"{r.municipality}: instroom {r.inflow:.1f} per jaar, uitstroomkans {r.exit_rate:.4f}, "
                      f"structureel {r.structural_implied:.0f}", highlight=False)
    for r in tables["controle_bron"].itertuples(index=False):
        console.print(f"[yellow]Controle bron:[/] {escape(str(r.message))}", highlight=False)
    console.print(f"{len(pub.tables)} tables, {len(pub.figures)} figures -> {report.out_dir}", highlight=False)


# --- durations ---


@app.command("durations")
@friendly_errors
def durations_command(
    files: FilesArgument = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: <report.out_dir>-durations)."),
    ] = None,
    mapping: MappingOption = None,
    lang: LangOption = None,
) -> None:
    """Durations on benefit: the Losser elapsed-duration table, Kaplan-Meier by age band
    (late entry, at-risk counts, median and restricted mean), exit to work versus other
    exits (Aalen-Johansen), Cox hazard ratios and cohort curves; tables (CSV/XLSX, small
    cells suppressed), figures (PNG/SVG) and index.html in the output folder."""
    from rich.table import Table

    from caseload.config import load_config
    from caseload.extract import read_extract
    from caseload.publish import Publication, write_report
    from caseload.refresh.sections.durations import add_durations_to_publication, analyse_durations

    cfg = load_config(config)
    lang = _lang(lang, cfg)
    with console.status("Reading the extract..."):
        cs = read_extract(list(files or []) or None, mapping=mapping, config=cfg)
    with console.status("Estimating durations..."):
        res = analyse_durations(cs.spells, cs.clients, cs.peildatum, cfg.durations, lang=lang,
                                min_cell=cfg.privacy.min_cell)
        pub = Publication(f"{cfg.report.title}: {'duur in de uitkering' if lang == 'nl' else 'duration on benefit'}",
                          cs.peildatum, cfg.report.source, lang=lang, min_cell=cfg.privacy.min_cell)
        add_durations_to_publication(pub, res)
    out_dir = out if out is not None else _beside_report(cfg, "durations")
    with console.status(f"Writing {out_dir}..."):
        report = write_report(pub, out_dir)

    nl = lang == "nl"
    el = res.tables["elapsed_table"]
    table = Table(title=(f"Verstreken duur van het bestand (peildatum {res.peildatum:%d-%m-%Y})" if nl else
                         f"Elapsed duration of the stock (reference date {res.peildatum:%d-%m-%Y})"))
    for col in el.columns:
        table.add_column(str(col), justify="left" if col == el.columns[0] else "right")
    small = cfg.privacy.min_cell
    for r in el.itertuples(index=False):
        hide = r[3] < small
        table.add_row(str(r[0]), "x" if hide else f"{r[1]:.1%}", "x" if hide else f"{r[2]:.2f}",
                      f"< {small}" if hide else f"{r[3]:,}")
    console.print(table)
    lvl = f"{1 - cfg.durations.alpha:g}"
    per_year = {"years": 1, "months": 12, "days": 365.25}[res.time_unit]
    s = res.km.summary.join(res.km.restricted_mean(cfg.durations.horizon_years * per_year), rsuffix="_rmst")
    unit = {"years": "jaren", "months": "maanden", "days": "dagen"}[res.time_unit] if nl else res.time_unit
    title = (f"Kaplan-Meier per leeftijdsklasse bij instroom (duur in {unit}" if nl else
             f"Kaplan-Meier by age band at inflow (duration in {unit}")
    if res.window_start is not None:
        title += (f"; late instap vanaf {res.window_start:%d-%m-%Y})" if nl else
                  f"; delayed entry from {res.window_start:%d-%m-%Y})")
    else:
        title += ")"
    km_table = Table(title=title)
    heads = (("groep", "n", "uitstroom", "mediaan", "interval", "beperkt gemiddelde") if nl else
             ("group", "n", "exits", "median", "interval", "restricted mean"))
    for i, col in enumerate(heads):
        km_table.add_column(f"{float(lvl):.0%}-{col}" if col == "interval" else col,
                            justify="left" if i == 0 else "right")
    for label, r in s.iterrows():
        if r["n"] < small:
            km_table.add_row(str(label), f"< {small}", "x", "x", "x", "x")
            continue
        km_table.add_row(str(label), f"{r['n']:,.0f}", f"{r['events']:,.0f}", f"{r['median']:.2f}",
                         f"{r[f'lower_{lvl}']:.2f} - {r[f'upper_{lvl}']:.2f}",
                         f"{r['rmst']:.2f} ({'tot' if nl else 'to'} {r['horizon']:g})")
    console.print(km_table)
    for note in res.notes:
        console.print(f"[yellow]Note:[/] {note}", highlight=False)
    console.print(f"{len(pub.tables)} tables, {len(pub.figures)} figures -> {report.out_dir}", highlight=False)


def main() -> None:
    """Entry point of the ``caseload`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
