"""The label catalogue (``caseload/data/labels.toml``): complete, and the only home of words.

Issue 12: Dutch throughout in an nl report, English throughout in an en one. Every header,
category label, title, note, figure text and console line comes from one catalogue; a
module keeping its own (Dutch, English) table would drift from it.
"""

from __future__ import annotations

import ast
import re
import string
import tomllib
from pathlib import Path

import pytest

from caseload.schema import REPORT_TEXT, label_table, pick_label, report_text
from caseload.schema.labels import label_groups

PACKAGE = Path(__file__).resolve().parents[1] / "caseload"
CATALOGUE = PACKAGE / "data" / "labels.toml"

#: Modules that still keep a (Dutch, English) table of their own, with the reason. The list
#: may only shrink: a module that no longer has one must leave it (see the test below).
NOT_YET_IN_CATALOGUE = {
    # The model card page is a Dutch document by design (the Algoritmeregister's language); its
    # (code, Dutch label) pairs look like (Dutch, English) ones to the finder.
    "segment/cards.py": "model card page labels (Dutch only)",
}

_JUSTIFY = {"left", "right", "center"}  # (header, justify) tuples of rich tables are no labels


def _pair(node: ast.AST) -> tuple[str, str] | None:
    if isinstance(node, ast.Tuple) and len(node.elts) == 2 and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return node.elts[0].value, node.elts[1].value
    return None


def pair_tables(source: str, filename: str = "<source>") -> list[int]:
    """Lines of every dict, tuple or list literal whose values are all (str, str) pairs (at least
    two, not all equal), i.e. a (Dutch, English) label table; also a ``nl = {...}`` beside an
    ``en = {...}`` in one scope."""
    found = []
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            pairs = [_pair(v) for v in node.values]
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            pairs = [_pair(e) for e in node.elts]
        else:
            pairs = []
        if len(pairs) >= 2 and all(pairs) and not any(b in _JUSTIFY for _, b in pairs) \
                and any(a != b for a, b in pairs):
            found.append(node.lineno)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            dicts = {t.id: stmt.lineno for stmt in node.body if isinstance(stmt, ast.Assign)
                     and isinstance(stmt.value, ast.Dict) for t in stmt.targets if isinstance(t, ast.Name)}
            if "nl" in dicts and "en" in dicts:
                found.append(dicts["nl"])
    return sorted(found)


def findings(finder, exempt: dict[str, str]) -> tuple[dict[str, list[int]], list[str]]:
    """``finder``'s lines per module of caseload/ outside ``exempt``, and the exempt modules
    it no longer finds anything in (the exemption lists may only shrink)."""
    found = {path.relative_to(PACKAGE).as_posix(): finder(path.read_text(encoding="utf-8"), str(path))
             for path in sorted(PACKAGE.rglob("*.py"))}
    return ({rel: lines for rel, lines in found.items() if lines and rel not in exempt},
            [rel for rel in exempt if not found.get(rel)])


def test_no_module_keeps_a_dutch_english_table_of_its_own():
    offenders, clean = findings(pair_tables, NOT_YET_IN_CATALOGUE)
    assert not offenders, f"(Dutch, English) tables outside caseload/data/labels.toml: {offenders}"
    assert not clean, f"{clean} have no label table any more: remove them from NOT_YET_IN_CATALOGUE"


@pytest.mark.parametrize("source, expected", [
    # the shape the modules had before the catalogue (figures/kpi.py, kpi/outflow.py)
    ('_W = {"target": ("Doel", "Target"), "all": ("Totaal", "All")}\n', [1]),
    ('JUDGEMENT = (\n    ("onder doel", "below target"),\n    ("boven doel", "above target"),\n)\n', [1]),
    ('def f(v):\n    nl = {"delta": "delta-methode"}\n    en = {"delta": "delta method"}\n'
     '    return nl.get(v)\n', [2]),
    # not label tables: a rich table's (header, justify), identifiers, a single pair
    ('COLS = (("tabel", "left"), ("rijen", "right"))\n', []),
    ('_EXPORTS = {"caseload.config": ("Config", "load_config"), "x": ("a", "b", "c")}\n', []),
    ('x = ("Int64", "float64")\n', []),
])
def test_the_table_finder_finds_label_tables_and_nothing_else(source, expected):
    assert pair_tables(source) == expected


#: Modules that still pick a language between two inline texts (``w("…", "…")`` of the run
#: context, ``"…" if lang == "nl" else "…"``), with the reason. The list may only shrink: a
#: module that no longer has such a pair must leave it (see the test below).
INLINE_PAIRS_NOT_YET: dict[str, str] = {}  # empty: every module takes its words from the catalogue


def _is_text(node: ast.AST) -> bool:
    """A string literal, f-string or concatenation with one, that holds a word (two letters
    or more outside %-directives: "%d-%m-%Y" is a format, not a word)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.JoinedStr):
        parts = [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
        return any(_is_text(ast.Constant(p)) for p in parts) or not parts
    return isinstance(node, ast.Constant) and isinstance(node.value, str) \
        and re.search(r"[^\W\d_]{2,}", re.sub(r"%[a-zA-Z]", "", node.value)) is not None


def _is_language_test(node: ast.AST) -> bool:
    """``lang == "nl"`` (or ``ctx.lang != "en"``, ``"nl" == lang``, ...)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1
            and isinstance(node.ops[0], (ast.Eq, ast.NotEq))):
        return False
    a, b = node.left, node.comparators[0]

    def is_lang(n: ast.AST) -> bool:
        return (isinstance(n, ast.Name) and n.id == "lang") or (isinstance(n, ast.Attribute) and n.attr == "lang")

    return any(is_lang(x) and isinstance(y, ast.Constant) and y.value in ("nl", "en")
               for x, y in ((a, b), (b, a)))


def inline_pairs(source: str, filename: str = "<source>") -> list[int]:
    """Lines of every choice between two inline texts by language: a call ``w("…", "…")`` or
    ``ctx.words("…", "…")`` with two text literals, and ``"…" if lang == "nl" else "…"``
    (not a choice between language codes such as ``"en" if lang == "en" else "nl"``)."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords and (
                (isinstance(node.func, ast.Name) and node.func.id in ("w", "words"))
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "words")):
            if all(_is_text(a) for a in node.args):
                found.append(node.lineno)
        elif isinstance(node, ast.IfExp) and _is_language_test(node.test) \
                and _is_text(node.body) and _is_text(node.orelse) \
                and {ast.literal_eval(n) for n in (node.body, node.orelse)
                     if isinstance(n, ast.Constant)} != {"nl", "en"}:
            found.append(node.lineno)
    return sorted(found)


def test_no_module_picks_between_two_inline_texts():
    offenders, clean = findings(inline_pairs, INLINE_PAIRS_NOT_YET)
    assert not offenders, f"(Dutch, English) texts inline instead of in caseload/data/labels.toml: {offenders}"
    assert not clean, f"{clean} have no inline texts any more: remove them from INLINE_PAIRS_NOT_YET"


@pytest.mark.parametrize("source, expected", [
    # the shapes caseload/refresh/findings.py and steps.py had before the catalogue
    ('hidden = w("niet getoond", "suppressed")\n', [1]),
    ('s = ctx.words(f"Op {peil:%d-%m-%Y} hadden {n} cliënten een uitkering.",\n'
     '              f"On {peil:%d-%m-%Y}, {n} clients had a benefit.")\n', [1]),
    ('s = w("Mediane duur: " + "; ".join(bits) + ".", "Median duration: " + "; ".join(bits) + ".")\n', [1]),
    ('def f(n, lang):\n    return f"minder dan {n}" if lang == "nl" else f"fewer than {n}"\n', [2]),
    ('title = "Kernpunten" if pub.lang == "nl" else "Key findings"\n', [1]),
    # and those of refresh/sections/*, durations/* and kpi/report.py
    ('sec = w("Prognoses", "Forecasts")\n', [1]),
    ('t = w(f"Prognose: {name}",\n      f"Forecast: {name}")\n', [1]),
    ('x = ctx.words("Ondergrens", "Lower")\n', [1]),
    ('total = "Totaal" if lang == "nl" else "Total"\n', [1]),
    # no choice between inline texts: catalogue lookups, language codes, formats, other tests
    ('hidden = w(*LABELS["hidden"])\nx = w(a, b)\n', []),
    ('lang = "en" if lang == "en" else "nl"\n', []),
    ('fmt = "%d-%m-%Y" if lang == "nl" else "%Y-%m-%d"\n', []),
    ('word = "meer" if d > 0 else "minder"\nrow = 0 if lang == "nl" else 1\n', []),
    ('sec = w("section")\nm = w("method", by=w("by_rules"))\n', []),
    ('x = ctx.words(*table[c])\ns = n.replace(",", ".")\n', []),
])
def test_the_inline_pair_finder_finds_inline_pairs_and_nothing_else(source, expected):
    assert inline_pairs(source) == expected


def _entries(text: str) -> list[tuple[str, dict]]:
    def walk(node, prefix):
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and ("nl" in value or "en" in value):
                yield name, value
            elif isinstance(value, dict):
                yield from walk(value, name)
            else:
                yield name, {"value": value}  # neither a group nor an entry: reported below
    return list(walk(tomllib.loads(text), ""))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def catalogue_problems(text: str) -> list[str]:
    """What is wrong with a catalogue text: entries without both languages, empty texts, and
    placeholders that one language has and the other not."""
    problems = []
    for name, entry in _entries(text):
        if set(entry) != {"nl", "en"}:
            problems.append(f"{name}: keys {sorted(entry)}, not nl and en")
        elif not all(isinstance(entry[k], str) and entry[k].strip() for k in ("nl", "en")):
            problems.append(f"{name}: empty text")
        elif _fields(entry["nl"]) != _fields(entry["en"]):
            problems.append(f"{name}: placeholders {sorted(_fields(entry['nl']))} != {sorted(_fields(entry['en']))}")
    return problems


def test_every_entry_has_dutch_and_english_with_the_same_placeholders():
    text = CATALOGUE.read_text(encoding="utf-8")
    assert len(_entries(text)) > 400
    assert catalogue_problems(text) == []


def test_the_catalogue_check_can_fail():
    bad = ('[console]\n'
           'written = { nl = "{tables} tabellen, {figures} figuren", en = "{tables} tables, {figure} figures" }\n'
           'note = { nl = "Let op", en = "" }\n'
           'fix = { nl = "Oplossing" }\n'
           'stray = "Oplossing"\n')
    assert catalogue_problems(bad) == [
        "console.written: placeholders ['figures', 'tables'] != ['figure', 'tables']",
        "console.note: empty text", "console.fix: keys ['nl'], not nl and en",
        "console.stray: keys ['value'], not nl and en"]


def test_groups_and_lookups():
    groups = label_groups()
    assert {"headers.common", "values.judgement", "console", "figures.durations"} <= set(groups)
    assert sum(len(label_table(g)) for g in groups) == len(_entries(CATALOGUE.read_text(encoding="utf-8")))
    assert pick_label(label_table("figures.kpi")["kpi_title"], "nl", m=24) == "Uitstroom naar werk binnen 24 maanden"
    assert pick_label(label_table("figures.kpi")["kpi_title"], "en", m=24) == "Outflow to work within 24 months"
    assert report_text("console_error") == "Fout" and report_text("console_error", "en") == "Error"
    assert {"console_note", "summary_line", "validate_title"} <= set(REPORT_TEXT)
