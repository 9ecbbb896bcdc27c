"""Key findings ("Kernpunten"): the headline figures that open a report.

A :class:`Finding` is one headline figure in one plain sentence, with the anchor
of the table or figure it comes from. The batch run computes them
(:func:`caseload.refresh.findings.key_findings`); this module shows them and
declares them to the disclosure audit.

Every count of persons a sentence prints that a published table also holds (or that
is a sum of its cells) is a :class:`Figure`: the number as printed and the cells it
equals. :func:`findings_relations` turns them into a pseudo-table ``kernpunten`` in
``relations.json`` with one relation per figure, so that
:func:`caseload.privacy.audit.audit_report` fails on a report whose Kernpunten give
away a cell that a table suppresses (a hidden B printed in a sentence, or a hidden A
that the printed total minus B minus C gives back).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from caseload.schema.labels import label_table, pick_label

__all__ = ["FINDINGS_TABLE", "Figure", "Finding", "add_findings", "findings_html", "findings_relations"]

#: Name of the Kernpunten in ``relations.json`` (not a table file of the report).
FINDINGS_TABLE = "kernpunten"

_WORDS = label_table("report.findings")  # the section's title and "zie" of its links


@dataclass(frozen=True)
class Figure:
    """A number printed in a Kernpunten sentence and the published cells it equals.

    Parameters
    ----------
    label : str
        What it is, for the audit listing (``"Stadskanaal: B"``).
    value : float
        The number as printed.
    terms : tuple of (table, row, column, coefficient)
        ``value == sum(coefficient * cell)``; ``row`` is the position in the table's
        data (0 = first data row), ``column`` the column name in the table's data.
    """

    label: str
    value: float
    terms: tuple[tuple[str, int, str, float], ...]


@dataclass(frozen=True)
class Finding:
    """One headline figure.

    Parameters
    ----------
    topic : str
        Short name of the figure (``stock``, ``flows``, ``outflow_work``...).
    group : str
        Whom it is about: a municipality's name, or "all municipalities".
    headline : str
        The figure itself, formatted (``"280"``, ``"72,1%"``, ``"minder dan 5"``).
    sentence : str
        One plain sentence in the report language that holds the figure.
    anchor : str
        The id of the table or figure in the report (``s-<table>``, ``f-<figure>``).
    link_text : str
        Text of the link to it (the section or table title).
    """

    topic: str
    group: str
    headline: str
    sentence: str
    anchor: str = ""
    link_text: str = ""
    figures: tuple[Figure, ...] = ()


def findings_html(pub) -> str:
    """The "Kernpunten" section of the HTML report: one block per group, one line per finding."""
    lang = pub.lang
    title, see = (pick_label(_WORDS[k], lang) for k in ("title", "see"))
    groups: dict[str, list[Finding]] = {}
    for f in pub.findings:
        groups.setdefault(f.group, []).append(f)
    out = [f'<section id="kernpunten"><h2 class="first">{title}</h2>']
    for group, items in groups.items():
        out.append(f'<div class="muni"><h3>{html.escape(group)}</h3><ul>')
        for f in items:
            link = (f' <a href="#{html.escape(f.anchor)}">({see}: {html.escape(f.link_text)})</a>'
                    if f.anchor else "")
            out.append(f"<li>{html.escape(f.sentence)}{link}</li>")
        out.append("</ul></div>")
    out.append("</section>")
    return "\n".join(out)


def findings_relations(pub, tables: dict, items: dict) -> tuple[dict | None, list]:
    """The Kernpunten's figures for ``relations.json``: a table spec and the relations.

    Parameters
    ----------
    pub : Publication
        With ``findings`` (their :class:`Figure` objects).
    tables : dict of str to PublishedTable
        The report's tables as published (the relations may only name these).
    items : dict of str to TableItem

    Returns
    -------
    (spec, relations)
        ``spec``: the pseudo-table ``kernpunten`` (one row per figure, one column
        ``value``; the values inline, as printed), or None when there are no figures;
        ``relations``: ``value == sum(coefficient * cell)`` per figure, in the format of
        ``relations.json``. A figure that names a table not in the report is an error:
        the sentence would print a number the report does not hold.
    """
    from caseload.publish.items import PublishError, _frame

    figures = [(f, fig) for f in pub.findings for fig in getattr(f, "figures", ())]
    if not figures:
        return None, []
    relations = []
    for i, (f, fig) in enumerate(figures):
        terms = [[FINDINGS_TABLE, i, 0, 1.0]]
        for table, row, column, coef in fig.terms:
            if table not in tables or table not in items:
                raise PublishError(f"Kernpunten: {fig.label!r} refers to table {table!r}, which is not "
                                   "in the report.", fix="Report this as a bug.")
            names = [str(c) for c in _frame(items[table].data).columns]
            if str(column) not in names or not 0 <= int(row) < tables[table].values.shape[0]:
                raise PublishError(f"Kernpunten: {fig.label!r} refers to row {row}, column {column!r} of "
                                   f"table {table!r}, which it does not have.", fix="Report this as a bug.")
            terms.append([table, int(row), names.index(str(column)), -float(coef)])
        relations.append({"kind": "same_count", "note": f"Kernpunten: {fig.label} ({f.group})",
                          "op": "==", "rhs": 0.0, "terms": terms})
    spec = {
        "file": None, "rows": len(figures), "columns": 1,
        "values": [[float(fig.value)] for _, fig in figures],
        "row_labels": [f"{f.group}: {fig.label}" for f, fig in figures],
        "column_names": ["value"],
        "suppressed": [], "halfwidth": [0.0], "nonnegative": [True],
        "protect": [True],
    }
    return spec, relations


def add_findings(document: dict, pub, tables: dict, items: dict) -> dict:
    """Add the Kernpunten (:func:`findings_relations`) to a ``relations.json`` document."""
    spec, relations = findings_relations(pub, tables, items)
    if spec is not None:
        document["tables"][FINDINGS_TABLE] = spec
        document["relations"].extend(relations)
    return document
