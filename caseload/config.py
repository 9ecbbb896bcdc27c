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
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from caseload.errors import ConfigError
from caseload.settings import CapacitySettings, DurationSettings, ForecastSettings, KpiSettings

# The analyses' defaults are written once, in caseload.settings; the sections below add validation
# and descriptions.
_DUR, _FC, _KPI, _CAP = DurationSettings(), ForecastSettings(), KpiSettings(), CapacitySettings()

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
    "default_config_toml",
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
    inflow_reasons: dict[str, str] = Field(
        default_factory=dict,
        description="Extra texts of 'Oorzaak bijstandsafhankelijkheid' -> inflow reason code.",
    )
    header_row: int | None = Field(
        None, ge=1, le=1000, description="Row of the column names (1 = first); default: found in the first 20 rows.")
    groups: list[str | int] | None = Field(
        None, description="Keep only rows whose 'Kode groep' is one of these (e.g. ['02']); default: all rows.")
    max_xlsx_mb: float = Field(
        2048.0, gt=0, description="Largest unpacked size (MB) of an XLSX file that is read (a guard against zip bombs).")


class PrivacyConfig(_Section):
    """``[privacy]``: pseudonym key and disclosure control."""

    key_file: Path | None = Field(
        None, description="Pseudonym key file; default ~/.config/caseload/pseudonym.key."
    )
    min_cell: int = Field(5, ge=1, description="Counts below this are suppressed in published tables.")
    protection_level: float | None = Field(
        None, ge=1, description="Width below which a suppressed count's feasible interval under the "
        "report's relations counts as disclosed (disclosure audit); default and minimum min_cell."
    )


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
    csv: Literal["excel-nl", "plain"] = Field(
        "excel-nl", description="CSV format: 'excel-nl' (';', decimal comma, UTF-8 with BOM: opens in "
        "Excel with Dutch settings) or 'plain' (',', '.', UTF-8: for data teams and Power BI).")
    pdf: bool = Field(True, description="Also write rapport.pdf (A4, page numbers) from the report "
                      "with WeasyPrint (needs the pango library).")
    per_municipality: bool = Field(False, description="Also write one report folder per municipality "
                                   "(<out_dir>-gemeenten/<code>-<name>/ beside the report: index.html, tabellen.xlsx, rapport.pdf).")
    municipality_names: dict[str, str] = Field(
        default_factory=dict, description="Municipality code -> name, added to or overriding the bundled "
        "RvIG table (e.g. municipalities created from 2021 on).")
    reproductions: bool = Field(False, description="Include the reproductions of other municipalities' "
                                "published tables (the Stadskanaal/Veendam 2017 forecast tables and "
                                "their check).")


class SegmentRule(_Section):
    """One ``[[segment.rules]]`` entry: condition -> segment, with the reason shown to caseworkers."""

    name: str = Field(..., description="Short rule name, quoted in segment_reason.")
    segment: Literal["A", "B", "C"] = Field(..., description="Segment when the condition holds.")
    when: str = Field(..., description="Condition, e.g. 'ladder_step <= 2 or n_barriers >= 3'.")
    reason_nl: str | None = Field(None, description="Dutch reason (default: the condition).")
    reason_en: str | None = Field(None, description="English reason (default: the condition).")
    reason: str | None = Field(None, description="Reason for both languages when the two above are absent.")

    @field_validator("when")
    @classmethod
    def _parse(cls, v: str) -> str:
        from caseload.segment.rules import parse_condition  # the same parser that evaluates it

        try:
            parse_condition(v)
        except ConfigError as exc:
            raise ValueError(f"{exc.message} {exc.fix}") from None
        return v


def _default_rules() -> list[SegmentRule]:
    from caseload.segment.rules import DEFAULT_RULES

    return [SegmentRule(**r) for r in DEFAULT_RULES]


def _default_prototypes() -> dict[str, list[float]]:
    from caseload.segment.profiles import DEFAULT_PROTOTYPES

    return {k: list(v) for k, v in DEFAULT_PROTOTYPES.items()}


def _default_markets() -> dict[str, list[str]]:
    from caseload.segment.profiles import DEFAULT_MARKETS

    return {k: list(v) for k, v in DEFAULT_MARKETS.items()}


class SegmentConfig(_Section):
    """``[segment]``: A/B/C rules, statistical model, profiles, PMCs, fairness."""

    rules: list[SegmentRule] = Field(
        default_factory=_default_rules,
        description="A/B/C rules, first match wins; end with a catch-all (when = 'true').",
    )
    rule_barriers: list[str] = Field(
        default_factory=lambda: ["barrier_language", "barrier_debts", "barrier_care", "barrier_health",
                                 "barrier_childcare"],
        description="Barrier columns counted by n_barriers / any_barrier in the rules.",
    )
    decide_by: Literal["auto", "rules", "model"] = Field(
        "auto", description="What decides the computed segment: the model when one is given (auto), "
                            "always the rules, or always the model.")
    only_open: bool = Field(True, description="Segment only clients with a spell open at the peildatum.")
    max_assessment_age_months: float = Field(
        12, gt=0, description="Clients whose latest assessment (within the current benefit) is older than this "
                              "get 'herbeoordelen' (reassess) instead of a group.")
    model_method: Literal["logistic", "gbm"] = Field("logistic", description="Statistical model.")
    cutoffs: tuple[float, float] | Literal["capacity", "quantile"] = Field(
        (0.25, 0.66), description="(C below, A from) on the chance of work within the horizon (AMS-style); "
                                  "'capacity': A from a_from, B = the b_capacity clients with the highest "
                                  "chance below it; 'quantile': C and A by the quantiles of the chance.")
    b_capacity: int = Field(1500, ge=1, description="cutoffs = 'capacity': number of clients in B (the people "
                                                    "the programme can work with; Drechtsteden: 1,500).")
    a_from: float = Field(0.66, gt=0, lt=1, description="cutoffs = 'capacity': A from this chance.")
    quantiles: tuple[float, float] = Field(
        (0.6, 0.9), description="cutoffs = 'quantile': C below the first quantile of the chance, A from the second.")
    calibration: Literal["auto", "isotonic", "sigmoid", "none"] = Field(
        "auto", description="Calibration of the gbm model (logistic is not recalibrated).")
    features: list[str] | None = Field(None, description="Model features; default DEFAULT_FEATURES.")
    proxy_features: list[str] = Field(
        default_factory=list,
        description="Explicit opt-in for ethnicity proxies as features (e.g. ['barrier_language']).")
    horizon_months: int = Field(6, ge=1, le=24, description="Label window: exit to work within this many months.")
    holdout_from: str | None = Field(None, description="Hold-out: assessments on or after this date.")
    test_fraction: float = Field(0.25, gt=0, lt=1, description="Hold-out share when holdout_from is not set.")
    model_file: Path | None = Field(None, description="A saved model (.skops with its card) to score with.")
    overrides_file: Path | None = Field(
        None, description="Caseworkers' overrides (CSV/XLSX: Clientnummer or client_id, segment, reason, date), applied last.")
    internal_dir: Path = Field(
        Path("intern"),
        description="Folder of the caseworkers' per-client list of `caseload segment` (pseudonym, "
                    "segment, reasons; internal), relative to the config file; never inside a "
                    "report folder.")
    profile_method: Literal["nearest", "cluster"] = Field(
        "nearest", description="Nearest prototype, or k-means clusters matched to the named profiles.")
    prototypes: dict[str, list[float]] = Field(
        default_factory=_default_prototypes,
        description="Profile -> 7 competence scores (drive, physical, precision, practical, social, "
                    "communication, administrative).")
    markets: dict[str, list[str]] = Field(
        default_factory=_default_markets, description="Profile -> markets; the first is the primary market.")
    fairness: bool = Field(True, description="Compute the fairness report on history.")
    fairness_groups: list[str] = Field(
        default_factory=lambda: ["sex", "age_band", "migration_background", "statushouder", "sex_age_band"],
        description="Group variables of the fairness report.")
    fairness_ratio: float = Field(
        1.25, gt=1, description="Flag an attribute whose largest pairwise ratio (missed chances, wrongly A, "
                                "work rate within probability bands) exceeds this and whose 95% interval excludes 1.")
    fairness_min_n: int = Field(20, ge=1, description="Levels with fewer people in a rate's denominator are not compared.")
    fairness_data: Literal["holdout", "crossfit"] = Field(
        "crossfit", description="Data of the fitted model's fairness report: all history scored out-of-fold "
                                "(5 folds grouped by dossier; default), or the time-based hold-out.")
    random_state: int = Field(0, description="Seed for clustering and gbm.")


class DurationsConfig(_Section):
    """``[durations]``: age bands and survival settings."""

    age_bands: list[tuple[int, int]] = Field(
        default_factory=lambda: DurationSettings().age_bands,
        description="Inclusive age bands [low, high] of the Losser table and the Kaplan-Meier curves.")
    window_start: str | None = Field(
        _DUR.window_start,
        description="First day the extract covers; spells that started earlier are left-truncated there. "
                    "'auto': the first day of the month of the earliest end date in the extract; "
                    "empty/None: no truncation (only right for a complete inflow history).")
    time_unit: Literal["years", "months", "days"] = Field(
        _DUR.time_unit, description="Unit of durations in the Kaplan-Meier and cumulative-incidence output.")
    horizon_years: float = Field(_DUR.horizon_years, gt=0, description="Horizon of the restricted mean duration (years).")
    plot_years: float = Field(_DUR.plot_years, gt=0, description="Right end of the x axis of the duration figures (years).")
    alpha: float = Field(_DUR.alpha, gt=0, lt=1, description="1 - confidence level of every interval.")
    conf_type: Literal["log-log", "log"] = Field(
        _DUR.conf_type, description="Transform of the Kaplan-Meier and cumulative-incidence intervals: 'log-log' "
                               "(Stata, SAS, lifelines; stays inside 0-1) or 'log' (R's default).")
    aj_variance: Literal["delta", "jackknife"] = Field(
        _DUR.aj_variance, description="Variance of the cumulative incidence: 'delta' method (Stata, SAS, lifelines) or "
                             "the infinitesimal 'jackknife' (R's default).")
    cohort_max_years: int = Field(_DUR.cohort_max_years, ge=1, description="Last 'years since start' of the cohort curves.")
    cohort_groupings: list[str | list[str]] = Field(
        default_factory=lambda: DurationSettings().cohort_groupings,
        description="Cohort-curve groupings (Sturen op bijstand): inflow_year, inflow_reason, household, sex, "
                    "age_class, or a list of them.")
    cohort_age_classes: list[tuple[int, int]] = Field(
        default_factory=lambda: DurationSettings().cohort_age_classes,
        description="Inclusive age classes (age at start) of the cohort curves: < 30, 30-50, 50+.")
    age_rule: Literal["birth_date", "mid_year", "calendar_year"] = Field(
        _DUR.age_rule,
        description="How ages are computed (durations, cohort and stock tables): 'birth_date' the exact age "
                    "where the extract has dates of birth, else from 1 July of the birth year; 'mid_year' "
                    "completed years since 1 July of the birth year (as the VNG 'Sturen op bijstand' script); "
                    "'calendar_year' year - birth year (on average half a year too high).")
    cox_covariates: list[str] = Field(
        default_factory=lambda: DurationSettings().cox_covariates,
        description="Covariates of the Cox model (columns of spell_durations).")
    cox_strata: str | None = Field(_DUR.cox_strata, description="Cox strata column (separate baselines); empty: none.")
    cox_max_rows: int = Field(
        _DUR.cox_max_rows, ge=0,
        description="Fit the Cox model on a random sample of this many spells when there are more (the "
                    "report says so; standard errors are those of the sample); 0: all spells.")
    random_state: int = Field(_DUR.random_state, description="Seed of the Cox model's sample.")


class ScenarioConfig(_Section):
    """``[forecast.scenarios.<name>]``: one what-if on top of the forecasts."""

    inflow_pct: float = Field(0.0, ge=-100, description="Change of the inflow in percent (10 = 10% more).")
    exit_pct: float = Field(0.0, ge=-100, description="Change of the exit rate in percent (-5 = 5% less).")
    shift: float = Field(0.0, description="One-off change of the stock in persons at the start.")
    start: date | None = Field(None, description="First month/year the scenario applies to; "
                               "default the first forecast period.")
    label: str | None = Field(None, description="Description shown in the report; default the name.")


class ForecastConfig(_Section):
    """``[forecast]``: projections and time series."""

    horizon: int = Field(_FC.horizon, ge=1, description="Months ahead for the caseload forecast.")
    season_length: int = Field(_FC.season_length, ge=1, description="Months in a season (ETS seasonality).")
    levels: list[int] = Field(default_factory=lambda: ForecastSettings().levels,
                              description="Prediction-interval levels in percent.")
    ets_model: str = Field(_FC.ets_model, pattern="^[ZAM][ZAMN][ZAMN]$",
                           description="ETS model space (error, trend, season; Z = choose by AICc).")
    method: Literal["combined", "autoets"] = Field(
        _FC.method, description="Caseload forecast: 'combined' (AutoETS, damped ETS and Theta combined "
                                "by cross-validation, conformal intervals) or 'autoets' (AutoETS alone).")
    scenarios: dict[str, ScenarioConfig] = Field(
        default_factory=dict, description="Named what-if scenarios ([forecast.scenarios.<name>]).")
    history_months: int = Field(_FC.history_months, ge=24, description="Months of extract history used per series.")
    include_cbs: bool = Field(_FC.include_cbs, description="Also forecast the national CBS bijstand series (37789ksz).")
    constrain_structural: bool = Field(
        _FC.constrain_structural, description="Stock-flow fit: tie inflow to exit rate x published structural level.")
    origin_year: int | None = Field(
        _FC.origin_year, description="Stock-flow fit: year the stock was zero (e.g. 2015); default a free start stock.")
    project_until: int = Field(_FC.project_until, description="Last year of the new-target-group projection.")
    sheltered_base_year: int = Field(_FC.sheltered_base_year, description="Year whose municipal share of the national "
                                     "sheltered-work target is held constant afterwards.")
    candidate_quarters: int = Field(_FC.candidate_quarters, ge=1, description="Quarters ahead in the candidate pipeline.")
    segment_column: str = Field(_FC.segment_column, description="Assessment column with A/B/C.")
    pmc_column: str = Field(_FC.pmc_column,
                            description="Assessment column with the profile-market combination (or profile).")


class KpiConfig(_Section):
    """``[kpi]``: outcome indicators."""

    months: int = Field(_KPI.months, gt=0, description="Horizon N of 'outflow to work within N months'.")
    target: float = Field(_KPI.target, ge=0, le=1, description="Target share of outflow to work within N months.")
    alpha: float = Field(_KPI.alpha, gt=0, lt=1, description="1 - confidence level of intervals.")
    inflow_start: str | None = Field(_KPI.inflow_start, description="First start date of the cohort (default: N months "
                                     "+ 2 years before the peildatum).")
    inflow_end: str | None = Field(_KPI.inflow_end, description="Last start date of the cohort (default: N months "
                                   "before the peildatum).")
    segments: list[str] = Field(default_factory=lambda: KpiSettings().segments,
                                description="Caseworker segments at the first assessment in the spell that "
                                            "form the cohort ('judged able to work'); [] = everyone.")
    by: list[str] = Field(default_factory=lambda: KpiSettings().by,
                          description="Spell columns to report the KPI separately for ([] = one total).")
    durability_windows: list[int] = Field(default_factory=lambda: KpiSettings().durability_windows,
                                          description="Months after an exit to work to check for a new benefit.")
    revolving_months: int = Field(_KPI.revolving_months, gt=0, description="Return window of the revolving-door share.")
    revolving_exits: Literal["all", "work"] = Field(_KPI.revolving_exits, description="Exits judged for the revolving door.")
    monitoring_year: int | None = Field(_KPI.monitoring_year, description="Year of the monitoring tables (default: year of "
                                        "the peildatum).")
    trajectory_gap_days: int = Field(_KPI.trajectory_gap_days, ge=0, description="Activities at most this many days apart form "
                                     "one trajectory.")
    sheltered_targets: Path | None = Field(_KPI.sheltered_targets, description="CSV with columns year,target: the municipal "
                                           "sheltered-work target (taakstelling).")
    benchmark_municipality: str | None = Field(_KPI.benchmark_municipality, description="CBS code to benchmark (default: the most "
                                               "frequent municipality in the extract).")
    benchmark_year: int = Field(_KPI.benchmark_year, ge=2015, le=2017, description="Year of the bundled CBS figures.")
    benchmark_method: Literal["band", "size_class"] = Field(_KPI.benchmark_method, description="Peers: size band or CBS "
                                                            "size class.")
    benchmark_band: tuple[float, float] = Field(_KPI.benchmark_band, description="Peers have low x to high x the "
                                                "inhabitants (15+).")
    benchmark_age_group: Literal["15+ totaal", "15 tot AOW", "AOW+"] = Field(
        _KPI.benchmark_age_group, description="CBS age group of the benchmarked figures.")


class CapacityConfig(_Section):
    """``[capacity]``: coach capacity planning."""

    clients_per_fte: float = Field(_CAP.clients_per_fte, gt=0, description="Norm: clients in a trajectory per full-time coach.")
    minutes_per_contact: float = Field(_CAP.minutes_per_contact, gt=0, description="Minutes per contact incl. preparation and "
                                       "reporting (calibrated on Losser; an assumption).")
    productive_hours_per_fte: float = Field(_CAP.productive_hours_per_fte, gt=0, description="Productive hours of one FTE per year "
                                            "(an assumption).")
    chance_steps: list[int] = Field(default_factory=lambda: CapacitySettings().chance_steps, description="Ladder steps that count "
                                    "as 'with chances of work'.")
    scheme: list[dict[str, Any]] = Field(default_factory=lambda: CapacitySettings().scheme, description="Contact scheme rows {code, "
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
    import difflib

    lines = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            # a typo: name the closest valid key of the same section
            model: Any = Config
            for part in err["loc"][:-1]:
                field = getattr(model, "model_fields", {}).get(part)
                model = getattr(field, "annotation", None) if field is not None else None
            valid = list(getattr(model, "model_fields", {}))
            close = difflib.get_close_matches(str(err["loc"][-1]), valid, n=1, cutoff=0.6)
            msg = "unknown key" + (f" (did you mean '{close[0]}'?)" if close else
                                   f" (valid keys: {', '.join(k for k in valid if k != 'base_dir')})")
        lines.append(f"[{loc}] {msg}")
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


# --------------------------------------------------------------------------- reference


def _toml_value(v: Any) -> str:
    """One value in TOML syntax (inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (str, Path)):
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, BaseModel):
        return _toml_value(v.model_dump(mode="json", exclude_none=True))
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _toml_key(k: str) -> str:
    return k if str(k).replace("_", "").replace("-", "").isalnum() and not str(k).isdigit() else f'"{k}"'


def default_config_toml() -> str:
    """The complete default configuration as commented TOML.

    Every section and key with its default value and description: a reference
    that is always in step with the code, and a starting point for a
    municipality's own ``caseload.toml`` (``caseload config > caseload.toml``).
    Keys whose default is empty (no value) are written as comments.

    Examples
    --------
    >>> import tomllib
    >>> text = default_config_toml()
    >>> Config.model_validate(tomllib.loads(text)) == Config()
    True
    """
    lines = ["# caseload configuration: every key with its default.",
             "# Relative paths are relative to this file. Unknown keys are an error."]
    defaults = Config()
    for section in Config.model_fields:
        if section == "base_dir":
            continue
        model = getattr(defaults, section)
        doc = (type(model).__doc__ or "").strip().splitlines()[0].replace("``", "")
        lines += ["", f"# {doc}", f"[{section}]"]
        tables: list[str] = []
        for name, f in type(model).model_fields.items():
            value = getattr(model, name)
            comment = f"# {f.description}" if f.description else None
            if isinstance(value, list) and value and all(isinstance(x, BaseModel) for x in value):
                for i, item in enumerate(value):
                    tables += [""] + ([comment] if i == 0 and comment else [])
                    tables.append(f"[[{section}.{name}]]")
                    tables += [f"{_toml_key(k)} = {_toml_value(x)}"
                               for k, x in item.model_dump(mode="json", exclude_none=True).items()]
                continue
            if comment:
                lines.append(comment)
            if value is None or (isinstance(value, (list, dict)) and not value):
                lines.append(f"# {_toml_key(name)} = " + ("[]" if isinstance(value, list) else
                                                         "{}" if isinstance(value, dict) else "..."))
            else:
                lines.append(f"{_toml_key(name)} = {_toml_value(value)}")
        lines += tables
    return "\n".join(lines) + "\n"
