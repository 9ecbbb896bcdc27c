"""The label catalogue (headers, values, sentences: `caseload/data/labels.toml`) and municipality names."""

from __future__ import annotations

import csv
import re
import tomllib
from functools import lru_cache
from importlib import resources

from caseload.schema.tables import ACTIVITIES, ASSESSMENTS, CLIENTS, SPELLS

# --------------------------------------------------------------------------- municipalities


@lru_cache(maxsize=1)
def _municipality_table() -> dict[str, str]:
    text = resources.files("caseload").joinpath("data/gemeenten_rvig_tabel33.csv").read_text(
        encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["gemeentecode"].strip(): r["naam"].strip() for r in rows if r.get("naam")}


def municipality_names(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Municipality code -> name: the bundled RvIG table 33, updated with ``overrides``.

    The bundled table (``caseload/data/gemeenten_rvig_tabel33.csv``; source:
    Rijksdienst voor Identiteitsgegevens, Landelijke tabel 33 "Gemeententabel",
    state of about 2020) holds current and historic codes. Municipalities
    created from 2021 on are missing: name them in ``[report.municipality_names]``.

    Examples
    --------
    >>> municipality_names()["GM0168"]
    'Losser'
    >>> municipality_names({"GM1979": "Eemsdelta"})["GM1979"]
    'Eemsdelta'
    """
    names = dict(_municipality_table())
    names.update({str(k).strip().upper(): str(v) for k, v in (overrides or {}).items()})
    return names


def municipality_name(code, overrides: dict[str, str] | None = None) -> str:
    """The name of a municipality code; a code without a known name stays the code.

    Examples
    --------
    >>> municipality_name("GM0037"), municipality_name("GM9999")
    ('Stadskanaal', 'GM9999')
    """
    key = str(code).strip()
    if overrides and key.upper() in {str(k).upper() for k in overrides}:
        return municipality_names(overrides)[key.upper()]
    return _municipality_table().get(key.upper(), key)


# --------------------------------------------------------------------------- report labels

@lru_cache(maxsize=1)
def _catalogue() -> dict:
    text = resources.files("caseload").joinpath("data/labels.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def label_table(group: str) -> dict[str, tuple[str, str]]:
    """One group of the label catalogue (``caseload/data/labels.toml``): key -> (Dutch, English).

    Every word of the published output and the console is in that one file, grouped by where
    it is used (``headers.kpi``, ``figures.durations``, ``console``, ...); the modules read their
    group with this function instead of keeping words of their own.

    Examples
    --------
    >>> label_table("values.judgement")["onder_doel"]
    ('onder doel', 'below target')
    """
    node = _catalogue()
    for part in group.split("."):
        node = node[part]
    return {k: (v["nl"], v["en"]) for k, v in node.items() if isinstance(v, dict) and "nl" in v}


def label_groups() -> list[str]:
    """The names of every group of the catalogue that holds entries (for the tests)."""
    def walk(node: dict, prefix: str):
        if any(isinstance(v, dict) and "nl" in v for v in node.values()):
            yield prefix
        for k, v in node.items():
            if isinstance(v, dict) and "nl" not in v:
                yield from walk(v, f"{prefix}.{k}" if prefix else k)
    return list(walk(_catalogue(), ""))


def pick_label(words: tuple[str, str], lang: str = "nl", **values) -> str:
    """The ``lang`` member of a (Dutch, English) catalogue entry, with ``values`` filled in."""
    text = words[0] if lang == "nl" else words[1]
    return text.format(**values) if values else text


REPORT_LABELS: dict[str, tuple[str, str]] = label_table("headers.common")
"""Column headers for published tables and figures: code name -> (Dutch, English).

Every column without a header of its own gets its header here; the publisher
adds interval bounds (``lower_0.95`` -> "Ondergrens 95%") by rule
(:func:`report_label`)."""

REPORT_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    column: label_table(f"values.{column}") for column in ("cause", "table", "_bool")}
"""Category values shown in published tables: code column -> code -> (Dutch, English)."""

REPORT_TEXT: dict[str, tuple[str, str]] = {**label_table("text"), **label_table("console")}
"""Sentences and words of reports and the console: key -> (Dutch, English)."""

_BOUNDS = label_table("headers.bounds")  # interval bounds, {pct} filled in by report_label


def fmt_number(x: float, decimals: int = 0, lang: str = "nl") -> str:
    """Format a number the Dutch way (``1.234,5``) or the English way (``1,234.5``).

    >>> fmt_number(12345), fmt_number(1234.5, 1, "en")
    ('12.345', '1,234.5')
    """
    s = f"{x:,.{decimals}f}"
    if lang == "nl":
        s = s.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return s


def report_text(key: str, lang: str = "nl", **values) -> str:
    """A sentence of :data:`REPORT_TEXT` in ``lang``, with ``values`` filled in."""
    nl, en = REPORT_TEXT[key]
    return (nl if lang == "nl" else en).format(**values)


def _level_pct(level: str) -> str:
    x = float(level)
    pct = 100 * x if x <= 1 else x
    return f"{pct:g}".replace(".", ",")


def report_label(column: str, lang: str = "nl") -> str:
    """Header of a code column in a published table: the catalogue, interval bounds by rule.

    Examples
    --------
    >>> report_label("lower_0.95"), report_label("median_upper_0.95", "en")
    ('Ondergrens 95%', 'Median upper bound 95%')
    >>> report_label("survival"), report_label("not_in_catalogue")
    ('Nog in de uitkering (%)', 'not_in_catalogue')
    """
    c = str(column)
    if c in REPORT_LABELS:
        nl, en = REPORT_LABELS[c]
        return nl if lang == "nl" else en
    m = re.fullmatch(r"(?:(median|rmst)_)?(lower|upper|lo|hi)_(\d+(?:\.\d+)?)", c)
    if m:
        what, side, level = m.groups()
        key = ("lower" if side in ("lower", "lo") else "upper") if what is None else \
            f"{what}_{'lower' if side in ('lower', 'lo') else 'upper'}"
        return pick_label(_BOUNDS[key], lang, pct=_level_pct(level))
    for table in (SPELLS, CLIENTS, ASSESSMENTS, ACTIVITIES):  # the canonical columns' labels
        if c in table.columns and c not in ("client_id", "spell_id", "dossier_id", "activity_id"):
            col = table[c]
            return (col.label_nl if lang == "nl" else col.label_en) or c
    return c


def report_value(column: str, value, lang: str = "nl") -> str:
    """A category value as shown in a published table (codes of :data:`REPORT_VALUES`)."""
    table = REPORT_VALUES.get(column, {})
    key = str(value)
    if key in table:
        nl, en = table[key]
        return nl if lang == "nl" else en
    return key
