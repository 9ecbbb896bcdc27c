"""Durations section: the tables and figures of :func:`caseload.durations.analyse_durations`."""

from __future__ import annotations

from caseload.durations.cohorts import cohort_method
from caseload.durations.report import BY_LABEL, DurationAnalysis, analyse_durations
from caseload.durations.tables import age_rule_text
from caseload.refresh.context import RunContext

__all__ = ["add_durations_to_publication"]


def _step_durations(ctx: RunContext) -> int:
    cl, cfg = ctx.caseload, ctx.config
    res = analyse_durations(cl.spells, cl.clients, cl.peildatum, cfg.durations, lang=ctx.lang,
                            min_cell=cfg.privacy.min_cell)
    add_durations_to_publication(ctx.publication, res)
    return int(res.km.n_.sum())


def add_durations_to_publication(pub, analysis: DurationAnalysis, *, min_cell: int | None = None) -> list[str]:
    """Add the duration tables and figures to a :class:`caseload.publish.Publication`.

    Returns the names added. Counts below the publication's threshold are
    suppressed by the publisher; estimates resting on a suppressed count are
    blanked with it (``derived``).
    """
    lang = analysis.lang
    min_cell = pub.min_cell if min_cell is None else min_cell

    def w(nl: str, en: str) -> str:
        return nl if lang == "nl" else en

    t = analysis.tables
    lvl = f"{1 - analysis.km.alpha:g}"
    unit = {"years": w("jaren", "years"), "months": w("maanden", "months"), "days": w("dagen", "days")}[
        analysis.time_unit]
    window = (w(f"Uitkeringen die voor {analysis.window_start:%d-%m-%Y} begonnen tellen mee vanaf die datum "
                "(late instap, links afgekapt).",
                f"Spells that started before {analysis.window_start:%d-%m-%Y} count from that date on "
                "(delayed entry, left truncation).") if analysis.window_start is not None else "")
    added = []
    sec = w("Duur in de uitkering", "Duration on benefit")

    el = t["elapsed_table"]
    band, share, dur, count = el.columns[:4]
    age = age_rule_text(analysis.age_rule, lang)
    km_ci = {"log-log": "log(-log)", "log": "log"}[analysis.km.conf_type]
    aj_ci = {"log-log": "log(-log)", "log": "log"}[analysis.aj.conf_type]
    aj_var = {"delta": w("delta-methode", "delta method"),
              "jackknife": w("infinitesimale jackknife", "infinitesimal jackknife")}[analysis.aj.variance]
    outside = int(el.attrs.get("outside_bands", 0))
    lo_age, hi_age = int(analysis.age_bands[0][0]), int(analysis.age_bands[-1][1])
    outside_txt = (str(outside) if outside == 0 or outside >= min_cell
                   else w(f"minder dan {min_cell}", f"fewer than {min_cell}"))
    el_method = w(f"Bestand op de peildatum; {age}, op de peildatum; verstreken duur = "
                  "(peildatum - begindatum) / 365,25. Overschat de duur: lange uitkeringen zijn "
                  "oververtegenwoordigd in een bestand. Telt lopende uitkeringen van personen van "
                  f"{lo_age} tot en met {hi_age} jaar; {outside_txt} lopende uitkering(en) van jongere of "
                  "oudere personen of zonder geboortejaar tellen niet mee. Daarom is het totaal kleiner "
                  "dan het bestand in de tabellen naar geslacht, leefvorm en groep A/B/C (cliënten van "
                  "alle leeftijden, elk één keer geteld).",
                  f"Stock on the reference date; {age}, on the reference date; elapsed "
                  "duration = (reference date - start) / 365.25. Over-states duration: long spells are "
                  f"over-represented in a stock. Counts running benefits of persons aged {lo_age} to "
                  f"{hi_age}; {outside_txt} running benefit(s) of younger or older persons or without "
                  "a birth year are left out. The total is therefore smaller than the stock in the "
                  "tables by sex, household and group A/B/C (clients of all ages, each counted once).")
    pub.add_table("duur_losser_tabel", el, title=w("Verband leeftijd en duur in de uitkering (verstreken duur)",
                                                   "Age and duration on benefit (elapsed duration)"),
                  method=el_method, counts=[count], percentages={share: int(el[count].iloc[-1])},
                  derived={dur: count},
                  row_total=el[band].iloc[-1], decimals=3, section=sec)
    added.append("duur_losser_tabel")

    km_method = w(f"Kaplan-Meier per leeftijdsklasse bij instroom, duur in {unit}; lopende uitkeringen "
                  f"gecensureerd op de peildatum. {window} Mediaan met Brookmeyer-Crowley-interval, "
                  f"beperkt gemiddelde tot {t['km_summary']['horizon'].iloc[0]:g} {unit}; {lvl}-intervallen "
                  f"({km_ci}). Leeftijd bij instroom: {age}.",
                  f"Kaplan-Meier by age band at inflow, duration in {unit}; open spells censored at the "
                  f"reference date. {window} Median with Brookmeyer-Crowley interval, restricted mean up to "
                  f"{t['km_summary']['horizon'].iloc[0]:g} {unit}; {lvl} intervals ({km_ci}). "
                  f"Age at inflow: {age}.")
    # events + censored = n per band: a wide table whose row total is n
    s = t["km_summary"].drop(columns="entered_late")
    est_cols = [c for c in s.columns if c.startswith(("median", "restricted", "rmst_"))]
    pub.add_table("duur_kaplan_meier", s, title=w("Duur in de uitkering: mediaan en beperkt gemiddelde",
                                                  "Duration on benefit: median and restricted mean"),
                  method=km_method, counts=["events", "censored", "n"], col_total="n",
                  derived={c: "n" for c in est_cols}, decimals=3, section=sec,
                  labels={"horizon": w(f"Tijdshorizon ({unit})", f"Time horizon ({unit})"),
                          "median": w(f"Mediane duur ({unit})", f"Median duration ({unit})"),
                          "restricted_mean": w(f"Gemiddelde duur binnen de tijdshorizon ({unit})",
                                               f"Mean duration within the horizon ({unit})")})
    curve = t["km_curve"]
    time_label = {"time": w(f"Duur sinds instroom ({unit})", f"Time since inflow ({unit})")}
    group_col = curve.columns[0]
    pub.add_table("duur_kaplan_meier_curve", curve, title=w("Aandeel nog in de uitkering", "Share still on benefit"),
                  method=km_method, counts=["at_risk"],
                  derived={c: "at_risk" for c in curve.columns if c.startswith(("survival", "lower", "upper"))},
                  layout="long", by=[], secondary=False, decimals=4, section=sec, labels=time_label,
                  wide=(["time"], group_col, "survival"))
    added += ["duur_kaplan_meier", "duur_kaplan_meier_curve"]
    cif_method = w(f"Cumulatieve incidentie (Aalen-Johansen) van uitstroom naar werk (werk, werk deels) en "
                   f"overige uitstroom als concurrerende uitkomsten, duur in {unit}. {window} "
                   f"Variantie: {aj_var}; interval {aj_ci}. Leeftijd bij instroom: {age}.",
                   f"Cumulative incidence (Aalen-Johansen) of exit to work (full or partial) and other exits as "
                   f"competing outcomes, duration in {unit}. {window} Variance: {aj_var}; {aj_ci} interval. "
                   f"Age at inflow: {age}.")
    cif = t["cumulative_incidence"]
    pub.add_table("duur_uitstroom_werk", cif,
                  title=w("Uitstroom naar werk en overige uitstroom", "Exit to work and other exits"),
                  method=cif_method, decimals=4, section=sec, labels=time_label,
                  wide=([cif.columns[0], "cause"], "time", "estimate"),
                  suppression_note=w("Geschatte kansen, geen aantallen.", "Estimated probabilities, no counts."))
    added.append("duur_uitstroom_werk")
    if "cox" in t:
        cox = analysis.cox
        sample = ""
        if cox is not None and cox.sampled:
            sample = w(f" Geschat op een aselecte steekproef van {cox.n:,} van de {cox.n_complete:,} uitkeringen "
                       "(cox_max_rows); standaardfouten en intervallen zijn die van de steekproef.".replace(",", "."),
                       f" Fitted on a simple random sample of {cox.n:,} of the {cox.n_complete:,} spells "
                       "(cox_max_rows); standard errors and intervals are those of the sample.")
        pub.add_table("duur_cox", t["cox"], title=w("Cox-regressie: hazard ratio's voor uitstroom",
                                                    "Cox regression: hazard ratios of exit"),
                      method=w(f"Cox proportionele hazards (statsmodels PHReg, Breslow), late instap (risicoset "
                               f"als Kaplan-Meier en R coxph), strata per gemeente; hazard ratio > 1 = sneller uit "
                               f"de uitkering. Leeftijd bij instroom: {age}.{sample} {window}",
                               f"Cox proportional hazards (statsmodels PHReg, Breslow), delayed entry (risk sets as "
                               f"Kaplan-Meier and R coxph), strata by municipality; hazard ratio > 1 = leaves "
                               f"benefit sooner. Age at inflow: {age}.{sample} {window}"),
                      decimals=4, section=sec,
                      suppression_note=w("Modelcoëfficiënten, geen aantallen.", "Model coefficients, no counts."))
        added.append("duur_cox")
    figs = analysis.figures(source=pub.source, min_cell=min_cell)
    fig_titles = {
        "elapsed_table": ("duur_losser_figuur", w("Verband leeftijd en duur in de uitkering",
                                                   "Age and duration on benefit"), el_method),
        "km_age_band": ("duur_kaplan_meier", w("Nog in de uitkering naar leeftijd bij instroom",
                                               "Still on benefit by age at inflow"), km_method),
        "cumulative_incidence": ("duur_uitstroom_werk", w("Uitstroom naar werk en overige uitstroom",
                                                          "Exit to work and other exits"), cif_method),
    }
    coh_method = cohort_method(analysis.age_rule, lang)
    titles = {}
    for name, fig in figs.items():
        if name in fig_titles:
            stem, title, method = fig_titles[name]
        else:
            stem, title, method = f"duur_{name}", fig.texts[0].get_text() if fig.texts else name, coh_method
            if fig._suptitle is not None:
                title = fig._suptitle.get_text()
        titles[name] = title
        pub.add_figure(stem, fig, title=title, method=method, section=sec)
        added.append(stem)
    for name, table in t.items():
        if name.startswith("cohort_"):
            by = name.removeprefix("cohort_")
            # The figure's title: the table is the figure's table (one heading in the report).
            title = titles.get(name) or w("Actieve uitkeringen per aantal jaren na start",
                                          "Benefits still active by years since start") + \
                f" ({BY_LABEL.get(by, {}).get(lang, by)})"
            group = {"nl": "Instroomjaar", "en": "Inflow year"} if by == "inflow_year" else None
            pub.add_table(f"duur_{name}", table, title=title, method=coh_method, counts=["n"],
                          derived={"share_active": "n"}, layout="long", by=[], secondary=False, decimals=4,
                          section=sec,
                          labels={"group": group[lang] if group else BY_LABEL.get(by, {}).get(
                              lang, by).capitalize()},
                          wide=(["group"], "years_since_start", "share_active"))
            added.append(f"duur_{name}")
    pub.notes.extend(analysis.notes)
    return added
