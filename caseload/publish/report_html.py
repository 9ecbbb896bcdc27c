"""The self-contained index.html: every table and figure with its method, source and rule."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from caseload.publish.items import Publication, TableItem, _tx
from caseload.publish.suppression import suppression_rule


def _html_table(item: TableItem, shown: pd.DataFrame, suppressed_mask: pd.DataFrame,
                decimals: dict[str, int], lang: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) for c in shown.columns]
    for r in range(len(shown)):
        cells = []
        for j, c in enumerate(shown.columns):
            v = shown.iat[r, j]
            if suppressed_mask.iat[r, j]:
                cells.append('<td class="num x" title="niet getoond">x</td>')
                continue
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                text = ""
            elif numeric[j] and not isinstance(v, bool | np.bool_):
                text = _fmt_num(float(v), decimals.get(str(c), 0), lang)
            else:
                text = str(v)
            cls = ' class="num"' if numeric[j] else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="t-{item.name}"><thead><tr>{head}</tr></thead><tbody>'
            + "\n".join(rows) + "</tbody></table>")


def _fmt_num(x: float, decimals: int, lang: str) -> str:
    from caseload.figures.style import fmt_number

    return fmt_number(x, decimals, lang)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.1em;margin-top:1.6em}.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}th{background:#eef4fa;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.x{color:#999}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
.note{font-size:.8em;color:#555;margin:.2em 0}.wrap{overflow-x:auto}
nav>ul{columns:2;font-size:.9em}nav>ul>li{break-inside:avoid;margin-bottom:.4em}
nav ul ul{columns:1;padding-left:1.2em}
"""


def _item_notes(method: str, source: str, peil: str, rule: str | None, lang: str) -> str:
    parts = [f"<b>{_tx('method', lang)}:</b> {html.escape(method)}" if method else "",
             f"<b>{_tx('source', lang)}:</b> {html.escape(source)}",
             f"<b>{_tx('peildatum', lang)}:</b> {peil}"]
    if rule is not None:
        parts.append(f"<b>{_tx('suppression', lang)}:</b> {html.escape(rule)}")
    return "".join(f'<p class="note">{p}</p>' for p in parts if p)


def _write_html(path: Path, pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
                masks: dict[str, pd.DataFrame], decimals: dict[str, dict[str, int]],
                figure_png: dict[str, bytes]) -> None:
    lang = pub.lang
    peil = pub.peildatum.strftime("%d-%m-%Y")
    figures = {f.name: f for f in pub.figures}
    shown = {item.name: (item, df) for item, df in frames}
    # Sections appear in the order the steps added their first item; within a
    # section, tables and figures keep the order in which they were added.
    sections: dict[str, list[str]] = {}
    toc: dict[str, list[str]] = {}
    for kind, name in pub.order:
        if kind == "figure":
            fig = figures[name]
            b64 = base64.b64encode(figure_png[name]).decode("ascii")
            title = html.escape(fig.title)
            cap = f"<figcaption>{html.escape(fig.caption)}</figcaption>" if fig.caption else ""
            block = (f'<figure id="f-{name}"><h3>{title}</h3>'
                     f'<img alt="{title}" src="data:image/png;base64,{b64}">{cap}'
                     + _item_notes(fig.method, fig.source or pub.source,
                                   _peil_text(fig.peildatum, pub), None, lang)
                     + "</figure>")
            section, anchor = fig.section, f"f-{name}"
        else:
            item, df = shown[name]
            title = html.escape(item.title)
            block = (f'<section id="s-{name}"><h3>{title}</h3>'
                     f'<div class="wrap">{_html_table(item, df, masks[name], decimals[name], lang)}</div>'
                     + _item_notes(item.method, item.source or pub.source,
                                   _peil_text(item.peildatum, pub),
                                   suppression_rule(item, pub.min_cell, lang), lang)
                     + "</section>")
            section, anchor = item.section, f"s-{name}"
        sections.setdefault(section, []).append(block)
        toc.setdefault(section, []).append(f'<li><a href="#{anchor}">{title}</a></li>')
    body = [f"<h1>{html.escape(pub.title)}</h1>",
            f'<p class="meta">{_tx("peildatum", lang)}: {peil} · {_tx("source", lang)}: '
            f"{html.escape(pub.source)}</p>"]
    body += [f'<p class="meta">{html.escape(n)}</p>' for n in pub.notes]
    body.append(f'<p class="meta">{_tx("legend", lang)} {_tx("downloads", lang)}</p>')
    body.append(f"<nav><h2>{_tx('contents', lang)}</h2><ul>")
    for s in sections:
        body.append(f'<li><a href="#{_anchor(s)}">{html.escape(s or pub.title)}</a><ul>'
                    + "".join(toc[s]) + "</ul></li>")
    body.append("</ul></nav>")
    for s, blocks in sections.items():
        body.append(f'<h2 id="{_anchor(s)}">{html.escape(s or pub.title)}</h2>')
        body.extend(blocks)
    doc = (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{html.escape(pub.title)}</title><style>{_CSS}</style></head><body>\n"
           + "\n".join(body) + "\n</body></html>\n")
    path.write_text(doc, encoding="utf-8", newline="\n")


def _peil_text(peildatum, pub: Publication) -> str:
    return pd.Timestamp(peildatum if peildatum is not None else pub.peildatum).strftime("%d-%m-%Y")


def _anchor(section: str) -> str:
    return "h-" + (re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-") or "rapport")


