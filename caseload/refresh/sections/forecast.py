"""Forecast section: the tables of :func:`caseload.forecast.forecast_tables` and their figures."""

from __future__ import annotations

import pandas as pd

from caseload.refresh.context import RunContext
from caseload.schema import municipality_name
from caseload.schema.labels import label_table

_FORECAST_LABELS = label_table("headers.forecast")


def _labels(ctx: RunContext, columns, extra: dict | None = None) -> dict[str, str]:
    """Report-language headers for the columns that have one; interval columns by level."""
    table = {**_FORECAST_LABELS, **(extra or {})}
    out = {}
    for c in columns:
        if c in table:
            out[c] = ctx.words(*table[c])
        elif str(c).startswith(("lo_", "hi_", "lower_", "upper_")):
            side, level = str(c).rsplit("_", 1)
            lo = side in ("lo", "lower")
            out[c] = (ctx.words("Ondergrens", "Lower") if lo else ctx.words("Bovengrens", "Upper")) \
                + f" {level}%"
    return out


def _split_provenance(table: pd.DataFrame) -> tuple[pd.DataFrame, str, str | None]:
    """The forecast table and its method and parameters (for the Toelichting).

    The method, parameters and peildatum columns stay in the table too: a forecast
    CSV read on its own must still say how it was made (issue: "CSV and XLSX with
    intervals, the method and parameters, and the data's peildatum").
    """
    method = str(table["method"].iloc[0]) if "method" in table.columns and len(table) else ""
    params = str(table["parameters"].iloc[0]) if "parameters" in table.columns and len(table) else None
    # statsforecast's `unique_id` names a series (a municipality), not a person; the
    # publication guard rightly refuses anything named like an id.
    table = table.rename(columns={"unique_id": "series"})
    return table, method, params


def _step_forecast(ctx: RunContext) -> int:
    from caseload.forecast import forecast_tables

    cfg, pub, w = ctx.config, ctx.publication, ctx.words
    tables = forecast_tables(ctx.caseload, cfg)
    if not (cfg.report.reproductions or ctx.keep_results):
        # Other municipalities' published tables (Stadskanaal/Veendam 2017) and their check:
        # in the batch report only when [report] reproductions = true (the `caseload forecast`
        # command and the notebooks show them).
        tables = {k: v for k, v in tables.items()
                  if k not in ("nieuwe_doelgroepen", "beschut_werk", "controle_bron")}
    ctx.results["forecast"] = tables
    section = w("Prognoses", "Forecasts")
    source_2017 = w("Raadsinformatie Stadskanaal en Veendam (2017); SZW taakstelling beschut werk",
                    "Council information Stadskanaal and Veendam (2017); national sheltered-work targets")
    model_note = w("Modeluitkomsten en cijfers uit een openbare bron, geen tellingen van personen "
                   "uit het bestand; geen onderdrukking nodig.",
                   "Model results and figures from a public source, not counts of persons from the "
                   "extract; no suppression needed.")
    specs = {
        "nieuwe_doelgroepen": dict(
            title=w("Nieuwe doelgroepen: bron en voorraad-stroommodel",
                    "New target groups: source and stock-flow model"),
            source=source_2017, suppression_note=model_note, decimals=3),
        "beschut_werk": dict(
            title=w("Beschut werk: plaatsen volgens de methode van de bron",
                    "Sheltered work: places by the source's method"),
            source=source_2017, suppression_note=model_note, decimals=4),
        "controle_bron": dict(
            title=w("Controle van de brontabel", "Checks of the source table"),
            source=source_2017, suppression_note=model_note, decimals=0),
        "caseload_prognose": dict(
            title=w("Prognose van het bestand per maand", "Monthly caseload forecast"),
            suppression_note=w("Modelprognoses (ETS), geen tellingen van personen; geen "
                               "onderdrukking nodig.",
                               "Model forecasts (ETS), not counts of persons; no suppression "
                               "needed."), decimals=1),
        "caseload_scenarios": dict(
            title=w("Prognose van het bestand met scenario's", "Caseload forecast with scenarios"),
            suppression_note=w("Modelprognoses en scenario's, geen tellingen van personen; geen "
                               "onderdrukking nodig.",
                               "Model forecasts and scenarios, not counts of persons; no suppression "
                               "needed."), decimals=1),
        "nieuwe_doelgroepen_extract": dict(
            title=w("Nieuwe doelgroepen in het bestand: voorraad per 31 december en model",
                    "New target groups in the extract: stock on 31 December and model"),
            counts=["observed"], derived={"residual": "observed"}, secondary=False,
            suppression_note=w("Geen secundaire onderdrukking: de rijen zijn standen op "
                               "verschillende data en tellen niet op. Het verschil met het model "
                               "is ook niet getoond waar de stand onderdrukt is.",
                               "No secondary suppression: rows are stocks at different dates and "
                               "do not add up. The residual is suppressed with its stock."),
            decimals=2),
        "kandidaten": dict(
            title=w("Verwachte kandidaten per profiel-marktcombinatie per kwartaal",
                    "Expected candidates per profile-market combination per quarter"),
            suppression_note=w("Verwachte aantallen uit een Markov-model (gebroken getallen), geen "
                               "tellingen van personen; geen onderdrukking toegepast.",
                               "Expected numbers from a Markov model (fractions), not counts of "
                               "persons; no suppression applied."), decimals=1),
    }
    rows = 0
    for name, table in tables.items():
        spec = dict(specs.get(name, dict(title=name, suppression_note=model_note)))
        data, method, params = _split_provenance(table)
        if "peildatum" in table.columns and table["peildatum"].notna().any():
            spec.setdefault("peildatum", pd.Timestamp(table["peildatum"].dropna().iloc[0]))
        if params and len(params) <= 300:
            method = f"{method}. Parameters: {params}"
        pub.add_table(f"prognose_{name}", data, method=method, labels=_labels(ctx, data.columns),
                      section=section, **spec)
        rows += len(data)
    _forecast_figures(ctx, tables, section)
    return rows


def _forecast_figures(ctx: RunContext, tables: dict[str, pd.DataFrame], section: str) -> None:
    """The forecast module's figures for the tables that were made."""
    from caseload.figures import forecast as ff
    from caseload.forecast import monthly_stock

    pub, w, lang = ctx.publication, ctx.words, ctx.lang
    src = pub.source
    if "nieuwe_doelgroepen" in tables:
        t = tables["nieuwe_doelgroepen"]
        pub.add_figure("prognose_nieuwe_doelgroepen",
                       ff.target_groups_figure(t, lang=lang, peildatum=t["peildatum"].iloc[0]),
                       title=w("Nieuwe doelgroepen: bron en model", "New target groups: source and model"),
                       method=str(t["method"].iloc[0]), section=section,
                       source=w("Raadsinformatie Stadskanaal en Veendam (2017)",
                                "Council information Stadskanaal and Veendam (2017)"),
                       peildatum=t["peildatum"].iloc[0])
    if "beschut_werk" in tables:
        t = tables["beschut_werk"]
        pub.add_figure("prognose_beschut_werk",
                       ff.sheltered_work_figure(t, lang=lang, peildatum=t["peildatum"].iloc[0]),
                       title=w("Beschut werk per jaar", "Sheltered work per year"),
                       method=str(t["method"].iloc[0]), section=section,
                       source=w("Raadsinformatie Stadskanaal en Veendam (2017); SZW",
                                "Council information Stadskanaal and Veendam (2017); SZW"),
                       peildatum=t["peildatum"].iloc[0])
    if "caseload_prognose" in tables and ctx.caseload is not None and len(ctx.caseload.spells):
        fc = tables["caseload_prognose"]
        history = monthly_stock(ctx.caseload.spells, peildatum=ctx.caseload.peildatum)
        ids = [u for u in dict.fromkeys(fc["unique_id"].astype(str))
               if u in set(history["unique_id"].astype(str))][:6]
        for uid in ids:
            name = municipality_name(uid, pub.municipality_names)
            title = w(f"Prognose van het bestand: {name}", f"Caseload forecast: {name}")
            pub.add_figure(f"prognose_bestand_{uid.lower()}",
                           ff.fan_chart_figure(history, fc, uid, lang=lang, source=src,
                                               peildatum=pub.peildatum, title=title),
                           title=title, method=str(fc["method"].iloc[0]), section=section)
    if "caseload_scenarios" in tables and len(tables["caseload_scenarios"]):
        t = tables["caseload_scenarios"]
        history = monthly_stock(ctx.caseload.spells, peildatum=ctx.caseload.peildatum)
        from caseload.forecast import scenarios_from_config

        names = {s.name: s.label or s.describe(lang) for s in scenarios_from_config(ctx.config.forecast.scenarios)}
        for uid in list(dict.fromkeys(t["unique_id"].astype(str)))[:3]:
            name = municipality_name(uid, pub.municipality_names)
            pub.add_figure(f"prognose_scenarios_{uid.lower()}",
                           ff.scenarios_figure(history, t, uid, lang=lang, labels=names, source=src,
                                               peildatum=pub.peildatum),
                           title=w(f"Prognose met scenario's: {name}", f"Forecast with scenarios: {name}"),
                           method=str(t["method"].iloc[0]), section=section)
    if "kandidaten" in tables and len(tables["kandidaten"]):
        t = tables["kandidaten"]
        pub.add_figure("prognose_kandidaten",
                       ff.candidates_figure(t, lang=lang, source=src, peildatum=pub.peildatum),
                       title=w("Verwachte A-kandidaten per PMC per kwartaal",
                               "Expected A candidates per PMC per quarter"),
                       method=str(t["method"].iloc[0]), section=section)


