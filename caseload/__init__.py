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

from caseload.config import Config, load_config
from caseload.errors import CaseloadError, ConfigError, ExtractError, NotFittedError
from caseload.extract import MAPPINGS, consolidate_spells, read_extract
from caseload.privacy import (
    PrivacyError,
    is_valid_bsn,
    load_key,
    looks_like_bsn,
    mask_value,
    pseudonymize,
)
from caseload.schema import (
    ACTIVITIES,
    ASSESSMENTS,
    CLIENTS,
    SPELLS,
    Caseload,
)
from caseload.durations import AalenJohansen, KaplanMeier

__all__ = [
    "__version__",
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
    "PrivacyError",
    "load_key",
    "pseudonymize",
    "is_valid_bsn",
    "looks_like_bsn",
    "mask_value",
]
