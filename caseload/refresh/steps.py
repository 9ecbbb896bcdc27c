"""The steps of the batch run: each calls its module's public API and adds to the publication."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from caseload.refresh.context import RefreshError, RunContext
from caseload.refresh.stock import _TOTAL, age_rule_method, stock_composition, stock_on
from caseload.schema import HOUSEHOLD, LADDER, SEX, municipality_name

# ----------------------------------------------------------------- step: validate


def _step_validate(ctx: RunContext) -> int:
    from caseload import read_extract
    from caseload.extract.rejections import REASONS, REASONS_NL

    cfg = ctx.config
    ex = cfg.extract
    if not ex.files:
        raise RefreshError("the config names no extract files.",
                           fix="Add `files = [...]` under [extract] in caseload.toml.")
    files = [cfg.resolve(f) for f in ex.files]
    ctx.publication.inputs.extend(files)
    cl = read_extract(files, mapping=ex.mapping, peildatum=ex.peildatum, config=cfg)
    ctx.caseload = cl
    if cl.peildatum is not None:
        ctx.publication.peildatum = pd.Timestamp(cl.peildatum)
    pub, w = ctx.publication, ctx.words
    section = w("Controle van het bestand", "Extract validation")
    rep = cl.report.copy()
    rep["file"] = rep["file"].map(lambda p: Path(str(p)).name)
    pub.add_table(
        "bestanden", rep[["file", "table", "rows_read", "rows_loaded", "rows_rejected"]],
        title=w("Ingelezen bestanden", "Files read"),
        method=w("Per bestand: gelezen rijen = geladen rijen + afgewezen rijen.",
                 "Per file: rows read = rows loaded + rows rejected."),
        labels={"file": w("Bestand", "File"), "table": w("Tabel", "Table"),
                "rows_read": w("Rijen gelezen", "Rows read"),
                "rows_loaded": w("Rijen geladen", "Rows loaded"),
                "rows_rejected": w("Rijen afgewezen", "Rows rejected")},
        suppression_note=w("Aantallen bestandsrijen, geen statistiek over personen; niet onderdrukt.",
                           "Counts of file rows, not statistics about persons; not suppressed."),
        section=section,
    )
    rej = cl.rejected
    if len(rej):
        summ = (rej.assign(file=rej["file"].map(lambda p: Path(str(p)).name))
                .groupby(["file", "column", "reason"], dropna=False, observed=True)
                .size().rename("rows").reset_index()
                .sort_values(["file", "column", "reason"], kind="stable"))
        # The reason's explanation, not the row messages: those may quote file values.
        summ["fix"] = summ["reason"].map(REASONS_NL if ctx.lang == "nl" else REASONS).fillna("")
        pub.add_table(
            "afgewezen_rijen", summ,
            title=w("Afgewezen rijen naar reden", "Rejected rows by reason"),
            method=w("Rijen die niet door de controles kwamen, geteld per bestand, kolom en reden "
                     "(zonder de waarden zelf). De rijen staan met rijnummer in Caseload.rejected.",
                     "Rows that failed the checks, counted per file, column and reason (without the "
                     "values). The rows with row numbers are in Caseload.rejected."),
            labels={"file": w("Bestand", "File"), "column": w("Kolom", "Column"),
                    "reason": w("Reden", "Reason"), "rows": w("Rijen", "Rows"),
                    "fix": w("Toelichting", "Explanation")},
            suppression_note=w("Aantallen bestandsrijen, geen statistiek over personen; niet onderdrukt.",
                               "Counts of file rows, not statistics about persons; not suppressed."),
            section=section,
        )
    return int(sum(len(t) for t in cl.tables().values()))


# -------------------------------------------------------------------- step: stock


def _step_stock(ctx: RunContext) -> int:
    from caseload.figures.style import PALETTE, finish, fmt_number, new_figure
    from caseload.publish import suppress_table

    cl, pub, w, lang = ctx.caseload, ctx.publication, ctx.words, ctx.lang
    stock = stock_on(cl, age_rule=ctx.config.durations.age_rule)
    ctx.results["stock"] = stock
    section = w("Samenstelling van het bestand", "Composition of the caseload")
    age = age_rule_method(stock, lang)
    method = w("Cliënten met een lopende uitkering op de peildatum, elk één keer geteld; "
               f"{age}, op de peildatum; trede van de laatste diagnose.",
               "Clients with a benefit running on the reference date, each counted once; "
               f"{age}, on the reference date; ladder step of the latest assessment.")
    items = {}
    dims = [
        ("leeftijd", "age_band", None, w("Leeftijd", "Age"),
         w("Bestand naar leeftijd", "Caseload by age")),
        ("geslacht", "sex", SEX, None, w("Bestand naar geslacht", "Caseload by sex")),
        ("leefvorm", "household", HOUSEHOLD, None, w("Bestand naar leefvorm", "Caseload by household")),
        ("trede", "ladder_step", LADDER, w("Trede participatieladder", "Ladder step"),
         w("Bestand naar trede op de participatieladder", "Caseload by participation-ladder step")),
    ]
    for name, col, codes, label, title in dims:
        if col not in stock.columns or stock[col].notna().sum() == 0:
            continue
        if col == "age_band" and "durations" in ctx.steps:
            # The durations step publishes the same stock by age band (the Losser table).
            # Two tables with the same counts but different complementary suppressions
            # would let a reader recover a suppressed cell from the other table.
            continue
        table = stock_composition(stock, col, codes, lang, label)
        items[col] = pub.add_table(
            f"bestand_{name}", table, title=title, method=method, counts=["aantal"],
            percentages={"percentage": int(table["aantal"].iloc[-1])},
            derived={"percentage": "aantal"}, row_total=_TOTAL[lang],
            labels={"aantal": w("Aantal", "Count"), "percentage": w("Procent", "Percent")},
            decimals=1, section=section)
    if "ladder_step" in items:
        # The figure shows the published (suppressed) table, so that it cannot reveal
        # a cell the table hides.
        shown, _ = suppress_table(items["ladder_step"], pub.min_cell, protection=pub.protection_level)
        steps = [LADDER.label(k, lang) for k in LADDER]
        shown = shown[shown.iloc[:, 0].isin(steps)]
        fig, ax = new_figure(8, 4.5)
        counts = shown["aantal"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)[::-1]
        ax.barh(shown.iloc[::-1, 0], np.nan_to_num(counts), color=PALETTE[0])
        hidden = w("niet getoond", "suppressed")
        for y, v in enumerate(counts):
            ax.text(0 if np.isnan(v) else v, y, f" {hidden}" if np.isnan(v) else f" {fmt_number(v, 0, lang)}",
                    va="center", fontsize=8, color="#555555" if np.isnan(v) else "#000000")
        ax.set_xlabel(w("aantal cliënten", "number of clients"))
        title = w("Bestand naar trede op de participatieladder",
                  "Caseload by participation-ladder step")
        finish(fig, title=title, source=pub.source, peildatum=pub.peildatum, lang=lang)
        pub.add_figure("bestand_trede", fig, title=title, method=method, section=section,
                       caption=w("Aantallen als in de tabel; niet getoond = onthullingscontrole.",
                                 "Counts as in the table; suppressed = disclosure control."))
    return len(stock)


# ------------------------------------------------------------ steps: flows, durations

_FLOW_LABELS = {
    "municipality": ("Gemeente", "Municipality"), "year": ("Jaar", "Year"),
    "month": ("Maand", "Month"), "stock_end": ("Bestand eind van het jaar", "Stock at year end"),
    "stock": ("Bestand einde maand", "Stock at month end"), "inflow": ("Instroom", "Inflow"),
    "outflow": ("Uitstroom", "Outflow"), "outflow_work": ("Uitstroom naar werk", "Outflow to work"),
}


def _step_flows(ctx: RunContext) -> int:
    from caseload.figures.style import PALETTE, finish, new_figure
    from caseload.flows import monthly_flows

    cl, pub, w, lang = ctx.caseload, ctx.publication, ctx.words, ctx.lang
    flows = monthly_flows(cl.spells, by=("municipality",))
    ctx.results["flows"] = flows
    section = w("Instroom, uitstroom en bestand", "Inflow, outflow and stock")
    labels = {k: w(*v) for k, v in _FLOW_LABELS.items()}
    method = w("Uitkeringen (personen) per maand volgens caseload.flows: in het bestand aan het eind "
               "van de maand als begonnen op of voor de laatste dag en niet daarvoor geëindigd; "
               "bestand(t) = bestand(t-1) + instroom(t) - uitstroom(t). Uitstroom naar werk: reden "
               "werk of werk deels. Dit bestand telt uitkeringen: een cliënt met twee lopende "
               "uitkeringen (in twee gemeenten of na elkaar zonder einddatum) telt twee keer; de "
               "tabellen naar geslacht, leefvorm en groep A/B/C tellen elke cliënt één keer.",
               "Benefits (persons) per month by caseload.flows: in the stock at month end when started "
               "on or before the last day and not ended before it; stock(t) = stock(t-1) + inflow(t) "
               "- outflow(t). Outflow to work: end reason werk or werk_deels. This stock counts "
               "benefits: a client with two running benefits counts twice; the tables by sex, "
               "household and group A/B/C count every client once.")
    work_cols = [c for c in ("outflow_werk", "outflow_werk_deels") if c in flows.columns]
    f = flows.assign(outflow_work=flows[work_cols].sum(axis=1) if work_cols else 0,
                     year=flows["month"].dt.year)
    last_year = int(pd.Timestamp(pub.peildatum).year)
    years = f[f["year"].between(last_year - 4, last_year)]
    # Year totals per municipality: inflow and outflow add up over the months; the stock is
    # that of the year's last month present (December, or the peildatum's month).
    yearly = (years.sort_values("month").groupby(["municipality", "year"], sort=True)
              .agg(inflow=("inflow", "sum"), outflow=("outflow", "sum"),
                   outflow_work=("outflow_work", "sum"), stock_end=("stock", "last"))
              .reset_index())
    yearly["municipality"] = yearly["municipality"].astype(str)
    total = (f.groupby("month", sort=True)[["stock", "inflow", "outflow", "outflow_work"]].sum()
             .reset_index())
    recent = total[total["month"] > total["month"].max() - 24].reset_index(drop=True)
    rel_year, rel_month = _flow_relations(yearly, recent, total)
    pub.add_table("stromen_per_jaar", yearly,
                  title=w("Instroom, uitstroom en bestand per gemeente per jaar",
                          "Inflow, outflow and stock per municipality per year"),
                  method=method, counts=["inflow", "outflow", "outflow_work", "stock_end"],
                  labels=labels, section=section, relations=rel_year,
                  suppression_note=w("Het jaar van de peildatum loopt tot de peildatum.",
                                     "The year of the reference date runs to the reference date."))
    recent["month"] = recent["month"].astype(str)
    pub.add_table("stromen_per_maand", recent,
                  title=w("Bestand, instroom en uitstroom per maand (alle gemeenten, 24 maanden)",
                          "Stock, inflow and outflow per month (all municipalities, 24 months)"),
                  method=method, counts=["stock", "inflow", "outflow", "outflow_work"],
                  labels=labels, section=section, relations=rel_month)
    fig, ax = new_figure(9, 4.5)
    for i, (muni, g) in enumerate(f.groupby("municipality", sort=True)):
        g = g[g["month"] > g["month"].max() - 120]
        ax.plot(g["month"].dt.to_timestamp(), g["stock"], color=PALETTE[i % len(PALETTE)],
                label=municipality_name(muni, pub.municipality_names), linewidth=1.6)
    ax.set_ylabel(w("uitkeringen einde maand", "benefits at month end"))
    # From zero (a stock is a level), with headroom so the legend stays clear of the lines.
    ax.set_ylim(0, ax.get_ylim()[1] * 1.18)
    ax.legend(loc="upper left", ncols=min(f["municipality"].nunique(), 6))
    title = w("Bestand per gemeente, laatste tien jaar", "Stock per municipality, last ten years")
    finish(fig, title=title, source=pub.source, peildatum=pub.peildatum, lang=lang)
    pub.add_figure("stromen_bestand", fig, title=title, method=method, section=section)
    return len(flows)


def _flow_relations(yearly: pd.DataFrame, recent: pd.DataFrame, total: pd.DataFrame):
    """The relations a reader knows between the two flow tables (for the disclosure audit).

    Within each table: stock(t) = stock(t-1) + inflow(t) - outflow(t) (per municipality
    from year to year; over all municipalities from month to month) and outflow to work
    <= outflow. Between them: a year's inflow, outflow and outflow to work summed over
    the municipalities equal the sum of its months, and its year-end stocks the stock of
    its last month, for every year whose months are all in the monthly table. A relation
    is declared only when it holds in the numbers (a reader can use only true ones).
    """
    from caseload.privacy import audit as au

    year_rel: list = []
    month_rel: list = []
    n = len(recent)
    month_rel += au.stock_identity("stromen_per_maand", "stock", "inflow", "outflow", n)
    month_rel += [au.at_most(au.Cell("stromen_per_maand", r, "outflow_work"),
                             au.Cell("stromen_per_maand", r, "outflow"),
                             note="outflow to work <= outflow") for r in range(n)]
    for _muni, g in yearly.groupby("municipality", sort=False):
        rows = g.sort_values("year").index.tolist()
        for a, b in zip(rows, rows[1:], strict=False):
            if int(yearly.at[b, "year"]) != int(yearly.at[a, "year"]) + 1:
                continue
            year_rel.append(au.Relation(
                ((au.Cell("stromen_per_jaar", b, "stock_end"), 1.0),
                 (au.Cell("stromen_per_jaar", a, "stock_end"), -1.0),
                 (au.Cell("stromen_per_jaar", b, "inflow"), -1.0),
                 (au.Cell("stromen_per_jaar", b, "outflow"), 1.0)), "==", 0.0, "identity",
                "stock_end(y) = stock_end(y-1) + inflow(y) - outflow(y)"))
    year_rel += [au.at_most(au.Cell("stromen_per_jaar", r, "outflow_work"),
                            au.Cell("stromen_per_jaar", r, "outflow"), note="outflow to work <= outflow")
                 for r in range(len(yearly))]
    months = recent["month"]
    for year, g in yearly.groupby("year", sort=True):
        in_total = total[total["month"].dt.year == year]
        in_recent = recent.index[months.dt.year == year].tolist()
        if not in_recent or len(in_recent) != len(in_total):
            continue
        for col in ("inflow", "outflow", "outflow_work"):
            year_rel.append(au.Relation(
                (*((au.Cell("stromen_per_jaar", r, col), 1.0) for r in g.index),
                 *((au.Cell("stromen_per_maand", m, col), -1.0) for m in in_recent)),
                "==", 0.0, "same_count", f"{col} of the year over municipalities = sum of its months"))
        year_rel.append(au.sum_relation([au.Cell("stromen_per_jaar", r, "stock_end") for r in g.index],
                                        au.Cell("stromen_per_maand", in_recent[-1], "stock"),
                                        kind="same_count",
                                        note="year-end stocks over municipalities = stock of the last month"))
    first = recent["month"].iloc[0] - 1 if n else None
    if first is not None and first.month == 12:
        prev = yearly[yearly["year"] == first.year]
        month_rel.append(au.Relation(
            ((au.Cell("stromen_per_maand", 0, "stock"), 1.0),
             *((au.Cell("stromen_per_jaar", r, "stock_end"), -1.0) for r in prev.index),
             (au.Cell("stromen_per_maand", 0, "inflow"), -1.0),
             (au.Cell("stromen_per_maand", 0, "outflow"), 1.0)), "==", 0.0, "identity",
            "stock of the first month = year-end stocks before it + inflow - outflow"))
    frames = {"stromen_per_jaar": yearly, "stromen_per_maand": recent}
    return ([r for r in year_rel if au.relation_holds(r, frames)],
            [r for r in month_rel if au.relation_holds(r, frames)])


def _step_durations(ctx: RunContext) -> int:
    from caseload.durations.report import add_durations_to_publication, analyse_durations

    cl, cfg = ctx.caseload, ctx.config
    res = analyse_durations(cl.spells, cl.clients, cl.peildatum, cfg.durations, lang=ctx.lang,
                            min_cell=cfg.privacy.min_cell)
    add_durations_to_publication(ctx.publication, res)
    return int(res.km.n_.sum())


# ------------------------------------------------------------------ step: forecast

_FORECAST_LABELS = {
    "municipality": ("Gemeente", "Municipality"), "year": ("Jaar", "Year"),
    "published": ("Gepubliceerd", "Published"), "fitted": ("Model", "Model"),
    "residual": ("Verschil", "Residual"), "inflow": ("Instroom per jaar", "Inflow per year"),
    "exit_rate": ("Uitstroomkans per jaar", "Exit rate per year"),
    "structural_implied": ("Structureel niveau (model)", "Structural level (model)"),
    "structural_published": ("Structureel niveau (bron)", "Structural level (source)"),
    "places": ("Plaatsen", "Places"), "share": ("Aandeel landelijk", "Share of national"),
    "national_target": ("Landelijke taakstelling", "National target"),
    "basis": ("Grondslag", "Basis"), "difference": ("Verschil met bron", "Difference from source"),
    "national_status": ("Status landelijk cijfer", "Status of national figure"),
    "table": ("Tabel", "Table"), "row": ("Rij", "Row"), "column": ("Kolom", "Column"),
    "check": ("Controle", "Check"), "value": ("Waarde", "Value"),
    "expected": ("Verwacht", "Expected"), "message": ("Bevinding", "Finding"),
    "series": ("Reeks", "Series"), "ds": ("Maand", "Month"),
    "forecast": ("Prognose", "Forecast"), "model": ("Model", "Model"),
    "observed": ("Waargenomen", "Observed"), "pmc": ("PMC", "PMC"),
    "quarter": ("Kwartaal vooruit", "Quarters ahead"), "period": ("Kwartaal", "Quarter"),
    "A": ("Verwacht in A", "Expected in A"), "B": ("Verwacht in B", "Expected in B"),
    "C": ("Verwacht in C", "Expected in C"), "werk": ("Verwacht naar werk", "Expected to work"),
    "overig": ("Verwacht overige uitstroom", "Expected other exits"),
    "method": ("Methode", "Method"), "parameters": ("Parameters", "Parameters"),
    "peildatum": ("Peildatum", "Reference date"),
    "scenario": ("Scenario", "Scenario"), "scenario_difference": ("Verschil met basis", "Difference from base"),
    "monthly_inflow": ("Instroom per maand", "Inflow per month"),
    "monthly_exit_pct": ("Uitstroomkans per maand (%)", "Exit rate per month (%)"),
}


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


# -------------------------------------------------------------------- step: segment

_FAIRNESS_LABELS = {
    "work_rate": ("Uitstroom naar werk", "Exit to work"), "work_rate_lo": ("Uitstroom: ondergrens", "Exit: lower"),
    "work_rate_hi": ("Uitstroom: bovengrens", "Exit: upper"),
    "calibration_lo": ("Kalibratie: ondergrens", "Calibration: lower"),
    "calibration_hi": ("Kalibratie: bovengrens", "Calibration: upper"),
    "n_work": ("Aantal met werk", "Found work"), "n_nowork": ("Aantal zonder werk", "No work"),
    "missed": ("Gemiste kansen", "Missed chances"), "missed_lo": ("Gemiste kansen: ondergrens", "Missed: lower"),
    "missed_hi": ("Gemiste kansen: bovengrens", "Missed: upper"),
    "missed_expected": ("Gemiste kansen: verwacht", "Missed: expected"),
    "wrong_A": ("Onterecht A", "Wrongly A"), "wrong_A_lo": ("Onterecht A: ondergrens", "Wrongly A: lower"),
    "wrong_A_hi": ("Onterecht A: bovengrens", "Wrongly A: upper"),
    "wrong_A_expected": ("Onterecht A: verwacht", "Wrongly A: expected"),
    "expected_work": ("Verwachte uitstroom binnen kansklassen", "Expected exits within bands"),
    "band_ratio": ("Uitstroom binnen kansklassen (w/v)", "Exits within bands (o/e)"),
    "band_ratio_lo": ("Binnen kansklassen: ondergrens", "Within bands: lower"),
    "band_ratio_hi": ("Binnen kansklassen: bovengrens", "Within bands: upper"),
    "flag_unexplained": ("Signaal niet verklaard", "Flag unexplained"),
    "metric": ("Maat (code)", "Measure (code)"), "metric_label": ("Maat", "Measure"),
    "level_high": ("Groep hoog", "Group high"), "level_low": ("Groep laag", "Group low"),
    "value_high": ("Waarde hoog", "Value high"), "value_low": ("Waarde laag", "Value low"),
    "ratio": ("Verhouding", "Ratio"), "ratio_lo": ("Verhouding: ondergrens", "Ratio: lower"),
    "ratio_hi": ("Verhouding: bovengrens", "Ratio: upper"),
    "expected_ratio": ("Verklaard door basiskans", "Explained by base rates"),
    "residual_ratio": ("Restverhouding", "Residual ratio"),
    "residual_lo": ("Rest: ondergrens", "Residual: lower"), "residual_hi": ("Rest: bovengrens", "Residual: upper"),
    "explanation": ("Duiding", "Reading"),
    "method": ("Methode", "Method"), "p_from": ("Kans vanaf", "Chance from"),
    "p_below": ("Kans onder", "Chance below"), "share": ("Aandeel", "Share"),
    "precision": ("Precisie", "Precision"), "precision_lo": ("Precisie: ondergrens", "Precision: lower"),
    "precision_hi": ("Precisie: bovengrens", "Precision: upper"),
    "status": ("Status (code)", "Status (code)"), "status_label": ("Status", "Status"),
}

_SEGMENT_LABELS = {
    "municipality": ("Gemeente", "Municipality"), "segment": ("Groep", "Group"),
    "profile": ("Profiel", "Profile"), "profile_label": ("Profielnaam", "Profile name"),
    "market": ("Markt", "Market"), "market_label": ("Marktnaam", "Market name"),
    "n": ("Aantal", "Count"), "pmc": ("PMC", "PMC"), "pmc_label": ("Profiel-marktcombinatie",
                                                              "Profile-market combination"),
    "candidates_A": ("Kandidaten A (nu)", "Candidates A (now)"),
    "candidates_B": ("Kandidaten B (3-6 maanden)", "Candidates B (3-6 months)"),
    "segment_computed": ("Berekende groep", "Computed group"), "label": ("Omschrijving", "Label"),
    "overridden": ("Overschreven", "Overridden"), "override_rate": ("Aandeel overschreven",
                                                                   "Share overridden"),
    "to_A": ("Naar A", "To A"), "to_B": ("Naar B", "To B"), "to_C": ("Naar C", "To C"),
    "group": ("Kenmerk (code)", "Characteristic (code)"), "group_label": ("Kenmerk", "Characteristic"),
    "level": ("Waarde", "Value"), "share_A": ("Aandeel A", "Share A"),
    "share_B": ("Aandeel B", "Share B"), "share_C": ("Aandeel C", "Share C"),
    "exit_rate": ("Uitstroom naar werk binnen 6 mnd", "Exit to work within 6 months"),
    "mean_p": ("Gemiddelde modelkans", "Mean model probability"),
    "calibration": ("Kalibratie", "Calibration"), "n_C": ("Aantal in C", "Count in C"),
    "exit_rate_C": ("Uitstroom naar werk in C", "Exit to work in C"),
    "expected_rate_C": ("Verwachte uitstroom in C", "Expected exit in C"),
    "ratio_share_C": ("Verhouding aandeel C", "Ratio share C"),
    "ratio_calibration": ("Verhouding kalibratie", "Ratio calibration"),
    "ratio_exit_rate_C": ("Verhouding uitstroom C", "Ratio exit C"),
    "flag_share_C": ("Signaal aandeel C", "Flag share C"),
    "flag_calibration": ("Signaal kalibratie", "Flag calibration"),
    "flag_exit_rate_C": ("Signaal uitstroom C", "Flag exit C"), "flag": ("Signaal", "Flag"),
    **_FAIRNESS_LABELS,
}


def _publish_fairness(pub, fair: pd.DataFrame, w, labels: dict, section: str) -> None:
    """The fairness report (per level) and its pairwise ratios (per attribute and metric)."""
    from caseload.segment import fairness_ratios

    ratios = fairness_ratios(fair)
    fair = fair.dropna(axis=1, how="all")
    base = {"share_": "n", "work_rate": "n", "missed": "n_work", "wrong_A": "n_nowork"}
    pcts = {c: b for c in fair.columns for k, b in base.items() if c.startswith(k)}
    derived = {c: "n" for c in ("mean_p", "calibration", "calibration_lo", "calibration_hi", "expected_work",
                                "band_ratio", "band_ratio_lo", "band_ratio_hi") if c in fair.columns}
    pub.add_table("segment_fairness", fair,
                  title=w("Eerlijkheid: groepen, uitkomsten en fouten per groep",
                          "Fairness: groups, outcomes and errors per group"),
                  method=w("Diagnoses uit de geschiedenis met een afgesloten periode van zes maanden. Per "
                           "kenmerk: aandeel A/B/C, uitstroom naar werk, kalibratie, gemiste kansen (werk "
                           "gevonden maar in C) en onterecht A (geen werk maar in A), elk met een "
                           "95%-Wilson-interval; 'verwacht': de foutkans als de groep binnen elke kansklasse "
                           "even vaak werk vond als iedereen. Signaal: de groep hoort bij een paar in de "
                           "tabel segment_fairness_verhoudingen met een signaal.",
                           "Past assessments with a closed six-month window. Per characteristic: share "
                           "A/B/C, exit to work, calibration, missed chances (found work but in C) and "
                           "wrongly A (no work but in A), each with a 95% Wilson interval; 'expected': the "
                           "error rate if the group found work as often as everyone within each probability "
                           "band. Flag: the group is one side of a flagged pair in segment_fairness_verhoudingen."),
                  counts=["n", "n_work", "n_nowork"], percentages=pcts, derived=derived, scale=1,
                  labels=labels, decimals=3, section=section)
    if len(ratios):
        pub.add_table("segment_fairness_verhoudingen", ratios,
                      title=w("Eerlijkheid: grootste verhouding tussen twee groepen",
                              "Fairness: largest ratio between two groups"),
                      method=w("Per kenmerk en maat de grootste verhouding tussen twee groepen (met ten "
                               "minste [segment] fairness_min_n personen in de noemer) met een 95%-interval "
                               "(deltamethode op de log-verhouding). Signaal: verhouding boven [segment] "
                               "fairness_ratio en het interval sluit 1 uit. 'Verklaard door basiskans': de "
                               "verhouding die volgt uit de verdeling van de groepen over kansklassen; wat "
                               "overblijft is de restverhouding.",
                               "Per characteristic and measure the largest ratio between two groups (with at "
                               "least [segment] fairness_min_n people in the denominator) with a 95% interval "
                               "(delta method on the log ratio). Flag: ratio above [segment] fairness_ratio and "
                               "the interval excludes 1. 'Explained by base rates': the ratio that follows from "
                               "the groups' spread over probability bands; what remains is the residual ratio."),
                      labels=labels, decimals=3, section=section)


def _candidates_as_published(candidates: pd.DataFrame, shown_pmc: pd.DataFrame) -> pd.DataFrame:
    """The candidates table with the A and B cells of the published (suppressed) PMC table.

    A PMC without clients in a group has no row in the PMC table and stays 0; a cell
    suppressed there is missing here.
    """
    ab = shown_pmc[shown_pmc["segment"].astype(str).isin(["A", "B"])]
    key = ab["municipality"].astype(str) + "|" + ab["profile"].astype(str) + "-" + ab["market"].astype(str)
    out = candidates.copy()
    out_key = out["municipality"].astype(str) + "|" + out["pmc"].astype(str)
    for seg in ("A", "B"):
        col = f"candidates_{seg}"
        shown = pd.Series(ab["n"].to_numpy(), index=key.to_numpy())[ab["segment"].astype(str).to_numpy() == seg]
        present = out_key.isin(shown.index)
        out[col] = pd.array(out[col], dtype="Int64")
        out.loc[present, col] = pd.array(shown.reindex(out_key[present]).to_numpy(), dtype="Int64")
    return out


def _pmc_relations(pmc: pd.DataFrame, summary: pd.DataFrame) -> list:
    """The PMC counts of a municipality and group add up to its cell in segment_per_gemeente.

    Declared only where that holds (a group without any PMC row has nothing to add up).
    """
    from caseload.privacy import audit as au

    pmc = pmc.reset_index(drop=True)
    frames = {"segment_pmc": pmc, "segment_per_gemeente": summary}
    rows = {str(m): i for i, m in enumerate(summary["municipality"].astype(str))}
    out = []
    for (muni, seg), g in pmc.groupby([pmc["municipality"].astype(str), pmc["segment"].astype(str)],
                                      sort=False):
        if muni not in rows or seg not in summary.columns:
            continue
        rel = au.sum_relation([au.Cell("segment_pmc", int(r), "n") for r in g.index],
                              au.Cell("segment_per_gemeente", rows[muni], seg), kind="same_count",
                              note="PMC counts of a municipality and group = its cell per municipality")
        if au.relation_holds(rel, frames):
            out.append(rel)
    return out


def _override_relations(rates: pd.DataFrame, summary: pd.DataFrame, total: str) -> list:
    """What a reader can compute from the overrides table (for the disclosure audit).

    Per computed group: overridden = to A + to B + to C, overridden <= clients; and per
    group the clients after the overrides (the total row of segment_per_gemeente) =
    clients computed - overridden away + overridden into it. Declared where they hold.
    """
    from caseload.privacy import audit as au

    name = "segment_overschrijvingen"
    rates = rates.reset_index(drop=True)
    frames = {name: rates, "segment_per_gemeente": summary}
    to = [c for c in rates.columns if str(c).startswith("to_")]
    rels = []
    for r in range(len(rates)):
        rels.append(au.sum_relation([au.Cell(name, r, c) for c in to], au.Cell(name, r, "overridden"),
                                    kind="total", note="overridden = to A + to B + to C"))
        rels.append(au.at_most(au.Cell(name, r, "overridden"), au.Cell(name, r, "n"),
                               note="overridden <= clients"))
    tot = [i for i, m in enumerate(summary["municipality"].astype(str)) if m == total]
    for r, seg in enumerate(rates["segment_computed"].astype(str)):
        if len(tot) != 1 or seg not in summary.columns or f"to_{seg}" not in rates.columns:
            continue
        into = [au.Cell(name, h, f"to_{seg}") for h in range(len(rates)) if h != r]
        rels.append(au.Relation(((au.Cell(name, r, "n"), 1.0), (au.Cell(name, r, "overridden"), -1.0),
                                 *((c, 1.0) for c in into),
                                 (au.Cell("segment_per_gemeente", tot[0], seg), -1.0)), "==", 0.0,
                                "identity", "clients after overrides = computed - away + into"))
        rels.append(au.same_count(au.Cell(name, r, "n"), au.Cell("segment_per_gemeente", tot[0], seg),
                                  note="clients per group, as in the table per municipality"))
    return [r for r in rels if au.relation_holds(r, frames)]


def _step_segment(ctx: RunContext) -> int:
    from caseload.extract import read_overrides
    from caseload.figures.segments import pmc_heatmap_figure, pyramid_figure
    from caseload.privacy import load_key
    from caseload.publish import suppress_table
    from caseload.segment import load_model, segment

    cfg, pub, w, lang = ctx.config, ctx.publication, ctx.words, ctx.lang
    model = overrides = None
    if cfg.segment.model_file is not None:
        path = cfg.resolve(cfg.segment.model_file)
        model = load_model(path)
        pub.inputs.append(path.with_suffix(".skops"))
    if cfg.segment.overrides_file is not None:
        path = cfg.resolve(cfg.segment.overrides_file)
        key_file = cfg.privacy.key_file
        overrides = read_overrides(path, load_key(cfg.resolve(key_file) if key_file else None))
        if ctx.subset:  # one municipality's part: the other municipalities' overrides are not unknown
            overrides = overrides[overrides["client_id"].isin(ctx.caseload.clients["client_id"])]
        pub.inputs.append(path)
    res = segment(ctx.caseload, cfg, overrides=overrides, model=model, lang=lang)
    if ctx.keep_results:  # the single-analysis command prints from it
        ctx.results["segment"] = res
    section = w("Segmenten en profiel-marktcombinaties", "Segments and profile-market combinations")
    labels = {k: w(*v) for k, v in _SEGMENT_LABELS.items()}
    method = w(f"Cliënten met een lopende uitkering op de peildatum; A/B/C volgens "
               f"{'de regels' if res.decided_by == 'rules' else 'het model'} van [segment], profiel "
               "uit de competentiescores, markt volgens de koppeling profiel-markt.",
               f"Clients with a benefit running on the reference date; A/B/C by the "
               f"{'rules' if res.decided_by == 'rules' else 'model'} of [segment], profile from the "
               "competence scores, market by the profile-market links.")
    total = _TOTAL[lang]
    summary = res.summary()
    summary.columns = [str(c) for c in summary.columns]
    summary = summary.rename_axis("municipality").reset_index()
    summary["municipality"] = summary["municipality"].astype(str)
    per_gemeente = pub.add_table(
        "segment_per_gemeente", summary,
        title=w("Cliënten naar groep A/B/C per gemeente", "Clients by group A/B/C per municipality"),
        method=method + w(" Telt ook cliënten van wie de uitkering op de peildatum eindigt (de "
                          "peildatum is hun laatste dag); de tabellen naar geslacht en leefvorm en het "
                          "bestand per maand tellen alleen uitkeringen die na de peildatum doorlopen. "
                          "Het totaal kan daardoor iets hoger zijn.",
                          " Also counts clients whose benefit ends on the reference date (their last "
                          "day); the tables by sex and household and the monthly stock count only "
                          "benefits that run on after it. The total can therefore be slightly higher."), counts=[c for c in summary.columns if c != "municipality"],
        row_total=total, col_total=total, labels=labels, section=section)
    pmc_item = pub.add_table(
        "segment_pmc", res.pmc_table,
        title=w("Cliënten naar gemeente, groep, profiel en markt",
                "Clients by municipality, group, profile and market"),
        method=method, counts=["n"], layout="long", by=["municipality", "segment"],
        labels=labels, section=section, relations=_pmc_relations(res.pmc_table, summary),
        suppression_note=w("Secundaire onderdrukking binnen elke combinatie van gemeente "
                           "en groep (die totalen staan in de tabel per gemeente).",
                           "Secondary suppression within each municipality and group "
                           "(those totals are in the table per municipality)."))
    # The candidates are the A and B cells of segment_pmc. Suppressing them again on their
    # own would give another pattern of complementary cells, and the two tables together
    # could reveal a hidden cell; so they are taken from segment_pmc as published.
    shown_pmc = suppress_table(pmc_item, pub.min_cell, protection=pub.protection_level)[0]
    pub.add_table("segment_kandidaten", _candidates_as_published(res.candidates, shown_pmc),
                  title=w("Kandidaten voor werkgevers per profiel-marktcombinatie",
                          "Candidates for employers per profile-market combination"),
                  method=w("A: nu bemiddelbaar; B: binnen 3-6 maanden. ", "A: can start now; B: within "
                           "3-6 months. ") + method,
                  labels=labels, section=section,
                  suppression_note=w("De cellen van groep A en B uit de tabel naar gemeente, groep, "
                                     "profiel en markt, met de onderdrukking van die tabel (x).",
                                     "The group A and B cells of the table by municipality, group, "
                                     "profile and market, suppressed as in that table (x)."))
    pub.add_table("segment_overschrijvingen", res.override_rates,
                  relations=_override_relations(res.override_rates, summary, total),
                  title=w("Overschrijvingen door consulenten", "Caseworker overrides"),
                  method=w("Per berekende groep: hoe vaak een consulent de groep met een reden "
                           "wijzigde, en naar welke groep.", "Per computed group: how often a "
                           "caseworker changed the group with a reason, and to which group."),
                  counts=["n", "overridden", "to_A", "to_B", "to_C"],
                  percentages={"override_rate": "n"}, derived={"override_rate": "overridden"},
                  labels=labels, section=section)
    if res.overrides_log is not None and len(res.overrides_log):
        # Counts per status only: the log itself holds client ids (INTERNAL).
        status = (res.overrides_log.groupby(["status", "status_label"], sort=False).size()
                  .rename("n").reset_index())
        pub.add_table("segment_overschrijvingen_status", status,
                      title=w("Overschrijvingen die niet (gewoon) zijn toegepast",
                              "Overrides not applied (or applied with a remark)"),
                      method=w("Per reden: onbekende cliënt, datum na de peildatum, verlopen (ouder dan de "
                               "laatste diagnose), vervangen door een latere; toegepast met opmerking: "
                               "geschreven tegen de groepen van een andere methode, datum dd/mm of mm/dd "
                               "(gelezen als dag/maand).",
                               "Per reason: unknown client, date after the peildatum, expired (older than the "
                               "latest assessment), superseded by a later one; applied with a remark: written "
                               "against another method's groups, date dd/mm or mm/dd (read day first)."),
                      counts=["n"], labels=labels, section=section)
    if res.cutoff_table is not None and len(res.cutoff_table):
        pub.add_table("segment_afkappunten", res.cutoff_table,
                      title=w("Afkappunten A/B/C en wat ze opleveren", "Cut-offs A/B/C and what they deliver"),
                      method=w("Afkappunten volgens [segment] cutoffs (vast, 'capacity': B = de b_capacity "
                               "cliënten met de hoogste kans onder A, of 'quantile'), toegepast op de "
                               "geschiedenis: per groep aantal, aandeel, uitstroom naar werk (95%-Wilson-"
                               "interval) en precisie (A: vond werk; C: vond geen werk).",
                               "Cut-offs by [segment] cutoffs (fixed, 'capacity': B = the b_capacity clients "
                               "with the highest chance below A, or 'quantile'), applied to history: per group "
                               "count, share, exit to work (95% Wilson interval) and precision (A: found work; "
                               "C: did not)."),
                      counts=["n", "n_work"],
                      percentages={"share": "n", "work_rate": "n", "work_rate_lo": "n", "work_rate_hi": "n",
                                   "precision": "n", "precision_lo": "n", "precision_hi": "n"},
                      scale=1, labels=labels, decimals=3, section=section)
    if res.fairness is not None and len(res.fairness):
        _publish_fairness(pub, res.fairness, w, labels, section)
    src = pub.source
    # The figures draw the published (suppressed) tables, so they cannot reveal a cell
    # the tables hide.
    shown_summary = suppress_table(per_gemeente, pub.min_cell, protection=pub.protection_level)[0].set_index("municipality")
    names = {str(m): municipality_name(m, pub.municipality_names) for m in shown_summary.index}
    pub.add_figure("segment_piramide", pyramid_figure(res, lang, src, min_cell=pub.min_cell,
                                                      table=shown_summary, municipality_names=names),
                   title=w("Groepen A/B/C per gemeente", "Groups A/B/C per municipality"),
                   method=method, section=section)
    pub.add_figure("segment_pmc_heatmap", pmc_heatmap_figure(res, lang, src, min_cell=pub.min_cell,
                                                             table=shown_pmc),
                   title=w("Cliënten per profiel en markt", "Clients per profile and market"),
                   method=method, section=section)
    return len(res.clients)


# ------------------------------------------------------------- steps: kpi, capacity


def _step_kpi(ctx: RunContext) -> int:
    from caseload.kpi.report import add_kpi_to_publication, kpi_results

    cfg = ctx.config
    targets = None
    if cfg.kpi.sheltered_targets is not None:
        path = cfg.resolve(cfg.kpi.sheltered_targets)
        ctx.publication.inputs.append(path)
        targets = pd.read_csv(path)
    res = kpi_results(ctx.caseload, cfg, sheltered_targets=targets, lang=ctx.lang)
    ctx.results["kpi"] = res
    add_kpi_to_publication(ctx.publication, res, lang=ctx.lang, config=cfg)
    return int(res.outflow["n_spells"].iloc[-1]) if len(res.outflow) else 0


def _step_capacity(ctx: RunContext) -> int:
    from caseload.kpi.report import add_capacity_to_publication, capacity_results

    res = capacity_results(cs=ctx.caseload, config=ctx.config, lang=ctx.lang)
    ctx.results["capacity"] = res
    add_capacity_to_publication(ctx.publication, res, lang=ctx.lang, config=ctx.config)
    return int(sum(v for k, v in res["clients_by_group"].items() if k != "sollicitatietraining"))


