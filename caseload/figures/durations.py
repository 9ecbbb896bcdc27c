"""Figures for durations on benefit (Dutch labels by default, English with ``lang="en"``).

Every function takes a fitted estimator or a result table of
:mod:`caseload.durations`, returns a matplotlib ``Figure`` with the house-style
footer (source, peildatum, method) and never writes files; save it with
:func:`caseload.figures.style.save`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.transforms import offset_copy

from caseload.figures.style import (
    PALETTE,
    NumberFormatter,
    dropped_note,
    finish,
    fmt_number,
    new_figure,
)
from caseload.schema.labels import label_table

__all__ = ["km_figure", "cumulative_incidence_figure", "cohort_figure", "elapsed_table_figure"]

_W = label_table("figures.durations")


def _w(key: str, lang: str, **fmt) -> str:
    nl, en = _W[key]
    return (nl if lang == "nl" else en).format(**fmt)


def _x_label(time_unit: str, lang: str) -> str:
    return _w({"years": "x_years", "months": "x_months", "days": "x_days"}.get(time_unit, "x_years"), lang)


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}"


def _variance_words(variance: str, lang: str) -> str:
    """The AJ variance method in words (the estimator's ``variance`` setting)."""
    return _w(f"variance_{variance}", lang) if f"variance_{variance}" in _W else variance


def km_figure(km, *, title: str | None = None, source: str | None = None, peildatum=None, lang: str = "nl",
              time_unit: str = "years", at_risk_counts: bool = True, labels: dict | None = None,
              max_time: float | None = None):
    """Kaplan-Meier curves per group with intervals and at-risk counts under the axis.

    Parameters
    ----------
    km : KaplanMeier
        Fitted estimator.
    title, source, peildatum : optional
        Title and footer.
    lang : {"nl", "en"}
    time_unit : {"years", "months", "days"}
        Unit of the durations the estimator was fitted on (x-axis label).
    at_risk_counts : bool
        Table of numbers at risk at the x ticks.
    labels : dict, optional
        Legend text per group.
    max_time : float, optional
        Right end of the x axis.

    Returns
    -------
    Figure
    """
    n_groups = len(km.labels_)
    fig, ax = new_figure(8.0, 4.6 + (12 / 72 * (n_groups + 1) if at_risk_counts else 0))
    km.plot(ax=ax, at_risk_counts=False, labels=labels)
    if max_time is not None:
        ax.set_xlim(0, max_time)
    ax.set_xlabel(_x_label(time_unit, lang))
    ax.set_ylabel(_w("km_y", lang))
    ax.yaxis.set_major_formatter(NumberFormatter(lang, percent=True))
    if at_risk_counts:
        _at_risk_table(ax, km, labels or {}, _w("at_risk", lang), lang)
    return finish(fig, title=title or _w("km_title", lang), source=source, peildatum=peildatum,
                  method=_w("km_method", lang, lvl=_level(km.alpha), ci=getattr(km, "conf_type", "log-log")), lang=lang)


def _at_risk_table(ax, km, labels: dict, title: str, lang: str) -> None:
    """Numbers at risk per group at the x ticks, under the axis, in the report's number format.

    At tick 0 the number just after 0 is shown (everyone observed from the start):
    the risk set at ``t`` is ``entry < t <= duration``, so at exactly 0 it is empty.
    """
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    ax.set_xticks(ticks)
    counts = km.at_risk_counts([t if t > 0 else np.nextafter(0.0, 1.0) for t in ticks])
    # Rows at fixed distances (points) under the axis, so that the layout does not move them
    # when it resizes the axes (axes-fraction positions did, into the footer or leaving a gap).
    fig = ax.figure
    x_label = lo - 0.05 * (hi - lo)

    def row(r: int):
        return offset_copy(ax.get_xaxis_transform(), fig=fig, x=0, y=-40 - 12 * r, units="points")

    ax.text(x_label, 0, title, transform=row(0), ha="right", va="top", fontsize=8, fontweight="bold")
    for r, label in enumerate(km.labels_, start=1):
        ax.text(x_label, 0, str(labels.get(label, label)), transform=row(r), ha="right", va="top",
                fontsize=8)
        for t, v in zip(ticks, counts.iloc[r - 1].to_numpy(), strict=True):
            ax.text(t, 0, fmt_number(v, 0, lang), transform=row(r), ha="center", va="top", fontsize=8)


def cumulative_incidence_figure(aj, *, causes=None, title: str | None = None, source: str | None = None,
                                peildatum=None, lang: str = "nl", time_unit: str = "years",
                                labels: dict | None = None, max_time: float | None = None):
    """Cumulative incidence of each cause (default: work and other exits), per group.

    One panel per cause; within a panel one line per group.

    Returns
    -------
    Figure
    """
    causes = list(causes or aj.causes_)
    causes = sorted(causes, key=lambda c: (c != "werk", c))
    fig, axes = new_figure(4.2 * len(causes), 4.5, ncols=len(causes), sharey=True, squeeze=False)
    labels = labels or {}
    for ax, cause in zip(axes[0], causes, strict=True):
        colors = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(aj.labels_)}
        aj.plot(ax=ax, cause=cause, colors=colors, labels=labels)
        if len(aj.labels_) == 1 and ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_title(_w(cause, lang) if cause in ("werk", "overig") else str(cause))
        ax.set_xlabel(_x_label(time_unit, lang))
        if max_time is not None:
            ax.set_xlim(0, max_time)
    axes[0][0].set_ylabel(_w("cif_y", lang))
    axes[0][0].yaxis.set_major_formatter(NumberFormatter(lang, percent=True))
    return finish(fig, title=title or _w("cif_title", lang), source=source, peildatum=peildatum,
                  method=_w("cif_method", lang, lvl=_level(aj.alpha), ci=getattr(aj, "conf_type", "log-log"),
                             var=_variance_words(getattr(aj, "variance", "delta"), lang)), lang=lang)


def cohort_figure(curves: pd.DataFrame, *, by_label: str | None = None, min_n: int = 5,
                  title: str | None = None, source: str | None = None, peildatum=None, lang: str = "nl",
                  max_groups: int = 8):
    """Cohort curves: share still active by years since start, one line per group.

    Parameters
    ----------
    curves : DataFrame
        Output of :func:`caseload.durations.cohort_curves`.
    by_label : str, optional
        What the groups are (in the title); default: inflow-year cohorts.
    min_n : int
        Points based on fewer benefits are not drawn (small-cell rule).
    max_groups : int
        At most this many groups are drawn, each in its own colour of the house
        palette (8 colours): the latest when the groups are years (inflow-year
        cohorts), else the largest. Every group left out, by this limit or because
        none of its points has ``min_n`` benefits, is named in the footer.

    Returns
    -------
    Figure
    """
    fig, ax = new_figure(8.0, 4.8)
    all_groups = list(dict.fromkeys(curves["group"]))
    shown = curves[curves["n"] >= min_n]
    groups = list(dict.fromkeys(shown["group"]))
    max_groups = min(max_groups, len(PALETTE))
    years = bool(groups) and all(str(g).isdigit() and len(str(g)) == 4 for g in groups)
    if len(groups) > max_groups:
        if years:
            groups = sorted(groups, key=lambda g: int(str(g)))[-max_groups:]
        else:
            sizes = shown.groupby("group", sort=False)["n"].max()
            groups = sorted(sizes.nlargest(max_groups).index, key=groups.index)
    dropped = [g for g in all_groups if g not in groups]
    for i, g in enumerate(groups):
        part = shown[shown["group"] == g]
        ax.plot(part["years_since_start"], part["share_active"], marker="o", markersize=3,
                color=PALETTE[i], linestyle="-", label=str(g))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(_w("cohort_x", lang))
    ax.set_ylabel(_w("cohort_y", lang))
    ax.yaxis.set_major_formatter(lambda v, _: f"{fmt_number(100 * v, 0, lang)}%")
    if groups:
        ax.legend(ncols=2 if len(groups) > 4 else 1, fontsize=8)
    if title is None:
        title = _w("cohort_title", lang) if by_label is None else _w("cohort_title_by", lang, by=by_label)
    method = _w("cohort_method", lang, n=min_n)
    if dropped:
        method += "; " + dropped_note(dropped, lang, _w("dropped_years" if years else "dropped", lang,
                                                        n=min_n, k=max_groups))
    return finish(fig, title=title, source=source, peildatum=peildatum, method=method, lang=lang)


def elapsed_table_figure(table: pd.DataFrame, *, title: str | None = None, source: str | None = None,
                         peildatum=None, lang: str = "nl"):
    """Bar chart of the Losser table: mean elapsed years per age band, share of the stock on each bar.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`caseload.durations.elapsed_duration_table` (Dutch or
        English headers; columns are taken by position).

    Returns
    -------
    Figure
    """
    band_col, share_col, dur_col = table.columns[:3]
    bands = table.iloc[:-1]
    total = table.iloc[-1]
    fig, ax = new_figure(7.0, 4.5)
    # The mean of the whole stock is a bar of its own (grey, after a gap), not a line
    # across the bars: a line would run through the bars' labels.
    x = np.arange(len(bands))
    heights = bands[dur_col].to_numpy(dtype=float)
    ax.bar(x, np.nan_to_num(heights), color=PALETTE[0], width=0.6)
    for xi, (share, dur) in enumerate(zip(bands[share_col], bands[dur_col], strict=True)):
        if pd.notna(dur):
            ax.text(xi, dur, f"{fmt_number(dur, 2, lang)}\n({fmt_number(100 * share, 1, lang)}% "
                    f"{_w('of_stock', lang)})", ha="center", va="bottom", fontsize=8.5)
    labels = [str(b) for b in bands[band_col]]
    ticks = list(x)
    if pd.notna(total[dur_col]):
        xt = len(bands) + 0.3
        ax.bar(xt, total[dur_col], color="#8c8c8c", width=0.6)
        ax.text(xt, total[dur_col], f"{fmt_number(total[dur_col], 2, lang)}\n({_w('mean', lang)})",
                ha="center", va="bottom", fontsize=8.5)
        ticks.append(xt)
        labels.append(str(total[band_col]) if pd.notna(total[band_col]) else _w("total", lang))
    ax.set_xticks(ticks, labels)
    top = np.nanmax(table[dur_col].to_numpy(dtype=float)) if len(table) else 1.0
    ax.set_ylim(0, (top if np.isfinite(top) else 1.0) * 1.25)
    ax.set_xlabel(_w("elapsed_x", lang))
    ax.set_ylabel(_w("elapsed_y", lang))
    return finish(fig, title=title or _w("elapsed_title", lang), source=source,
                  peildatum=peildatum if peildatum is not None else table.attrs.get("peildatum"),
                  method=_w("elapsed_method", lang), lang=lang)
