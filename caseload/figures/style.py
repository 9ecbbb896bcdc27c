"""House style for every figure: palette, Dutch/English labels, source line, saving.

The palette is Okabe-Ito (colour-blind safe). Labels are Dutch by default and
English with ``lang="en"``. Every figure carries a footer with its source and
peildatum (``finish``), because a figure pasted into a council report travels
without its context.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import matplotlib


def _in_ipython() -> bool:
    """True inside IPython or a Jupyter kernel, where the user's backend (inline) must stay."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


# Batch runs draw off-screen (no display needed, no windows). In a notebook the
# kernel's inline backend stays, so that a figure cell shows its figure.
if not _in_ipython():
    matplotlib.use("Agg", force=False)
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import ticker  # noqa: E402

from caseload.schema.labels import fmt_number, label_table  # noqa: E402,F401  (fmt_number: used here and re-exported)

__all__ = ["PALETTE", "SEGMENT_COLORS", "new_figure", "finish", "save", "t", "fmt_number",
           "NumberFormatter", "format_axes", "year_axis", "dropped_note"]

# Okabe & Ito (2008), "Color Universal Design": distinguishable with common colour-vision deficiencies.
PALETTE = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
]
SEGMENT_COLORS = {"A": "#009E73", "B": "#E69F00", "C": "#D55E00"}

_WORDS = label_table("figures.style")


def t(key: str, lang: str = "nl", **fmt) -> str:
    """Translate a house-style word: ``t("source")`` -> ``"Bron"``; unknown keys pass through."""
    nl, en = _WORDS.get(key, (key, key))
    text = nl if lang == "nl" else en
    return text.format(**fmt) if fmt else text


def fmt_year(x: float) -> str:
    """A year as a label: ``2021``, never ``2.021`` or ``2,021``."""
    return f"{int(round(x))}"


class NumberFormatter(ticker.Formatter):
    """Tick labels in the report's number format: ``1.234,5`` (nl) or ``1,234.5`` (en).

    The number of decimals is the fewest that tells the ticks apart (``0``, ``0,5``,
    ``1`` -> one decimal for all); ``percent=True`` shows a fraction as a percentage
    (``0.25`` -> ``25%``).
    """

    def __init__(self, lang: str = "nl", percent: bool = False):
        self.lang = lang
        self.percent = percent
        self.decimals = 0

    def set_locs(self, locs):
        super().set_locs(locs)
        vals = np.asarray([v for v in locs if np.isfinite(v)], dtype=float)
        if self.percent:
            vals = vals * 100
        self.decimals = 0
        for d in range(7):
            if np.allclose(vals, np.round(vals, d), rtol=0, atol=10.0 ** -(d + 3)):
                self.decimals = d
                break

    def __call__(self, x, pos=None):
        if self.percent:
            return f"{fmt_number(100 * x, self.decimals, self.lang)}%"
        text = fmt_number(x, self.decimals, self.lang)
        return "0" if text.lstrip("-") == "0" else text.replace("-", "\N{MINUS SIGN}")


def year_axis(axis) -> None:
    """Format ``axis`` (``ax.xaxis``) as years: whole years, no thousands separator."""
    axis.set_major_locator(ticker.MaxNLocator(integer=True))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: fmt_year(v)))


def format_axes(fig, lang: str = "nl") -> None:
    """Give every numeric axis of ``fig`` the report's number format.

    Axes that still carry matplotlib's default number formatter get a
    :class:`NumberFormatter` (decimal comma and thousands dot in ``nl``); date
    axes show years as ``2021``; axes with their own labels (categories,
    percentages, years set with :func:`year_axis`) are left as they are.
    """
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            fmt = axis.get_major_formatter()
            if type(fmt) is ticker.ScalarFormatter:
                axis.set_major_formatter(NumberFormatter(lang))
            elif isinstance(fmt, mdates.AutoDateFormatter | mdates.ConciseDateFormatter):
                locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
                axis.set_major_locator(locator)
                axis.set_major_formatter(_DateFormatter(locator, lang))


_MONTHS = {"nl": ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
           "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]}


class _DateFormatter(ticker.Formatter):
    """Dates on an axis: ``2021`` on yearly ticks, ``mrt 2021`` otherwise (``Mar 2021`` in en)."""

    def __init__(self, locator, lang: str):
        self.locator = locator
        self.lang = "en" if lang == "en" else "nl"

    def __call__(self, x, pos=None):
        d = mdates.num2date(x)
        if d.month == 1 and d.day == 1:
            return fmt_year(d.year)
        return f"{_MONTHS[self.lang][d.month - 1]} {fmt_year(d.year)}"


def dropped_note(dropped, lang: str = "nl", reason: str | None = None) -> str:
    """The note naming every group a figure leaves out: ``"niet getoond: 2008, 2009"``."""
    names = ", ".join(str(g) for g in dropped)
    head = t("not_shown", lang)
    return f"{head}: {names}" + (f" ({reason})" if reason else "")


def new_figure(width: float = 8.0, height: float = 4.5, nrows: int = 1, ncols: int = 1, **kw):
    """A figure in the house style; returns ``(fig, ax)`` like ``plt.subplots``."""
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(nrows, ncols, figsize=(width, height), **kw)
    return fig, ax


def finish(fig, *, title: str | None = None, source: str | None = None,
           peildatum=None, method: str | None = None, lang: str = "nl"):
    """Add title and the footer (source, peildatum, method) and tidy the axes.

    Every numeric axis gets the report's number format (:func:`format_axes`).
    """
    format_axes(fig, lang)
    for ax in fig.axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    if title:
        _fit_title(fig, fig.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold"))
    parts = []
    if source:
        parts.append(f"{t('source', lang)}: {source}")
    if peildatum is not None:
        parts.append(f"{t('peildatum', lang)} {pd.Timestamp(peildatum).strftime('%d-%m-%Y')}")
    if method:
        parts.append(f"{t('method', lang)}: {method}")
    # 0.6 em is the mean advance of DejaVu Sans on mixed Dutch text (0.52 let lines run off).
    # Wrap the footer ourselves: matplotlib's wrap=True re-measures the text on every
    # draw (twice per saved figure), and a fixed margin would let long lines overlap.
    width_pt, height_pt = fig.get_figwidth() * 72, fig.get_figheight() * 72
    lines = textwrap.wrap(" · ".join(parts), width=max(40, int(width_pt / (_FOOTER_PT * 0.6)))) \
        if parts else []
    bottom = (len(lines) * _FOOTER_PT * 1.25 + 8) / height_pt if lines else 0
    # tight_layout already keeps the axes clear of the suptitle.
    fig.tight_layout(rect=(0, min(bottom, 0.3), 1, 1))
    if lines:
        fig.text(0.01, 4 / height_pt, "\n".join(lines), fontsize=_FOOTER_PT, color="#555555",
                 ha="left", va="bottom", linespacing=1.15)
    return fig


_FOOTER_PT = 7.5


def _fit_title(fig, text) -> None:
    """Wrap a title that would run off the right edge of the figure (long names) onto more lines."""
    try:
        renderer = fig.canvas.get_renderer()
    except AttributeError:  # a canvas without a renderer: leave the title as it is
        return
    width = text.get_window_extent(renderer).width
    room = fig.bbox.width * (1 - 2 * text.get_position()[0])
    if width <= room:
        return
    chars = max(20, int(len(text.get_text()) * room / width) - 1)
    text.set_text(textwrap.fill(text.get_text(), chars))


def save(fig, path_stem: Path | str, formats=("png", "svg"), dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``<stem>.png`` and ``<stem>.svg`` (deterministic metadata); close it."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        p = stem.with_suffix(f".{fmt}")
        meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
        kw = {"metadata": meta}
        if fmt == "svg":
            kw["metadata"] = {"Date": None}
        # The save-time settings (svg ids, glyphs as paths) of the house style hold even
        # when the caller's rcParams were changed since this module was imported.
        with plt.rc_context({k: _RC[k] for k in ("svg.hashsalt", "svg.fonttype")}):
            fig.savefig(p, format=fmt, dpi=dpi, **kw)
        out.append(p)
    plt.close(fig)
    return out


_RC = {
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "svg.hashsalt": "caseload",
    "svg.fonttype": "path",
}
matplotlib.rcParams.update(_RC)
