"""Durations section: the tables and figures of :func:`caseload.durations.analyse_durations`."""

from __future__ import annotations

from caseload.durations.cohorts import cohort_method
from caseload.durations.report import BY_LABEL, DurationAnalysis, analyse_durations
from caseload.durations.tables import age_rule_text
from caseload.refresh.context import RunContext
from caseload.schema import fmt_number, label_table, pick_label

__all__ = ["add_durations_to_publication"]

_T = label_table("report.sections.durations")


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

    def w(key: str, **values) -> str:  # a text of [report.sections.durations] in the report's language
        return pick_label(_T[key], lang, **values)

    t = analysis.tables
    lvl = f"{1 - analysis.km.alpha:g}"
    unit = w(f"unit_{analysis.time_unit}")
    window = (w("window", date=f"{analysis.window_start:%d-%m-%Y}") if analysis.window_start is not None
              else "")
    added = []
    sec = w("sec")

    el = t["elapsed_table"]
    band, share, dur, count = el.columns[:4]
    age = age_rule_text(analysis.age_rule, lang)
    km_ci = {"log-log": "log(-log)", "log": "log"}[analysis.km.conf_type]
    aj_ci = {"log-log": "log(-log)", "log": "log"}[analysis.aj.conf_type]
    aj_var = w({"delta": "var_delta", "jackknife": "var_jackknife"}[analysis.aj.variance])
    outside = int(el.attrs.get("outside_bands", 0))
    lo_age, hi_age = int(analysis.age_bands[0][0]), int(analysis.age_bands[-1][1])
    outside_txt = (str(outside) if outside == 0 or outside >= min_cell
                   else w("fewer_than", n=str(min_cell)))
    el_method = w("el_method", age=age, lo_age=str(lo_age), hi_age=str(hi_age), outside=outside_txt)
    pub.add_table("duur_losser_tabel", el, title=w("el_title"),
                  method=el_method, counts=[count], percentages={share: int(el[count].iloc[-1])},
                  derived={dur: count},
                  row_total=el[band].iloc[-1], decimals=3, section=sec)
    added.append("duur_losser_tabel")

    km_method = w("km_method", unit=unit, window=window, horizon=f"{t['km_summary']['horizon'].iloc[0]:g}",
                  lvl=lvl, ci=km_ci, age=age)
    # events + censored = n per band: a wide table whose row total is n
    s = t["km_summary"].drop(columns="entered_late")
    est_cols = [c for c in s.columns if c.startswith(("median", "restricted", "rmst_"))]
    pub.add_table("duur_kaplan_meier", s, title=w("km_title"),
                  method=km_method, counts=["events", "censored", "n"], col_total="n",
                  derived={c: "n" for c in est_cols}, decimals=3, section=sec,
                  labels={"horizon": w("km_horizon", unit=unit), "median": w("km_median", unit=unit),
                          "restricted_mean": w("km_rmst", unit=unit)})
    curve = t["km_curve"]
    time_label = {"time": w("time_since", unit=unit)}
    group_col = curve.columns[0]
    pub.add_table("duur_kaplan_meier_curve", curve, title=w("curve_title"),
                  method=km_method, counts=["at_risk"],
                  derived={c: "at_risk" for c in curve.columns if c.startswith(("survival", "lower", "upper"))},
                  layout="long", by=[], secondary=False, decimals=4, section=sec, labels=time_label,
                  wide=(["time"], group_col, "survival"))
    added += ["duur_kaplan_meier", "duur_kaplan_meier_curve"]
    cif_method = w("cif_method", unit=unit, window=window, variance=aj_var, ci=aj_ci, age=age)
    cif = t["cumulative_incidence"]
    pub.add_table("duur_uitstroom_werk", cif,
                  title=w("cif_title"),
                  method=cif_method, decimals=4, section=sec, labels=time_label,
                  wide=([cif.columns[0], "cause"], "time", "estimate"),
                  suppression_note=w("cif_suppression"))
    added.append("duur_uitstroom_werk")
    if "cox" in t:
        cox = analysis.cox
        sample = ""
        if cox is not None and cox.sampled:
            sample = " " + w("cox_sample", n=fmt_number(cox.n, 0, lang), total=fmt_number(cox.n_complete, 0, lang))
        pub.add_table("duur_cox", t["cox"], title=w("cox_title"),
                      method=w("cox_method", age=age, sample=sample, window=window),
                      decimals=4, section=sec, suppression_note=w("cox_suppression"))
        added.append("duur_cox")
    figs = analysis.figures(source=pub.source, min_cell=min_cell)
    fig_titles = {
        "elapsed_table": ("duur_losser_figuur", w("el_fig_title"), el_method),
        "km_age_band": ("duur_kaplan_meier", w("km_fig_title"), km_method),
        "cumulative_incidence": ("duur_uitstroom_werk", w("cif_title"), cif_method),
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
            title = titles.get(name) or w("cohort_title", by=BY_LABEL.get(by, {}).get(lang, by))
            group = w("inflow_year") if by == "inflow_year" else None
            pub.add_table(f"duur_{name}", table, title=title, method=coh_method, counts=["n"],
                          derived={"share_active": "n"}, layout="long", by=[], secondary=False, decimals=4,
                          section=sec,
                          labels={"group": group or BY_LABEL.get(by, {}).get(
                              lang, by).capitalize()},
                          wide=(["group"], "years_since_start", "share_active"))
            added.append(f"duur_{name}")
    pub.notes.extend(analysis.notes)
    return added
