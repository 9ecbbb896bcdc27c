"""Policy figures for outcome KPIs, benchmark and coach capacity (Dutch labels by default).

Every function takes a result table of :mod:`caseload.kpi` or :mod:`caseload.capacity`,
draws on an optional ``ax`` and returns the matplotlib ``Figure``; save it with
:func:`caseload.figures.style.save`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from caseload.figures.style import PALETTE, NumberFormatter, finish, fmt_number, new_figure, t
from caseload.schema.labels import label_table

__all__ = ["kpi_target_figure", "durability_figure", "benchmark_figure", "capacity_figure"]

_W = {**label_table("figures.kpi"), **{f"j_{k}": v for k, v in label_table("values.judgement").items()}}

_JUDGE_COLOR = {"onder_doel": PALETTE[5], "boven_doel": PALETTE[2], "niet_verschillend": PALETTE[0],
                "onbekend": "#999999"}


def _w(key: str, lang: str, **fmt) -> str:
    nl, en = _W[key]
    return (nl if lang == "nl" else en).format(**fmt)


def _interval_cols(df: pd.DataFrame) -> tuple[str, str, str]:
    lo = next(c for c in df.columns if c.startswith("lower_"))
    hi = next(c for c in df.columns if c.startswith("upper_"))
    level = lo.removeprefix("lower_")
    try:
        lvl = fmt_number(100 * float(level), 0)
    except ValueError:
        lvl = level
    return lo, hi, lvl


def _group_labels(df: pd.DataFrame, by: Sequence[str] | None, lang: str) -> list[str]:
    if not by:
        return [_w("all", lang)] * len(df)
    return [" · ".join(str(v) for v in row) for row in df[list(by)].itertuples(index=False)]


def kpi_target_figure(kpi: pd.DataFrame, *, by: Sequence[str] | str | None = None, target: float | None = None,
                      show_naive: bool = True, min_cell: int = 5, ax=None, title: str | None = None,
                      source: str | None = None, peildatum=None, lang: str = "nl",
                      judgement_labels: Mapping[str, str] | None = None):
    """Estimate with interval per cohort or group against the target line.

    Parameters
    ----------
    kpi : DataFrame
        From :func:`caseload.kpi.outflow_to_work`.
    by : str or list of str, optional
        The grouping columns of ``kpi`` used as row labels.
    target : float, optional
        Default the ``target`` column of ``kpi``.
    show_naive : bool, default True
        Also mark the naive share (open circle).
    min_cell : int, default 5
        Groups with fewer spells are not drawn (disclosure control, as in the tables).
    judgement_labels : mapping, optional
        Text of each code in the ``judgement`` column; default the figure's own words
        for the codes of :func:`caseload.kpi.judge_against_target`.
    """
    by = [by] if isinstance(by, str) else (list(by) if by else [])
    lo, hi, lvl = _interval_cols(kpi)

    def judgement(code) -> str:
        if judgement_labels is not None and code in judgement_labels:
            return str(judgement_labels[code])
        return _w(f"j_{code}", lang) if f"j_{code}" in _W else str(code)

    # A count missing (suppressed in the published table) counts as small: nothing drawn.
    n_spells = pd.to_numeric(kpi["n_spells"]).to_numpy(dtype=float, na_value=np.nan) if "n_spells" in kpi \
        else np.full(len(kpi), np.inf)
    small = ~(n_spells >= min_cell)
    kpi = kpi.copy()
    kpi.loc[small, ["estimate", lo, hi] + (["naive_share"] if "naive_share" in kpi else [])] = np.nan
    if "judgement" in kpi:
        kpi.loc[small, "judgement"] = "onbekend"
    if target is None and "target" in kpi:
        target = float(kpi["target"].iloc[0])
    months = int(kpi["months"].iloc[0]) if "months" in kpi else None
    fig, ax = new_figure(8, 2.6 + 0.45 * len(kpi)) if ax is None else (ax.figure, ax)
    y = np.arange(len(kpi))[::-1]
    colors = [_JUDGE_COLOR.get(j, PALETTE[0]) for j in kpi.get("judgement", ["niet_verschillend"] * len(kpi))]
    est = kpi["estimate"].to_numpy(dtype=float)
    lower = kpi[lo].to_numpy(dtype=float)
    upper = kpi[hi].to_numpy(dtype=float)
    for yi, e, a, b, c, sm, n in zip(y, est, lower, upper, colors, small, n_spells, strict=True):
        if sm:
            # Hidden in the published table: say only that (a "< 5" would tell which cells are small).
            label = _w("hidden", lang) if np.isnan(n) else t("suppressed", lang, n=min_cell)
            ax.annotate(label, (0.01, yi), va="center", fontsize=8, color="#555555")
            continue
        ax.plot([a, b if np.isfinite(b) else 1.0], [yi, yi], color=c, lw=2.5, alpha=0.7,
                ls="-" if np.isfinite(b) else ":")
        ax.plot([e], [yi], "o", color=c, ms=7)
    # One legend entry per judgement drawn, in the colour it is drawn in.
    handles = []
    judged = [j for j, sm in zip(kpi.get("judgement", ["niet_verschillend"] * len(kpi)), small, strict=True)
              if not sm]
    for j in dict.fromkeys(judged):
        text = _w("estimate", lang, lvl=lvl)
        if "judgement" in kpi:
            text += f": {judgement(j)}"
        handles.append(ax.plot([], [], "o-", color=_JUDGE_COLOR.get(j, PALETTE[0]), label=text)[0])
    if show_naive and "naive_share" in kpi:
        ax.plot(kpi["naive_share"], y, "o", mfc="none", mec="#555555", ms=7)
        handles.append(ax.plot([], [], "o", mfc="none", mec="#555555", label=_w("naive", lang))[0])
    if target is not None:
        handles.append(ax.axvline(target, color="#000000", ls="--", lw=1.2,
                                  label=f"{_w('target', lang)} {fmt_number(100 * target, 0, lang)}%"))
    if "judgement" in kpi:
        for yi, j, c, sm in zip(y, kpi["judgement"], colors, small, strict=True):
            if sm:
                continue
            ax.annotate(judgement(j), (1.01, yi), xycoords=("axes fraction", "data"),
                        va="center", fontsize=8, color=c)
    ax.set_yticks(y, _group_labels(kpi, by, lang))
    ax.set_ylim(-0.6, len(kpi) - 0.4)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{fmt_number(100 * v, 0, lang)}%")
    ax.set_xlabel(_w("share_work", lang))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, fontsize=8)
    return finish(fig, title=title or _w("kpi_title", lang, m=months), source=source, peildatum=peildatum,
                  method=_w("kpi_method", lang), lang=lang)


def durability_figure(table: pd.DataFrame, *, by: Sequence[str] | str | None = None, ax=None,
                      revolving: bool = False, min_cell: int = 5, title: str | None = None,
                      source: str | None = None, peildatum=None, lang: str = "nl"):
    """Bars of the durable share after 3 and 6 months (or the return share), with intervals
    and the counts judged and too recent under each bar.

    Parameters
    ----------
    table : DataFrame
        From :func:`caseload.kpi.durability` (or :func:`caseload.kpi.revolving_door`
        with ``revolving=True``).
    min_cell : int, default 5
        Bars on fewer judged exits are not drawn and counts below it are shown
        as "< min_cell" (disclosure control, as in the tables).
    """
    by = [by] if isinstance(by, str) else (list(by) if by else [])
    lo, hi, lvl = _interval_cols(table)
    fig, ax = new_figure(8, 4.5) if ax is None else (ax.figure, ax)
    windows = sorted(table["months"].unique())
    groups = table.drop_duplicates(by)[by] if by else pd.DataFrame(index=[0])
    labels = _group_labels(groups, by, lang)
    width = 0.8 / len(windows)
    x = np.arange(len(groups))
    for i, w in enumerate(windows):
        sub = table[table["months"] == w]
        if by:
            sub = groups.merge(sub, on=by, how="left")
        share = sub["share"].to_numpy(dtype=float)
        judged = pd.to_numeric(sub["n_judged"]).to_numpy(dtype=float, na_value=np.nan)
        share = np.where(~(judged >= min_cell), np.nan, share)
        err = np.vstack([share - sub[lo].to_numpy(dtype=float), sub[hi].to_numpy(dtype=float) - share])
        err = np.where(np.isfinite(share), err, np.nan)
        xs = x + (i - (len(windows) - 1) / 2) * width
        ax.bar(xs, np.nan_to_num(share), width * 0.92, color=PALETTE[i % len(PALETTE)],
               label=_w("after", lang, m=w))
        ax.errorbar(xs, share, yerr=np.nan_to_num(err), fmt="none", ecolor="#333333", capsize=3, lw=1)
        tops = np.where(np.isfinite(share), sub[hi].to_numpy(dtype=float), 0.0)

        def _n(v):  # "x": suppressed in the published table
            return "x" if pd.isna(v) else f"< {min_cell}" if 0 < v < min_cell else fmt_number(v, 0, lang)

        for xi, top, nj, nr in zip(xs, tops, sub["n_judged"], sub["n_too_recent"], strict=True):
            ax.annotate(_w("judged", lang, n=_n(nj), r=_n(nr)), (xi, top), xytext=(0, 3),
                        textcoords="offset points", ha="center", va="bottom", fontsize=7, color="#333333")
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.12)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.yaxis.set_major_formatter(lambda v, _: f"{fmt_number(100 * v, 0, lang)}%")
    ax.set_ylabel(_w("rev_y" if revolving else "dur_y", lang))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.1), ncol=len(windows), fontsize=8)
    return finish(fig, title=title or _w("dur_title", lang), source=source, peildatum=peildatum,
                  method=_w("dur_method", lang) + f"; {lvl}%-interval (Wilson)", lang=lang)


def benchmark_figure(peers: pd.DataFrame, summary: pd.DataFrame | None = None, *, year: int | None = None,
                     title: str | None = None, source: str | None = None, lang: str = "nl",
                     indicator_labels: Mapping[str, str] | None = None):
    """Position of a municipality among its peers, one panel per indicator.

    Parameters
    ----------
    peers : DataFrame
        Long table from :func:`caseload.kpi.peer_values` (municipality, indicator,
        value, is_self).
    summary : DataFrame, optional
        From :func:`caseload.kpi.benchmark_municipality`, for labels and percentiles.
    source : str, optional
        Source line (e.g. :data:`caseload.kpi.benchmark.CBS_SOURCE`); none when omitted.
    indicator_labels : mapping, optional
        Panel title of each indicator code; default the ``label`` column of ``summary``,
        else the code.
    """

    inds = list(dict.fromkeys(peers["indicator"]))
    fig, axes = new_figure(8, 1.1 + 1.05 * len(inds), nrows=len(inds), ncols=1, squeeze=False)
    rng = np.random.default_rng(0)  # fixed jitter: the figure is deterministic
    summ = summary.set_index("indicator") if summary is not None else None
    for ax, ind in zip(axes[:, 0], inds, strict=True):
        g = peers[peers["indicator"] == ind]
        others = g[~g["is_self"]]["value"].dropna().to_numpy()
        own = g[g["is_self"]]["value"]
        jitter = rng.uniform(-0.25, 0.25, size=others.size)
        ax.plot(others, jitter, "o", color="#9a9a9a", ms=3.5, alpha=0.6, label=_w("peers", lang))
        allv = g["value"].dropna()
        if len(allv):
            ax.axvline(allv.median(), color="#000000", lw=1, ls="--", label=_w("median", lang))
        if own.notna().any():
            ov = float(own.iloc[0])
            ax.plot([ov], [0], "D", color=PALETTE[5], ms=9, label=_w("own", lang))
        if indicator_labels is not None and ind in indicator_labels:
            panel = str(indicator_labels[ind])
        elif summ is not None and "label" in summ.columns and ind in summ.index:
            panel = str(summ.loc[ind, "label"])
        else:
            panel = str(ind)
        if summ is not None and own.notna().any() and np.isfinite(summ.loc[ind, "percentile"]):
            # In the panel title, not above the marker: the median line would run through it.
            panel += f" · {_w('own', lang)}: " + _w("pct_label", lang,
                                                     p=fmt_number(summ.loc[ind, "percentile"], 0, lang))
        ax.set_yticks([])
        ax.set_ylim(-0.5, 0.6)
        ax.set_title(panel, loc="left", fontsize=9)
        ax.spines["left"].set_visible(False)
    # Under the last panel: above the first it collided with the first panel's title.
    axes[-1, 0].legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=3, fontsize=8,
                       bbox_to_anchor=(0.5, -0.35))
    n = peers["municipality"].nunique()
    method = _w("bm_method", lang) + f" (n = {n})"
    return finish(fig, title=title or _w("bm_title", lang, year=year if year is not None else ""),
                  source=source, method=method, lang=lang)


def capacity_figure(table: pd.DataFrame, *, norm: dict | None = None, min_cell: int = 5, ax=None,
                    title: str | None = None, source: str | None = None, peildatum=None, lang: str = "nl"):
    """Horizontal bars of FTE per contact group, with the norm-based FTE as a line.

    Parameters
    ----------
    table : DataFrame
        From :func:`caseload.capacity.fte_from_contacts`.
    norm : dict, optional
        From :func:`caseload.capacity.fte_from_norm`.
    min_cell : int, default 5
        Client counts below it are labelled "< min_cell" (disclosure control).
        Pass the published (suppressed) table: a group whose clients or fte are
        missing there gets no bar and the label "niet getoond"; the hidden groups
        together are one grey part of the total bar (the total minus the groups shown).
    """
    total_row = table[table["code"] == "totaal"]
    rows = table[table["code"] != "totaal"]
    rows = rows[~(rows["clients"] == 0)]
    fig, ax = new_figure(8, 1.8 + 0.45 * len(rows)) if ax is None else (ax.figure, ax)
    y = np.arange(len(rows))[::-1]
    left = 0.0
    # One stacked bar (total) plus one bar per group, so both the parts and the sum are readable.
    for yi, (_, r), c in zip(y, rows.iterrows(), PALETTE * 3, strict=False):
        if pd.isna(r["clients"]) or pd.isna(r["fte"]):
            ax.annotate(_w("hidden", lang), (0, yi), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8, color="#555555")
            continue
        ax.barh(yi, r["fte"], color=c)
        n = round(r["clients"])
        n_txt = f"< {min_cell}" if 0 < n < min_cell else fmt_number(n, 0, lang)
        ax.annotate(f"{fmt_number(r['fte'], 2, lang)} ({n_txt} cl.)",
                    (r["fte"], yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        ax.barh(len(rows), r["fte"], left=left, color=c)
        left += r["fte"]
    total_fte = float(total_row["fte"].iloc[0]) if len(total_row) and pd.notna(total_row["fte"].iloc[0]) \
        else left
    if total_fte - left > 1e-9:
        ax.barh(len(rows), total_fte - left, left=left, color="#bbbbbb")
        left = total_fte
    ax.annotate(fmt_number(left, 1, lang), (left, len(rows)), xytext=(3, 0), textcoords="offset points",
                va="center", fontsize=9, fontweight="bold")
    ax.set_yticks([*y, len(rows)], [*rows["label"], _w("all", lang)])
    if norm is not None:
        ax.axvline(norm["fte"], color="#000000", ls="--", lw=1.2,
                   label=_w("norm", lang, n=fmt_number(norm["clients_per_fte"], 0, lang),
                            f=fmt_number(norm["fte_rounded"], 1, lang)))
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=8)
    ax.set_xlim(0, 1.12 * max(left, norm["fte"] if norm is not None else 0))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.set_xlabel(_w("fte", lang))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    return finish(fig, title=title or _w("cap_title", lang), source=source, peildatum=peildatum,
                  method=_w("cap_method", lang), lang=lang)
