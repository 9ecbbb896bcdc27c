"""What the steps of a run share, and what a run returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from caseload.config import Config
from caseload.errors import CaseloadError
from caseload.publish import Publication, ReportResult, StepRecord
from caseload.schema import Caseload


class RefreshError(CaseloadError):
    """A step of the batch run failed; the previous reports are untouched."""


@dataclass
class RunContext:
    """What the steps share: config, the loaded extract, the publication, results.

    ``results`` keeps small results of earlier steps for later ones; the large
    intermediate objects (the segmentation's per-client frames, the spell-level
    duration frame) are not kept, so their memory is freed before the next step.
    ``steps`` names the steps of this run (a step can leave a table to another).
    ``keep_results`` asks steps to keep their full result objects too (for the
    single-analysis commands, which print from them).
    ``subset`` marks a run on one municipality's part of the extract (the
    reports per municipality): the overrides of other municipalities' clients
    are then left out without a warning.
    """

    config: Config
    lang: str
    publication: Publication
    caseload: Caseload | None = None
    results: dict[str, Any] = field(default_factory=dict)
    steps: tuple[str, ...] = ()
    keep_results: bool = False
    subset: bool = False

    def words(self, nl: str, en: str) -> str:
        """The text in the run's language."""
        return nl if self.lang == "nl" else en


@dataclass(frozen=True)
class Step:
    """One step of the batch run.

    ``run(ctx)`` adds tables and figures to ``ctx.publication`` and returns the
    number of rows it worked on (for the manifest and the summary).
    """

    name: str
    title_nl: str
    title_en: str
    run: Callable[[RunContext], int]

    def title(self, lang: str) -> str:
        return self.title_nl if lang == "nl" else self.title_en


@dataclass
class RefreshResult:
    """Outcome of :func:`refresh`: the written report and the per-step records."""

    report: ReportResult
    steps: list[StepRecord]
    seconds: float

    @property
    def out_dir(self) -> Path:
        return self.report.out_dir

    def summary(self) -> pd.DataFrame:
        """One row per step: name, rows, seconds, tables, figures."""
        return pd.DataFrame([{"step": s.name, "rows": s.rows, "seconds": round(s.seconds, 2),
                              "tables": len(s.tables), "figures": len(s.figures)}
                             for s in self.steps])


