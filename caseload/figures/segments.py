"""Segmentation figures: the A/B/C pyramid per municipality and the segment x PMC heat map.

Both take a :class:`caseload.segment.SegmentResult` and draw only counts (never a
client id). Counts below the disclosure threshold are shown as ``<5`` (the
threshold is ``min_cell``, default 5, as ``[privacy] min_cell``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.figures.style import SEGMENT_COLORS, finish, fmt_number, new_figure
from caseload.schema import SEGMENT

__all__ = ["pyramid_figure", "pmc_heatmap_figure"]

_TEXT = {
    "pyramid_title": ("Segmentatie van het bestand per gemeente (A/B/C)",
                      "Caseload segments per municipality (A/B/C)"),
    "pmc_title": ("Cliënten per groep en profiel-marktcombinatie",
                  "Clients by group and profile-market combination"),
    "clients": ("aantal cliënten", "number of clients"),
    "pmc": ("profiel-marktcombinatie", "profile-market combination"),
    "group": ("groep", "group"),
    "method_rules": ("A/B/C volgens beslisregels; overschrijvingen door consulenten verwerkt",
                     "A/B/C by decision rules; caseworker overrides applied"),
    "method_model": ("A/B/C uit de geschatte kans op werk binnen 6 maanden; overschrijvingen verwerkt",
                     "A/B/C from the estimated chance of work within 6 months; overrides applied"),
    "small": ("cellen onder {n} getoond als <{n}", "cells below {n} shown as <{n}"),
}


def _t(key: str, lang: str, **fmt) -> str:
    nl, en = _TEXT[key]
    text = nl if lang == "nl" else en
    return text.format(**fmt) if fmt else text


def _method(result, lang: str, min_cell: int | None = None) -> str:
    text = _t("method_model" if result.decided_by == "model" else "method_rules", lang)
    if min_cell:
        text += "; " + _t("small", lang, n=min_cell)
    return text


def pyramid_figure(result, lang: str | None = None, source: str | None = None,
                   municipality_names: dict[str, str] | None = None, min_cell: int = 5):
    """A/B/C pyramid per municipality: horizontal bars, C at the bottom, A on top.

    Parameters
    ----------
    result : SegmentResult
    lang : {"nl", "en"}, optional
        Default: the result's language.
    source : str, optional
        Source line under the figure.
    municipality_names : dict, optional
        CBS code -> name for panel titles.
    min_cell : int
        Counts below this are written as ``<min_cell`` (bars keep their length,
        which shows only that the count is small).

    Returns
    -------
    matplotlib.figure.Figure
    """
    lang = lang or result.lang
    c = result.clients
    counts = (pd.crosstab(c["municipality"].astype("object"), c["segment"].astype("object"))
              .reindex(columns=list("ABC"), fill_value=0))
    munis = list(counts.index)
    ncols = max(1, len(munis))
    fig, axes = new_figure(width=max(5.0, 3.2 * ncols), height=3.6, nrows=1, ncols=ncols, sharex=True,
                           squeeze=False)
    top = counts.to_numpy().max() if counts.size else 1
    for ax, m in zip(axes[0], munis, strict=False):
        row = counts.loc[m]
        order = ["C", "B", "A"]  # bottom to top
        vals = [int(row[s]) for s in order]
        # A pyramid: bars centred on zero, width = count.
        for y, (s, v) in enumerate(zip(order, vals, strict=True)):
            ax.barh(y, v, left=-v / 2, color=SEGMENT_COLORS[s], height=0.8)
            label = f"<{min_cell}" if 0 < v < min_cell else fmt_number(v, lang=lang)
            ax.text(0, y, label, ha="center", va="center", fontsize=9,
                    color="white" if v > top * 0.15 else "black", fontweight="bold")
        ax.set_yticks(range(3), [SEGMENT.label(s, lang) for s in order], fontsize=8)
        ax.set_xlim(-top / 2 * 1.1, top / 2 * 1.1)
        ax.set_xticks([])
        name = (municipality_names or {}).get(m, m)
        ax.set_title(f"{name} (n = {fmt_number(int(row.sum()), lang=lang)})", fontsize=10)
    for ax in axes[0][1:]:
        ax.tick_params(labelleft=False)
    finish(fig, title=_t("pyramid_title", lang), source=source, peildatum=result.peildatum,
           method=_method(result, lang, min_cell), lang=lang)
    for ax in axes[0]:
        ax.grid(False)
    return fig


def pmc_heatmap_figure(result, lang: str | None = None, source: str | None = None, min_cell: int = 5):
    """Heat map of segment (rows A/B/C) x profile-market combination (columns), counts.

    Cells with a count from 1 to ``min_cell - 1`` are shown as ``<5`` and drawn
    as if empty, so the colour does not reveal the count.
    """
    lang = lang or result.lang
    c = result.clients[result.clients["segment"].notna() & result.clients["pmc"].notna()]
    t = (pd.crosstab(c["segment"].astype("object"), c["pmc_label"].astype("object"))
         .reindex(index=list("ABC"), fill_value=0))
    # Columns in profile order (the pmc code starts with the profile number).
    order = (c[["pmc", "pmc_label"]].drop_duplicates().astype("object").sort_values("pmc")["pmc_label"].tolist())
    t = t.reindex(columns=order, fill_value=0)
    vals = t.to_numpy()
    shown = np.where((vals > 0) & (vals < min_cell), 0, vals)
    fig, ax = new_figure(width=max(6.0, 1.1 * max(1, t.shape[1]) + 2.5), height=4.2)
    im = ax.imshow(shown, cmap="Blues", aspect="auto")
    ax.set_yticks(range(3), [SEGMENT.label(s, lang) for s in t.index], fontsize=8)
    ax.set_xticks(range(t.shape[1]), [str(x).replace(" × ", "\n× ") for x in t.columns], rotation=45,
                  ha="right", fontsize=7)
    vmax = shown.max() if shown.size else 0
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = int(vals[i, j])
            label = f"<{min_cell}" if 0 < v < min_cell else fmt_number(v, lang=lang)
            ax.text(j, i, label, ha="center", va="center", fontsize=8,
                    color="white" if vmax and shown[i, j] > vmax * 0.6 else "black")
    cb = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    cb.set_label(_t("clients", lang))
    ax.set_xlabel(_t("pmc", lang))
    ax.set_ylabel(_t("group", lang))
    finish(fig, title=_t("pmc_title", lang), source=source, peildatum=result.peildatum,
           method=_method(result, lang, min_cell), lang=lang)
    ax.grid(False)
    return fig
