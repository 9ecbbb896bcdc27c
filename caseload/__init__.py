"""caseload: benefit-caseload analysis for Dutch municipal social services.

>>> import caseload as cl
>>> cl.__version__  # doctest: +ELLIPSIS
'...'

Public names are imported lazily (PEP 562): ``import caseload`` is fast, so the
``caseload`` command starts quickly, and ``cl.KaplanMeier`` imports
``caseload.durations`` on first use. ``caseload.segment`` is a callable module:
``cl.segment(caseload)`` runs :func:`caseload.segment.segment`.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("caseload")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

# Sub-modules that are themselves public names.
_MODULES = ('segment', 'synth')

# Public name -> the module that defines it.
_EXPORTS = {
    "caseload.capacity": ('ContactScheme', 'calibrate_minutes', 'fte_from_contacts', 'fte_from_norm'),
    "caseload.config": ('Config', 'load_config'),
    "caseload.durations": ('AalenJohansen', 'KaplanMeier', 'active_share', 'analyse_durations', 'cohort_curves', 'cox_regression', 'elapsed_duration_table', 'observation_start', 'spell_durations'),
    "caseload.errors": ('CaseloadError', 'ConfigError', 'ExtractError', 'NotFittedError'),
    "caseload.extract": ('MAPPINGS', 'consolidate_spells', 'read_extract', 'read_overrides'),
    "caseload.flows": ('monthly_flows', 'stock_at'),
    "caseload.forecast": ('StockFlowModel', 'backtest', 'check_published_table', 'forecast_series', 'forecast_tables', 'implied_national', 'load_cbs_bijstand_series', 'project_candidates', 'project_sheltered_work', 'stock_series', 'transition_matrix'),
    "caseload.kpi": ('benchmark_municipality', 'durability', 'load_cbs_municipalities', 'outflow_to_work', 'revolving_door', 'select_cohort', 'spells_per_client'),
    "caseload.privacy": ('PrivacyError', 'check_file_no_bsn', 'check_no_bsn', 'is_valid_bsn', 'load_key', 'looks_like_bsn', 'mask_value', 'pseudonymize', 'published_table_guard', 'suppress_long', 'suppress_percentages', 'suppress_small_cells'),
    "caseload.publish": ('Publication', 'write_report'),
    "caseload.refresh": ('stock_composition', 'stock_on'),
    "caseload.schema": ('ACTIVITIES', 'ASSESSMENTS', 'CLIENTS', 'Caseload', 'SPELLS'),
    "caseload.segment": ('SegmentModel', 'SegmentResult', 'fairness_report', 'fit_segment_model', 'load_model', 'save_model', 'training_frame'),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_MODULES, *sorted(_WHERE)]


def __getattr__(name: str):
    if name in _MODULES:
        value = import_module(f"caseload.{name}")
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module 'caseload' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
