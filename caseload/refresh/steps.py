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
from caseload.schema.labels import label_table, pick_label

_WORDS = label_table("report.steps")
STEP_TITLES = label_table("report.step_titles")
"""Step name -> (Dutch, English) title of the step and of its report section."""


def _t(key: str, lang: str, **values) -> str:
    """A text of the ``[report.steps]`` catalogue group in ``lang``, with ``values`` filled in."""
    return pick_label(_WORDS[key], lang, **values)

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
    pub, lang = ctx.publication, ctx.lang
    section = pick_label(STEP_TITLES["validate"], lang)
    rep = cl.report.copy()
    rep["file"] = rep["file"].map(lambda p: Path(str(p)).name)
    pub.add_table(
        "bestanden", rep[["file", "table", "rows_read", "rows_loaded", "rows_rejected"]],
        title=_t("files_title", lang), method=_t("files_method", lang),
        labels={c: _t(c, lang) for c in ("file", "table", "rows_read", "rows_loaded", "rows_rejected")},
        suppression_note=_t("file_rows_note", lang),
        section=section,
    )
    rej = cl.rejected
    if len(rej):
        summ = (rej.assign(file=rej["file"].map(lambda p: Path(str(p)).name))
                .groupby(["file", "column", "reason"], dropna=False, observed=True)
                .size().rename("rows").reset_index()
                .sort_values(["file", "column", "reason"], kind="stable"))
        # The reason's explanation, not the row messages: those may quote file values.
        summ["fix"] = summ["reason"].map(REASONS_NL if lang == "nl" else REASONS).fillna("")
        pub.add_table(
            "afgewezen_rijen", summ,
            title=_t("rejected_title", lang), method=_t("rejected_method", lang),
            labels={c: _t(c, lang) for c in ("file", "column", "reason", "rows", "fix")},
            suppression_note=_t("file_rows_note", lang),
            section=section,
        )
    return int(sum(len(t) for t in cl.tables().values()))


# -------------------------------------------------------------------- step: stock


def _step_stock(ctx: RunContext) -> int:
    from caseload.figures.style import PALETTE, finish, fmt_number, new_figure
    from caseload.publish import suppress_table

    cl, pub, lang = ctx.caseload, ctx.publication, ctx.lang
    stock = stock_on(cl, age_rule=ctx.config.durations.age_rule)
    ctx.results["stock"] = stock
    section = pick_label(STEP_TITLES["stock"], lang)
    method = _t("stock_method", lang, age=age_rule_method(stock, lang))
    items = {}
    dims = [
        ("leeftijd", "age_band", None, _t("age", lang), _t("by_age", lang)),
        ("geslacht", "sex", SEX, None, _t("by_sex", lang)),
        ("leefvorm", "household", HOUSEHOLD, None, _t("by_household", lang)),
        ("trede", "ladder_step", LADDER, _t("ladder", lang), _t("by_ladder", lang)),
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
            labels={"aantal": _t("count", lang), "percentage": _t("percent", lang)},
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
        hidden = _t("suppressed", lang)
        for y, v in enumerate(counts):
            ax.text(0 if np.isnan(v) else v, y, f" {hidden}" if np.isnan(v) else f" {fmt_number(v, 0, lang)}",
                    va="center", fontsize=8, color="#555555" if np.isnan(v) else "#000000")
        ax.set_xlabel(_t("clients_axis", lang))
        title = _t("by_ladder", lang)
        finish(fig, title=title, source=pub.source, peildatum=pub.peildatum, lang=lang)
        pub.add_figure("bestand_trede", fig, title=title, method=method, section=section,
                       caption=_t("ladder_caption", lang))
    return len(stock)


# -------------------------------------------------------------------- step: flows

_FLOW_LABELS = label_table("headers.flows")


def _step_flows(ctx: RunContext) -> int:
    from caseload.figures.style import PALETTE, finish, new_figure
    from caseload.flows import monthly_flows

    cl, pub, lang = ctx.caseload, ctx.publication, ctx.lang
    flows = monthly_flows(cl.spells, by=("municipality",))
    ctx.results["flows"] = flows
    section = pick_label(STEP_TITLES["flows"], lang)
    labels = {k: pick_label(v, lang) for k, v in _FLOW_LABELS.items()}
    method = _t("flows_method", lang)
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
                  title=_t("flows_year_title", lang),
                  method=method, counts=["inflow", "outflow", "outflow_work", "stock_end"],
                  labels=labels, section=section, relations=rel_year,
                  suppression_note=_t("flows_year_note", lang))
    recent["month"] = recent["month"].astype(str)
    pub.add_table("stromen_per_maand", recent,
                  title=_t("flows_month_title", lang),
                  method=method, counts=["stock", "inflow", "outflow", "outflow_work"],
                  labels=labels, section=section, relations=rel_month)
    fig, ax = new_figure(9, 4.5)
    for i, (muni, g) in enumerate(f.groupby("municipality", sort=True)):
        g = g[g["month"] > g["month"].max() - 120]
        ax.plot(g["month"].dt.to_timestamp(), g["stock"], color=PALETTE[i % len(PALETTE)],
                label=municipality_name(muni, pub.municipality_names), linewidth=1.6)
    ax.set_ylabel(_t("stock_axis", lang))
    # From zero (a stock is a level), with headroom so the legend stays clear of the lines.
    ax.set_ylim(0, ax.get_ylim()[1] * 1.18)
    ax.legend(loc="upper left", ncols=min(f["municipality"].nunique(), 6))
    title = _t("flows_figure_title", lang)
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
