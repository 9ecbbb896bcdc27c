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
