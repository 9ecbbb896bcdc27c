"""KPI and capacity sections: the tables of :func:`caseload.kpi.report.kpi_results` and
:func:`caseload.kpi.report.capacity_results` with Dutch headers, disclosure-control specs and
figures, added to a :class:`caseload.publish.Publication`.

The ``caseload kpi`` and ``caseload capacity`` commands and the batch refresh use them.
"""

from __future__ import annotations

import pandas as pd

from caseload.config import Config
from caseload.kpi import benchmark as bm
from caseload.kpi import monitoring as mon
from caseload.kpi import outflow as of
from caseload.kpi.report import KPI_LABELS, KpiResults, capacity_results, kpi_results
from caseload.publish import suppress_table
from caseload.refresh.context import RunContext
from caseload.schema import label_table, municipality_name, pick_label, report_text

__all__ = ["add_kpi_to_publication", "add_capacity_to_publication"]

_T = label_table("report.sections.kpi")


def _words(lang: str):
    """``w(key, **values)``: a text of ``[report.sections.kpi]`` in ``lang``."""
    return lambda key, **values: pick_label(_T[key], lang, **values)


def _step_kpi(ctx: RunContext) -> int:
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
    res = capacity_results(cs=ctx.caseload, config=ctx.config, lang=ctx.lang)
    ctx.results["capacity"] = res
    add_capacity_to_publication(ctx.publication, res, lang=ctx.lang, config=ctx.config)
    return int(sum(v for k, v in res["clients_by_group"].items() if k != "sollicitatietraining"))


def _labels(df: pd.DataFrame, lang: str) -> dict[str, str]:
    out = {}
    for c in df.columns:
        if c in KPI_LABELS:
            out[c] = pick_label(KPI_LABELS[c], lang)
        elif c.startswith(("lower_", "upper_")):
            side, level = c.split("_", 1)
            pct = f"{100 * float(level):g}%"
            out[c] = report_text(f"kpi_interval_{side}", lang, pct=pct)
    return out


def _judgement_labels(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    if "judgement" not in df:
        return df
    return df.assign(judgement=df["judgement"].map(lambda j: pick_label(of.JUDGEMENT[j], lang)))


def add_kpi_to_publication(pub, res: KpiResults, *, lang: str = "nl", config: Config | None = None) -> list[str]:
    """Add the KPI tables and figures of :func:`kpi_results` to a Publication.

    Returns the names of the tables and figures added.
    """
    from caseload.figures import kpi as fk

    cfg = config or Config()
    w = _words(lang)
    level = f"{1 - cfg.kpi.alpha:g}"
    lo, hi = f"lower_{level}", f"upper_{level}"
    added = []
    sec_kpi = w("sec_kpi")
    start, end = res.cohort
    cohort_txt = w("cohort", start=f"{start:%d-%m-%Y}", end=f"{end:%d-%m-%Y}")
    seg = ", ".join(cfg.kpi.segments)
    if seg:
        cohort_txt += w("cohort_group", groups=seg)
    m = cfg.kpi.months
    method = w("kpi_method", cohort=cohort_txt, m=str(m))
    t = _judgement_labels(res.outflow, lang)
    kpi_item = pub.add_table("kpi_uitstroom_werk", t, title=w("kpi_title", m=str(m)),
                  method=method, counts=["n_spells", "n_work", "n_other", "n_censored", "n_at_risk", "naive_n"],
                  percentages={"estimate": "n_spells", lo: "n_spells", hi: "n_spells", "naive_share": "naive_n"},
                  labels=_labels(t, lang), decimals=3, section=sec_kpi)
    # The figures draw the published (suppressed) tables: no value or count the table hides.

    def shown(item, like: pd.DataFrame) -> pd.DataFrame:
        out = suppress_table(item, pub.min_cell, protection=pub.protection_level)[0]
        return out.set_axis(list(like.columns), axis=1) if len(out.columns) == len(like.columns) else out

    drawn = shown(kpi_item, res.outflow)
    if "judgement" in res.outflow:  # the codes, not the labels of the table
        drawn = drawn.assign(judgement=res.outflow["judgement"].to_numpy())
    names = getattr(pub, "municipality_names", None)
    if "municipality" in drawn.columns:  # names, not codes, on the figure's rows
        drawn = drawn.assign(municipality=drawn["municipality"].map(
            lambda m: municipality_name(m, names)))
    judgements = {code: pick_label(words, lang) for code, words in of.JUDGEMENT.items()}
    fig = fk.kpi_target_figure(drawn, by=res.by, peildatum=res.peildatum, source=pub.source, lang=lang,
                               min_cell=pub.min_cell, judgement_labels=judgements)
    pub.add_figure("kpi_uitstroom_werk", fig, title=w("kpi_fig_title"),
                   method=method, section=sec_kpi)
    added += ["kpi_uitstroom_werk"]
    sec_dur = w("sec_dur")
    dmethod = w("dur_method")
    cnt = ["n_exits", "n_too_recent", "n_judged", "n_returned", "n_durable"]
    pct = {"share": "n_judged", lo: "n_judged", hi: "n_judged"}
    dur_item = pub.add_table("kpi_duurzaamheid", res.durability, title=w("dur_title"),
                  method=dmethod, counts=cnt, percentages=pct, labels=_labels(res.durability, lang), decimals=3,
                  section=sec_dur)
    pub.add_figure("kpi_duurzaamheid", fk.durability_figure(shown(dur_item, res.durability), peildatum=res.peildatum,
                                                            source=pub.source, lang=lang, min_cell=pub.min_cell),
                   title=w("dur_title"),
                   method=dmethod, section=sec_dur)
    rm = cfg.kpi.revolving_months
    exits = w("rev_exits_all" if cfg.kpi.revolving_exits == "all" else "rev_exits_work")
    rmethod = w("rev_method", exits=exits, m=str(rm))
    pub.add_table("kpi_draaideur", res.revolving_door, title=w("rev_title"),
                  method=rmethod, counts=cnt, percentages=pct, labels=_labels(res.revolving_door, lang),
                  decimals=3, section=sec_dur)
    spc = res.spells_per_client.rename(columns={"n_spells": "n_spells_client"})
    pub.add_table("kpi_uitkeringen_per_client", spc, title=w("spc_title"),
                  method=w("spc_method"),
                  counts=["n_clients"], percentages={"share": "n_clients"}, layout="long", by=[],
                  labels=_labels(spc, lang), decimals=3, section=sec_dur)
    added += ["kpi_duurzaamheid", "kpi_draaideur", "kpi_uitkeringen_per_client"]
    if res.monitoring:
        added += _add_monitoring(pub, res, lang, w)
    if res.benchmark is not None:
        sec_bm = w("sec_bm")
        b = res.benchmark
        year = b.attrs.get("year")
        low, high = cfg.kpi.benchmark_band
        peers = (w("bm_band", low=f"{low:g}", high=f"{high:g}") if cfg.kpi.benchmark_method == "band"
                 else w("bm_class"))
        bmethod = w("bm_method", peers=peers, year=str(year))
        muni_name = municipality_name(b.attrs.get("municipality"), getattr(pub, "municipality_names", None))
        # The CBS figures have their own period (a calendar year), not the extract's peildatum.
        period = w("bm_period", year=str(year))
        pub.add_table("kpi_benchmark", b, title=w("bm_title", name=muni_name),
                      method=bmethod, source=bm.CBS_SOURCE, labels=_labels(b, lang), decimals=1, section=sec_bm,
                      peildatum=period,
                      suppression_note=w("bm_suppression"))
        pub.add_figure("kpi_benchmark", fk.benchmark_figure(
                           res.peers, b, year=year, lang=lang, source=bm.CBS_SOURCE,
                           indicator_labels={k: pick_label(v, lang) for k, v in bm.INDICATORS.items()}),
                       title=w("bm_fig_title"),
                       method=bmethod, source=bm.CBS_SOURCE, section=sec_bm, peildatum=period)
        added.append("kpi_benchmark")
    for note in res.notes:
        pub.notes.append(note)
    return added


def _monitoring_relations(mtx: dict, lang: str) -> dict[str, list]:
    """What a reader can compute between the monitoring tables (for the disclosure audit).

    Per activity: participants = ended + ongoing; dropouts <= ended; the ended count of the
    dropout table and of the completed durations = that of the participants table; over
    all activities: the dropout reasons add up to the dropouts, the outcomes to the ended
    activities. Each is declared only where it holds in the numbers.
    """
    from caseload.privacy import audit as au

    H = mon._w  # noqa: N806
    frames = {f"monitoring_{k}": v.reset_index(drop=True) for k, v in mtx.items()
              if isinstance(v, pd.DataFrame) and len(v)}
    out: dict[str, list] = {}

    def add(table: str, rel) -> None:
        try:
            ok = au.relation_holds(rel, frames)
        except (KeyError, IndexError, TypeError, ValueError):
            ok = False
        if ok:
            out.setdefault(table, []).append(rel)

    def col(name: str, key: str) -> str | None:
        return H(key, lang) if name in frames and H(key, lang) in frames[name].columns else None

    def rows_by_label(name: str) -> dict[str, int]:
        return {str(v): i for i, v in enumerate(frames[name].iloc[:, 0])} if name in frames else {}

    D, U = "monitoring_deelnemers", "monitoring_uitval"  # noqa: N806
    total = H("total", lang)
    if col(D, "participants") and col(D, "ended") and col(D, "ongoing"):
        for r in range(len(frames[D])):
            add(D, au.sum_relation([au.Cell(D, r, col(D, "ended")), au.Cell(D, r, col(D, "ongoing"))],
                                   au.Cell(D, r, col(D, "participants")), kind="identity",
                                   note="participants = ended + ongoing"))
    d_rows = rows_by_label(D)
    if col(U, "ended") and col(U, "dropouts"):
        for lab, r in rows_by_label(U).items():
            add(U, au.at_most(au.Cell(U, r, col(U, "dropouts")), au.Cell(U, r, col(U, "ended")),
                              note="dropouts <= ended"))
            if col(D, "ended") and lab in d_rows:
                add(U, au.same_count(au.Cell(U, r, col(U, "ended")), au.Cell(D, d_rows[lab], col(D, "ended")),
                                     note="ended activities, as in the participants table"))
    for name, key, target, tcol in (("monitoring_uitval_redenen", "count", U, "dropouts"),
                                    ("monitoring_uitstroomrichting", "count", D, "ended")):
        t_rows = rows_by_label(target)
        if col(name, key) and col(target, tcol) and total in t_rows:
            parts = [au.Cell(name, r, col(name, key)) for r in range(len(frames[name]))
                     if str(frames[name].iat[r, 0]) != total]
            add(name, au.sum_relation(parts, au.Cell(target, t_rows[total], col(target, tcol)),
                                      kind="same_count", note=f"{name} adds up to the total of {target}"))
    A = "monitoring_duur_activiteiten"  # noqa: N806
    if col(A, "n_completed") and col(D, "ended"):
        for lab, r in rows_by_label(A).items():
            if lab in d_rows:
                add(A, au.same_count(au.Cell(A, r, col(A, "n_completed")),
                                     au.Cell(D, d_rows[lab], col(D, "ended")),
                                     note="completed activities = ended activities"))
    return out


def _add_monitoring(pub, res: KpiResults, lang: str, w) -> list[str]:
    H = mon._w  # noqa: N806 (short alias for the header words)
    sec = w("sec_mon")
    mtx = res.monitoring
    specs = {  # table -> (counts, percentages, layout); the title is mon_<table> of the catalogue
        "deelnemers": (["participants", "started", "ended", "ongoing"], {}, "wide"),
        "samenstelling": (["count"], {"share": "count"}, "long"),
        "uitstroomrichting": (["count"], {"share": "count"}, "long"),
        "uitstroom_sector": (None, {"share": "total"}, "wide"),
        "uitval": (["ended", "dropouts"], {"dropout_share": "ended"}, "wide"),
        "uitval_redenen": (["count"], {"share": "count"}, "long"),
        "duur_activiteiten": (["n_completed", "ongoing"], {}, "wide"),
        "duur_trajecten": (["n_completed", "ongoing"], {}, "wide"),
        "beschut_werk": (["realised"], {"realisation": "realised"}, "wide"),
    }
    method = w("mon_method")
    added = []
    relations = _monitoring_relations(mtx, lang)
    for name, (counts, pcts, layout) in specs.items():
        title = w(f"mon_{name}")
        df = mtx[name]
        if counts is None:  # sector table: one count column per destination plus the total
            counts = [c for c in df.columns if c not in (H("sector", lang), H("share", lang))]
            pcts = {H("share", lang): H("total", lang)}
            pub.add_table(f"monitoring_{name}", df, title=title, method=method, counts=counts,
                          percentages=pcts, col_total=H("total", lang), decimals=3, section=sec,
                          relations=relations.get(f"monitoring_{name}", []))
        else:
            cts = [H(c, lang) for c in counts]
            pc = {H(p, lang): H(b, lang) for p, b in pcts.items() if H(p, lang) in df.columns}
            by = [df.columns[0]] if layout == "long" and name == "samenstelling" else []
            kw = {"layout": "long", "by": by} if layout == "long" else {}
            total_label = H("total", lang)
            if layout == "wide" and len(df) and (df.iloc[:, 0].astype(str) == total_label).sum() == 1:
                kw["row_total"] = total_label
            # Means and quartiles over the completed activities: blank wherever that count is.
            derived = {H(d, lang): H("n_completed", lang) for d in
                       ("mean_months", "median_months", "p25_months", "p75_months", "mean_activities")
                       if H(d, lang) in df.columns}
            pub.add_table(f"monitoring_{name}", df, title=title, method=method, counts=cts, percentages=pc,
                          derived=derived, decimals=2, section=sec,
                          relations=relations.get(f"monitoring_{name}", []), **kw)
        added.append(f"monitoring_{name}")
    return added


def _capacity_relations(t: pd.DataFrame) -> list:
    """What a reader of the capacity table can compute (for the disclosure audit).

    Per group contacts = clients x contacts per client, hours = contacts x minutes / 60,
    fte = hours / productive hours (the factors are published or follow from a published
    row); the client total is the sum of the groups other than the application training.
    """
    from caseload.privacy import audit as au

    name = "capaciteit_contactschema"
    rows = t.reset_index(drop=True)
    groups = rows.index[rows["clients"].notna() & rows["contacts_per_year"].notna()].tolist()
    total = int(rows.index[rows["contacts_per_year"].isna()][-1])
    rels = au.product_relations(name, "contacts", "clients",
                                {r: float(rows.at[r, "contacts_per_year"]) for r in groups},
                                note="contacts = clients x contacts per client per year")
    rels += au.product_relations(name, "hours", "contacts",
                                 {r: float(rows.at[r, "minutes_per_contact"]) / 60 for r in groups},
                                 note="hours = contacts x minutes per contact / 60")
    ratio = (rows["fte"] / rows["hours"]).where(rows["hours"] > 0).dropna()
    if len(ratio):
        rels += au.product_relations(name, "fte", "hours", {r: float(ratio.iloc[0]) for r in groups},
                                     note="fte = hours / productive hours per fte")
    training = [r for r in groups if rows.at[r, "code"] == "sollicitatietraining"]
    if any(rows.at[r, "clients"] != 0 for r in training):
        # Otherwise the total is also the sum of all rows, the relation the table spec implies.
        rels.append(au.sum_relation([au.Cell(name, r, "clients") for r in groups if r not in training],
                                    au.Cell(name, total, "clients"),
                                    note="client total = groups other than the application training"))
    return rels


def add_capacity_to_publication(pub, res: dict, *, lang: str = "nl", config: Config | None = None) -> list[str]:
    """Add the capacity table and figure of :func:`capacity_results` to a Publication."""
    from caseload.figures import kpi as fk

    cfg = config or Config()
    c = cfg.capacity
    w = _words(lang)
    sec = w("sec_cap")
    norm = res["norm"]
    method = w("cap_method", minutes=f"{c.minutes_per_contact:g}", hours=f"{c.productive_hours_per_fte:g}",
               clients=f"{norm['n_clients']:.0f}", per_fte=f"{c.clients_per_fte:g}", fte=f"{norm['fte_rounded']:g}")
    t = res["contacts"].drop(columns=["code"])
    total_label = report_text("total", lang)
    spec = ({"counts": ["clients"], "derived": {"contacts": "clients", "hours": "clients", "fte": "clients"},
             "row_total": total_label, "sums": ["contacts", "hours", "fte"],
             "relations": _capacity_relations(res["contacts"])} if res.get("from_extract") else
            {"suppression_note": w("cap_planning")})
    item = pub.add_table("capaciteit_contactschema", t, title=w("cap_title"),
                         method=method, labels=_labels(t, lang), decimals=2, section=sec, **spec)
    # The figure labels the published (suppressed) table, so it cannot show a hidden cell.

    shown = suppress_table(item, pub.min_cell, protection=pub.protection_level)[0]
    shown = shown.assign(code=res["contacts"]["code"].to_numpy(),
                         clients=shown["clients"].astype("Float64").to_numpy(dtype=float, na_value=float("nan")))
    pub.add_figure("capaciteit_contactschema",
                   fk.capacity_figure(shown, norm=norm, source=pub.source, peildatum=pub.peildatum,
                                      lang=lang, min_cell=pub.min_cell),
                   title=w("cap_fig_title"), method=method,
                   section=sec)
    return ["capaciteit_contactschema"]
