"""Rule-based A/B/C: rules are data, evaluated first-match in order.

A rule is ``{segment, when, name, reason_nl, reason_en}``. ``when`` is a condition
in a tiny language (comparisons joined by ``and``/``or``/``not`` over a fixed set of
column names), parsed here and evaluated vectorised on numpy arrays. Config text
is never handed to Python's ``eval``: the parser only knows names, numbers,
``true``/``false``, comparison operators, ``and``, ``or``, ``not`` and brackets.

Missing values never satisfy a comparison (``ladder_step <= 2`` is false when the
ladder step is unknown); a missing barrier flag counts as "no barrier".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload.errors import ConfigError
from caseload.schema import BARRIERS, COMPETENCES, label_table, pick_label

__all__ = [
    "DEFAULT_RULES",
    "RULE_NAMES",
    "Rule",
    "parse_condition",
    "rule_variables",
    "apply_rules",
]

_WORDS = label_table("segment.rules")  # the segment_reason sentences of the rules

# The default table (documented in the README and in data/sample/caseload.toml).
# Order matters: the first rule whose condition holds decides. C rules come first
# so that a serious barrier is never hidden by a high ladder step.
DEFAULT_RULES: list[dict[str, str]] = [
    {
        "name": "trede_1_2",
        "segment": "C",
        "when": "ladder_step <= 2",
        "reason_nl": "trede 1 of 2 op de participatieladder: eerst activering of zorg",
        "reason_en": "ladder step 1 or 2: activation or care comes first",
    },
    {
        "name": "gezondheid_trede_3",
        "segment": "C",
        "when": "barrier_health and ladder_step <= 3",
        "reason_nl": "gezondheidsbelemmering en trede 3 of lager",
        "reason_en": "health barrier and ladder step 3 or lower",
    },
    {
        "name": "drie_belemmeringen",
        "segment": "C",
        "when": "n_barriers >= 3",
        "reason_nl": "drie of meer belemmeringen tegelijk",
        "reason_en": "three or more barriers at once",
    },
    {
        "name": "trede_5_6",
        "segment": "A",
        "when": "ladder_step >= 5",
        "reason_nl": "trede 5 of 6: werkt al (deels) betaald",
        "reason_en": "ladder step 5 or 6: already in (partly) paid work",
    },
    {
        "name": "werkfit_trede_4",
        "segment": "A",
        "when": "werkfit and ladder_step >= 4 and n_barriers == 0",
        "reason_nl": "werkfit, trede 4 en geen belemmeringen",
        "reason_en": "work-fit, ladder step 4 and no barriers",
    },
    {
        "name": "overig",
        "segment": "B",
        "when": "true",
        "reason_nl": "trede 3 of 4 of belemmeringen die met 3 tot 6 maanden begeleiding op te lossen zijn",
        "reason_en": "ladder step 3 or 4, or barriers that 3 to 6 months of guidance can resolve",
    },
]

RULE_NAMES: dict[str, str] = {
    "ladder_step": "trede op de participatieladder (1-6)",
    "werkfit": "werkfit volgens de diagnose (waar/onwaar)",
    **{c: f"belemmering: {BARRIERS.label(c).lower()} (waar/onwaar)" for c in BARRIERS},
    "n_barriers": "aantal belemmeringen (de kolommen in segment.rule_barriers)",
    "any_barrier": "minstens één belemmering (waar/onwaar)",
    **{c: f"competentiescore {COMPETENCES.label(c).lower()} (1-5)" for c in COMPETENCES},
    "age": "leeftijd in jaren op de peildatum",
    "duration_months": "lopende duur van de uitkering in maanden op de peildatum",
}
"""Names a rule condition may use, with what they mean."""


@dataclass(frozen=True)
class Rule:
    """One compiled rule."""

    name: str
    segment: str
    when: str
    reason_nl: str
    reason_en: str
    test: Callable[[dict[str, np.ndarray]], np.ndarray]

    def sentence(self, lang: str = "nl") -> str:
        """The ``segment_reason`` sentence: segment, the rule's name and its reason."""
        reason = self.reason_nl if lang == "nl" else self.reason_en
        return pick_label(_WORDS["rule_reason"], lang, segment=self.segment, name=self.name, reason=reason)


# --------------------------------------------------------------------------- parser

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<op><=|>=|==|!=|<|>)|(?P<lpar>\()|(?P<rpar>\))"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_OPS = {
    "<=": np.less_equal, ">=": np.greater_equal, "<": np.less, ">": np.greater,
    "==": np.equal, "!=": np.not_equal,
}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ConfigError(
                f"cannot read the rule condition {text!r} at position {pos + 1} ({text[pos:pos + 10]!r}).",
                column="segment.rules.when",
                fix="Use names, numbers, <, <=, >, >=, ==, !=, and, or, not and brackets only.",
            )
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    """Recursive descent: or_expr -> and_expr ('or' and_expr)*; and_expr -> not_expr
    ('and' not_expr)*; not_expr -> 'not' not_expr | atom; atom -> '(' or_expr ')' |
    operand [op operand]."""

    def __init__(self, text: str, names: Sequence[str]):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.names = set(names)

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def _error(self, what: str):
        return ConfigError(
            f"rule condition {self.text!r}: {what}.", column="segment.rules.when",
            fix="Allowed names: " + ", ".join(sorted(self.names)) + "; see README, section Segmentation.",
        )

    def parse(self):
        if not self.tokens:
            raise self._error("empty condition")
        node = self._or()
        if self.i != len(self.tokens):
            raise self._error(f"unexpected {self.tokens[self.i][1]!r}")
        return node

    def _or(self):
        parts = [self._and()]
        while self._peek() == ("name", "or"):
            self.i += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda env: np.logical_or.reduce([p(env) for p in parts])

    def _and(self):
        parts = [self._not()]
        while self._peek() == ("name", "and"):
            self.i += 1
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        return lambda env: np.logical_and.reduce([p(env) for p in parts])

    def _not(self):
        if self._peek() == ("name", "not"):
            self.i += 1
            inner = self._not()
            return lambda env: ~inner(env)
        return self._atom()

    def _operand(self):
        kind, value = self._peek()
        if kind is None:
            raise self._error("ends too early")
        self.i += 1
        if kind == "num":
            v = float(value)
            return ("const", lambda env: v)
        if kind == "name":
            low = value.lower()
            if low in ("true", "false"):
                v = low == "true"
                return ("const", lambda env: v)
            if value in ("and", "or", "not"):
                raise self._error(f"'{value}' where a name or number was expected")
            if value not in self.names:
                raise self._error(f"unknown name {value!r}")
            return ("name", lambda env, v=value: env[v])
        if kind == "lpar":
            node = self._or()
            if self._peek()[0] != "rpar":
                raise self._error("missing ')'")
            self.i += 1
            return ("bool", node)
        raise self._error(f"unexpected {value!r}")

    def _atom(self):
        kind, left = self._operand()
        nxt = self._peek()
        if nxt[0] == "op":
            self.i += 1
            op = _OPS[nxt[1]]
            _, right = self._operand()

            def compare(env, left=left, right=right, op=op):
                a, b = left(env), right(env)
                # NaN compares false everywhere except !=; make != false too:
                # a missing value satisfies no condition.
                with np.errstate(invalid="ignore"):
                    out = op(a, b)
                nan = np.zeros(np.shape(out), dtype=bool)
                for x in (a, b):
                    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                        nan |= np.isnan(x)
                return np.asarray(out, dtype=bool) & ~nan

            return compare
        if kind == "const":
            return lambda env, left=left: np.full(env["_n"], bool(left(env)))

        def truth(env, left=left):
            x = left(env)
            if isinstance(x, np.ndarray) and x.dtype.kind == "f":
                return np.nan_to_num(x, nan=0.0) != 0
            return np.asarray(x, dtype=bool)

        return truth


def parse_condition(text: str, names: Sequence[str] | None = None):
    """Compile a rule condition into a function of a dict of numpy arrays.

    Parameters
    ----------
    text : str
        E.g. ``"barrier_health and ladder_step <= 3"``.
    names : sequence of str, optional
        Allowed names; default :data:`RULE_NAMES`.

    Returns
    -------
    callable
        ``f(env) -> bool ndarray`` where ``env`` maps names to arrays and ``"_n"``
        to the number of rows.

    Raises
    ------
    ConfigError
        For unknown names or malformed text.

    Examples
    --------
    >>> import numpy as np
    >>> f = parse_condition("ladder_step <= 2 or (werkfit and not barrier_debts)")
    >>> env = {"_n": 3, "ladder_step": np.array([1.0, 4.0, np.nan]),
    ...        "werkfit": np.array([False, True, True]),
    ...        "barrier_debts": np.array([False, False, True])}
    >>> f(env).tolist()
    [True, True, False]
    """
    return _Parser(text, list(names or RULE_NAMES)).parse()


def compile_rules(rules: Sequence[dict] | None = None) -> list[Rule]:
    """Check and compile rules (default :data:`DEFAULT_RULES`)."""
    rules = DEFAULT_RULES if rules is None else rules
    if not rules:
        raise ConfigError("segment.rules is empty.", column="segment.rules",
                          fix="Give at least one rule, and end with a rule 'when = \"true\"'.")
    out = []
    for i, r in enumerate(rules, start=1):
        r = dict(r)
        seg = r.get("segment")
        if seg not in ("A", "B", "C"):
            raise ConfigError(f"rule {i} has segment {seg!r}.", column="segment.rules.segment",
                              value=seg, fix="Use A, B or C.")
        if not r.get("when"):
            raise ConfigError(f"rule {i} has no condition.", column="segment.rules.when",
                              fix='Add when = "..." (use when = "true" for the last, catch-all rule).')
        name = r.get("name") or f"regel_{i}"
        reason_nl = r.get("reason_nl") or r.get("reason") or r["when"]
        reason_en = r.get("reason_en") or r.get("reason") or r["when"]
        out.append(Rule(name, seg, r["when"], reason_nl, reason_en, parse_condition(r["when"])))
    return out


class _Variables(dict):
    """The rule variables, each converted from its column when a condition first asks.

    At two million history rows every variable is a 15 MB array; most rule sets use a
    few of the twenty, so the others are never made.
    """

    def __init__(self, assessments: pd.DataFrame, rule_barriers: Sequence[str]):
        super().__init__(_n=len(assessments))
        self._a = assessments
        self._barriers = list(rule_barriers)

    def _num(self, col: str) -> np.ndarray:
        if col not in self._a:
            return np.full(self["_n"], np.nan)
        return pd.to_numeric(self._a[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

    def _flag(self, col: str) -> np.ndarray:
        if col not in self._a:
            return np.zeros(self["_n"], dtype=bool)
        s = self._a[col]
        return s.fillna(False).to_numpy(dtype=bool) if s.dtype != bool else s.to_numpy()

    def __missing__(self, name: str) -> np.ndarray:
        if name in ("werkfit", *BARRIERS):
            value = self._flag(name)
        elif name == "n_barriers":
            counted = [self[c] for c in self._barriers]
            value = (np.sum(counted, axis=0) if counted else np.zeros(self["_n"])).astype("float64")
        elif name == "any_barrier":
            value = self["n_barriers"] > 0
        elif name in ("ladder_step", "age", "duration_months", *COMPETENCES):
            value = self._num(name)
        else:
            raise KeyError(name)
        self[name] = value
        return value


def rule_variables(
    assessments: pd.DataFrame,
    rule_barriers: Sequence[str] = tuple(BARRIERS),
) -> dict[str, np.ndarray]:
    """The arrays a rule condition can refer to, from one row per client.

    ``assessments`` has the assessment columns and optionally ``age`` and
    ``duration_months``. Integer columns become float with NaN for missing;
    barrier and werkfit flags become bool with missing as False.
    """
    env = _Variables(assessments, rule_barriers)
    for name in ("ladder_step", "werkfit", *BARRIERS, "n_barriers", "any_barrier", *COMPETENCES, "age",
                 "duration_months"):
        env[name]  # noqa: B018 - made on access
    return dict(env)


def apply_rules(
    assessments: pd.DataFrame,
    rules: Sequence[dict] | None = None,
    rule_barriers: Sequence[str] = tuple(BARRIERS),
    lang: str = "nl",
) -> pd.DataFrame:
    """Give each row the segment of the first rule whose condition holds.

    Parameters
    ----------
    assessments : DataFrame
        One row per client (the assessment that decides), assessment columns of
        :data:`caseload.schema.ASSESSMENTS`; optional ``age``, ``duration_months``.
    rules : list of dict, optional
        ``{name, segment, when, reason_nl, reason_en}``; default :data:`DEFAULT_RULES`.
    rule_barriers : sequence of str
        The barrier columns that ``n_barriers``/``any_barrier`` count.
    lang : {"nl", "en"}
        Language of ``segment_reason``.

    Returns
    -------
    DataFrame
        Same index as ``assessments``: ``segment`` (A/B/C, missing when no rule
        matched), ``segment_rule`` (rule name), ``segment_reason`` (a sentence).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"ladder_step": [1, 4, 6], "werkfit": [False, True, True]})
    >>> apply_rules(a)["segment"].tolist()
    ['C', 'A', 'A']
    """
    compiled = compile_rules(rules)
    env = _Variables(assessments, rule_barriers)  # only the variables the rules use are made
    n = env["_n"]
    choice = np.full(n, -1, dtype="int64")
    undecided = np.ones(n, dtype=bool)
    for i, rule in enumerate(compiled):
        hit = rule.test(env) & undecided
        choice[hit] = i
        undecided &= ~hit
    segs = np.array([r.segment for r in compiled] + [None], dtype=object)
    names = np.array([r.name for r in compiled] + [None], dtype=object)
    nomatch = pick_label(_WORDS["no_match"], lang)
    sentences = np.array([r.sentence(lang) for r in compiled] + [nomatch], dtype=object)
    # Categoricals from codes: building 500,000 strings row by row would dominate the time.
    codes = np.where(choice < 0, len(compiled), choice)
    return pd.DataFrame(
        {
            "segment": pd.Categorical(segs[codes], categories=["A", "B", "C"]),
            "segment_rule": pd.Categorical.from_codes(codes, categories=_unique_cats(names)),
            "segment_reason": pd.Categorical.from_codes(codes, categories=_unique_cats(sentences)),
        },
        index=assessments.index,
    )


def _unique_cats(values: np.ndarray) -> pd.Index:
    """Categories in rule order; duplicates (two rules with one name) get a suffix."""
    seen: dict[str, int] = {}
    out = []
    for v in values:
        v = "" if v is None else str(v)
        k = seen.get(v, 0)
        seen[v] = k + 1
        out.append(v if k == 0 else f"{v} ({k + 1})")
    return pd.Index(out)
