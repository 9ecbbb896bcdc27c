"""The steps of the batch run: each calls its module's public API and adds to the publication.

The extract steps (validate, stock, flows) are here; the analysis sections are in
:mod:`caseload.refresh.sections` (durations, forecast, segment, kpi and capacity).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from caseload.refresh.context import RefreshError, RunContext
from caseload.refresh.sections.durations import _step_durations
from caseload.refresh.sections.forecast import _step_forecast
from caseload.refresh.sections.kpi import _step_capacity, _step_kpi
from caseload.refresh.sections.segment import _step_segment
from caseload.refresh.stock import _TOTAL, age_rule_method, stock_composition, stock_on
from caseload.schema import HOUSEHOLD, LADDER, SEX, municipality_name
from caseload.schema.labels import label_table

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


# -------------------------------------------------------------------- step: flows

_FLOW_LABELS = label_table("headers.flows")


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


__all__ = ["_step_validate", "_step_stock", "_step_segment", "_step_flows", "_step_durations",
           "_step_forecast", "_step_kpi", "_step_capacity"]
