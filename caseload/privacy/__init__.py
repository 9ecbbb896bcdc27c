"""Privacy: keyed pseudonyms, BSN detection and small-cell suppression.

Three safeguards keep personal data out of what ``caseload`` publishes:

1. **Keyed pseudonyms** (:func:`pseudonymize`). Client and dossier numbers become
   HMAC-SHA256 pseudonyms on the way in. The key (:func:`load_key`) lives outside the
   project folder, so the same client gets the same pseudonym in every monthly extract,
   while nobody without the key can link a pseudonym back to a client number.
2. **BSN guard** (:func:`check_no_bsn`, :func:`check_file_no_bsn`,
   :func:`published_table_guard`). Every table and file that is published is scanned
   for 8- or 9-digit numbers that pass the 11-test (elfproef) of the Dutch citizen
   service number; a hit stops the publication.
3. **Disclosure control** (:func:`suppress_small_cells`, :func:`suppress_long`,
   :func:`suppress_percentages`). Counts of 1 to ``threshold - 1`` people are blanked,
   plus complementary cells so that a blanked count cannot be recomputed from the
   totals.

The module is a package of three parts: :mod:`~caseload.privacy.pseudonyms`,
:mod:`~caseload.privacy.bsn` and :mod:`~caseload.privacy.disclosure`; import the
public names from ``caseload.privacy``.
"""

from caseload.errors import PrivacyError
from caseload.privacy.bsn import (
    check_file_no_bsn,
    check_no_bsn,
    is_valid_bsn,
    looks_like_bsn,
    mask_value,
    published_table_guard,
)
from caseload.privacy.disclosure import (
    SuppressionResult,
    suppress_long,
    suppress_percentages,
    suppress_small_cells,
)
from caseload.privacy.pseudonyms import (
    KEY_ENV,
    MIN_KEY_BYTES,
    PSEUDONYM_LENGTH,
    default_key_file,
    key_fingerprint,
    load_key,
    pseudonymize,
    warn_if_key_changed,
)

__all__ = [
    "KEY_ENV",
    "PSEUDONYM_LENGTH",
    "PrivacyError",
    "load_key",
    "default_key_file",
    "pseudonymize",
    "MIN_KEY_BYTES",
    "key_fingerprint",
    "warn_if_key_changed",
    "is_valid_bsn",
    "looks_like_bsn",
    "mask_value",
    "check_no_bsn",
    "check_file_no_bsn",
    "published_table_guard",
    "SuppressionResult",
    "suppress_small_cells",
    "suppress_percentages",
    "suppress_long",
]
