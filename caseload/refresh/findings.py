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

__all__ = ["key_findings"]


def _fmt(x: float, decimals: int, lang: str) -> str:
    from caseload.figures.style import fmt_number

    return fmt_number(float(x), decimals, lang)


def _count(n, min_cell: int, lang: str) -> str:
    """A count of persons as printed: below ``min_cell`` as "minder dan <min_cell>"."""
    if n is None or (isinstance(n, float) and np.isnan(n)) or n is pd.NA:
        return "niet getoond" if lang == "nl" else "suppressed"
    n = int(n)
    if n < min_cell:
        return f"minder dan {min_cell}" if lang == "nl" else f"fewer than {min_cell}"
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
    w = ctx.words
    min_cell = pub.min_cell
    names = pub.municipality_names
    peil = pd.Timestamp(cl.peildatum if cl.peildatum is not None else pub.peildatum)
    codes = sorted(str(m) for m in cl.spells["municipality"].dropna().unique())
    groups: list[str | None] = [*codes, None] if len(codes) > 1 else [codes[0] if codes else None]
    per: dict[str | None, list[Finding]] = {g: [] for g in groups}
    label = {g: (municipality_name(g, names) if g is not None else w("Alle gemeenten samen",
                                                                   "All municipalities together"))
             for g in groups}

    def add(g, topic, headline, sentence, link, figures=()):
        anchor, text = link
        per[g].append(Finding(topic, label[g], headline, sentence, anchor, text,
                              tuple(f for f in figures if f is not None)))

    P = _Published(pub)
    hidden = w("niet getoond", "suppressed")

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
            same, shown, fig = (_linked(P, w("bestand", "stock"), "bestand_geslacht",
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
            same, shown, fig = _linked(P, w("bestand", "stock"), "stromen_per_jaar", rows, "stock_end", n1)
            rows0 = [P.row("stromen_per_jaar", municipality=g, year=peil.year - 1)]
            same0, shown0, fig0 = (_linked(P, w("bestand een jaar eerder", "stock a year earlier"),
                                           "stromen_per_jaar", rows0, "stock_end", n0)
                                   if year_end else (False, None, None))
            text = (_fmt(shown, 0, lang) if shown is not None else hidden) if same else _count(n1, min_cell, lang)
            text0 = ((_fmt(shown0, 0, lang) if shown0 is not None else hidden) if same0
                     else _count(n0, min_cell, lang))
            figs += [fig, fig0]
            true_t = P.cell("stromen_per_jaar", rows[0], "stock_end")[0]
            if not same and true_t is not None and link[0]:
                note = w(" De tabel per jaar telt uitkeringen (een cliënt met twee uitkeringen telt twee "
                         "keer) en komt daarom op een ander aantal.",
                         " The table per year counts benefits (a client with two counts twice) and so "
                         "gives another number.")
        if text != hidden and text0 != hidden and n1 >= min_cell and n0 >= min_cell:
            d = n1 - n0
            change = (w(f"{_fmt(abs(d), 0, lang)} {'meer' if d > 0 else 'minder'} dan",
                        f"{_fmt(abs(d), 0, lang)} {'more' if d > 0 else 'fewer'} than") if d
                      else w("evenveel als", "as many as"))
            sentence = w(f"Op {peil:%d-%m-%Y} hadden {text} cliënten een uitkering: {change} een jaar "
                         f"eerder ({text0}).",
                         f"On {peil:%d-%m-%Y}, {text} clients had a benefit: {change} a year earlier "
                         f"({text0}).")
        elif text == hidden:  # no number to put in the sentence: say so plainly
            sentence = w(f"Het aantal cliënten met een uitkering op {peil:%d-%m-%Y} is niet getoond "
                         "(onthullingscontrole: het zou andere, kleine aantallen terug laten rekenen).",
                         f"The number of clients with a benefit on {peil:%d-%m-%Y} is suppressed "
                         "(disclosure control: it would give back other, small counts).")
        else:
            sentence = w(f"Op {peil:%d-%m-%Y} hadden {text} cliënten een uitkering.",
                         f"On {peil:%d-%m-%Y}, {text} clients had a benefit.")
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
            names = (w("instroom", "inflow"), w("uitstroom", "outflow"), w("uitstroom naar werk", "outflow to work"))
            for col, n, what in zip(("inflow", "outflow", "outflow_work"), (i, o, ow), names, strict=True):
                same, shown, fig = _linked(P, what, "stromen_per_jaar", rows, col, n)
                linked &= same
                texts.append((_fmt(shown, 0, lang) if shown is not None else hidden) if same
                             else _count(n, min_cell, lang))
                figs.append(fig)
            ti, to, tw = texts
            if hidden not in texts:
                sentence = w(f"Van {start:%d-%m-%Y} tot en met {peil:%d-%m-%Y} begonnen {ti} uitkeringen en "
                             f"eindigden er {to}, waarvan {tw} door werk.",
                             f"From {start:%d-%m-%Y} to {peil:%d-%m-%Y}, {ti} benefits started and {to} "
                             f"ended, {tw} of them through work.")
            else:  # name what is shown, then what is not (no "niet getoond" inside the sentence)
                shown_parts = [f"{n} {t}" for n, t in zip(names, texts, strict=True) if t != hidden]
                hidden_parts = [n for n, t in zip(names, texts, strict=True) if t == hidden]
                sentence = w(f"Van {start:%d-%m-%Y} tot en met {peil:%d-%m-%Y}: ",
                             f"From {start:%d-%m-%Y} to {peil:%d-%m-%Y}: ")
                if shown_parts:
                    sentence += ", ".join(shown_parts) + w(" uitkeringen; ", " benefits; ")
                sentence += (w("niet getoond: ", "suppressed: ") + _join(hidden_parts, w("en", "and"))
                             + w(" (onthullingscontrole).", " (disclosure control)."))
            if g is None and linked and len(codes) > 1:
                sentence += w(" (De som van de gemeenten in de tabel per jaar.)",
                              " (The sum of the municipalities in the table per year.)")
            elif not linked and link[0]:
                sentence += w(" (Twaalf maanden tot en met de peildatum; de tabel per jaar telt per "
                              "kalenderjaar.)", " (Twelve months to the reference date; the table per "
                              "year counts calendar years.)")
            add(g, "flows", f"{ti} / {to}", sentence, link, figs)

    # 3. outflow to work within the KPI window against the target.
    kpi = ctx.results.get("kpi")
    if kpi is not None and len(kpi.outflow):
        from caseload.kpi.outflow import JUDGEMENT

        out = kpi.outflow
        level = f"{1 - ctx.config.kpi.alpha:g}"
        link = _link(pub, "f", "kpi_uitstroom_werk")
        total = w("Totaal", "Total")
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
                sentence = w(f"Uitstroom naar werk binnen {m} maanden: niet getoond (zie de tabel).",
                             f"Outflow to work within {m} months: suppressed (see the table).")
                add(g, "outflow_work", hidden, sentence, link)
                continue
            if int(r["n_spells"]) < min_cell:
                sentence = w(f"Uitstroom naar werk binnen {m} maanden: te weinig uitkeringen in het "
                             f"cohort (minder dan {min_cell}) om te tonen.",
                             f"Outflow to work within {m} months: too few benefits in the cohort "
                             f"(fewer than {min_cell}) to show.")
                add(g, "outflow_work", "", sentence, link)
                continue
            est, lo, hi = (100 * float(r[c]) for c in ("estimate", f"lower_{level}", f"upper_{level}"))
            target = 100 * float(r["target"]) if pd.notna(r.get("target")) else None
            judged = JUDGEMENT.get(r.get("judgement"), ("", ""))[0 if lang == "nl" else 1]
            start, end = kpi.cohort
            head = f"{_fmt(est, 1, lang)}%"
            tgt = (w(f" Het doel is {_fmt(target, 0, lang)}%: {judged}.",
                     f" The target is {_fmt(target, 0, lang)}%: {judged}.") if target is not None else "")
            sentence = w(f"Van de uitkeringen die van {start:%d-%m-%Y} tot en met {end:%d-%m-%Y} begonnen, "
                         f"eindigde naar schatting {head} binnen {m} maanden in werk "
                         f"({_fmt(100 * (1 - ctx.config.kpi.alpha), 0, lang)}%-interval "
                         f"{_fmt(lo, 1, lang)}-{_fmt(hi, 1, lang)}%).{tgt}",
                         f"Of the benefits that started from {start:%Y-%m-%d} to {end:%Y-%m-%d}, an "
                         f"estimated {head} ended in work within {m} months "
                         f"({_fmt(100 * (1 - ctx.config.kpi.alpha), 0, lang)}% interval "
                         f"{_fmt(lo, 1, lang)}-{_fmt(hi, 1, lang)}%).{tgt}")
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
                    for c, (_t, v) in cells.items() if v is not None]
            shown = [f"{names[c]} {_fmt(v, 0, lang)}" for c, (_t, v) in cells.items() if v is not None]
            gone = [c for c, (t, v) in cells.items() if v is None and t is not None]
            adds_up = (true_total is not None and all(t is not None for t, _ in cells.values())
                       and int(sum(t for t, _ in cells.values())) == int(true_total))
            what = w("cliënten in de indeling naar groep", "clients in the grouping")
            if shown_total is not None:
                figs.append(Figure(w("totaal", "total"), int(shown_total),
                                   (("segment_per_gemeente", row, tot_col, 1.0),)))
                head = w(f"Van de {_fmt(shown_total, 0, lang)} {what}: ",
                         f"Of the {_fmt(shown_total, 0, lang)} {what}: ")
            else:
                head = w(f"Van de {what} (totaal niet getoond): ", f"Of the {what} (total suppressed): ")
            listed = ", ".join(shown)
            hidden_names = _join([names[c] for c in gone], w("en", "and"))
            if gone and not shown:
                tail = w("de aantallen per groep zijn niet getoond (kleine aantallen beschermd)",
                         "the counts per group are suppressed (small counts protected)")
            elif gone and shown_total is not None and adds_up and len(gone) >= 2:
                rest = int(shown_total) - int(sum(cells[c][1] for c in parts if cells[c][1] is not None))
                figs.append(Figure(w(f"{hidden_names} samen", f"{hidden_names} together"), rest,
                                   tuple(("segment_per_gemeente", row, c, 1.0) for c in gone)))
                tail = w(f"{hidden_names} samen {_fmt(rest, 0, lang)} (apart niet getoond)",
                         f"{hidden_names} together {_fmt(rest, 0, lang)} (not shown apart)")
            elif gone:
                tail = w(f"{hidden_names} niet getoond", f"{hidden_names} suppressed")
            else:
                tail = ""
            body = "; ".join(x for x in (listed, tail) if x)
            diff = ""
            n_stock = stock_now.get(g)
            if true_total is not None and n_stock is not None and int(true_total) != n_stock:
                diff = w(" Dit totaal telt ook cliënten van wie de uitkering op de peildatum eindigt en "
                         "wijkt daardoor af van het bestand hierboven.",
                         " This total also counts clients whose benefit ends on the reference date and so "
                         "differs from the stock above.")
            legend = w(" (A: direct bemiddelbaar, B: binnen 3-6 maanden, C: (nog) niet bemiddelbaar"
                       + (f"; {names['herbeoordelen']}: diagnose te oud of uit een eerdere uitkering"
                          if "herbeoordelen" in names else "") + ").",
                       " (A: can work now, B: within 3-6 months, C: not yet placeable"
                       + (f"; {names['reassess']}: assessment too old or from an earlier benefit"
                          if "reassess" in names else "") + ").")
            sentence = head + body + "." + legend + diff
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
            iv = (w(f" ({lvl}%-interval {_fmt(row[f'lo_{lvl}'], 0, lang)} tot {_fmt(row[f'hi_{lvl}'], 0, lang)})",
                    f" ({lvl}% interval {_fmt(row[f'lo_{lvl}'], 0, lang)} to {_fmt(row[f'hi_{lvl}'], 0, lang)})")
                  if lvl else "")
            link = _link(pub, "f", f"prognose_bestand_{uid.lower()}")
            if not link[0]:
                link = _link(pub, "s", "prognose_caseload_prognose")
            sentence = w(f"Prognose voor {when:%m-%Y}: {_fmt(f, 0, lang)} uitkeringen{iv}.",
                         f"Forecast for {when:%m-%Y}: {_fmt(f, 0, lang)} benefits{iv}.")
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
        sentence = w(f"Voor de trajectbegeleiding is volgens het contactschema {_fmt(fte, 2, lang)} fte nodig; "
                     f"volgens de norm van {norm['clients_per_fte']:g} cliënten per fte "
                     f"{_fmt(norm['fte_rounded'], 1, lang)} fte.",
                     f"Coaching needs {_fmt(fte, 2, lang)} FTE by the contact scheme; by the norm of "
                     f"{norm['clients_per_fte']:g} clients per FTE {_fmt(norm['fte_rounded'], 1, lang)} FTE.")
        add(g, "capacity", _fmt(fte, 2, lang), sentence, link)
    return [f for g in groups for f in per[g]]


def _durations(ctx: RunContext, groups, add, min_cell: int) -> None:
    """Median duration by age band at inflow, per group, from the Kaplan-Meier estimator."""
    from caseload.durations import KaplanMeier
    from caseload.durations.report import _PER_YEAR
    from caseload.durations.tables import observation_start, spell_durations

    cl, cfg, lang, w = ctx.caseload, ctx.config.durations, ctx.lang, ctx.words
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
    unit = {"years": w("jaar", "years"), "months": w("maanden", "months"),
            "days": w("dagen", "days")}[cfg.time_unit]
    link = ("s-duur_kaplan_meier", w("Duur in de uitkering: mediaan en beperkt gemiddelde",
                                     "Duration on benefit: median and restricted mean"))
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
                bits.append(w(f"{band}: te weinig uitkeringen", f"{band}: too few benefits"))
            elif pd.isna(r["median"]):
                bits.append(w(f"{band}: meer dan de helft nog in de uitkering",
                              f"{band}: more than half still on benefit"))
            else:
                bits.append(f"{band}: {_fmt(r['median'], 1, lang)} {unit}")
        sentence = w("Mediane duur in de uitkering naar leeftijd bij instroom: " + "; ".join(bits) + ".",
                     "Median duration on benefit by age at inflow: " + "; ".join(bits) + ".")
        if g is not None and len(groups) > 1 and link[0]:
            sentence += w(" (Berekend voor deze gemeente; de tabel geeft alle gemeenten samen.)",
                          " (Computed for this municipality; the table gives all municipalities together.)")
        add(g, "duration", "; ".join(bits), sentence, link)
