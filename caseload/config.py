"""The TOML configuration: one pydantic model, every setting in one place.

Importing this module does no I/O. :func:`load_config` reads a file; relative
paths in it are resolved against the folder of the config file, so a config can
travel with its data (``data/sample/caseload.toml``).

Each analysis has its own section (``[extract]``, ``[segment]``, ``[durations]``,
``[forecast]``, ``[kpi]``, ``[capacity]``, ``[report]``). Unknown keys are an
error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from caseload.errors import ConfigError

__all__ = [
    "Config",
    "ExtractConfig",
    "PrivacyConfig",
    "ReportConfig",
    "SegmentConfig",
    "DurationsConfig",
    "ForecastConfig",
    "KpiConfig",
    "CapacityConfig",
    "load_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExtractConfig(_Section):
    """``[extract]``: which files to read and how their columns map."""

    files: list[Path] = Field(default_factory=list, description="Extract files (csv, xlsx, parquet).")
    mapping: str | dict[str, str] = Field(
        "gws",
        description="Preset name ('gws', 'canonical') or a table {canonical column = file column}.",
    )
    municipality: str | None = Field(
        None, description="CBS code (GM....) used when the extract has no municipality column."
    )
    peildatum: str | None = Field(None, description="Reference date; default: from the data.")
    gap_days: int = Field(
        1, ge=0, description="Period rows of one benefit merge when the gap between them is at most this many days."
    )
    end_reasons: dict[str, str] = Field(
        default_factory=dict,
        description="Extra texts of 'Omschrijving einde bijstandsafhankelijkheid' -> END_REASON code.",
    )
    households: dict[str, str] = Field(
        default_factory=dict,
        description="Extra texts of 'Omschrijving leefvorm' -> HOUSEHOLD code.",
    )


class PrivacyConfig(_Section):
    """``[privacy]``: pseudonym key and disclosure control."""

    key_file: Path | None = Field(
        None, description="Pseudonym key file; default ~/.config/caseload/pseudonym.key."
    )
    min_cell: int = Field(5, ge=1, description="Counts below this are suppressed in published tables.")


class ReportConfig(_Section):
    """``[report]``: where and how results are published."""

    out_dir: Path = Field(Path("reports"), description="Output folder, replaced as a whole by each successful run.")
    language: Literal["nl", "en"] = Field("nl", description="Language of headers, labels and figure text.")
    source: str = Field("Eigen bewerking van het uitkeringsbestand", description="Source line under tables and figures.")
    title: str = Field("Bestandsanalyse Participatiewet", description="Title of index.html and the workbook.")
    steps: list[str] | None = Field(
        None,
        description="Steps of `caseload refresh` to run, in the fixed order (default: all; "
        "'validate' always runs). Names: validate, stock, segment, flows, durations, "
        "forecast, kpi, capacity.",
    )


class SegmentConfig(_Section):
    """``[segment]``: A/B/C rules, statistical model, profiles, PMCs, fairness."""

    model_config = ConfigDict(extra="allow")


class DurationsConfig(_Section):
    """``[durations]``: age bands and survival settings."""

    model_config = ConfigDict(extra="allow")
    age_bands: list[tuple[int, int]] = Field(default_factory=lambda: [(15, 26), (27, 44), (45, 64)])


class ForecastConfig(_Section):
    """``[forecast]``: projections and time series."""

    horizon: int = Field(12, ge=1, description="Months ahead for the caseload forecast.")
    season_length: int = Field(12, ge=1, description="Months in a season (ETS seasonality).")
    levels: list[int] = Field(default_factory=lambda: [80, 95],
                              description="Prediction-interval levels in percent.")
    ets_model: str = Field("ZZZ", pattern="^[ZAM][ZAMN][ZAMN]$",
                           description="ETS model space (error, trend, season; Z = choose by AICc).")
    history_months: int = Field(120, ge=24, description="Months of extract history used per series.")
    include_cbs: bool = Field(True, description="Also forecast the national CBS bijstand series (37789ksz).")
    constrain_structural: bool = Field(
        True, description="Stock-flow fit: tie inflow to exit rate x published structural level.")
    origin_year: int | None = Field(
        None, description="Stock-flow fit: year the stock was zero (e.g. 2015); default a free start stock.")
    project_until: int = Field(2025, description="Last year of the new-target-group projection.")
    sheltered_base_year: int = Field(2018, description="Year whose municipal share of the national "
                                     "sheltered-work target is held constant afterwards.")
    candidate_quarters: int = Field(4, ge=1, description="Quarters ahead in the candidate pipeline.")
    segment_column: str = Field("caseworker_segment", description="Assessment column with A/B/C.")
    pmc_column: str = Field("caseworker_profile",
                            description="Assessment column with the profile-market combination (or profile).")


class KpiConfig(_Section):
    """``[kpi]``: outcome indicators."""

    months: int = Field(24, gt=0, description="Horizon N of 'outflow to work within N months'.")
    target: float = Field(0.80, ge=0, le=1, description="Target share of outflow to work within N months.")
    alpha: float = Field(0.05, gt=0, lt=1, description="1 - confidence level of intervals.")
    inflow_start: str | None = Field(None, description="First start date of the cohort (default: N months "
                                     "+ 2 years before the peildatum).")
    inflow_end: str | None = Field(None, description="Last start date of the cohort (default: N months "
                                   "before the peildatum).")
    segments: list[str] = Field(default_factory=lambda: ["A", "B"],
                                description="Caseworker segments at the first assessment in the spell that "
                                            "form the cohort ('judged able to work'); [] = everyone.")
    by: list[str] = Field(default_factory=lambda: ["municipality"],
                          description="Spell columns to report the KPI separately for ([] = one total).")
    durability_windows: list[int] = Field(default_factory=lambda: [3, 6],
                                          description="Months after an exit to work to check for a new benefit.")
    revolving_months: int = Field(12, gt=0, description="Return window of the revolving-door share.")
    revolving_exits: Literal["all", "work"] = Field("all", description="Exits judged for the revolving door.")
    monitoring_year: int | None = Field(None, description="Year of the monitoring tables (default: year of "
                                        "the peildatum).")
    trajectory_gap_days: int = Field(31, ge=0, description="Activities at most this many days apart form "
                                     "one trajectory.")
    sheltered_targets: Path | None = Field(None, description="CSV with columns year,target: the municipal "
                                           "sheltered-work target (taakstelling).")
    benchmark_municipality: str | None = Field(None, description="CBS code to benchmark (default: the most "
                                               "frequent municipality in the extract).")
    benchmark_year: int = Field(2017, ge=2015, le=2017, description="Year of the bundled CBS figures.")
    benchmark_method: Literal["band", "size_class"] = Field("band", description="Peers: size band or CBS "
                                                            "size class.")
    benchmark_band: tuple[float, float] = Field((0.5, 2.0), description="Peers have low x to high x the "
                                                "inhabitants (15+).")
    benchmark_age_group: Literal["15+ totaal", "15 tot AOW", "AOW+"] = Field(
        "15+ totaal", description="CBS age group of the benchmarked figures.")


class CapacityConfig(_Section):
    """``[capacity]``: coach capacity planning."""

    clients_per_fte: float = Field(60, gt=0, description="Norm: clients in a trajectory per full-time coach.")
    minutes_per_contact: float = Field(124, gt=0, description="Minutes per contact incl. preparation and "
                                       "reporting (calibrated on Losser; an assumption).")
    productive_hours_per_fte: float = Field(1300, gt=0, description="Productive hours of one FTE per year "
                                            "(an assumption).")
    chance_steps: list[int] = Field(default_factory=lambda: [5, 6], description="Ladder steps that count "
                                    "as 'with chances of work'.")
    scheme: list[dict[str, Any]] = Field(default_factory=list, description="Contact scheme rows {code, "
                                         "contacts_per_year, label_nl, minutes_per_contact}; [] = the "
                                         "Losser scheme.")


class Config(_Section):
    """The whole configuration. Every section has defaults, so an empty file is valid."""

    extract: ExtractConfig = Field(default_factory=ExtractConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    segment: SegmentConfig = Field(default_factory=SegmentConfig)
    durations: DurationsConfig = Field(default_factory=DurationsConfig)
    forecast: ForecastConfig = Field(default_factory=ForecastConfig)
    kpi: KpiConfig = Field(default_factory=KpiConfig)
    capacity: CapacityConfig = Field(default_factory=CapacityConfig)
    base_dir: Path = Field(Path("."), exclude=True, description="Folder of the config file.")

    def resolve(self, path: Path | str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)


def _format_validation_error(exc: ValidationError, path: Path) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        lines.append(f"[{loc}] {err['msg']}")
    return "; ".join(lines)


def load_config(path: Path | str | None = None, **overrides: Any) -> Config:
    """Read a TOML config file (or none: all defaults).

    Parameters
    ----------
    path : path-like, optional
        The ``caseload.toml`` file.
    **overrides
        Section dictionaries that replace those in the file, e.g.
        ``report={"language": "en"}``.

    Raises
    ------
    ConfigError
        When the file is missing, not valid TOML, or has unknown or invalid keys.
    """
    data: dict[str, Any] = {}
    base = Path(".")
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError("config file not found.", file=path,
                              fix="Pass the path of an existing caseload.toml (see data/sample/caseload.toml).")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}.", file=path,
                              fix="Check quotes and brackets at the line named.") from exc
        base = path.resolve().parent
    for key, value in overrides.items():
        data[key] = {**data.get(key, {}), **value}
    try:
        cfg = Config.model_validate({**data, "base_dir": base})
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {_format_validation_error(exc, path)}.", file=path,
                          fix="Correct or remove the keys named; see the README for every setting.") from exc
    return cfg
