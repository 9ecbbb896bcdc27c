"""The key findings ("Kernpunten") of a batch run, per municipality and for all together.

:func:`key_findings` reads what the steps left in the run context (the stock on
the peildatum, the monthly flows, the KPI, segmentation, forecast and capacity
results) and returns :class:`~caseload.publish.findings.Finding` objects: one
plain sentence per headline figure, linked to the table or figure it comes from.

Small-cell rule: a count of persons below ``min_cell`` is never printed ("minder
dan 5"); counts that a published table also shows (A/B/C per municipality) are
taken from that table as published, so a cell it hides stays hidden here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.publish.findings import Finding
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


def _link(pub, kind: str, name: str) -> tuple[str, str]:
    """Anchor and title of a table (``s-``) or figure (``f-``) of the publication, if present."""
    items = pub.tables if kind == "s" else pub.figures
    for it in items:
        if it.name == name:
            return f"{kind}-{name}", it.title
    return "", ""


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

    def add(g, topic, headline, sentence, link):
        anchor, text = link
        per[g].append(Finding(topic, label[g], headline, sentence, anchor, text))

    # 1. stock on the peildatum and a year earlier: clients with a benefit running on after the
    #    peildatum, each once (caseload.flows.stock_at: the stock of the composition tables and
    #    of the monthly flows); per municipality the clients with such a benefit there.
    from caseload.flows import stock_at

    def clients(day, g):
        run = stock_at(cl.spells, day)
        if g is not None:
            run = run[run["municipality"].astype(str) == g]
        return int(run["client_id"].nunique())

    link = _link(pub, "s", "stromen_per_jaar")
    if not link[0]:
        link = _link(pub, "s", "bestand_geslacht")
    for g in groups:
        n1, n0 = clients(peil, g), clients(peil - pd.DateOffset(years=1), g)
        text = _count(n1, min_cell, lang)
        if n1 >= min_cell and n0 >= min_cell:
            d = n1 - n0
            change = (w(f"{_fmt(abs(d), 0, lang)} {'meer' if d > 0 else 'minder'} dan",
                        f"{_fmt(abs(d), 0, lang)} {'more' if d > 0 else 'fewer'} than") if d
                      else w("evenveel als", "as many as"))
            sentence = w(f"Op {peil:%d-%m-%Y} hadden {text} cliënten een uitkering: {change} een jaar "
                         f"eerder ({_count(n0, min_cell, lang)}).",
                         f"On {peil:%d-%m-%Y}, {text} clients had a benefit: {change} a year earlier "
                         f"({_count(n0, min_cell, lang)}).")
        else:
            sentence = w(f"Op {peil:%d-%m-%Y} hadden {text} cliënten een uitkering.",
                         f"On {peil:%d-%m-%Y}, {text} clients had a benefit.")
        add(g, "stock", text, sentence, link)

    # 2. inflow and outflow in the last twelve months (benefits, from the monthly flows).
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
            sentence = w(f"Van {start:%d-%m-%Y} tot en met {peil:%d-%m-%Y} begonnen "
                         f"{_count(i, min_cell, lang)} uitkeringen en eindigden er "
                         f"{_count(o, min_cell, lang)}, waarvan {_count(ow, min_cell, lang)} door werk.",
                         f"From {start:%d-%m-%Y} to {peil:%d-%m-%Y}, {_count(i, min_cell, lang)} benefits "
                         f"started and {_count(o, min_cell, lang)} ended, {_count(ow, min_cell, lang)} "
                         "of them through work.")
            add(g, "flows", f"{_count(i, min_cell, lang)} / {_count(o, min_cell, lang)}", sentence, link)

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

    # 5. A/B/C counts as published in the table per municipality.
    seg_item = next((t for t in pub.tables if t.name == "segment_per_gemeente"), None)
    if seg_item is not None:
        from caseload.publish import suppress_table

        shown = suppress_table(seg_item, min_cell)[0]
        tot_label = seg_item.row_total
        link = _link(pub, "s", "segment_per_gemeente")
        for g in groups:
            key = tot_label if g is None else g
            rows = shown[shown["municipality"].astype(str) == key]
            if not len(rows):
                continue
            r = rows.iloc[0]
            parts = [f"{s} {_count(r[s], min_cell, lang)}" for s in ("A", "B", "C") if s in r.index]
            sentence = w("Naar groep: " + ", ".join(parts) + " (A: direct bemiddelbaar, B: binnen "
                         "3-6 maanden, C: (nog) niet bemiddelbaar).",
                         "By group: " + ", ".join(parts) + " (A: can work now, B: within 3-6 months, "
                         "C: not yet placeable).")
            add(g, "segments", ", ".join(parts), sentence, link)

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
        sentence = w(f"Voor de trajectbegeleiding is volgens het contactschema {_fmt(fte, 1, lang)} fte nodig; "
                     f"volgens de norm van {norm['clients_per_fte']:g} cliënten per fte "
                     f"{_fmt(norm['fte_rounded'], 1, lang)} fte.",
                     f"Coaching needs {_fmt(fte, 1, lang)} FTE by the contact scheme; by the norm of "
                     f"{norm['clients_per_fte']:g} clients per FTE {_fmt(norm['fte_rounded'], 1, lang)} FTE.")
        add(g, "capacity", _fmt(fte, 1, lang), sentence, link)
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
        add(g, "duration", "; ".join(bits), sentence, link)
