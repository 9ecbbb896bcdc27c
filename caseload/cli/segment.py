"""The ``segment`` command: A/B/C, published tables and the internal per-client list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseload.cli._app import (
    ConfigOption,
    FilesArgument,
    LangOption,
    _beside_report,
    _lang,
    app,
    console,
    extract_summary,
    friendly_errors,
    num,
    say,
)

# --- segment ---


@app.command("segment")
@friendly_errors
def segment_command(
    files: FilesArgument = None,
    config: ConfigOption = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="CSV/XLSX with Clientnummer (or client_id pseudonym), segment, "
                                         "reason, date (default: [segment] overrides_file)."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="A saved model (.skops with its .card.json) to score with."),
    ] = None,
    fit_model: Annotated[
        bool,
        typer.Option("--fit-model", help="Fit the statistical model on the history (time-based hold-out), "
                                         "save it under OUT/models/ and score with it."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output folder (default: <report.out_dir>-segment, next to "
                                         "the report folder)."),
    ] = None,
    intern: Annotated[
        Path | None,
        typer.Option("--intern", help="Folder of the internal per-client list (default: [segment] "
                                      "internal_dir); never inside a report folder."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """Segment the caseload: A/B/C with reasons, profiles and PMCs, overrides, fairness.

    Published tables (no client ids, small cells suppressed) and figures go to OUT;
    the per-client list with pseudonyms goes to the internal folder ([segment]
    internal_dir, default intern/ next to the config), which must not be shared and
    may never lie inside a report folder.
    """
    from rich.table import Table

    from caseload.config import load_config
    from caseload.extract import read_extract
    from caseload.publish import write_report
    from caseload.refresh import run_steps
    from caseload.segment import fit_segment_model, save_model

    base = load_config(config)
    lang = _lang(lang, base)
    out = (out if out is not None else _beside_report(base, "segment")).resolve()
    intern = (intern if intern is not None else base.resolve(base.segment.internal_dir)).resolve()
    _check_internal_dir(intern, [out, base.resolve(base.report.out_dir).resolve()])
    # Command-line choices become settings, so the batch run's segment step does the work.
    settings = {}
    attachments = None
    if overrides is not None:
        settings["overrides_file"] = str(overrides.resolve())
    if model is not None:
        settings["model_file"] = str(model.resolve())
    with console.status(say("console_reading_extract")):
        cs = read_extract(files or None, config=base)
    console.print(say("console_read", extract=extract_summary(cs)), highlight=False, soft_wrap=True)
    if fit_model:
        with console.status(say("segment_fitting")):
            fitted, fit_report = fit_segment_model(cs, base, lang=lang)
        skops_path, card_path = save_model(fitted, intern / "models" / f"segment_{fitted.method}")
        page_path = card_path.with_name(card_path.name.replace(".card.json", ".card.md"))
        attachments = {f"models/{p.name}": p for p in (skops_path, card_path, page_path) if p.exists()}
        settings["model_file"] = str(skops_path.resolve())
        m = fitted.metrics_
        console.print(say("segment_fitted", n=num(fitted.training_["n"]), start=m["holdout_from"],
                          auc=num(m["roc_auc"], 3), brier=num(m["brier"], 4),
                          kappa=num(m.get("kappa_caseworker", float("nan")), 2), path=skops_path),
                      highlight=False, soft_wrap=True)
    cfg = load_config(config, segment=settings) if settings else base
    with console.status(say("segment_segmenting")):
        pub, results = run_steps(cfg, cs, ["segment"], lang=lang)
    result = results["segment"]
    if fit_model:
        _publish_model_evaluation(pub, fit_report, lang)
    # Published tables and figures: the same suppression and texts as `caseload refresh`; a
    # model fitted in this run is published with them (a copy stays in the internal folder).
    report = write_report(pub, out, protected=[intern], attachments=attachments)
    # The per-client list is internal (pseudonyms, caseworkers' free text): its own folder.
    from caseload.publish.safe import neutralise_frame

    intern.mkdir(parents=True, exist_ok=True)
    (intern / "LEESMIJ.txt").write_text(say("segment_readme") + "\n", encoding="utf-8")
    neutralise_frame(result.clients).to_csv(intern / "segment_clienten_INTERN.csv", sep=";",
                                            decimal=",", index=False, encoding="utf-8-sig",
                                            lineterminator="\r\n")  # a CR in a reason stays in its cell

    decided_by = say("segment_by_model" if result.decided_by == "model" else "segment_by_rules")
    table = Table(title=say("segment_title", peildatum=f"{cs.peildatum:%d-%m-%Y}", decided_by=decided_by))
    table.add_column(say("segment_municipality"))
    for col in result.summary().columns:
        table.add_column(str(col), justify="right")
    for muni, row in result.summary().iterrows():
        table.add_row(str(muni), *[num(int(v)) for v in row])
    console.print(table)
    c = result.counts
    console.print(say("segment_counts", without=num(c["without_assessment"]), applied=num(c["overrides_applied"]),
                      unmatched=num(c["overrides_unmatched"]), expired=num(c.get("overrides_expired", 0)),
                      future=num(c.get("overrides_future_date", 0)), reassess=num(c.get("reassess", 0))),
                  highlight=False, soft_wrap=True)
    if result.fairness is not None:
        from caseload.segment import fairness_ratios

        flagged = fairness_ratios(result.fairness)
        flagged = flagged[flagged["flag"]]
        console.print(say("segment_fairness", n=len(flagged), ratio=num(cfg.segment.fairness_ratio, 2))
                      + (": " + ", ".join(f"{r.group_label if 'group_label' in flagged else r.group} "
                                          f"{r.metric_label if 'metric_label' in flagged else r.metric} "
                                          f"{r.level_high}/{r.level_low} {num(r.ratio, 2)} ({r.explanation})"
                                          for r in flagged.itertuples())
                         if len(flagged) else "."),
                      highlight=False, soft_wrap=True)
    console.print(say("segment_done", tables=len(pub.tables), figures=len(pub.figures), path=report.out_dir,
                      intern=intern), highlight=False, soft_wrap=True)


def _check_internal_dir(intern: Path, report_dirs: list[Path]) -> None:
    """Refuse an internal folder inside a report folder (or inside any marked report folder)."""
    from caseload.errors import ConfigError
    from caseload.publish.report import MARKER

    for folder in report_dirs:
        if intern == folder or folder in intern.parents:
            raise ConfigError(
                f"the internal folder '{intern}' for the per-client list lies inside the report "
                f"folder '{folder}', which is published.",
                fix="set [segment] internal_dir (or --intern) to a folder outside every report "
                    "folder, e.g. 'intern' next to the config.")
    for parent in [intern, *intern.parents]:
        if (parent / MARKER).is_file():
            raise ConfigError(
                f"the internal folder '{intern}' lies inside the report folder '{parent}', which "
                "is published.",
                fix="set [segment] internal_dir (or --intern) to a folder outside every report "
                    "folder, e.g. 'intern' next to the config.")


def _publish_model_evaluation(pub, fit_report: dict, lang: str) -> None:
    """The hold-out evaluation of a freshly fitted model, as suppressed published tables."""
    from caseload.schema import label_table, pick_label

    words = label_table("report.segment_model")
    section = pick_label(words["section"], lang)
    split = f"{fit_report['split_date']:%d-%m-%Y}"
    method = pick_label(words["method"], lang, split=split)
    pub.add_table("segment_model_kalibratie", fit_report["calibration"],
                  title=pick_label(words["calibration"], lang),
                  method=method, counts=["n"], percentages={"observed": "n"}, scale=1, secondary=False,
                  decimals=4, section=section)
    confusion = fit_report["confusion"].reset_index()
    confusion.columns = [str(c) for c in confusion.columns]
    pub.add_table("segment_model_vs_consulent", confusion,
                  title=pick_label(words["confusion"], lang),
                  method=method, counts=list(confusion.columns[1:]), section=section)
    if fit_report.get("coefficients") is not None:
        pub.add_table("segment_model_coefficienten", fit_report["coefficients"],
                      title=pick_label(words["coefficients"], lang), method=method,
                      decimals=4, section=section,
                      suppression_note=pick_label(words["coefficients_note"], lang))
