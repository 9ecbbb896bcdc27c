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
    friendly_errors,
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
    with console.status("Reading the extract..."):
        cs = read_extract(files or None, config=base)
    console.print(f"Read {cs!r}", highlight=False)
    if fit_model:
        with console.status("Fitting the model on the history..."):
            fitted, fit_report = fit_segment_model(cs, base, lang=lang)
        skops_path, card_path = save_model(fitted, intern / "models" / f"segment_{fitted.method}")
        page_path = card_path.with_name(card_path.name.replace(".card.json", ".card.md"))
        attachments = {f"models/{p.name}": p for p in (skops_path, card_path, page_path) if p.exists()}
        settings["model_file"] = str(skops_path.resolve())
        m = fitted.metrics_
        console.print(f"Model fitted on {fitted.training_['n']:,} assessments; hold-out from "
                      f"{m['holdout_from']}: ROC AUC {m['roc_auc']:.3f}, Brier {m['brier']:.4f}, "
                      f"kappa vs caseworker {m.get('kappa_caseworker', float('nan')):.2f} -> {skops_path}",
                      highlight=False, soft_wrap=True)
    cfg = load_config(config, segment=settings) if settings else base
    with console.status("Segmenting..."):
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
    (intern / "LEESMIJ.txt").write_text(
        "INTERN: deze map bevat per cliënt het pseudoniem, de groep en de reden. Niet publiceren of "
        "delen buiten het team dat de cliënten begeleidt.\n", encoding="utf-8")
    neutralise_frame(result.clients).to_csv(intern / "segment_clienten_INTERN.csv", sep=";",
                                            decimal=",", index=False, encoding="utf-8-sig",
                                            lineterminator="\r\n")  # a CR in a reason stays in its cell

    table = Table(title=f"caseload segment (peildatum {cs.peildatum:%d-%m-%Y}, {result.decided_by})")
    table.add_column("gemeente" if lang == "nl" else "municipality")
    for col in result.summary().columns:
        table.add_column(str(col), justify="right")
    for muni, row in result.summary().iterrows():
        table.add_row(str(muni), *[f"{int(v):,}" for v in row])
    console.print(table)
    c = result.counts
    console.print(f"{c['without_assessment']:,} client(s) without assessment (segment missing, counted); "
                  f"overrides applied {c['overrides_applied']:,}, unmatched {c['overrides_unmatched']:,}, "
                  f"expired {c.get('overrides_expired', 0):,}, future-dated {c.get('overrides_future_date', 0):,}; "
                  f"{c.get('reassess', 0):,} client(s) to reassess (assessment too old or from an earlier spell).",
                  highlight=False, soft_wrap=True)
    if result.fairness is not None:
        from caseload.segment import fairness_ratios

        flagged = fairness_ratios(result.fairness)
        flagged = flagged[flagged["flag"]]
        console.print(f"Fairness: {len(flagged)} pair(s) flagged (ratio {cfg.segment.fairness_ratio})"
                      + (": " + ", ".join(f"{r.group} {r.metric} {r.level_high}/{r.level_low} {r.ratio:.2f}"
                                          f" ({r.explanation})" for r in flagged.itertuples())
                         if len(flagged) else "."),
                      highlight=False, soft_wrap=True)
    console.print(f"{len(pub.tables)} tables, {len(pub.figures)} figures -> {report.out_dir}; "
                  f"per-client list in {intern} (INTERN).", highlight=False, soft_wrap=True)


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
    nl = lang == "nl"
    section = "Model: evaluatie op de hold-out" if nl else "Model: hold-out evaluation"
    split = f"{fit_report['split_date']:%d-%m-%Y}"
    method = (f"Logistische regressie (of gbm) op diagnoses vóór {split}, getoetst op diagnoses vanaf "
              f"{split}; uitkomst: uitstroom naar werk binnen de horizon." if nl else
              f"Model fitted on assessments before {split}, tested on those from {split}; outcome: "
              "exit to work within the horizon.")
    pub.add_table("segment_model_kalibratie", fit_report["calibration"],
                  title="Kalibratie per deciel van de voorspelde kans" if nl else "Calibration by decile",
                  method=method, counts=["n"], percentages={"observed": "n"}, scale=1, secondary=False,
                  decimals=4, section=section)
    confusion = fit_report["confusion"].reset_index()
    confusion.columns = [str(c) for c in confusion.columns]
    pub.add_table("segment_model_vs_consulent", confusion,
                  title="Groep volgens model en volgens consulent" if nl else "Model group vs caseworker group",
                  method=method, counts=list(confusion.columns[1:]), section=section)
    if fit_report.get("coefficients") is not None:
        pub.add_table("segment_model_coefficienten", fit_report["coefficients"],
                      title="Odds ratio's van het model" if nl else "Model odds ratios", method=method,
                      decimals=4, section=section,
                      suppression_note=("Modelcoëfficiënten, geen tellingen van personen." if nl else
                                        "Model coefficients, not counts of persons."))
