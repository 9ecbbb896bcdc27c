"""The batch run: config -> extract -> every analysis -> ``reports/``.

Modules: :mod:`~caseload.refresh.context` (run context, step, result),
:mod:`~caseload.refresh.stock` (stock on the peildatum, composition),
:mod:`~caseload.refresh.steps` (one function per step); this module holds the
registry :data:`STEPS` and :func:`refresh`.

:func:`refresh` reads the extract named in the config, validates it and runs
the analysis steps in a fixed order. Each step is a function of the run
context that adds tables and figures to one :class:`~caseload.publish.Publication`
and returns a row count; the steps call the public API of the analysis modules
and compute nothing of their own beyond the published aggregates. Only when
every step succeeded is the publication written (atomically) by
:func:`caseload.publish.write_report`, so a failed run leaves the previous
reports untouched.

Steps, in order: ``validate`` (always), ``stock``, ``segment``, ``flows``,
``durations``, ``forecast``, ``kpi``, ``capacity``. ``[report] steps`` in the
config selects a subset.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from caseload.config import Config, load_config
from caseload.errors import CaseloadError
from caseload.privacy import key_fingerprint, load_key, warn_if_key_changed
from caseload.publish import Publication, StepRecord, write_report
from caseload.publish.report import check_report_folder
from caseload.refresh.context import RefreshError, RefreshResult, RunContext, Step
from caseload.refresh.findings import key_findings
from caseload.refresh.steps import (
    STEP_TITLES,
    _step_capacity,
    _step_durations,
    _step_flows,
    _step_forecast,
    _step_kpi,
    _step_segment,
    _step_stock,
    _step_validate,
)
from caseload.refresh.stock import stock_composition, stock_on
from caseload.schema.labels import label_table, pick_label

__all__ = [
    "RefreshError",
    "RunContext",
    "Step",
    "STEPS",
    "RefreshResult",
    "refresh",
    "run_steps",
    "stock_on",
    "stock_composition",
]


_WORDS = label_table("report.refresh")


def _t(key: str, lang: str) -> str:
    """A text of the ``[report.refresh]`` catalogue group (the progress lines) in ``lang``."""
    return pick_label(_WORDS[key], lang)


# --------------------------------------------------------------------------- registry

STEPS: list[Step] = [
    Step(name, *STEP_TITLES[name], run) for name, run in (
        ("validate", _step_validate), ("stock", _step_stock), ("segment", _step_segment),
        ("flows", _step_flows), ("durations", _step_durations), ("forecast", _step_forecast),
        ("kpi", _step_kpi), ("capacity", _step_capacity))
]
"""The steps in the order they run (titles: ``[report.step_titles]`` of the label catalogue)."""


def _select_steps(names: Sequence[str] | None) -> list[Step]:
    known = [s.name for s in STEPS]
    if names is None:
        return list(STEPS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RefreshError(f"unknown step(s) {unknown} in [report] steps.",
                           fix=f"Use step names from: {', '.join(known)}.")
    wanted = set(names) | {"validate"}
    return [s for s in STEPS if s.name in wanted]


def refresh(config: Config | Path | str, *, out_dir: Path | str | None = None,
            lang: str | None = None, steps: Sequence[str] | None = None,
            progress=None) -> RefreshResult:
    """Run the batch refresh: read, validate, analyse, publish.

    Parameters
    ----------
    config : Config or path-like
        The settings, or the path of a ``caseload.toml``.
    out_dir : path-like, optional
        Output folder; default ``[report] out_dir`` (relative to the config file).
    lang : {"nl", "en"}, optional
        Language of the report; default ``[report] language``.
    steps : sequence of str, optional
        Steps to run; default ``[report] steps`` or all.
    progress : rich.progress.Progress, optional
        When given, one task per step is added and advanced.

    Returns
    -------
    RefreshResult

    Raises
    ------
    RefreshError
        A step failed (the message names it). Nothing was written: the
        previous reports are untouched.
    """
    import warnings

    # A report holds a few dozen figures until they are written: not a leak. (Not an
    # rc_context: leaving it would undo the house style set when the figure modules load.)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="More than 20 figures have been opened")
        return _refresh(config, out_dir=out_dir, lang=lang, steps=steps, progress=progress)


def _refresh(config, *, out_dir, lang, steps, progress) -> RefreshResult:
    t0 = time.perf_counter()
    inputs: list[Path] = []
    if not isinstance(config, Config):
        inputs.append(Path(config).resolve())
        config = load_config(config)
    rc = config.report
    lang = lang or rc.language
    if lang not in ("nl", "en"):
        raise RefreshError(f"unknown language {lang!r}.", fix="Use 'nl' or 'en'.")
    target = Path(out_dir) if out_dir is not None else config.resolve(rc.out_dir)
    pub = Publication(rc.title, config.extract.peildatum or pd.Timestamp("today").normalize(),
                      rc.source, lang=lang, min_cell=config.privacy.min_cell,
                      protection_level=config.privacy.protection_level)
    pub.inputs.extend(inputs)
    pub.config = config.model_dump(mode="json")
    _report_settings(pub, config)
    ctx = RunContext(config=config, lang=lang, publication=pub)
    selected = _select_steps(steps if steps is not None else rc.steps)
    ctx.steps = tuple(s.name for s in selected)
    # Refuse a report folder that may not be replaced before spending minutes on the steps.
    protected = [*inputs, *(config.resolve(f) for f in config.extract.files),
                 config.resolve(config.segment.internal_dir),
                 *([config.resolve(config.privacy.key_file)] if config.privacy.key_file else [])]
    try:
        check_report_folder(target, protected)
    except CaseloadError as exc:
        raise RefreshError(f"cannot write the report to '{target}': {exc.message}",
                           fix=exc.fix) from exc
    _run(ctx, selected, progress)
    per_municipality = rc.per_municipality and ctx.caseload is not None
    if per_municipality:
        from caseload.schema import municipality_name

        # Beside the combined report, not inside it: a report folder is replaced whole by
        # its next run and never holds another report (caseload.publish.check_report_folder).
        codes = sorted(str(m) for m in ctx.caseload.spells["municipality"].dropna().unique())
        pub.related_reports = [
            (municipality_name(c, rc.municipality_names), f"../{target.name}-gemeenten/{_folder_name(c, rc.municipality_names)}/index.html")
            for c in codes]
    parts: list = []
    contexts: list = []
    if per_municipality:
        # One publication for disclosure control: protected jointly before anything is written.
        parts, contexts = _per_municipality(config, ctx.caseload, selected, lang,
                                            target.parent / f"{target.name}-gemeenten", progress,
                                            protected=protected)
        cross = _protect_jointly(pub, parts, target)
    # The key findings quote the tables as they will be published, so they come after the
    # (joint) protection. Then the extract and the intermediate results are freed before the
    # figures are rendered (matters at national size).
    for c in (ctx, *contexts):
        c.publication.findings = key_findings(c)
        c.caseload = None
        c.results.clear()
    if progress is not None:
        task = progress.add_task(_t("progress_report", lang), total=1)
    # the key's fingerprint (never the key) in the manifest; a change since the last report is a warning
    key_file = config.privacy.key_file
    fingerprint = key_fingerprint(load_key(config.resolve(key_file) if key_file is not None else None))
    warn_if_key_changed(target / "manifest.json", fingerprint)
    try:
        report = write_report(pub, target, started=t0, protected=protected,
                              extra_manifest={"steps_run": [s.name for s in selected],
                                              "pseudonym_key_fingerprint": fingerprint})
    except (CaseloadError, OSError) as exc:
        for fig in pub.figures:
            _close(fig.figure)
        raise RefreshError(f"writing the report to '{target}' failed: {exc}",
                           fix="Correct the cause named above and run again; the previous "
                               "reports were left untouched.") from exc
    if progress is not None:
        progress.update(task, completed=1)
    if parts:
        _write_municipalities(parts, protected)
        _write_joint(pub, parts, target, cross)
    return RefreshResult(report, pub.steps, time.perf_counter() - t0)


def _folder_name(code: str, names: dict[str, str] | None = None) -> str:
    """``GM0168-losser``: the folder of a municipality's own report (the code alone without a name)."""
    import re as _re
    import unicodedata

    from caseload.schema import municipality_name

    name = unicodedata.normalize("NFKD", municipality_name(code, names)).encode("ascii", "ignore").decode()
    slug = _re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"{code}-{slug}" if slug and slug != code.lower() else code


def _report_settings(pub: Publication, config: Config) -> None:
    """Copy the ``[report]`` output settings (CSV format, PDF, municipality names) onto ``pub``."""
    rc = config.report
    pub.csv = rc.csv
    pub.pdf = rc.pdf
    pub.municipality_names = dict(rc.municipality_names)


def _per_municipality(config: Config, caseload, selected: Sequence[Step], lang: str, folder: Path,
                      progress=None, protected=()) -> tuple[list[tuple], list[RunContext]]:
    """One report per municipality for ``folder/<code>-<name>/``: the steps rerun on its part.

    Returns ``(code, name, out folder, publication, steps)`` per municipality and the run
    contexts (for the key findings, made after the joint protection); nothing is
    written yet (:func:`_protect_jointly` first, then :func:`_write_municipalities`). All
    publications are held until then, figures included: fine for the handful of
    municipalities of a shared service, heavy for hundreds.

    ``folder`` lies beside the combined report (``reports-gemeenten/`` next to
    ``reports/``); each municipality's folder follows the same folder rules.

    A municipality's part of the extract is its spells, the clients with a spell
    there, and those clients' assessments and activities. The combined report's
    folder is written after them; each municipality's folder is replaced atomically
    by :func:`write_report`.
    """
    from caseload.schema import Caseload, municipality_name

    codes = sorted(str(m) for m in caseload.spells["municipality"].dropna().unique())
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    contexts = []
    names = dict(config.report.municipality_names)
    task = None
    if progress is not None:
        task = progress.add_task(_t("progress_per_municipality", lang),
                                 total=len(codes))
    for code in codes:
        sp = caseload.spells[caseload.spells["municipality"].astype(str) == code]
        ids = set(sp["client_id"])
        part = Caseload(
            clients=caseload.clients[caseload.clients["client_id"].isin(ids)].reset_index(drop=True),
            spells=sp.reset_index(drop=True),
            assessments=caseload.assessments[caseload.assessments["client_id"].isin(ids)].reset_index(drop=True),
            activities=caseload.activities[caseload.activities["client_id"].isin(ids)].reset_index(drop=True),
            peildatum=caseload.peildatum, rejected=caseload.rejected.iloc[0:0], report=caseload.report)
        name = municipality_name(code, names)
        pub = Publication(f"{config.report.title}: {name}", caseload.peildatum, config.report.source,
                          lang=lang, min_cell=config.privacy.min_cell,
                          protection_level=config.privacy.protection_level)
        pub.config = config.model_dump(mode="json")
        _report_settings(pub, config)
        ctx = RunContext(config=config, lang=lang, publication=pub, caseload=part, subset=True)
        steps = [s for s in selected if s.name != "validate"]
        ctx.steps = tuple(s.name for s in steps)
        _run(ctx, steps)
        contexts.append(ctx)  # the key findings come after the joint protection
        written.append((code, name, folder / _folder_name(code, names), pub, list(ctx.steps)))
        if task is not None:
            progress.update(task, advance=1)
    return written, contexts


def _protect_jointly(pub: Publication, parts: list, target: Path):
    """Protect the combined report and the reports per municipality as one publication.

    See :mod:`caseload.publish.joint`. A count still recoverable from the reports
    together stops the run before anything is written.
    """
    from caseload.publish.joint import JointDisclosureError, protect_jointly

    pubs = {f"../{target.name}": pub, **{out.name: p for _c, _n, out, p, _s in parts}}
    try:
        return protect_jointly(pubs, f"../{target.name}")
    except JointDisclosureError as exc:
        for p in pubs.values():
            for fig in p.figures:
                _close(fig.figure)
        raise RefreshError(f"joint disclosure control of the reports per municipality: {exc.message}",
                           fix=exc.fix) from exc


def _write_municipalities(parts: list, protected) -> list[Path]:
    """Write the reports per municipality (each folder replaced atomically)."""
    written = []
    for k, (code, name, out, pub, steps) in enumerate(parts):
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_report(pub, out, protected=protected,
                         extra_manifest={"municipality": code, "steps_run": steps})
        except (CaseloadError, OSError) as exc:
            for _c, _n, _o, p, _s in parts[k:]:
                for fig in p.figures:
                    _close(fig.figure)
            raise RefreshError(f"writing the report of {name} ({code}) to '{out}' failed: {exc}",
                               fix="Correct the cause named above and run again.") from exc
        pub.figures.clear()
        written.append(out)
    return written


def _write_joint(pub: Publication, parts: list, target: Path, cross: list) -> Path:
    """Write ``joint-relations.json`` beside the reports per municipality and audit them together."""
    import json

    from caseload.privacy.audit import AuditError
    from caseload.privacy.joint_audit import JOINT_FILE, check_reports
    from caseload.publish.joint import joint_document

    folder = parts[0][2].parent
    pubs = {f"../{target.name}": pub, **{out.name: p for _c, _n, out, p, _s in parts}}
    doc = joint_document(cross, pubs, {k: k for k in pubs})
    path = folder / JOINT_FILE
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    try:
        check_reports(path)
    except AuditError as exc:
        raise RefreshError(f"the joint disclosure audit of the reports failed: {exc.message}",
                           fix="Do not publish these folders; report this as a bug.") from exc
    return path


def _run(ctx: RunContext, selected: Sequence[Step], progress=None) -> None:
    """Run ``selected`` steps on ``ctx``: one progress task each, a failure named by its step."""
    pub, lang = ctx.publication, ctx.lang
    tasks = {}
    if progress is not None:
        for s in selected:
            tasks[s.name] = progress.add_task(s.title(lang), total=1, start=False)
    for s in selected:
        if progress is not None:
            progress.start_task(tasks[s.name])
        n_tables, n_figures = len(pub.tables), len(pub.figures)
        ts = time.perf_counter()
        try:
            rows = s.run(ctx)
        except Exception as exc:
            for fig in pub.figures:
                _close(fig.figure)
            detail = str(exc) if isinstance(exc, CaseloadError) else f"{type(exc).__name__}: {exc}"
            raise RefreshError(
                f"step '{s.name}' ({s.title(lang)}) failed: {detail}",
                fix="Correct the cause named above and run again; the previous reports were "
                    "left untouched.",
            ) from exc
        pub.add_step(StepRecord(s.name, int(rows), time.perf_counter() - ts,
                                [t.name for t in pub.tables[n_tables:]],
                                [f.name for f in pub.figures[n_figures:]]))
        if progress is not None:
            progress.update(tasks[s.name], completed=1)


def run_steps(config: Config, caseload, steps: Sequence[str], *, lang: str | None = None,
              title: str | None = None, progress=None) -> tuple[Publication, dict]:
    """Run analysis steps on an extract already loaded, into a new publication.

    The single-analysis commands (``caseload segment``, ``caseload forecast``) use
    this, so that their tables get exactly the batch run's suppression, labels and
    method texts; they then write the publication with
    :func:`caseload.publish.write_report`.

    Parameters
    ----------
    config : Config
    caseload : Caseload or None
        The loaded extract (``None`` only for steps that can run without one,
        such as ``forecast`` from bundled public tables).
    steps : sequence of str
        Step names from :data:`STEPS`, other than ``validate``.
    lang : {"nl", "en"}, optional
    title : str, optional
        Title of the report; default ``[report] title``.

    Returns
    -------
    (Publication, dict)
        The publication and the steps' results (``ctx.results``).
    """
    lang = lang or config.report.language
    if "validate" in steps:
        raise RefreshError("run_steps works on a loaded extract; 'validate' reads files.",
                           fix="Use refresh() for a run that reads the extract.")
    selected = [st for st in _select_steps(list(steps)) if st.name != "validate"]
    peil = caseload.peildatum if caseload is not None and caseload.peildatum is not None else (
        config.extract.peildatum or pd.Timestamp("today").normalize())
    pub = Publication(title or config.report.title, peil, config.report.source, lang=lang,
                      min_cell=config.privacy.min_cell, protection_level=config.privacy.protection_level)
    pub.config = config.model_dump(mode="json")
    _report_settings(pub, config)
    if caseload is not None and len(caseload.report):
        pub.inputs.extend(Path(str(f)) for f in caseload.report["file"])
    ctx = RunContext(config=config, lang=lang, publication=pub, caseload=caseload, keep_results=True)
    ctx.steps = tuple(st.name for st in selected)
    _run(ctx, selected, progress)
    return pub, ctx.results


def _close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)
