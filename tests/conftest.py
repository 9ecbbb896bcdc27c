"""Shared test set-up: no display, and a fixed pseudonym key (never the user's key file)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["CASELOAD_PSEUDONYM_KEY"] = "test-key-not-secret-0123456789abcdef"
