"""Forecast section: the tables of :func:`caseload.forecast.forecast_tables` and their figures."""

from __future__ import annotations

import pandas as pd

from caseload.refresh.context import RunContext
from caseload.schema import municipality_name
from caseload.schema.labels import label_table, pick_label

_FORECAST_LABELS = label_table("headers.forecast")
_T = label_table("report.sections.forecast")


def _words(ctx: RunContext):
    """``w(key, **values)``: a text of ``[report.sections.forecast]`` in the run's language."""
    return lambda key, **values: pick_label(_T[key], ctx.lang, **values)


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
            out[c] = pick_label(_T["lower" if lo else "upper"], ctx.lang, level=level)
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

    cfg, pub, w = ctx.config, ctx.publication, _words(ctx)
    tables = forecast_tables(ctx.caseload, cfg)
    if not (cfg.report.reproductions or ctx.keep_results):
        # Other municipalities' published tables (Stadskanaal/Veendam 2017) and their check:
        # in the batch report only when [report] reproductions = true (the `caseload forecast`
        # command and the notebooks show them).
        tables = {k: v for k, v in tables.items()
                  if k not in ("nieuwe_doelgroepen", "beschut_werk", "controle_bron")}
    ctx.results["forecast"] = tables
    section = w("section")
    source_2017 = w("source_2017")
    model_note = w("model_note")
    specs = {  # the title of each table: the key of its name in the catalogue
        "nieuwe_doelgroepen": dict(source=source_2017, suppression_note=model_note, decimals=3),
        "beschut_werk": dict(source=source_2017, suppression_note=model_note, decimals=4),
        "controle_bron": dict(source=source_2017, suppression_note=model_note, decimals=0),
        "caseload_prognose": dict(suppression_note=w("prognose_note"), decimals=1),
        "caseload_scenarios": dict(suppression_note=w("scenarios_note"), decimals=1),
        "nieuwe_doelgroepen_extract": dict(
            counts=["observed"], derived={"residual": "observed"}, secondary=False,
            suppression_note=w("extract_note"), decimals=2),
        "kandidaten": dict(suppression_note=w("candidates_note"), decimals=1),
    }
    for name, spec in specs.items():
        spec["title"] = w(name)
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

    pub, w, lang = ctx.publication, _words(ctx), ctx.lang
    src = pub.source
    # The two projections of bundled public data, each with its own source and period.
    for table, name, draw, key in (("nieuwe_doelgroepen", "prognose_nieuwe_doelgroepen",
                                    ff.target_groups_figure, "fig_target_groups"),
                                   ("beschut_werk", "prognose_beschut_werk", ff.sheltered_work_figure,
                                    "fig_sheltered")):
        if table in tables:
            t = tables[table]
            peil = t["peildatum"].iloc[0]
            pub.add_figure(name, draw(t, lang=lang, peildatum=peil), title=w(key),
                           method=str(t["method"].iloc[0]), section=section,
                           source=w(f"{key}_source"), peildatum=peil)
    if "caseload_prognose" in tables and ctx.caseload is not None and len(ctx.caseload.spells):
        fc = tables["caseload_prognose"]
        history = monthly_stock(ctx.caseload.spells, peildatum=ctx.caseload.peildatum)
        ids = [u for u in dict.fromkeys(fc["unique_id"].astype(str))
               if u in set(history["unique_id"].astype(str))][:6]
        for uid in ids:
            name = municipality_name(uid, pub.municipality_names)
            title = w("fig_caseload", name=name)
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
                           title=w("fig_scenarios", name=name),
                           method=str(t["method"].iloc[0]), section=section)
    if "kandidaten" in tables and len(tables["kandidaten"]):
        t = tables["kandidaten"]
        pub.add_figure("prognose_kandidaten",
                       ff.candidates_figure(t, lang=lang, source=src, peildatum=pub.peildatum),
                       title=w("fig_candidates"),
                       method=str(t["method"].iloc[0]), section=section)


