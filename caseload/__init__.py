"""caseload: benefit-caseload analysis for Dutch municipal social services.

>>> import caseload as cl
>>> cl.__version__  # doctest: +ELLIPSIS
'...'
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("caseload")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# caseload.segment is a callable module: cl.segment(caseload) runs caseload.segment.segment.
from caseload import segment, synth
from caseload.capacity import ContactScheme, calibrate_minutes, fte_from_contacts, fte_from_norm
from caseload.config import Config, load_config
from caseload.durations import (
    AalenJohansen,
    KaplanMeier,
    analyse_durations,
    cohort_curves,
    cox_regression,
    elapsed_duration_table,
    observation_start,
    spell_durations,
)
from caseload.errors import CaseloadError, ConfigError, ExtractError, NotFittedError
from caseload.extract import MAPPINGS, consolidate_spells, read_extract
from caseload.flows import monthly_flows, stock_at
from caseload.forecast import (
    StockFlowModel,
    backtest,
    check_published_table,
    forecast_series,
    forecast_tables,
    implied_national,
    load_cbs_bijstand_series,
    project_candidates,
    project_sheltered_work,
    stock_series,
    transition_matrix,
)
from caseload.kpi import (
    benchmark_municipality,
    durability,
    load_cbs_municipalities,
    outflow_to_work,
    revolving_door,
    select_cohort,
    spells_per_client,
)
from caseload.privacy import (
    PrivacyError,
    check_file_no_bsn,
    check_no_bsn,
    is_valid_bsn,
    load_key,
    looks_like_bsn,
    mask_value,
    pseudonymize,
    published_table_guard,
    suppress_long,
    suppress_percentages,
    suppress_small_cells,
)
from caseload.publish import Publication, write_report
from caseload.refresh import stock_composition, stock_on
from caseload.schema import (
    ACTIVITIES,
    ASSESSMENTS,
    CLIENTS,
    SPELLS,
    Caseload,
)
from caseload.segment import (
    SegmentModel,
    SegmentResult,
    fairness_report,
    fit_segment_model,
    load_model,
    save_model,
    training_frame,
)

__all__ = [
    "__version__",
    "synth",
    "Publication",
    "write_report",
    "stock_on",
    "stock_composition",
    "Caseload",
    "CaseloadError",
    "ConfigError",
    "ExtractError",
    "NotFittedError",
    "Config",
    "load_config",
    "CLIENTS",
    "SPELLS",
    "ASSESSMENTS",
    "ACTIVITIES",
    "read_extract",
    "consolidate_spells",
    "MAPPINGS",
    "KaplanMeier",
    "AalenJohansen",
    "analyse_durations",
    "cohort_curves",
    "cox_regression",
    "elapsed_duration_table",
    "observation_start",
    "spell_durations",
    "monthly_flows",
    "stock_at",
    "select_cohort",
    "outflow_to_work",
    "durability",
    "revolving_door",
    "spells_per_client",
    "load_cbs_municipalities",
    "benchmark_municipality",
    "ContactScheme",
    "fte_from_norm",
    "fte_from_contacts",
    "calibrate_minutes",
    "PrivacyError",
    "load_key",
    "pseudonymize",
    "is_valid_bsn",
    "looks_like_bsn",
    "mask_value",
    "check_no_bsn",
    "check_file_no_bsn",
    "published_table_guard",
    "suppress_small_cells",
    "suppress_percentages",
    "suppress_long",
    "StockFlowModel",
    "project_sheltered_work",
    "implied_national",
    "check_published_table",
    "forecast_series",
    "backtest",
    "load_cbs_bijstand_series",
    "stock_series",
    "transition_matrix",
    "project_candidates",
    "forecast_tables",
    "segment",
    "SegmentResult",
    "SegmentModel",
    "training_frame",
    "fit_segment_model",
    "fairness_report",
    "save_model",
    "load_model",
]
