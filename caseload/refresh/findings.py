"""The key findings ("Kernpunten") of a batch run, per municipality and for all together.

:func:`key_findings` reads what the steps left in the run context (the stock on
the peildatum, the monthly flows, the KPI, segmentation, forecast and capacity
results) and returns :class:`~caseload.publish.findings.Finding` objects: one
plain sentence per headline figure, linked to the table or figure it comes from.

Reconciliation and small cells: a count that a published table also holds is
printed as that table publishes it, after the complementary suppression that
:func:`caseload.publish.write_report` applies to the whole report (so a cell the
table hides is "niet getoond" here too, never "minder dan 5"); the count is checked
against the table's own number (same definition, same number), and where the
definitions differ the sentence says so. Every such count is declared as a
:class:`~caseload.publish.findings.Figure`, which the disclosure audit checks
with the tables. A count in no table below ``min_cell`` is printed as "minder dan
<min_cell>".
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from caseload.publish.findings import Figure, Finding
from caseload.refresh.context import RunContext
from caseload.schema import municipality_name
from caseload.schema.labels import label_table, pick_label
from caseload.segment.core import _REASSESS

__all__ = ["key_findings"]

_WORDS = label_table("report.findings")


def _t(key: str, lang: str, **values) -> str:
    """A text of the ``[report.findings]`` catalogue group in ``lang``, with ``values`` filled in."""
    return pick_label(_WORDS[key], lang, **values)


def _fmt(x: float, decimals: int, lang: str) -> str:
    from caseload.schema import fmt_number

    return fmt_number(float(x), decimals, lang)


def _count(n, min_cell: int, lang: str) -> str:
    """A count of persons as printed: below ``min_cell`` as "minder dan <min_cell>"."""
    if n is None or (isinstance(n, float) and np.isnan(n)) or n is pd.NA:
        return _t("suppressed", lang)
    n = int(n)
    if n < min_cell:
        return _t("fewer_than", lang, n=min_cell)
    return _fmt(n, 0, lang)


def _join(items: list[str], word: str) -> str:
    """"A, B en C"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1] if items else ""


def _link(pub, kind: str, name: str) -> tuple[str, str]:
    """Anchor and title of a table (``s-``) or figure (``f-``) of the publication, if present."""
    items = pub.tables if kind == "s" else pub.figures
    for it in items:
        if it.name == name:
            return f"{kind}-{name}", it.title
    return "", ""


class _Published:
    """The report's tables as the reader will see them: after the complementary suppression.

    The same :func:`~caseload.publish.suppression.protect_publication` that
    :func:`~caseload.publish.write_report` runs (the steps have added every table by
    now), so a Kernpunten number hides exactly what its table hides.
    """

    def __init__(self, pub) -> None:
        from caseload.publish.items import _frame
        from caseload.publish.suppression import protect_publication

        self.items = {t.name: t for t in pub.tables}
        self.raw = {n: _frame(t.data) for n, t in self.items.items()}
        with warnings.catch_warnings():  # write_report warns about the same tables again
            warnings.simplefilter("ignore")
            self.shown = ({n: r[0] for n, r in protect_publication(pub)[0].items()} if pub.tables else {})

    def row(self, table: str, **where) -> int | None:
        """Position of the one row whose columns hold these values (compared as text)."""
        df = self.raw.get(table)
        if df is None or any(c not in df.columns for c in where):
            return None
        hit = np.ones(len(df), dtype=bool)
        for c, v in where.items():
            hit &= (df[c].astype("string") == str(v)).fillna(False).to_numpy(dtype=bool)
        pos = np.flatnonzero(hit)
        return int(pos[0]) if len(pos) == 1 else None

    def cell(self, table: str, row: int | None, column: str):
        """(true value, published value or None when suppressed); (None, None) when absent."""
        if row is None or table not in self.raw or column not in self.raw[table].columns:
            return None, None
        true = self.raw[table][column].iloc[row]
        shown = self.shown[table][column].iloc[row] if column in self.shown[table].columns else None
        true = None if pd.isna(true) else float(true)
        shown = None if shown is None or pd.isna(shown) else float(shown)
        return true, shown


def _linked(P: _Published, label: str, table: str, rows: list[int | None], column: str,
            expected: int) -> tuple[bool, int | None, Figure | None]:
    """Whether ``expected`` is the sum of these cells (same definition), and how it is published.

    Returns (same, shown, figure): ``same`` when the cells exist and add up to ``expected``;
    ``shown`` the number to print (None: "niet getoond", because a cell is suppressed, and a
    sum with a hidden part would give it away); ``figure`` the declaration for the audit.
    """
    if not rows or any(r is None for r in rows):
        return False, None, None
    cells = [P.cell(table, r, column) for r in rows]
    if any(t is None for t, _ in cells) or int(round(sum(t for t, _ in cells))) != int(expected):
        return False, None, None
    if any(s is None for _, s in cells):
        return True, None, None
    value = int(round(sum(s for _, s in cells)))
    return True, value, Figure(label, value, tuple((table, int(r), column, 1.0) for r in rows))


def key_findings(ctx: RunContext) -> list[Finding]:
    """Headline figures of the run: per municipality, then for all municipalities together.

    Parameters
    ----------
    ctx : RunContext
        After the steps ran (``ctx.caseload`` and ``ctx.results`` still present).

    Returns
    -------
    list of Finding
        Per group (municipality name; last "Alle gemeenten samen" when there is
        more than one): stock on the peildatum and its change over a year,
        inflow and outflow in the last twelve months, outflow to work against
        the target, median duration by age band, A/B/C counts, the forecast
        stock in a year with its interval, and (all together) the coach FTE.
    """
    cl, pub, lang = ctx.caseload, ctx.publication, ctx.lang
    if cl is None or not len(cl.spells):
        return []
    def txt(key: str, **values) -> str:
        return _t(key, lang, **values)

    min_cell = pub.min_cell
    names = pub.municipality_names
    peil = pd.Timestamp(cl.peildatum if cl.peildatum is not None else pub.peildatum)
    codes = sorted(str(m) for m in cl.spells["municipality"].dropna().unique())
    groups: list[str | None] = [*codes, None] if len(codes) > 1 else [codes[0] if codes else None]
    per: dict[str | None, list[Finding]] = {g: [] for g in groups}
    label = {g: municipality_name(g, names) if g is not None else txt("all_together") for g in groups}

    def add(g, topic, headline, sentence, link, figures=()):
        anchor, text = link
        per[g].append(Finding(topic, label[g], headline, sentence, anchor, text,
                              tuple(f for f in figures if f is not None)))

    P = _Published(pub)
    hidden = txt("suppressed")

    # 1. stock on the peildatum and a year earlier: clients with a benefit running on after the
    #    peildatum, each once (caseload.flows.stock_at: the stock of the composition tables).
    #    All together: the total of the table by sex. Per municipality: the year-end stock of
    #    the table per year, which counts benefits (a client with two counts twice): printed
    #    from that table when it gives the same number, else with a note that it differs.
    from caseload.flows import stock_at

    def clients(day, g):
        run = stock_at(cl.spells, day)
        if g is not None:
            run = run[run["municipality"].astype(str) == g]
        return int(run["client_id"].nunique())

    year_end = peil.month == 12 and peil.day == 31
    tot_sex = next((t.row_total for t in pub.tables if t.name == "bestand_geslacht"), None)
    stock_now: dict[str | None, int] = {}
    for g in groups:
        n1, n0 = clients(peil, g), clients(peil - pd.DateOffset(years=1), g)
        stock_now[g] = n1
        figs, note = [], ""
        if g is None:
            link = _link(pub, "s", "bestand_geslacht")
            first = P.raw["bestand_geslacht"].columns[0] if tot_sex is not None else None
            same, shown, fig = (_linked(P, txt("stock_figure"), "bestand_geslacht",
                                        [P.row("bestand_geslacht", **{first: tot_sex})], "aantal", n1)
                                if first is not None else (False, None, None))
            same0 = False
            text = _fmt(shown, 0, lang) if same and shown is not None else (
                hidden if same else _count(n1, min_cell, lang))
            text0 = _count(n0, min_cell, lang)
            figs.append(fig)
        else:
            link = _link(pub, "s", "stromen_per_jaar")
            rows = [P.row("stromen_per_jaar", municipality=g, year=peil.year)]
            same, shown, fig = _linked(P, txt("stock_figure"), "stromen_per_jaar", rows, "stock_end", n1)
            rows0 = [P.row("stromen_per_jaar", municipality=g, year=peil.year - 1)]
            same0, shown0, fig0 = (_linked(P, txt("stock_figure_before"),
                                           "stromen_per_jaar", rows0, "stock_end", n0)
                                   if year_end else (False, None, None))
            text = (_fmt(shown, 0, lang) if shown is not None else hidden) if same else _count(n1, min_cell, lang)
            text0 = ((_fmt(shown0, 0, lang) if shown0 is not None else hidden) if same0
                     else _count(n0, min_cell, lang))
            figs += [fig, fig0]
            true_t = P.cell("stromen_per_jaar", rows[0], "stock_end")[0]
            if not same and true_t is not None and link[0]:
                note = " " + txt("stock_note")
        if text != hidden and text0 != hidden and n1 >= min_cell and n0 >= min_cell:
            d = n1 - n0
            change = (txt("change_more" if d > 0 else "change_fewer", n=_fmt(abs(d), 0, lang)) if d
                      else txt("change_same"))
            sentence = txt("stock_change", peil=peil, n=text, change=change, n0=text0)
        elif text == hidden:  # no number to put in the sentence: say so plainly
            sentence = txt("stock_hidden", peil=peil)
        else:
            sentence = txt("stock", peil=peil, n=text)
        add(g, "stock", text, sentence + note, link, figs)

    # 2. inflow and outflow in the last twelve months (benefits, from the monthly flows): with
    #    the peildatum on 31 December these are the year's row of the table per year (all
    #    together: the sum of the municipalities' rows, printed only when every row is shown).
    flows = ctx.results.get("flows")
    if flows is not None and len(flows):
        last = pd.Period(peil, freq="M")
        recent = flows[(flows["month"] > last - 12) & (flows["month"] <= last)]
        work_cols = [c for c in ("outflow_werk", "outflow_werk_deels") if c in recent.columns]
        link = _link(pub, "s", "stromen_per_jaar")
        for g in groups:
            part = recent if g is None else recent[recent["municipality"].astype(str) == g]
            i, o = int(part["inflow"].sum()), int(part["outflow"].sum())
            ow = int(part[work_cols].to_numpy().sum()) if work_cols else 0
            start = (last - 11).start_time
            rows = ([P.row("stromen_per_jaar", municipality=m, year=peil.year) for m in codes] if g is None
                    else [P.row("stromen_per_jaar", municipality=g, year=peil.year)]) if year_end else []
            texts, figs, linked = [], [], True
            names = (txt("inflow"), txt("outflow"), txt("outflow_work"))
            for col, n, what in zip(("inflow", "outflow", "outflow_work"), (i, o, ow), names, strict=True):
                same, shown, fig = _linked(P, what, "stromen_per_jaar", rows, col, n)
                linked &= same
                texts.append((_fmt(shown, 0, lang) if shown is not None else hidden) if same
                             else _count(n, min_cell, lang))
                figs.append(fig)
            ti, to, tw = texts
            if hidden not in texts:
                sentence = txt("flows", start=start, peil=peil, inflow=ti, outflow=to, work=tw)
            else:  # name what is shown, then what is not (no "niet getoond" inside the sentence)
                shown_parts = [f"{n} {t}" for n, t in zip(names, texts, strict=True) if t != hidden]
                hidden_parts = [n for n, t in zip(names, texts, strict=True) if t == hidden]
                sentence = txt("flows_period", start=start, peil=peil) + " "
                if shown_parts:
                    sentence += txt("flows_shown", parts=", ".join(shown_parts)) + " "
                sentence += txt("flows_hidden", parts=_join(hidden_parts, txt("and")))
            if g is None and linked and len(codes) > 1:
                sentence += " " + txt("flows_sum_note")
            elif not linked and link[0]:
                sentence += " " + txt("flows_calendar_note")
            add(g, "flows", f"{ti} / {to}", sentence, link, figs)

    # 3. outflow to work within the KPI window against the target.
    kpi = ctx.results.get("kpi")
    if kpi is not None and len(kpi.outflow):
        from caseload.kpi.outflow import JUDGEMENT

        out = kpi.outflow
        level = f"{1 - ctx.config.kpi.alpha:g}"
        link = _link(pub, "f", "kpi_uitstroom_werk")
        total = txt("total")
        for g in groups:
            if "municipality" in out.columns:
                key = total if g is None else g
                rows = out[out["municipality"].astype(str) == key]
                if g is None and not len(rows) and len(out) == 1:
                    rows = out
            else:
                rows = out if g is None or len(groups) == 1 else out.iloc[0:0]
            if not len(rows):
                continue
            r = rows.iloc[0]
            m = int(r["months"])
            pos = P.row("kpi_uitstroom_werk", municipality=r["municipality"]) if "municipality" in out.columns \
                else (0 if "kpi_uitstroom_werk" in P.raw and len(P.raw["kpi_uitstroom_werk"]) == 1 else None)
            if P.cell("kpi_uitstroom_werk", pos, "estimate")[0] is not None and \
                    P.cell("kpi_uitstroom_werk", pos, "estimate")[1] is None:
                add(g, "outflow_work", hidden, txt("kpi_hidden", m=m), link)
                continue
            if int(r["n_spells"]) < min_cell:
                add(g, "outflow_work", "", txt("kpi_few", m=m, min_cell=min_cell), link)
                continue
            est, lo, hi = (100 * float(r[c]) for c in ("estimate", f"lower_{level}", f"upper_{level}"))
            target = 100 * float(r["target"]) if pd.notna(r.get("target")) else None
            judged = pick_label(JUDGEMENT.get(r.get("judgement"), ("", "")), lang)
            start, end = kpi.cohort
            head = f"{_fmt(est, 1, lang)}%"
            tgt = " " + txt("kpi_target", target=_fmt(target, 0, lang), judged=judged) if target is not None else ""
            sentence = txt("kpi", start=start, end=end, head=head, m=m,
                         level=_fmt(100 * (1 - ctx.config.kpi.alpha), 0, lang),
                         lo=_fmt(lo, 1, lang), hi=_fmt(hi, 1, lang), target=tgt)
            add(g, "outflow_work", head, sentence, link)

    # 4. median duration on benefit by age band at inflow (Kaplan-Meier per municipality).
    if "durations" in ctx.steps:
        _durations(ctx, groups, add, min_cell)

    # 5. A/B/C as published in the table per municipality, reconciled with its total: the
    #    line names what the counts are of and how they add up, and a cell the table hides is
    #    not printed (nor can it be computed from the numbers printed: the hidden cells of a row
    #    are given only as their sum, which the table's total minus its shown cells gives
    #    anyway, and only when at least two are hidden).
    seg_item = P.items.get("segment_per_gemeente")
    if seg_item is not None:
        link = _link(pub, "s", "segment_per_gemeente")
        tot_col = seg_item.col_total
        parts = [c for c in (str(c) for c in seg_item.counts) if c != tot_col]
        names = {c: str(seg_item.labels.get(c, c)) for c in parts}
        for g in groups:
            row = P.row("segment_per_gemeente", municipality=seg_item.row_total if g is None else g)
            if row is None:
                continue
            cells = {c: P.cell("segment_per_gemeente", row, c) for c in parts}
            true_total, shown_total = P.cell("segment_per_gemeente", row, tot_col) if tot_col else (None, None)
            figs = [Figure(f"{names[c]}", int(v), (("segment_per_gemeente", row, c, 1.0),))
                    for c, (_true, v) in cells.items() if v is not None]
            shown = [f"{names[c]} {_fmt(v, 0, lang)}" for c, (_true, v) in cells.items() if v is not None]
            gone = [c for c, (t, v) in cells.items() if v is None and t is not None]
            adds_up = (true_total is not None and all(t is not None for t, _ in cells.values())
                       and int(sum(t for t, _ in cells.values())) == int(true_total))
            if shown_total is not None:
                figs.append(Figure(txt("segments_total"), int(shown_total),
                                   (("segment_per_gemeente", row, tot_col, 1.0),)))
                head = txt("segments_head", n=_fmt(shown_total, 0, lang))
            else:
                head = txt("segments_head_hidden")
            listed = ", ".join(shown)
            hidden_names = _join([names[c] for c in gone], txt("and"))
            if gone and not shown:
                tail = txt("segments_all_hidden")
            elif gone and shown_total is not None and adds_up and len(gone) >= 2:
                rest = int(shown_total) - int(sum(cells[c][1] for c in parts if cells[c][1] is not None))
                figs.append(Figure(txt("segments_together_figure", names=hidden_names), rest,
                                   tuple(("segment_per_gemeente", row, c, 1.0) for c in gone)))
                tail = txt("segments_together", names=hidden_names, n=_fmt(rest, 0, lang))
            elif gone:
                tail = txt("segments_hidden", names=hidden_names)
            else:
                tail = ""
            body = "; ".join(x for x in (listed, tail) if x)
            diff = ""
            n_stock = stock_now.get(g)
            if true_total is not None and n_stock is not None and int(true_total) != n_stock:
                diff = " " + txt("segments_diff")
            redo = _REASSESS[lang]  # the code of the "reassess" column in this language
            legend = " " + txt("segments_legend", reassess=txt("segments_reassess", name=names[redo])
                             if redo in names else "")
            sentence = head + " " + body + "." + legend + diff
            add(g, "segments", body, sentence, link, figs)

    # 6. forecast of the stock a year ahead, with its interval.
    fc = (ctx.results.get("forecast") or {}).get("caseload_prognose")
    if fc is not None and len(fc):
        levels = sorted(int(c.split("_")[1]) for c in fc.columns if str(c).startswith("lo_"))
        lvl = levels[-1] if levels else None
        target_month = pd.Period(peil, freq="M") + 12
        for g in groups:
            uid = g if g is not None else None
            if uid is None:
                continue
            part = fc[fc["unique_id"].astype(str) == uid]
            if not len(part):
                continue
            months = pd.to_datetime(part["ds"]).dt.to_period("M")
            row = part[months == target_month]
            row = row.iloc[0] if len(row) else part.iloc[-1]
            when = pd.Timestamp(row["ds"])
            f = float(row["forecast"])
            iv = (" " + txt("forecast_interval", level=lvl, lo=_fmt(row[f"lo_{lvl}"], 0, lang),
                                hi=_fmt(row[f"hi_{lvl}"], 0, lang)) if lvl else "")
            link = _link(pub, "f", f"prognose_bestand_{uid.lower()}")
            if not link[0]:
                link = _link(pub, "s", "prognose_caseload_prognose")
            sentence = txt("forecast", when=when, n=_fmt(f, 0, lang), interval=iv)
            add(g, "forecast", _fmt(f, 0, lang), sentence, link)

    # 7. coach FTE needed (for the whole extract: the contact scheme counts all clients).
    cap = ctx.results.get("capacity")
    if cap is not None:
        contacts = cap["contacts"]
        total = contacts[contacts["code"].astype(str) == "totaal"]
        fte = float(total["fte"].iloc[0]) if len(total) else float(contacts["fte"].sum())
        norm = cap["norm"]
        g = groups[-1]
        link = _link(pub, "s", "capaciteit_contactschema")
        sentence = txt("capacity", fte=_fmt(fte, 2, lang), norm=f"{norm['clients_per_fte']:g}",
                     fte_norm=_fmt(norm["fte_rounded"], 1, lang))
        add(g, "capacity", _fmt(fte, 2, lang), sentence, link)
    return [f for g in groups for f in per[g]]


def _durations(ctx: RunContext, groups, add, min_cell: int) -> None:
    """Median duration by age band at inflow, per group, from the Kaplan-Meier estimator."""
    from caseload.durations import KaplanMeier
    from caseload.durations.report import _PER_YEAR
    from caseload.durations.tables import observation_start, spell_durations

    cl, cfg, lang = ctx.caseload, ctx.config.durations, ctx.lang
    if cfg.window_start in (None, "", "none"):
        window = None
    elif cfg.window_start == "auto":
        window = observation_start(cl.spells)
    else:
        window = pd.Timestamp(cfg.window_start)
    d = spell_durations(cl.spells, cl.clients, pd.Timestamp(cl.peildatum), window_start=window,
                        bands=[tuple(b) for b in cfg.age_bands])
    d = d[d["age_band"].notna()]
    per_year = _PER_YEAR[cfg.time_unit]
    unit = _t(cfg.time_unit, lang)  # years, months or days
    link = ("s-duur_kaplan_meier", _t("durations_link", lang))
    if not any(t.name == "duur_kaplan_meier" for t in ctx.publication.tables):
        link = ("", "")
    for g in groups:
        part = d if g is None else d[d["municipality"].astype(str) == g]
        if not len(part):
            continue
        km = KaplanMeier(alpha=cfg.alpha).fit(part["duration_years"] * per_year, part["exited"],
                                              entry=part["entry_years"] * per_year, by=part["age_band"])
        s = km.summary
        bits = []
        for band, r in s.iterrows():
            if int(r["n"]) < min_cell:
                bits.append(_t("durations_few", lang, band=band))
            elif pd.isna(r["median"]):
                bits.append(_t("durations_open", lang, band=band))
            else:
                bits.append(f"{band}: {_fmt(r['median'], 1, lang)} {unit}")
        sentence = _t("durations", lang, bands="; ".join(bits))
        if g is not None and len(groups) > 1 and link[0]:
            sentence += " " + _t("durations_note", lang)
        add(g, "duration", "; ".join(bits), sentence, link)
