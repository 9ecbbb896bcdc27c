"""The self-contained index.html (and the HTML the PDF is printed from).

The report opens with "Kernpunten" (key findings per municipality, each linked
to its section), then the sections in the order the steps added them. Each
section leads with its figures, then its compact tables (at most
:data:`MAX_HTML_ROWS` rows); longer tables are named with a link to their CSV
and workbook sheet, a table whose counts are all suppressed becomes one sentence,
and a table with the same title as a figure in its section is shown under that
figure's heading (one entry in the contents).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import numpy as np
import pandas as pd

from caseload.publish.items import Publication, TableItem, _frame, _tx
from caseload.publish.suppression import suppression_rule
from caseload.schema.labels import label_table

#: Tables with more rows than this are not shown in the HTML and PDF, only linked.
MAX_HTML_ROWS = 40

_WORDS = label_table("report.html")


def _w(key: str, lang: str, **kw) -> str:
    nl, en = _WORDS[key]
    return (nl if lang == "nl" else en).format(**kw)


# Provenance columns of forecast tables: in the CSV and workbook on every row (a table read
# on its own keeps its method), in the HTML and PDF once, in the notes under the table.
_PROVENANCE = ("method", "parameters", "peildatum")


def _brief(item: TableItem, shown: pd.DataFrame, mask: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The columns ``item.brief`` (code names) of a published table, in the table's order."""
    headers = shown.attrs.get("headers", {})
    wanted = {headers.get(c, c) for c in item.brief}
    keep = [i for i, c in enumerate(shown.columns) if c in wanted]
    out = shown.iloc[:, keep]
    out.attrs = shown.attrs
    return out, mask.iloc[:, keep]


def _without_provenance(shown: pd.DataFrame, mask: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    headers = shown.attrs.get("headers", {})
    drop = [headers[c] for c in _PROVENANCE
            if c in headers and shown[headers[c]].astype("string").nunique(dropna=False) <= 1]
    if not drop:
        return shown, mask
    keep = [i for i, c in enumerate(shown.columns) if c not in drop]
    out = shown.iloc[:, keep]
    out.attrs = shown.attrs
    return out, mask.iloc[:, keep]


def _html_table(item: TableItem, shown: pd.DataFrame, suppressed_mask: pd.DataFrame,
                decimals: dict[str, int], lang: str) -> str:
    shown, suppressed_mask = _without_provenance(shown, suppressed_mask)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    plain = set(shown.attrs.get("plain", []))
    dates = set(shown.attrs.get("dates", []))
    numeric = [pd.api.types.is_numeric_dtype(shown[c]) and str(c) not in dates for c in shown.columns]
    for r in range(len(shown)):
        cells = []
        for j, c in enumerate(shown.columns):
            v = shown.iat[r, j]
            if suppressed_mask.iat[r, j]:
                cells.append('<td class="num x" title="niet getoond">x</td>')
                continue
            if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
                text = ""
            elif str(c) in dates:
                text = pd.Timestamp(v).strftime("%d-%m-%Y" if lang == "nl" else "%Y-%m-%d")
            elif str(c) in plain:
                text = str(int(v))
            elif numeric[j] and not isinstance(v, bool | np.bool_):
                text = _fmt_num(float(v), decimals.get(str(c), 0), lang)
            else:
                text = str(v)
            cls = ' class="num"' if numeric[j] else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = ' class="wide"' if len(shown.columns) > 8 else ""
    return (f'<table id="t-{item.name}"{cls}><thead><tr>{head}</tr></thead><tbody>'
            + "\n".join(rows) + "</tbody></table>")


def _cell_texts(shown: pd.DataFrame, mask: pd.DataFrame, col: str, decimals: dict[str, int],
                lang: str) -> list[str]:
    """The cells of one column as the HTML shows them ("x" where suppressed)."""
    out = []
    plain = col in set(shown.attrs.get("plain", []))
    j = list(shown.columns).index(col)
    numeric = pd.api.types.is_numeric_dtype(shown[col])
    for r in range(len(shown)):
        v = shown.iat[r, j]
        if mask.iat[r, j]:
            out.append("x")
        elif v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append("")
        elif plain:
            out.append(str(int(v)))
        elif numeric:
            out.append(_fmt_num(float(v), decimals.get(col, 0), lang))
        else:
            out.append(str(v))
    return out


def _wide_table(item: TableItem, shown: pd.DataFrame, mask: pd.DataFrame, decimals: dict[str, int],
                lang: str) -> str | None:
    """A long table shown as a cross table (``item.wide``); None when it would not be compact."""
    headers = shown.attrs.get("headers", {})
    index, column, value = item.wide
    try:
        idx = [headers[str(c)] for c in index]
        col, val = headers[str(column)], headers[str(value)]
    except KeyError:
        return None
    keys = [_cell_texts(shown, mask, c, decimals, lang) for c in idx]
    cols = _cell_texts(shown, mask, col, decimals, lang)
    vals = _cell_texts(shown, mask, val, decimals, lang)
    rows: dict[tuple, dict[str, str]] = {}
    for r in range(len(shown)):
        rows.setdefault(tuple(k[r] for k in keys), {})[cols[r]] = vals[r]
    columns = list(dict.fromkeys(cols))
    if len(rows) > MAX_HTML_ROWS or len(columns) > 16:
        return None
    head = "".join(f'<th rowspan="2">{html.escape(h)}</th>' for h in idx)
    head += f'<th colspan="{len(columns)}">{html.escape(val)}, {html.escape(col.lower())}:</th></tr><tr>'
    head += "".join(f'<th class="num">{html.escape(c)}</th>' for c in columns)
    body = []
    for key, cells in rows.items():
        tds = "".join(f"<td>{html.escape(k)}</td>" for k in key)
        for c in columns:
            v = cells.get(c, "")
            cls = "num x" if v == "x" else "num"
            tds += f'<td class="{cls}">{html.escape(v)}</td>'
        body.append(f"<tr>{tds}</tr>")
    return (f'<table id="t-{item.name}">'
            f"<thead><tr>{head}</tr></thead><tbody>" + "\n".join(body) + "</tbody></table>")


def _fmt_num(x: float, decimals: int, lang: str) -> str:
    from caseload.schema import fmt_number

    return fmt_number(x, decimals, lang)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.1em;margin-top:1.6em}.meta{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top}th{background:#eef4fa;text-align:left}
th.num{text-align:right}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.x{color:#999}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
.note{font-size:.8em;color:#555;margin:.2em 0}.wrap{overflow-x:auto}
.sentence{font-style:italic;color:#333}
nav>ul{columns:2;font-size:.9em}nav>ul>li{break-inside:avoid;margin-bottom:.4em}
nav ul ul{columns:1;padding-left:1.2em}
#kernpunten .muni{border:1px solid #cfe0ef;background:#f7fbff;border-radius:4px;padding:.4em 1em;
margin:.8em 0;break-inside:avoid}
#kernpunten h3{margin:.3em 0}#kernpunten ul{margin:.3em 0;padding-left:1.2em}
#kernpunten li{margin:.25em 0}#kernpunten .v{font-weight:bold}
"""

_PRINT_CSS = """
@page{size:A4;margin:16mm 14mm 18mm 14mm;
@bottom-right{content:"%(page)s " counter(page) " %(of)s " counter(pages);font-size:8pt;color:#555}
@bottom-left{content:"%(title)s";font-size:8pt;color:#555}}
body{max-width:none;margin:0;padding:0;font-size:9.5pt}
h2{break-before:page;margin-top:0}h2.first{break-before:avoid}
h3{break-after:avoid}figure,table,.muni{break-inside:avoid}
table{font-size:7.5pt;max-width:100%%}th,td{padding:.15em .3em;hyphens:auto;overflow-wrap:break-word}
table.wide{font-size:6.5pt;width:100%%;table-layout:fixed}
figure img{max-height:150mm;width:auto;max-width:100%%}
nav>ul{columns:2;font-size:8pt}a{color:#0b5394;text-decoration:none}
"""


def _item_notes(method: str, source: str, peil: str, rule: str | None, lang: str) -> str:
    parts = [f"<b>{_tx('method', lang)}:</b> {html.escape(method)}" if method else "",
             f"<b>{_tx('source', lang)}:</b> {html.escape(source)}",
             f"<b>{_tx('peildatum', lang)}:</b> {html.escape(peil)}"]
    if rule is not None:
        parts.append(f"<b>{_tx('suppression', lang)}:</b> {html.escape(rule)}")
    return "".join(f'<p class="note">{p}</p>' for p in parts if p)


def _fully_suppressed(item: TableItem, shown: pd.DataFrame, mask: pd.DataFrame) -> bool:
    """True when every count the table would show is suppressed (nothing left to read)."""
    columns = list(_frame(item.data).columns)
    counts = [c for c in item.counts if c in columns]
    if not counts or not len(shown):
        return False
    cols = [columns.index(c) for c in counts]
    hidden = mask.iloc[:, cols].to_numpy()
    values = shown.iloc[:, cols].notna().to_numpy() | hidden
    return bool(values.any()) and bool(hidden[values].all())


def _html_document(pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
                   masks: dict[str, pd.DataFrame], decimals: dict[str, dict[str, int]],
                   figure_png: dict[str, bytes], sheets: dict[str, str] | None = None,
                   *, for_pdf: bool = False) -> str:
    """The report as one HTML document (``for_pdf``: with the A4 print style)."""
    from caseload.publish.findings import findings_html

    lang = pub.lang
    sheets = sheets or {}
    peil = pub.peildatum.strftime("%d-%m-%Y")
    figures = {f.name: f for f in pub.figures}
    shown = {item.name: (item, df) for item, df in frames}
    # Sections appear in the order the steps added their first item; within a section
    # the figures come first, then the tables, each in the order they were added.
    order: dict[str, list[tuple[str, str]]] = {}
    for kind, name in pub.order:
        section = figures[name].section if kind == "figure" else shown[name][0].section
        order.setdefault(section, []).append((kind, name))
    sections: dict[str, list[str]] = {}
    toc: dict[str, list[str]] = {}
    for section, items in order.items():
        fig_titles = {figures[n].title: n for k, n in items if k == "figure"}
        tables = [n for k, n in items if k == "table"]
        ordered = []
        for k, n in items:
            if k == "figure":
                ordered.append((k, n))
                ordered += [("table", t) for t in tables if shown[t][0].title == figures[n].title
                            and ("table", t) not in ordered]
        ordered += [("table", t) for t in tables if ("table", t) not in ordered]
        items = ordered
        blocks, entries = [], []
        for kind, name in items:
            if kind == "figure":
                fig = figures[name]
                b64 = base64.b64encode(figure_png[name]).decode("ascii")
                title = html.escape(fig.title)
                cap = f"<figcaption>{html.escape(fig.caption)}</figcaption>" if fig.caption else ""
                blocks.append(f'<figure id="f-{name}"><h3>{title}</h3>'
                              f'<img alt="{title}" src="data:image/png;base64,{b64}">{cap}'
                              + _item_notes(fig.method, fig.source or pub.source,
                                            _peil_text(fig.peildatum, pub), None, lang)
                              + "</figure>")
                entries.append(f'<li><a href="#f-{name}">{title}</a></li>')
                continue
            item, df = shown[name]
            mask, full = masks[name], len(df.columns)
            all_hidden = _fully_suppressed(item, df, mask)
            if item.brief:  # a table too wide for a page: the chosen columns, the rest in the workbook
                df, mask = _brief(item, df, mask)
            title = html.escape(item.title)
            wide = (_wide_table(item, df, mask, decimals[name], lang)
                    if item.wide is not None else None)
            link = f'<a href="tables/{item.name}.csv">tables/{item.name}.csv</a>'
            if all_hidden:
                body = f'<p class="sentence">{html.escape(_w("all_suppressed", lang, n=pub.min_cell))}</p>'
            elif wide is not None:
                body = (f'<div class="wrap">{wide}</div><p class="note">'
                        + _w("long_full", lang, n=len(df), sheet=html.escape(sheets.get(name, name)),
                             link=link) + "</p>")
            elif len(df) > MAX_HTML_ROWS:
                body = ('<p class="sentence">'
                        + _w("long_table", lang, n=len(df), sheet=html.escape(sheets.get(name, name)),
                             link=link) + "</p>")
            else:
                body = (f'<div class="wrap">{_html_table(item, df, mask, decimals[name], lang)}'
                        "</div>")
                if len(df.columns) < full:
                    body += ('<p class="note">' + _w("brief_full", lang, n=full,
                                                     sheet=html.escape(sheets.get(name, name)), link=link)
                             + "</p>")
            # A table under the same title as a figure of its section is that figure's table:
            # one heading, one entry in the contents.
            heading = "" if item.title in fig_titles else f"<h3>{title}</h3>"
            rule = suppression_rule(item, pub.min_cell, lang)
            fig = figures[fig_titles[item.title]] if item.title in fig_titles else None
            if (fig is not None and fig.method == item.method
                    and (fig.source or pub.source) == (item.source or pub.source)
                    and _peil_text(fig.peildatum, pub) == _peil_text(item.peildatum, pub)):
                # Method, source and peildatum as under the figure just above: only the rule.
                notes = f'<p class="note"><b>{_tx("suppression", lang)}:</b> {html.escape(rule)}</p>'
            else:
                notes = _item_notes(item.method, item.source or pub.source,
                                    _peil_text(item.peildatum, pub), rule, lang)
            blocks.append(f'<section id="s-{name}">{heading}{body}{notes}</section>')
            if heading:
                entries.append(f'<li><a href="#s-{name}">{title}</a></li>')
        sections[section] = blocks
        toc[section] = entries
    body = [f"<h1>{html.escape(pub.title)}</h1>",
            f'<p class="meta">{_tx("peildatum", lang)}: {peil} · {_tx("source", lang)}: '
            f"{html.escape(pub.source)}</p>"]
    body.append(f'<p class="meta">{_tx("legend", lang)} {_tx("downloads", lang)} '
                f'{_w("csv_note" if pub.csv == "excel-nl" else "csv_note_plain", lang)}</p>')
    kern = findings_html(pub) if pub.findings else ""
    if kern:
        body.append(kern)
    first = ' class="first"' if for_pdf and not kern else ""
    body.append(f"<nav><h2{first}>{_tx('contents', lang)}</h2><ul>")
    if kern:
        body.append(f'<li><a href="#kernpunten">{_w("key_findings", lang)}</a></li>')
    for s in sections:
        body.append(f'<li><a href="#{_anchor(s)}">{html.escape(s or pub.title)}</a><ul>'
                    + "".join(toc[s]) + "</ul></li>")
    body.append("</ul></nav>")
    notes = [f'<p class="meta">{html.escape(n)}</p>' for n in pub.notes]
    if pub.related_reports:
        links = ", ".join(f'<a href="{html.escape(href)}">{html.escape(name)}</a>' for name, href in pub.related_reports)
        notes.append(f'<p class="meta">{_tx("related_reports", lang)}: {links}.</p>')
    if notes:
        body.extend(notes)
    for s, blocks in sections.items():
        body.append(f'<h2 id="{_anchor(s)}">{html.escape(s or pub.title)}</h2>')
        body.extend(blocks)
    css = _CSS
    if for_pdf:
        css += _PRINT_CSS % {"page": _w("page", lang).capitalize(), "of": _w("of", lang),
                             "title": pub.title.replace('"', "'")}
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(pub.title)}</title><style>{css}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _write_html(path: Path, pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
                masks: dict[str, pd.DataFrame], decimals: dict[str, dict[str, int]],
                figure_png: dict[str, bytes], sheets: dict[str, str] | None = None) -> None:
    doc = _html_document(pub, frames, masks, decimals, figure_png, sheets)
    path.write_text(doc, encoding="utf-8", newline="\n")


def _write_pdf(path: Path, pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
               masks: dict[str, pd.DataFrame], decimals: dict[str, dict[str, int]],
               figure_png: dict[str, bytes], sheets: dict[str, str] | None = None) -> None:
    """The report as an A4 PDF with page numbers, printed from the HTML by WeasyPrint.

    WeasyPrint lays out HTML and CSS (paged media: page size, running page
    numbers, page breaks) without a browser, so the PDF holds exactly the
    HTML report's Kernpunten, figures and compact tables.
    """
    from caseload.publish.items import PublishError

    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the pango library is missing
        raise PublishError(f"the PDF cannot be made: WeasyPrint is not usable ({exc}).",
                           fix="Install WeasyPrint and the pango library (Debian: apt-get install "
                               "libpango-1.0-0 libpangoft2-1.0-0), or set [report] pdf = false.") from exc
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc = _html_document(pub, frames, masks, decimals, figure_png, sheets, for_pdf=True)
    created = pub.peildatum.strftime("%Y-%m-%d")
    doc = doc.replace("<head>", f'<head><meta name="dcterms.created" content="{created}">'
                                f'<meta name="dcterms.modified" content="{created}">'
                                '<meta name="generator" content="caseload">', 1)
    # The PDF's text is this document's text: check it for BSN-like numbers as every
    # written file is checked (a PDF's compressed text streams cannot be scanned directly).
    from caseload.privacy import check_file_no_bsn

    source = path.with_name(f".{path.stem}.print.html")
    source.write_text(doc, encoding="utf-8", newline="\n")
    try:
        check_file_no_bsn(source)
    finally:
        source.unlink()
    # No base URL: links to tables/*.csv stay relative (the PDF lies beside tables/), and the
    # PDF does not hold the path of the temporary folder it was written in.
    weasyprint.HTML(string=doc).write_pdf(path, pdf_identifier=b"caseload")


def _peil_text(peildatum, pub: Publication) -> str:
    if isinstance(peildatum, str):
        try:
            peildatum = pd.Timestamp(peildatum)
        except ValueError:  # a period of bundled data, e.g. "jaar 2017"
            return peildatum
    return pd.Timestamp(peildatum if peildatum is not None else pub.peildatum).strftime("%d-%m-%Y")


def _anchor(section: str) -> str:
    return "h-" + (re.sub(r"[^a-z0-9]+", "-", section.lower()).strip("-") or "rapport")
