"""Segment section: groups A/B/C, PMCs, candidates, overrides, cut-offs and fairness."""

from __future__ import annotations

import pandas as pd

from caseload.refresh.context import RunContext
from caseload.refresh.stock import _TOTAL
from caseload.schema import municipality_name
from caseload.schema.labels import label_table, pick_label

_FAIRNESS_LABELS = label_table("headers.fairness")

_SEGMENT_LABELS = {**label_table("headers.segment"), **_FAIRNESS_LABELS}
_T = label_table("report.sections.segment")


# What the HTML and PDF show of the two fairness tables (25 and 19 columns: too wide for an A4
# page); the workbook and the CSV keep every column, the intervals included.
_FAIRNESS_BRIEF = ("group_label", "level", "n", "share_A", "share_B", "share_C", "work_rate", "missed",
                   "missed_expected", "wrong_A", "wrong_A_expected", "band_ratio", "flag", "flag_unexplained")
_RATIOS_BRIEF = ("group_label", "metric_label", "level_high", "level_low", "value_high", "value_low", "ratio",
                 "flag", "residual_ratio", "flag_unexplained", "p_adjusted", "explanation")
_CUTOFF_METHODS = label_table("values.cutoff_method")


def _words(lang: str):
    """``w(key, **values)``: a text of ``[report.sections.segment]`` in ``lang``."""
    return lambda key, **values: pick_label(_T[key], lang, **values)


def _attribute_by_label(frame: pd.DataFrame) -> pd.DataFrame:
    """Attribute, measure and status by their labels (Geslacht, Gemiste kansen, verlopen: ...),
    not by their codes (sex, missed, expired): a published table has no code column."""
    codes = [c for c in ("group", "metric", "status") if c in frame.columns and f"{c}_label" in frame.columns]
    return frame.drop(columns=codes)


def _publish_fairness(pub, fair: pd.DataFrame, w, labels: dict, section: str) -> None:
    """The fairness report (per level) and its pairwise ratios (per attribute and metric)."""
    from caseload.segment import fairness_ratios

    ratios = _attribute_by_label(fairness_ratios(fair))
    fair = _attribute_by_label(fair).dropna(axis=1, how="all")
    base = {"share_": "n", "work_rate": "n", "missed": "n_work", "wrong_A": "n_nowork"}
    pcts = {c: b for c in fair.columns for k, b in base.items() if c.startswith(k)}
    derived = {c: "n" for c in ("mean_p", "calibration", "calibration_lo", "calibration_hi", "expected_work",
                                "band_ratio", "band_ratio_lo", "band_ratio_hi") if c in fair.columns}
    pub.add_table("segment_fairness", fair,
                  title=w("fairness_title"),
                  method=w("fairness_method"),
                  counts=["n", "n_work", "n_nowork"], percentages=pcts, derived=derived, scale=1,
                  labels=labels, decimals=3, section=section,
                  brief=[c for c in _FAIRNESS_BRIEF if c in fair.columns])
    if len(ratios):
        pub.add_table("segment_fairness_verhoudingen", ratios,
                      title=w("ratios_title"),
                      method=w("ratios_method"),
                      labels=labels, decimals=3, section=section,
                      brief=[c for c in _RATIOS_BRIEF if c in ratios.columns])


def _candidates_as_published(candidates: pd.DataFrame, shown_pmc: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The candidates table with the A and B cells of the published (suppressed) PMC table.

    A PMC without clients in a group has no row in the PMC table and stays 0; a cell
    suppressed there keeps its count here and is returned in ``hidden`` (column -> mask), for
    the publisher to hide it too.
    """
    ab = shown_pmc[shown_pmc["segment"].astype(str).isin(["A", "B"])]
    key = ab["municipality"].astype(str) + "|" + ab["profile"].astype(str) + "-" + ab["market"].astype(str)
    out = candidates.copy()
    out_key = out["municipality"].astype(str) + "|" + out["pmc"].astype(str)
    hidden = {}
    for seg in ("A", "B"):
        col = f"candidates_{seg}"
        shown = pd.Series(ab["n"].to_numpy(), index=key.to_numpy())[ab["segment"].astype(str).to_numpy() == seg]
        cell = shown.reindex(out_key).to_numpy()
        present = out_key.isin(shown.index).to_numpy()
        hidden[col] = present & pd.isna(cell)
        out[col] = pd.array(out[col], dtype="Int64")
        out.loc[present & ~hidden[col], col] = pd.array(cell[present & ~hidden[col]], dtype="Int64")
    return out, hidden


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

    cfg, pub, lang = ctx.config, ctx.publication, ctx.lang
    w = _words(lang)
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
    section = w("section")
    labels = {k: pick_label(v, lang) for k, v in _SEGMENT_LABELS.items()}
    method = w("method", by=w("by_rules" if res.decided_by == "rules" else "by_model"))
    total = _TOTAL[lang]
    summary = res.summary()
    summary.columns = [str(c) for c in summary.columns]
    summary = summary.rename_axis("municipality").reset_index()
    summary["municipality"] = summary["municipality"].astype(str)
    per_gemeente = pub.add_table(
        "segment_per_gemeente", summary,
        title=w("per_gemeente_title"),
        method=method + " " + w("per_gemeente_note"),
        counts=[c for c in summary.columns if c != "municipality"],
        row_total=total, col_total=total, labels=labels, section=section)
    pmc_item = pub.add_table(
        "segment_pmc", res.pmc_table,
        title=w("pmc_title"),
        method=method, counts=["n"], layout="long", by=["municipality", "segment"],
        labels=labels, section=section, relations=_pmc_relations(res.pmc_table, summary),
        suppression_note=w("pmc_suppression"))
    # The candidates are the A and B cells of segment_pmc. Suppressing them again on their
    # own would give another pattern of complementary cells, and the two tables together
    # could reveal a hidden cell; so they are taken from segment_pmc as published.
    shown_pmc = suppress_table(pmc_item, pub.min_cell, protection=pub.protection_level)[0]
    candidates, hidden = _candidates_as_published(res.candidates, shown_pmc)
    pub.add_table("segment_kandidaten", candidates,
                  counts=list(hidden), secondary=False, forced=hidden,
                  title=w("candidates_title"),
                  method=w("candidates_method") + " " + method,
                  labels=labels, section=section,
                  suppression_note=w("candidates_suppression"))
    pub.add_table("segment_overschrijvingen", res.override_rates,
                  relations=_override_relations(res.override_rates, summary, total),
                  title=w("overrides_title"),
                  method=w("overrides_method"),
                  counts=["n", "overridden", "to_A", "to_B", "to_C"],
                  percentages={"override_rate": "n"}, derived={"override_rate": "overridden"},
                  labels=labels, section=section)
    if res.overrides_log is not None and len(res.overrides_log):
        # Counts per status only: the log itself holds client ids (INTERNAL).
        status = (res.overrides_log.groupby(["status", "status_label"], sort=False).size()
                  .rename("n").reset_index())
        pub.add_table("segment_overschrijvingen_status", _attribute_by_label(status),
                      title=w("status_title"),
                      method=w("status_method"),
                      counts=["n"], labels=labels, section=section)
    if res.cutoff_table is not None and len(res.cutoff_table):
        # The group's label is its value in the published table already; the method by its word;
        # the rules have no probability cut-offs.
        cutoffs = res.cutoff_table.drop(columns=["label"], errors="ignore")
        if (cutoffs["method"] == "rules").all():
            cutoffs = cutoffs.drop(columns=["p_from", "p_below"], errors="ignore")
        cutoffs = cutoffs.assign(
            method=lambda t: t["method"].map(lambda m: pick_label(_CUTOFF_METHODS[m], lang)
                                             if m in _CUTOFF_METHODS else m))
        pub.add_table("segment_afkappunten", cutoffs,
                      title=w("cutoffs_title"),
                      method=w("cutoffs_method"),
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
                   title=w("fig_pyramid"),
                   method=method, section=section)
    pub.add_figure("segment_pmc_heatmap", pmc_heatmap_figure(res, lang, src, min_cell=pub.min_cell,
                                                             table=shown_pmc),
                   title=w("fig_pmc"),
                   method=method, section=section)
    return len(res.clients)


