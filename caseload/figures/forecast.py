"""Figures of the forecasts: new target groups, sheltered work, caseload fan chart, candidates.

Each function takes a result table of :mod:`caseload.forecast`, draws in the
house style (Dutch labels by default, ``lang="en"`` for English) and returns the
``Figure``; the caller saves it with :func:`caseload.figures.style.save`.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from caseload.figures.style import PALETTE, finish, fmt_number, new_figure
from caseload.schema import MARKET, PROFILE
from caseload.schema.labels import label_table

__all__ = ["target_groups_figure", "sheltered_work_figure", "fan_chart_figure", "candidates_figure",
           "scenarios_figure"]

_W = label_table("figures.forecast")


def _w(key: str, lang: str, **fmt) -> str:
    nl, en = _W[key]
    text = nl if lang == "nl" else en
    return text.format(**fmt) if fmt else text


def target_groups_figure(table: pd.DataFrame, *, lang: str = "nl", title: str | None = None,
                         source: str | None = None, peildatum=None):
    """Yearly bars of the new target groups with the structural level as a line, per municipality.

    Parameters
    ----------
    table : DataFrame
        :func:`caseload.forecast.target_group_table` output: ``municipality, year,
        published, fitted, structural_implied``.
    lang : {"nl", "en"}

    Returns
    -------
    Figure
    """
    munis = list(dict.fromkeys(table["municipality"]))
    fig, axes = new_figure(width=4.2 * len(munis), height=4.2, ncols=len(munis), sharey=True, squeeze=False)
    for ax, mun in zip(axes[0], munis, strict=True):
        g = table[table["municipality"] == mun].sort_values("year")
        x = g["year"].to_numpy()
        pub = g["published"].notna().to_numpy()
        ax.bar(x[pub], g["published"][pub], color=PALETTE[0], label=_w("published", lang))
        ax.bar(x[~pub], g["fitted"][~pub], color=PALETTE[4], label=_w("model", lang))
        ax.plot(x, g["fitted"], color="#333333", lw=1, marker="o", ms=3, label=f"{_w('model', lang)} S(t)")
        level = float(g["structural_implied"].iloc[0])
        ax.axhline(level, color=PALETTE[5], ls="--", lw=1.5, label=_w("structural", lang))
        ax.text(x[0] - 0.4, level, f"{_w('structural', lang)} {fmt_number(level, 0, lang)}",
                va="bottom", ha="left", fontsize=8, color=PALETTE[5])
        ax.set_title(mun)
        ax.set_xlabel(_w("year", lang))
        ax.set_xticks(x, [str(int(v)) for v in x])  # years: 2021, never 2.021
        ax.tick_params(axis="x", rotation=45)
    axes[0][0].set_ylabel(_w("persons", lang))
    axes[0][0].legend(loc="center left", fontsize=8)
    return finish(fig, title=title or _w("tg_title", lang), source=source or _w("src_2017", lang),
                  peildatum=peildatum, method=_w("m_tg", lang), lang=lang)


def sheltered_work_figure(table: pd.DataFrame, *, structural: dict | None = None, lang: str = "nl",
                          title: str | None = None, source: str | None = None, peildatum=None):
    """Sheltered-work places per year and municipality; hatched where the number is share-based.

    Parameters
    ----------
    table : DataFrame
        :func:`caseload.forecast.sheltered_work_table` or
        :func:`caseload.forecast.project_sheltered_work` output (``municipality, year,
        places, basis``).
    structural : dict, optional
        Published structural level per municipality, drawn as a dashed line.

    Returns
    -------
    Figure
    """
    munis = list(dict.fromkeys(table["municipality"]))
    years = sorted(table["year"].unique())
    fig, ax = new_figure(width=7.5, height=4.2)
    width = 0.8 / len(munis)
    for i, mun in enumerate(munis):
        g = table[table["municipality"] == mun].set_index("year").reindex(years)
        xs = np.arange(len(years)) + (i - (len(munis) - 1) / 2) * width
        share = (g["basis"] == "aandeel").to_numpy()
        ax.bar(xs[~share], g["places"][~share], width, color=PALETTE[i], label=f"{mun}: {_w('taakstelling', lang)}")
        ax.bar(xs[share], g["places"][share], width, color=PALETTE[i], alpha=0.55, hatch="//",
               edgecolor="white", label=f"{mun}: {_w('aandeel', lang)}")
        for x, v in zip(xs, g["places"], strict=True):
            if pd.notna(v):
                ax.text(x, v, fmt_number(v, 0, lang), ha="center", va="bottom", fontsize=7)
        if structural and mun in structural:
            ax.axhline(structural[mun], color=PALETTE[i], ls="--", lw=1)
            ax.text(len(years) - 0.5, structural[mun], f"{_w('structural', lang)} {mun}: "
                    f"{fmt_number(structural[mun], 0, lang)}", ha="right", va="bottom", fontsize=8)
    ax.set_xticks(np.arange(len(years)), [str(y) for y in years])
    ax.set_xlabel(_w("year", lang))
    ax.set_ylabel(_w("places", lang))
    ax.legend(fontsize=8, loc="upper left")
    return finish(fig, title=title or _w("sw_title", lang), source=source or _w("src_2017", lang),
                  peildatum=peildatum, method=_w("m_sw", lang), lang=lang)


def fan_chart_figure(history: pd.DataFrame, forecast: pd.DataFrame, unique_id: str | None = None, *,
                     months: int | None = 60, lang: str = "nl", title: str | None = None,
                     ylabel: str | None = None, source: str | None = None, peildatum=None):
    """History, point forecast and 80%/95% bands of one series (a fan chart).

    Parameters
    ----------
    history : DataFrame
        Long form ``unique_id, ds, y``.
    forecast : DataFrame
        :func:`caseload.forecast.forecast_series` output (``lo_80, hi_80, lo_95, hi_95``).
    unique_id : str, optional
        The series; default the first in ``forecast``.
    months : int, optional
        Months of history shown (default 60; ``None`` all).

    Returns
    -------
    Figure
    """
    uid = unique_id if unique_id is not None else str(forecast["unique_id"].iloc[0])
    h = history[history["unique_id"].astype(str) == uid].sort_values("ds")
    if months is not None:
        h = h.tail(months)
    f = forecast[forecast["unique_id"].astype(str) == uid].sort_values("ds")
    fig, ax = new_figure(width=8, height=4.2)
    ax.plot(h["ds"], h["y"], color="#333333", lw=1.5, label=_w("history", lang))
    levels = sorted(int(c.split("_")[1]) for c in f.columns if c.startswith("lo_"))
    # Opaque shades, widest interval lightest, each drawn over the wider one: the colour
    # seen in a band is the colour in the legend (transparent layers would mix).
    shades = dict(zip(sorted(levels, reverse=True), ("#c6dbef", "#7fb2dd", "#3d85c6"), strict=False))
    # Join the fan to the last observation so the chart has no gap.
    x = pd.concat([h["ds"].tail(1), f["ds"]])
    for lv in sorted(levels, reverse=True):
        lo = np.concatenate([h["y"].tail(1), f[f"lo_{lv}"]])
        hi = np.concatenate([h["y"].tail(1), f[f"hi_{lv}"]])
        ax.fill_between(x, lo, hi, color=shades.get(lv, "#9ecae1"), lw=0,
                        label=_w("interval", lang, lv=lv))
    ax.plot(x, np.concatenate([h["y"].tail(1), f["forecast"]]), color=PALETTE[0], lw=2,
            label=_w("forecast", lang))
    ax.set_xlabel(_w("month", lang))
    ax.set_ylabel(ylabel or _w("caseload", lang))
    ax.legend(fontsize=8, loc="best", framealpha=0.8)
    model = f"; {f['model'].iloc[0]}" if "model" in f.columns and len(f) else ""
    return finish(fig, title=title or f"{_w('fan_title', lang)}: {uid}", source=source,
                  peildatum=peildatum, method=_w("m_fan", lang) + model, lang=lang)


def _pmc_label(pmc, lang: str) -> str:
    """``"1"`` -> the profile's name; ``"1-logistiek"`` -> profile x market (segmentation's PMC code)."""
    s = str(pmc)
    if s in PROFILE:
        return PROFILE.label(s, lang)
    prof, _, market = s.partition("-")
    if prof in PROFILE and market in MARKET:
        return f"{PROFILE.label(prof, lang)} × {MARKET.label(market, lang)}"
    return s


def candidates_figure(projection: pd.DataFrame, *, level: int = 80, lang: str = "nl",
                      title: str | None = None, source: str | None = None, peildatum=None):
    """Expected A-candidates per PMC in each coming quarter, with an interval bar.

    Parameters
    ----------
    projection : DataFrame
        :func:`caseload.forecast.project_candidates` output; summed over
        municipalities when it has that column.
    level : int, default 80
        Interval shown as error bar.

    Returns
    -------
    Figure
    """
    p = projection.copy()
    lo, hi = f"lo_{level}", f"hi_{level}"
    if "municipality" in p.columns:
        # Variances add over independent municipalities; rebuild the interval from them.
        half = (p[hi] - p["A"]) ** 2
        p = p.assign(_v=half).groupby(["pmc", "quarter", "period"], as_index=False).agg(
            A=("A", "sum"), _v=("_v", "sum"))
        p[hi] = p["A"] + np.sqrt(p["_v"])
        p[lo] = np.maximum(p["A"] - np.sqrt(p["_v"]), 0)
    pmcs = sorted(p["pmc"].unique(), key=str)
    periods = list(dict.fromkeys(p.sort_values("quarter")["period"]))
    fig, ax = new_figure(width=8.5, height=4.5)
    width = 0.8 / len(periods)
    for j, per in enumerate(periods):
        g = p[p["period"] == per].set_index("pmc").reindex(pmcs)
        xs = np.arange(len(pmcs)) + (j - (len(periods) - 1) / 2) * width
        err = np.vstack([g["A"] - g[lo], g[hi] - g["A"]])
        # One clearly different colour per quarter (shades of one green were indistinguishable).
        ax.bar(xs, g["A"], width, color=PALETTE[j % len(PALETTE)], yerr=err, capsize=2,
               error_kw={"lw": 0.8, "ecolor": "#333333"}, label=str(per))
    # Wrapped, not rotated: rotated long names ran into each other.
    ax.set_xticks(np.arange(len(pmcs)), [textwrap.fill(_pmc_label(x, lang), 16) for x in pmcs],
                  fontsize=8)
    ax.set_ylabel(_w("candidates", lang))
    ax.legend(title=_w("quarter", lang), fontsize=8)
    return finish(fig, title=title or _w("cand_title", lang), source=source, peildatum=peildatum,
                  method=_w("m_cand", lang), lang=lang)




def scenarios_figure(history: pd.DataFrame, table: pd.DataFrame, unique_id: str | None = None, *,
                     months: int | None = 36, level: int = 80, lang: str = "nl", title: str | None = None,
                     labels: dict | None = None, source: str | None = None, peildatum=None):
    """History, the base forecast with its interval and each scenario as a line.

    Parameters
    ----------
    history : DataFrame
        Long form ``unique_id, ds, y``.
    table : DataFrame
        :func:`caseload.forecast.apply_scenarios` output (``scenario`` ``"basis"``
        is the base forecast).
    unique_id : str, optional
        The series; default the first in ``table``.
    months : int, optional
        Months of history shown (default 36).
    level : int, default 80
        Interval drawn around the base forecast (when present).
    labels : dict, optional
        Legend text per scenario name (e.g. ``Scenario.describe()``).

    Returns
    -------
    Figure
    """
    uid = unique_id if unique_id is not None else str(table["unique_id"].iloc[0])
    h = history[history["unique_id"].astype(str) == uid].sort_values("ds")
    if months is not None:
        h = h.tail(months)
    t = table[table["unique_id"].astype(str) == uid]
    fig, ax = new_figure(width=8, height=4.2)
    ax.plot(h["ds"], h["y"], color="#333333", lw=1.5, label=_w("history", lang))
    last_x, last_y = h["ds"].tail(1), h["y"].tail(1).to_numpy()
    base = t[t["scenario"] == "basis"].sort_values("ds")
    x = pd.concat([last_x, base["ds"]])
    if f"lo_{level}" in base.columns:
        ax.fill_between(x, np.r_[last_y, base[f"lo_{level}"]], np.r_[last_y, base[f"hi_{level}"]],
                        color=PALETTE[0], alpha=0.2, lw=0, label=_w("interval", lang, lv=level))
    ax.plot(x, np.r_[last_y, base["forecast"]], color=PALETTE[0], lw=2, label=_w("base", lang))
    names = [n for n in dict.fromkeys(t["scenario"]) if n != "basis"]
    styles = ("--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)))
    for i, name in enumerate(names):
        g = t[t["scenario"] == name].sort_values("ds")
        ax.plot(pd.concat([last_x, g["ds"]]), np.r_[last_y, g["forecast"]],
                color=PALETTE[(i + 1) % len(PALETTE)], lw=1.8, ls=styles[i % len(styles)],
                label=(labels or {}).get(name, name))
    ax.set_xlabel(_w("month", lang))
    ax.set_ylabel(_w("caseload", lang))
    ax.legend(fontsize=8, loc="best", framealpha=0.8)
    return finish(fig, title=title or f"{_w('scen_title', lang)}: {uid}", source=source,
                  peildatum=peildatum, method=_w("m_scen", lang), lang=lang)
