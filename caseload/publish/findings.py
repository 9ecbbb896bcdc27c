"""Key findings ("Kernpunten"): the headline figures that open a report.

A :class:`Finding` is one headline figure in one plain sentence, with the anchor
of the table or figure it comes from. The batch run computes them
(:func:`caseload.refresh.findings.key_findings`); this module only shows them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["Finding", "findings_html"]


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


def findings_html(pub) -> str:
    """The "Kernpunten" section of the HTML report: one block per group, one line per finding."""
    lang = pub.lang
    title = "Kernpunten" if lang == "nl" else "Key findings"
    see = "zie" if lang == "nl" else "see"
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
