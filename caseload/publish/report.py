"""write_report: suppress, write into a temporary folder, check, swap in atomically."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from caseload.publish.files import (
    _display_frame,
    _sheet_names,
    _write_csv,
    _write_workbook,
    file_sha256,
)
from caseload.publish.items import Publication, ReportResult, TableItem, _frame, _tx
from caseload.publish.report_html import _peil_text, _write_html, _write_pdf
from caseload.publish.suppression import _guard, suppress_table, suppression_rule

#: Packages whose versions the manifest records.
MANIFEST_PACKAGES = ("caseload", "pandas", "numpy", "scikit-learn", "statsmodels", "matplotlib",
                     "pyarrow", "openpyxl", "scipy", "weasyprint")

#: What write_report generates in the output folder; anything else there (the folder's
#: README.md, the output folders of `caseload kpi`, `caseload durations`...) is carried over.
GENERATED = frozenset({"tables", "figures", "index.html", "tabellen.xlsx", "manifest.json",
                       "rapport.pdf", "gemeenten"})


def _package_versions() -> dict[str, str]:
    out = {}
    for name in MANIFEST_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _check_files(paths: list[Path]) -> None:
    from caseload import privacy

    for p in paths:
        if p.suffix == ".pdf":  # checked as the HTML it is printed from (_write_pdf)
            continue
        privacy.check_file_no_bsn(p)


# --------------------------------------------------------------------------- write_report


def write_report(pub: Publication, out_dir: Path | str, *, extra_manifest: dict | None = None,
                 started: float | None = None) -> ReportResult:
    """Write a publication to ``out_dir``, atomically.

    Every table is suppressed (:func:`suppress_table`) and guarded (no
    identifier columns, pseudonyms or BSN-like values), then written as CSV and
    as a sheet of one XLSX workbook with a "Toelichting" sheet; figures as PNG
    and SVG; a self-contained ``index.html``; and ``manifest.json``. Every
    written file is checked for BSN-like numbers.

    The files go to a temporary folder next to ``out_dir`` (same filesystem);
    only when all of them were written and checked is the old folder renamed
    aside, the new one renamed into place and the old one deleted. On any
    error the previous ``out_dir`` is left exactly as it was and the temporary
    folder is removed. Entries of the old folder that the report does not
    generate (its ``README.md``, the output folders of other commands such as
    ``reports/kpi``) are copied into the new folder before the swap.

    Parameters
    ----------
    pub : Publication
    out_dir : path-like
        Target folder, e.g. ``reports``.
    extra_manifest : dict, optional
        More entries for ``manifest.json``.
    started : float, optional
        ``time.perf_counter()`` at the start of the run, for the total time in
        the manifest.

    Returns
    -------
    ReportResult

    Raises
    ------
    PublishError
        When a table's spec does not fit its data (a count column with gaps or
        negative values, an unknown total row).
    caseload.privacy.PrivacyError
        When a table holds identifier columns, pseudonyms or BSN-like values,
        or a written file holds a BSN-like number.

    In every case nothing is changed in ``out_dir``.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(out_dir)
    stage = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        written, manifest = _write_all(pub, stage, extra_manifest or {})
        _carry_over(out_dir, stage)
        manifest["timings"]["write_seconds"] = round(time.perf_counter() - t0, 3)
        if started is not None:
            manifest["timings"]["total_seconds"] = round(time.perf_counter() - started, 3)
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False,
                                                        default=str) + "\n", encoding="utf-8")
        _check_files([stage / "manifest.json"])
        _swap(stage, out_dir)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    files = [out_dir / p.relative_to(stage) for p in [*written, stage / "manifest.json"]]
    return ReportResult(out_dir, files, manifest, time.perf_counter() - t0)


def _remove_stale_stages(out_dir: Path) -> None:
    """Delete temporary folders of runs that were killed (their process no longer exists).

    A run removes its own temporary folder on any error it can catch; only a
    hard kill (``SIGKILL``, power loss) leaves one behind.
    """
    for p in out_dir.parent.glob(f".{out_dir.name}.tmp-*"):
        try:
            pid = int(p.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid() or not p.is_dir():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except PermissionError:  # another user's live process
            continue


def _carry_over(out_dir: Path, stage: Path) -> None:
    """Copy what the previous folder holds besides the report itself into the new one."""
    if not out_dir.is_dir():
        return
    for entry in sorted(out_dir.iterdir()):
        if entry.name in GENERATED or (stage / entry.name).exists():
            continue
        if entry.is_dir():
            shutil.copytree(entry, stage / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, stage / entry.name, follow_symlinks=False)


def _swap(stage: Path, out_dir: Path) -> None:
    """Put ``stage`` in the place of ``out_dir`` with two renames."""
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        out_dir.rename(old)
    try:
        stage.rename(out_dir)
    except BaseException:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _write_all(pub: Publication, stage: Path, extra: dict) -> tuple[list[Path], dict]:
    from caseload.figures.style import save

    lang = pub.lang
    (stage / "tables").mkdir()
    (stage / "figures").mkdir()
    written: list[Path] = []
    frames: list[tuple[TableItem, pd.DataFrame]] = []
    masks: dict[str, pd.DataFrame] = {}
    decimals: dict[str, dict[str, int]] = {}
    table_meta = []
    for item in pub.tables:
        table, stats = suppress_table(item, pub.min_cell)
        shown, decimals[item.name] = _display_frame(item, table, lang, pub.municipality_names)
        _guard(item, shown)
        before = _frame(item.data).reindex(columns=table.columns)
        mask = pd.DataFrame(table.isna().to_numpy() & before.notna().to_numpy(), columns=shown.columns)
        masks[item.name] = mask
        frames.append((item, shown))
        p = stage / "tables" / f"{item.name}.csv"
        _write_csv(shown, p, decimals[item.name], pub.csv)
        written.append(p)
        table_meta.append({"name": item.name, "title": item.title, "file": f"tables/{item.name}.csv",
                           "rows": int(len(shown)), "columns": [str(c) for c in shown.columns],
                           "suppressed": stats, "sha256": file_sha256(p)})
    notes = pd.DataFrame({
        _tx("sheet", lang): _sheet_names([i.name for i, _ in frames]),
        _tx("title", lang): [i.title for i, _ in frames],
        _tx("method", lang): [i.method for i, _ in frames],
        _tx("source", lang): [i.source or pub.source for i, _ in frames],
        _tx("peildatum", lang): [_peil_text(i.peildatum, pub) for i, _ in frames],
        _tx("suppression", lang): [suppression_rule(i, pub.min_cell, lang) for i, _ in frames],
        _tx("primary", lang): [m["suppressed"]["primary"] for m in table_meta],
        _tx("secondary", lang): [m["suppressed"]["secondary"] for m in table_meta],
        _tx("pct_suppressed", lang): [m["suppressed"]["percentages"] for m in table_meta],
    })
    xlsx = stage / "tabellen.xlsx"
    sheets = _write_workbook(xlsx, pub, frames, decimals, notes)
    for meta, sheet in zip(table_meta, sheets, strict=True):
        meta["sheet"] = sheet
    written.append(xlsx)
    figure_png: dict[str, bytes] = {}
    figure_meta = []
    for fig in pub.figures:
        paths = save(fig.figure, stage / "figures" / fig.name)
        written.extend(paths)
        png = next(p for p in paths if p.suffix == ".png")
        figure_png[fig.name] = png.read_bytes()
        figure_meta.append({"name": fig.name, "title": fig.title,
                            "files": [f"figures/{p.name}" for p in paths],
                            "sha256": {p.name: file_sha256(p) for p in paths}})
    sheet_of = {m["name"]: m["sheet"] for m in table_meta}
    index = stage / "index.html"
    _write_html(index, pub, frames, masks, decimals, figure_png, sheet_of)
    written.append(index)
    if pub.pdf:
        pdf = stage / "rapport.pdf"
        _write_pdf(pdf, pub, frames, masks, decimals, figure_png, sheet_of)
        written.append(pdf)
    _check_files(written)
    manifest = {
        "title": pub.title,
        "peildatum": pub.peildatum.date().isoformat(),
        "language": lang,
        "csv": pub.csv,
        "findings": [{"group": f.group, "topic": f.topic, "headline": f.headline,
                      "sentence": f.sentence} for f in pub.findings],
        "created_utc": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "inputs": [{"path": str(p), "bytes": Path(p).stat().st_size, "sha256": file_sha256(p)}
                   for p in pub.inputs],
        "config": pub.config,
        "packages": _package_versions(),
        "suppression": {"min_cell": pub.min_cell,
                        "rule": ("primary: counts below min_cell; secondary: further cells so that "
                                 "no suppressed cell follows from row or column totals; "
                                 "percentages on suppressed bases")},
        "steps": [{"name": s.name, "rows": s.rows, "seconds": round(s.seconds, 3),
                   "tables": s.tables, "figures": s.figures} for s in pub.steps],
        "tables": table_meta,
        "figures": figure_meta,
        "files": {str(p.relative_to(stage)): file_sha256(p) for p in written},
        "timings": {"steps_seconds": round(sum(s.seconds for s in pub.steps), 3)},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(manifest.get(key), dict):
            manifest[key].update(value)
        else:
            manifest[key] = value
    return written, manifest
