"""Segmentation figures: the A/B/C pyramid per municipality and the segment x PMC heat map.

Both take a :class:`caseload.segment.SegmentResult` and draw only counts (never a
client id). They draw the counts as published, after disclosure control: the
pyramid from the table of segments per municipality, the heat map from the long
PMC table (municipality x segment x profile x market), each suppressed as the
refresh publishes it (:mod:`caseload.privacy`: counts below ``min_cell`` and the
complementary cells that would give them away). A suppressed cell is a hatched
bar or square without its length or colour, labelled "niet getoond"
("suppressed"), so a figure reveals nothing the table hides.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from caseload.figures.style import SEGMENT_COLORS, finish, fmt_number, new_figure
from caseload.schema import SEGMENT
from caseload.schema.labels import label_table

__all__ = ["pyramid_figure", "pmc_heatmap_figure", "suppressed_summary", "suppressed_pmc_table"]

_TEXT = label_table("figures.segments")


def suppressed_summary(result, min_cell: int = 5) -> pd.DataFrame:
    """Clients per municipality and segment as published: suppressed cells missing.

    The table of :meth:`SegmentResult.summary` (with the "geen diagnose" column
    and the totals) after :func:`caseload.privacy.suppress_small_cells` with the
    total row and column, as the refresh publishes it.
    """
    from caseload.privacy import suppress_small_cells

    t = result.summary()
    t.columns = [str(c) for c in t.columns]
    total = _t("total", result.lang)
    res = suppress_small_cells(t, threshold=min_cell, row_total=total, col_total=total)
    return res.table


def suppressed_pmc_table(result, min_cell: int = 5) -> pd.DataFrame:
    """The long PMC table as published: ``n`` missing where suppressed.

    :func:`caseload.privacy.suppress_long` within each municipality and segment
    (those totals are published in the table per municipality), as the refresh does.
    """
    from caseload.privacy import suppress_long

    t = result.pmc_table.reset_index(drop=True)
    with warnings.catch_warnings():
        # The warning about groups of one row belongs to publishing the table (the
        # refresh gives it there), not to drawing it.
        warnings.simplefilter("ignore", UserWarning)
        res = suppress_long(t, "n", by=["municipality", "segment"], threshold=min_cell)
    out = t.copy()
    out["n"] = pd.to_numeric(res.table["n"]).to_numpy(dtype=float)
    return out


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
                   municipality_names: dict[str, str] | None = None, min_cell: int = 5,
                   table: pd.DataFrame | None = None):
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
        Disclosure threshold (``[privacy] min_cell``).
    table : DataFrame, optional
        The published table of segments per municipality after suppression:
        municipalities as index (or in a first column), columns ``A, B, C`` and the
        total column, suppressed cells missing. Default:
        :func:`suppressed_summary`. A suppressed cell is drawn as a hatched bar
        of the threshold's length labelled "niet getoond"; the panel title gives
        the published total (which includes clients without assessment), or none
        when that is suppressed.

    Returns
    -------
    matplotlib.figure.Figure
    """
    lang = lang or result.lang
    total = _t("total", result.lang)
    t = suppressed_summary(result, min_cell) if table is None else table
    if not isinstance(t.index, pd.MultiIndex) and t.index.dtype.kind in "iu" and t.shape[1] and \
            not pd.api.types.is_numeric_dtype(t.iloc[:, 0]):
        t = t.set_index(t.columns[0])
    t = t.copy()
    t.columns = [str(c) for c in t.columns]
    t.index = t.index.astype(str)
    tot_col = next((c for c in t.columns if c in ("Totaal", "Total")), None)
    t = t[~t.index.isin([total, "Totaal", "Total"])]
    counts = t.reindex(columns=list("ABC")).apply(pd.to_numeric).astype("Float64")
    munis = list(counts.index)
    ncols = max(1, len(munis))
    fig, axes = new_figure(width=max(5.0, 3.2 * ncols), height=3.6, nrows=1, ncols=ncols, sharex=True,
                           squeeze=False)
    vals_all = counts.to_numpy(dtype=float, na_value=np.nan)
    top = float(np.nanmax(vals_all, initial=0.0)) or float(min_cell)
    hidden = _t("hidden", lang)
    for ax, m in zip(axes[0], munis, strict=False):
        order = ["C", "B", "A"]  # bottom to top
        # A pyramid: bars centred on zero, width = count.
        for y, s in enumerate(order):
            v = counts.loc[m, s]
            if pd.isna(v):
                # Suppressed: no length (a hatched bar at the threshold), no number.
                ax.barh(y, min_cell, left=-min_cell / 2, height=0.8, facecolor="white",
                        edgecolor=SEGMENT_COLORS[s], hatch="///", linewidth=0.8)
                ax.text(0, y, hidden, ha="center", va="center", fontsize=8, color="#555555")
                continue
            v = int(v)
            ax.barh(y, v, left=-v / 2, color=SEGMENT_COLORS[s], height=0.8)
            ax.text(0, y, fmt_number(v, lang=lang), ha="center", va="center", fontsize=9,
                    color="white" if v > top * 0.15 else "black", fontweight="bold")
        ax.set_yticks(range(3), [SEGMENT.label(s, lang) for s in order], fontsize=8)
        ax.set_xlim(-top / 2 * 1.1, top / 2 * 1.1)
        ax.set_xticks([])
        name = (municipality_names or {}).get(m, m)
        n = t.loc[m, tot_col] if tot_col is not None else pd.NA
        ax.set_title(name if pd.isna(n) else f"{name} (n = {fmt_number(int(n), lang=lang)})", fontsize=10)
    for ax in axes[0][1:]:
        ax.tick_params(labelleft=False)
    finish(fig, title=_t("pyramid_title", lang), source=source, peildatum=result.peildatum,
           method=_method(result, lang, min_cell), lang=lang)
    for ax in axes[0]:
        ax.grid(False)
    return fig


def pmc_heatmap_figure(result, lang: str | None = None, source: str | None = None, min_cell: int = 5,
                       table: pd.DataFrame | None = None):
    """Heat map of segment (rows A/B/C) x profile-market combination (columns), counts.

    Each cell adds up the published cells of the long PMC table over the
    municipalities (``table``, default :func:`suppressed_pmc_table`). When one of
    them is suppressed the cell is not shown (hatched, "niet getoond"): its sum
    with the published cells would give the suppressed one away.
    """
    lang = lang or result.lang
    t = suppressed_pmc_table(result, min_cell) if table is None else table
    t = t[t["segment"].isin(list("ABC"))]
    c = result.clients[result.clients["pmc"].notna()]
    # Columns in profile order (the pmc code starts with the profile number); a PMC is
    # a profile with its primary market.
    pmcs = (c[["pmc", "pmc_label", "profile", "market"]].drop_duplicates().astype("object")
            .sort_values("pmc"))
    key = pd.MultiIndex.from_frame(t[["profile", "market"]].astype("object"))
    pos = pd.MultiIndex.from_frame(pmcs[["profile", "market"]]).get_indexer(key)
    t = t[pos >= 0].assign(col=pos[pos >= 0])
    n = pd.to_numeric(t["n"]).astype("Float64")
    grid = pd.DataFrame({"segment": t["segment"].astype("object").to_numpy(), "col": t["col"].to_numpy(),
                         "n": n.fillna(0).to_numpy(dtype=float), "hidden": n.isna().to_numpy()})
    agg = grid.groupby(["segment", "col"]).agg(n=("n", "sum"), hidden=("hidden", "any"))
    shape = (3, len(pmcs))
    vals = np.zeros(shape)
    hide = np.zeros(shape, dtype=bool)
    for (s, j), row in agg.iterrows():
        vals["ABC".index(s), j] = row["n"]
        hide["ABC".index(s), j] = row["hidden"]
    shown = np.where(hide, np.nan, vals)
    fig, ax = new_figure(width=max(6.0, 1.15 * max(1, shape[1]) + 3.0), height=4.6)
    # The colour scale starts at 0, so that the smallest shown count is not white.
    im = ax.imshow(np.ma.masked_invalid(shown), cmap="Blues", aspect="auto", vmin=0,
                   vmax=max(float(np.nanmax(shown, initial=0.0)), 1.0))
    labels = pmcs["pmc_label"].tolist()
    ax.set_yticks(range(3), [SEGMENT.label(s, lang) for s in "ABC"], fontsize=8)
    # Wrapped, not rotated: rotated two-line names ran into each other.
    ax.set_xticks(range(shape[1]), ["\n".join(textwrap.fill(part, 15) for part in str(x).split(" × "))
                                    for x in labels], fontsize=7)
    vmax = float(np.nanmax(shown, initial=0.0))
    hidden = _t("hidden", lang)
    for i in range(shape[0]):
        for j in range(shape[1]):
            if hide[i, j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="white", edgecolor="#999999",
                                       hatch="///", linewidth=0.5))
                ax.text(j, i, hidden, ha="center", va="center", fontsize=6, color="#555555")
                continue
            v = int(vals[i, j])
            ax.text(j, i, fmt_number(v, lang=lang), ha="center", va="center", fontsize=8,
                    color="white" if vmax and v > vmax * 0.6 else "black")
    cb = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    cb.set_label(_t("clients", lang))
    ax.set_xlabel(_t("pmc", lang))
    ax.set_ylabel(_t("group", lang))
    finish(fig, title=_t("pmc_title", lang), source=source, peildatum=result.peildatum,
           method=_method(result, lang, min_cell), lang=lang)
    ax.grid(False)
    return fig
