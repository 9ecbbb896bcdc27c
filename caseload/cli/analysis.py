"""Single analyses beside the report: ``kpi``, ``capacity``, ``forecast``, ``durations``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from caseload.cli._app import (
    ConfigOption,
    FilesArgument,
    LangOption,
    MappingOption,
    _beside_report,
    _lang,
    _read_for_analysis,
    app,
    console,
    friendly_errors,
    num,
    pct,
    say,
)
from caseload.errors import CaseloadError

# --- kpi ---


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
    from caseload.schema import pick_label

    cfg, cs, lang = _read_for_analysis(files or [], config, mapping, lang)
    targets = None
    if cfg.kpi.sheltered_targets is not None:
        path = cfg.resolve(cfg.kpi.sheltered_targets)
        if not path.is_file():
            raise CaseloadError("sheltered-work target file not found.", file=path,
                                fix="Point [kpi] sheltered_targets to a CSV with columns year,target.")
        targets = pd.read_csv(path)
    with console.status(say("kpi_computing")):
        res = kpi_results(cs, cfg, sheltered_targets=targets, lang=lang)
        pub = Publication(f"{cfg.report.title}: KPI", cs.peildatum, cfg.report.source, lang=lang,
                          min_cell=cfg.privacy.min_cell)
        add_kpi_to_publication(pub, res, lang=lang, config=cfg)
    out_dir = out if out is not None else _beside_report(cfg, "kpi")
    with console.status(say("console_writing", path=out_dir)):
        report = write_report(pub, out_dir)
    lvl = f"{1 - cfg.kpi.alpha:g}"
    small = cfg.privacy.min_cell
    table = Table(title=say("kpi_title", months=cfg.kpi.months, target=pct(cfg.kpi.target, 0))
                  + f" (cohort {res.cohort[0]:%d-%m-%Y} - {res.cohort[1]:%d-%m-%Y})")
    for col, just in ((say("kpi_group"), "left"), ("n", "right"),
                      (say("kpi_estimate", level=pct(float(lvl), 0)), "right"),
                      (say("kpi_naive"), "right"), (say("kpi_censored"), "right"),
                      (say("kpi_judgement"), "left")):
        table.add_column(col, justify=just)
    for r in res.outflow.to_dict("records"):
        label = " ".join(str(r[c]) for c in res.by) or say("kpi_total")
        hide = r["n_spells"] < small
        est = "x" if hide else f"{pct(r['estimate'])} ({pct(r[f'lower_{lvl}'])} - {pct(r[f'upper_{lvl}'])})"
        table.add_row(label, f"< {small}" if hide else num(r["n_spells"]), est,
                      "x" if hide else pct(r["naive_share"]), num(r["n_censored"]),
                      pick_label(JUDGEMENT[r["judgement"]], lang))
    console.print(table)

    def _n(v: int) -> str:
        return f"< {small}" if 0 < v < small else num(v)

    months, judged, recent = say("kpi_months"), say("kpi_judged"), say("kpi_too_recent")
    for name, t in ((say("kpi_durability"), res.durability), (say("kpi_revolving_door"), res.revolving_door)):
        parts = [f"{r['months']} {months}: {pct(r['share'])} ({judged} {_n(r['n_judged'])}, "
                 f"{recent} {_n(r['n_too_recent'])})" if r["n_judged"] >= small else
                 f"{r['months']} {months}: x ({judged} {_n(r['n_judged'])})" for r in t.to_dict("records")]
        console.print(f"{name}: " + "; ".join(parts), highlight=False)
    if res.benchmark is not None:
        b = res.benchmark
        parts = [f"{r['label']}: {num(r['value'], 1)} ({say('kpi_percentile')} {num(r['percentile'])})"
                 for r in b.to_dict("records") if pd.notna(r["percentile"])]
        console.print(say("kpi_benchmark", municipality=b.attrs["municipality"], year=b.attrs["year"],
                          n=len(b.attrs["peers"]), values="; ".join(parts)), highlight=False, soft_wrap=True)
    for note in res.notes:
        console.print(f"[yellow]{say('console_note')}:[/] {note}", highlight=False)
    console.print(say("console_written", tables=len(pub.tables), figures=len(pub.figures), path=report.out_dir),
                  highlight=False)


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
        raise typer.BadParameter(say("capacity_files_or_clients"), param_hint="--clients")
    if files:
        cfg, cs, lang = _read_for_analysis(files, config, mapping, lang)
        res = capacity_results(cs=cs, config=cfg, lang=lang)
        peil = cs.peildatum
    else:
        cfg = load_config(config)
        lang = _lang(lang, cfg)
        res = capacity_results(n_clients=clients, config=cfg, lang=lang)
        peil = None
    norm = res["norm"]
    table = Table(title=say("capacity_title"))
    for key, just in (("capacity_group", "left"), ("capacity_clients", "right"), ("capacity_contacts", "right"),
                      ("capacity_hours", "right"), ("capacity_fte", "right")):
        table.add_column(say(key), justify=just)
    for r in res["contacts"].to_dict("records"):
        table.add_row(r["label"], num(r["clients"], 1), num(r["contacts"]), num(r["hours"]), num(r["fte"], 2))
    console.print(table)
    console.print(say("capacity_line", fte=num(res["contacts"].attrs["fte"], 2),
                      minutes=f"{cfg.capacity.minutes_per_contact:g}",
                      hours=f"{cfg.capacity.productive_hours_per_fte:g}", clients=num(norm["n_clients"]),
                      per_fte=f"{norm['clients_per_fte']:g}", norm_fte=num(norm["fte"], 2),
                      rounded=num(norm["fte_rounded"], 1)), highlight=False)
    if out is not None:
        pub = Publication(say("capacity_report", title=cfg.report.title), peil if peil is not None else "today",
                          cfg.report.source, lang=lang, min_cell=cfg.privacy.min_cell)
        add_capacity_to_publication(pub, res, lang=lang, config=cfg)
        report = write_report(pub, out)
        console.print(say("console_written", tables=len(pub.tables), figures=len(pub.figures),
                          path=report.out_dir), highlight=False)


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

        with console.status(say("console_reading_extract")):
            cs = read_extract(list(files) if files else None, config=cfg)
    with console.status(say("forecast_fitting")):
        pub, results = run_steps(cfg, cs, ["forecast"], lang=lang)
    out_dir = out if out is not None else _beside_report(cfg, "forecast")
    report = write_report(pub, out_dir)
    tables = results["forecast"]
    summary = Table(title="caseload forecast")
    for key, just in (("forecast_table", "left"), ("forecast_rows", "right"), ("forecast_method", "left")):
        summary.add_column(say(key), justify=just)
    for name, df in tables.items():
        summary.add_row(name, num(len(df)), str(df["method"].iloc[0]) if len(df) else "")
    console.print(summary)
    tg = tables["nieuwe_doelgroepen"].drop_duplicates("municipality")
    for r in tg.itertuples(index=False):
        console.print(say("forecast_line", municipality=r.municipality, inflow=num(r.inflow, 1),
                          exit_rate=num(r.exit_rate, 4), structural=num(r.structural_implied)), highlight=False)
    for r in tables["controle_bron"].itertuples(index=False):
        console.print(f"[yellow]{say('forecast_check')}:[/] {escape(str(r.message))}", highlight=False)
    console.print(say("console_written", tables=len(pub.tables), figures=len(pub.figures), path=report.out_dir),
                  highlight=False)


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
    with console.status(say("console_reading_extract")):
        cs = read_extract(list(files or []) or None, mapping=mapping, config=cfg)
    with console.status(say("durations_estimating")):
        res = analyse_durations(cs.spells, cs.clients, cs.peildatum, cfg.durations, lang=lang,
                                min_cell=cfg.privacy.min_cell)
        pub = Publication(say("durations_report", title=cfg.report.title),
                          cs.peildatum, cfg.report.source, lang=lang, min_cell=cfg.privacy.min_cell)
        add_durations_to_publication(pub, res)
    out_dir = out if out is not None else _beside_report(cfg, "durations")
    with console.status(say("console_writing", path=out_dir)):
        report = write_report(pub, out_dir)

    el = res.tables["elapsed_table"]
    table = Table(title=say("durations_elapsed_title", peildatum=f"{res.peildatum:%d-%m-%Y}"))
    for col in el.columns:
        table.add_column(str(col), justify="left" if col == el.columns[0] else "right")
    small = cfg.privacy.min_cell
    for r in el.itertuples(index=False):
        hide = r[3] < small
        table.add_row(str(r[0]), "x" if hide else pct(r[1]), "x" if hide else num(r[2], 2),
                      f"< {small}" if hide else num(r[3]))
    console.print(table)
    lvl = f"{1 - cfg.durations.alpha:g}"
    per_year = {"years": 1, "months": 12, "days": 365.25}[res.time_unit]
    s = res.km.summary.join(res.km.restricted_mean(cfg.durations.horizon_years * per_year), rsuffix="_rmst")
    title = say("durations_km_title", unit=say(f"durations_{res.time_unit}"))
    title += (say("durations_late_entry", date=f"{res.window_start:%d-%m-%Y}") if res.window_start is not None
              else ")")
    km_table = Table(title=title)
    heads = (say("durations_group"), "n", say("durations_exits"), say("durations_median"),
             say("durations_interval", level=pct(float(lvl), 0)), say("durations_rmst"))
    for i, col in enumerate(heads):
        km_table.add_column(col, justify="left" if i == 0 else "right")
    for label, r in s.iterrows():
        if r["n"] < small:
            km_table.add_row(str(label), f"< {small}", "x", "x", "x", "x")
            continue
        km_table.add_row(str(label), num(r["n"]), num(r["events"]), num(r["median"], 2),
                         f"{num(r[f'lower_{lvl}'], 2)} - {num(r[f'upper_{lvl}'], 2)}",
                         say("durations_to", value=num(r["rmst"], 2), horizon=f"{r['horizon']:g}"))
    console.print(km_table)
    for note in res.notes:
        console.print(f"[yellow]{say('console_note')}:[/] {note}", highlight=False)
    console.print(say("console_written", tables=len(pub.tables), figures=len(pub.figures), path=report.out_dir),
                  highlight=False)
