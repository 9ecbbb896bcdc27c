"""Every figure of a sample refresh, looked at by machine as a reader would.

The refresh runs once for this module (``sample_figures``) into a temporary
folder; every figure it saves is kept (``Figure.savefig`` is wrapped) and
checked after drawing:

* no two texts overlap (bounding boxes of every visible text: titles, tick
  labels, bar labels, legends, notes, footer);
* no reference line (a dashed mean, median, target or norm line across the
  axes) runs through a text;
* tick labels in the Dutch number format (decimal comma, thousands dot,
  years without separator);
* every legend entry has the colour of something drawn, and the entries of a
  legend are clearly different colours (CIE76 colour difference);
* colour scales (heat maps) start at 0.

The functions are also checked one by one, in English and on cases the sample
does not have (many groups, dropped groups).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from caseload.figures import style

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "data" / "sample" / "caseload.toml"
MIN_DELTA_E = 20.0  # CIE76: about 2.3 is just noticeable; 20+ reads as another colour


@pytest.fixture(scope="module")
def sample_figures(tmp_path_factory) -> dict[str, Figure]:
    """Name -> Figure of every figure a refresh of data/sample/ saves (Dutch)."""
    from caseload.refresh import refresh

    figures: dict[str, Figure] = {}
    original = Figure.savefig

    def keep(self, fname, *args, **kwargs):
        figures[Path(str(fname)).stem] = self
        return original(self, fname, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", keep)
        refresh(CONFIG, out_dir=tmp_path_factory.mktemp("refresh") / "reports")
    assert len(figures) >= 20, sorted(figures)
    return figures


# ----------------------------------------------------------------- helpers


def _renderer(fig):
    if not hasattr(fig.canvas, "get_renderer"):  # closed by pyplot after saving
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _undrawn_tick_labels(fig) -> set:
    """Tick labels matplotlib keeps but does not draw: ticks outside the view limits."""
    out = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            eps = 1e-9 * max(1.0, abs(hi - lo))
            for ticks, locs in ((axis.majorTicks, axis.get_majorticklocs()),
                                (axis.minorTicks, axis.get_minorticklocs())):
                for i, tick in enumerate(ticks):
                    loc = locs[i] if i < len(locs) else None  # ticks beyond the locs are spare
                    if loc is None or not lo - eps <= loc <= hi + eps:
                        out.update({tick.label1, tick.label2})
    return out


def _texts(fig) -> list[Text]:
    out = []
    undrawn = _undrawn_tick_labels(fig)
    for t in fig.findobj(Text):
        if not t.get_visible() or not t.get_text().strip() or t in undrawn:
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        out.append(t)
    return out


def _text_boxes(fig):
    r = _renderer(fig)
    boxes = []
    for t in _texts(fig):
        bb = t.get_window_extent(r)
        if bb.width > 0 and bb.height > 0:
            boxes.append((t, bb))
    return boxes


def text_overlaps(fig, tol: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than ``tol`` pixels both ways."""
    boxes = _text_boxes(fig)
    bad = []
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        w = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        h = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        if w > tol and h > tol:
            bad.append((t1.get_text(), t2.get_text()))
    return bad


def texts_outside(fig, tol: float = 1.0) -> list[str]:
    """Texts that run off the figure (cut off in the saved image)."""
    box = fig.bbox
    return [t.get_text() for t, bb in _text_boxes(fig)
            if bb.x0 < box.x0 - tol or bb.x1 > box.x1 + tol or bb.y0 < box.y0 - tol or bb.y1 > box.y1 + tol]


def _reference_lines(ax) -> list[Line2D]:
    """Straight horizontal or vertical lines across the axes (axhline, axvline)."""
    out = []
    for line in ax.lines:
        if len(line.get_xdata()) != 2 or not line.get_visible():
            continue
        if line.get_transform() in (ax.get_xaxis_transform(), ax.get_yaxis_transform()):
            out.append(line)
    return out


def lines_through_text(fig, tol: float = 1.5) -> list[tuple[str, str]]:
    """(line label, text) where a reference line crosses a text's box."""
    boxes = _text_boxes(fig)
    bad = []
    for ax in fig.axes:
        for line in _reference_lines(ax):
            path = line.get_transform().transform(np.column_stack(
                [mdates_num(line.get_xdata()), mdates_num(line.get_ydata())]))
            (x0, y0), (x1, y1) = path
            for t, bb in boxes:
                if t in ax.get_xticklabels() + ax.get_yticklabels():
                    continue
                inside_x = min(x0, x1) - tol < bb.x1 - tol and max(x0, x1) + tol > bb.x0 + tol
                inside_y = min(y0, y1) - tol < bb.y1 - tol and max(y0, y1) + tol > bb.y0 + tol
                if inside_x and inside_y:
                    bad.append((str(line.get_label()), t.get_text()))
    return bad


def mdates_num(values):
    return [float(matplotlib.dates.date2num(v)) if isinstance(v, pd.Timestamp | np.datetime64) else float(v)
            for v in values]


_NL_NUMBER = re.compile(r"^[−-]?\d{1,3}(\.\d{3})*(,\d+)?%?$")
_EN_NUMBER = re.compile(r"^[−-]?\d{1,3}(,\d{3})*(\.\d+)?%?$")
_NUMERIC = re.compile(r"^[−\-\d.,%]+$")
_YEAR = re.compile(r"^(19|20)\d\d$")


def bad_tick_labels(fig, lang: str = "nl") -> list[str]:
    """Numeric tick labels that are not in the number format of ``lang``."""
    _renderer(fig)
    pattern = _NL_NUMBER if lang == "nl" else _EN_NUMBER
    bad = []
    for ax in fig.axes:
        for label in ax.get_xticklabels() + ax.get_yticklabels():
            s = label.get_text().strip()
            if not s or not _NUMERIC.match(s) or _YEAR.match(s):
                continue
            if not pattern.match(s):
                bad.append(s)
    return bad


_BARE = re.compile(r"(?<![\w.,])\d{4,}(?![\w.,])")


def unformatted_numbers(fig) -> list[str]:
    """Numbers of 4+ digits written without a thousands separator (years 1900-2099 excepted)."""
    bad = []
    for t in _texts(fig):
        for m in _BARE.finditer(t.get_text()):
            if not _YEAR.match(m.group(0)):
                bad.append(f"{m.group(0)} in {t.get_text()!r}")
    return bad


def _rgb(c) -> tuple[float, float, float] | None:
    """The colour as seen on white (alpha blended); None for no colour or white."""
    if c is None or (isinstance(c, str) and c.lower() == "none"):
        return None
    r, g, b, a = mcolors.to_rgba(c)
    if a == 0:
        return None
    rgb = tuple(a * v + (1 - a) for v in (r, g, b))
    return None if min(rgb) > 0.97 else rgb


def _artist_colours(artist) -> list:
    out = []
    for name in ("get_color", "get_markerfacecolor", "get_markeredgecolor", "get_facecolor",
                 "get_edgecolor"):
        f = getattr(artist, name, None)
        if f is None:
            continue
        try:
            c = f()
        except (TypeError, ValueError):
            continue
        arr = np.atleast_2d(np.asarray(mcolors.to_rgba_array(c))) if not isinstance(c, str) else [c]
        alpha = artist.get_alpha()
        for one in arr:
            rgba = list(mcolors.to_rgba(one))
            if alpha is not None:
                rgba[3] = alpha
            out.append(_rgb(tuple(rgba)))
    return [c for c in out if c is not None]


def _has_data(artist) -> bool:
    if isinstance(artist, Line2D):
        return len(artist.get_xdata()) > 0
    if hasattr(artist, "get_paths"):
        return len(artist.get_paths()) > 0
    if hasattr(artist, "get_width"):
        return artist.get_width() != 0 and artist.get_height() != 0 and np.isfinite(artist.get_height())
    return True


def drawn_colours(fig) -> list:
    cols = []
    for ax in fig.axes:
        legend = ax.get_legend()
        for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.images]:
            if legend is not None and artist in getattr(legend, "legend_handles", []):
                continue
            if _has_data(artist):
                cols.extend(_artist_colours(artist))
    return cols


def _close(a, b, tol=0.02) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tol


def legend_problems(fig) -> list[str]:
    """Legend entries with a colour nothing in the figure is drawn in, and look-alike entries."""
    drawn = drawn_colours(fig)
    problems = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        entries = []
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            cols = _artist_colours(handle)
            label = text.get_text()
            if cols and not any(_close(c, d) for c in cols for d in drawn):
                problems.append(f"legend colour of {label!r} is not drawn")
            if cols:
                entries.append((label, cols[0], _linestyle(handle)))
        for (l1, c1, s1), (l2, c2, s2) in itertools.combinations(entries, 2):
            if s1 == s2 and delta_e(c1, c2) < MIN_DELTA_E:
                problems.append(f"{l1!r} and {l2!r} look alike (delta E {delta_e(c1, c2):.1f})")
    return problems


def _linestyle(handle):
    if isinstance(handle, Line2D):
        return (handle.get_linestyle(), handle.get_marker(), handle.get_markerfacecolor() == "none")
    return ("patch", getattr(handle, "get_hatch", lambda: None)())


def _lab(rgb):
    def lin(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def delta_e(c1, c2) -> float:
    return float(np.linalg.norm(np.subtract(_lab(c1), _lab(c2))))


# ----------------------------------------------------------------- the sample refresh


@pytest.mark.slow
def test_refresh_figures_have_no_overlapping_text(sample_figures):
    bad = {name: text_overlaps(fig) for name, fig in sample_figures.items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.slow
def test_refresh_figures_have_no_text_cut_off(sample_figures):
    bad = {name: texts_outside(fig) for name, fig in sample_figures.items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.slow
def test_reference_lines_do_not_cross_text(sample_figures):
    bad = {name: lines_through_text(fig) for name, fig in sample_figures.items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.slow
def test_refresh_figures_use_the_dutch_number_format(sample_figures):
    bad = {name: bad_tick_labels(fig, "nl") for name, fig in sample_figures.items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.slow
def test_refresh_figures_write_numbers_with_a_thousands_separator(sample_figures):
    bad = {name: unformatted_numbers(fig) for name, fig in sample_figures.items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.slow
def test_legend_colours_are_drawn_and_distinct(sample_figures):
    bad = {name: legend_problems(fig) for name, fig in sample_figures.items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.slow
def test_colour_scales_start_at_zero(sample_figures):
    images = [(name, im) for name, fig in sample_figures.items() for ax in fig.axes for im in ax.images]
    assert images, "the sample refresh draws a heat map"
    assert all(im.get_clim()[0] == 0 for _, im in images), [(n, im.get_clim()) for n, im in images]


@pytest.mark.slow
def test_every_figure_has_a_footer_with_source(sample_figures):
    for name, fig in sample_figures.items():
        texts = " ".join(t.get_text() for t in _texts(fig))
        assert "Bron:" in texts, name


# ----------------------------------------------------------------- the checks themselves


def test_the_checks_catch_what_they_should():
    fig, ax = style.new_figure()
    ax.bar([0, 1], [3.03, 4.0])
    ax.text(0, 3.03, "3,03", ha="center", va="center")
    ax.text(0, 3.03, "gemiddeld 3,32", ha="left", va="center")
    ax.axhline(3.03, ls="--", label="gemiddeld")
    ax.plot([], [], color="#ff0000", label="not drawn")
    ax.plot([0, 1], [1, 2], color="#009E73", label="green 1")
    ax.plot([0, 1], [2, 3], color="#00A070", label="green 2")
    ax.legend()
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.1f"))
    assert text_overlaps(fig)
    assert lines_through_text(fig)
    assert bad_tick_labels(fig, "nl")
    ax.text(1, 1, "25039 beoordeeld")
    assert unformatted_numbers(fig) == ["25039 in '25039 beoordeeld'"]
    problems = legend_problems(fig)
    assert any("not drawn" in p for p in problems)
    assert any("look alike" in p for p in problems)


# ----------------------------------------------------------------- number format


@pytest.mark.parametrize(("lang", "locs", "expected"), [
    ("nl", [0, 0.5, 1.0], ["0,0", "0,5", "1,0"]),
    ("en", [0, 0.5, 1.0], ["0.0", "0.5", "1.0"]),
    ("nl", [0, 2500, 5000], ["0", "2.500", "5.000"]),
    ("en", [0, 2500, 5000], ["0", "2,500", "5,000"]),
    ("nl", [-1, 0, 1], ["−1", "0", "1"]),
    ("nl", [0, 0.025, 0.05], ["0,000", "0,025", "0,050"]),
])
def test_number_formatter(lang, locs, expected):
    f = style.NumberFormatter(lang)
    assert f.format_ticks(locs) == expected


def test_years_never_get_a_separator():
    fig, ax = style.new_figure()
    ax.plot([2015, 2016, 2017, 2018], [1200, 1500, 1800, 2100])
    style.year_axis(ax.xaxis)
    style.finish(fig, title="t", source="s", lang="nl")
    _renderer(fig)
    xs = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    ys = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert xs and all(_YEAR.match(x) for x in xs), xs
    assert "1.500" in ys or "2.000" in ys, ys


def test_date_axes_show_years_plainly():
    fig, ax = style.new_figure()
    ax.plot(pd.date_range("2019-01-31", periods=72, freq="ME"), np.arange(72) * 40.0)
    style.finish(fig, title="t", source="s", lang="nl")
    _renderer(fig)
    xs = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert xs and all(re.match(r"^([a-z]{3} )?(19|20)\d\d$", x) for x in xs), xs
    assert not bad_tick_labels(fig, "nl")


# ----------------------------------------------------------------- per figure


def _curves(n_groups: int, small: tuple = ()) -> pd.DataFrame:
    rows = []
    for i in range(n_groups):
        g = str(2008 + i)
        for k in range(6):
            n = 2 if g in small else 100 - 5 * i
            rows.append({"group": g, "years_since_start": k, "share_active": 0.8 ** k, "n": n})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_cohort_figure_names_every_dropped_group(lang):
    from caseload.figures.durations import cohort_figure

    curves = _curves(18, small=("2025",))
    fig = cohort_figure(curves, lang=lang, source="s")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(legend) == 8
    text = " ".join(t.get_text() for t in _texts(fig))
    for g in curves["group"].unique():
        assert g in legend or g in text.split("Bron")[-1] or g in text, g
    dropped = [g for g in curves["group"].unique() if g not in legend]
    assert len(dropped) == 10
    # years: the latest 8 with enough benefits (2025 has too few), named in the legend
    assert legend == [str(y) for y in range(2017, 2025)]
    footer = next(t.get_text() for t in _texts(fig) if t.get_text().startswith(("Bron", "Source")))
    flat = footer.replace("\n", " ")
    assert all(g in flat for g in dropped), (dropped, flat)
    assert not legend_problems(fig)
    assert not text_overlaps(fig)


def test_cohort_figure_without_dropped_groups_has_no_note():
    from caseload.figures.durations import cohort_figure

    fig = cohort_figure(_curves(3), source="s")
    footer = " ".join(t.get_text() for t in _texts(fig))
    assert "niet getoond:" not in footer


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_candidates_figure_quarters_in_distinct_colours(lang):
    from caseload.figures.forecast import candidates_figure

    rows = [{"pmc": p, "quarter": q, "period": f"2026K{q}", "A": 2.0 - 0.2 * q, "lo_80": 1.0, "hi_80": 3.0}
            for p in ("1", "2", "3") for q in (1, 2, 3, 4)]
    fig = candidates_figure(pd.DataFrame(rows), lang=lang)
    assert not legend_problems(fig)
    assert not bad_tick_labels(fig, lang)


def test_kpi_legend_shows_the_colours_of_the_judgements():
    from caseload.figures.kpi import kpi_target_figure

    kpi = pd.DataFrame({"municipality": ["GM0001", "GM0002"], "estimate": [0.3, 0.35],
                        "lower_0.95": [0.2, 0.25], "upper_0.95": [0.4, 0.45], "n_spells": [100, 120],
                        "judgement": ["onder_doel", "onder_doel"], "target": [0.8, 0.8],
                        "months": [24, 24], "naive_share": [0.3, 0.35]})
    fig = kpi_target_figure(kpi, by="municipality", source="s")
    assert not legend_problems(fig)


def test_elapsed_figure_mean_is_not_a_line_through_labels():
    from caseload.figures.durations import elapsed_table_figure

    table = pd.DataFrame({"Leeftijd": ["15-26 jaar", "27-44 jaar", "45-64 jaar", "Totaal"],
                          "Verdeling": [0.118, 0.407, 0.475, 1.0],
                          "Duur uitkering in jaren": [1.68, 3.03, 3.98, 3.32], "Aantal": [33, 114, 133, 280]})
    fig = elapsed_table_figure(table, source="s")
    assert not lines_through_text(fig)
    assert not text_overlaps(fig)
    assert "3,32" in " ".join(t.get_text() for t in _texts(fig))


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_english_figures_use_the_english_number_format(lang):
    from caseload.figures.kpi import capacity_figure

    table = pd.DataFrame({"code": ["a", "b", "totaal"], "label": ["A", "B", "T"],
                          "clients": [1200, 3400, 4600], "fte": [12.5, 30.25, 42.75]})
    fig = capacity_figure(table, norm={"fte": 40.0, "fte_rounded": 40.0, "clients_per_fte": 115},
                          lang=lang, source="s")
    assert not bad_tick_labels(fig, lang)
    texts = " ".join(t.get_text() for t in _texts(fig))
    assert ("1.200" if lang == "nl" else "1,200") in texts


def test_percent_formatter():
    assert style.NumberFormatter("nl", percent=True).format_ticks([0, 0.125, 0.25]) == ["0,0%", "12,5%", "25,0%"]
    assert style.NumberFormatter("en", percent=True).format_ticks([0, 0.5, 1.0]) == ["0%", "50%", "100%"]


def test_durability_counts_have_a_thousands_separator():
    from caseload.figures.kpi import durability_figure

    table = pd.DataFrame({"months": [3, 6], "share": [0.96, 0.91], "lower_0.95": [0.95, 0.90],
                          "upper_0.95": [0.97, 0.92], "n_judged": [25039, 24757], "n_too_recent": [287, 569]})
    fig = durability_figure(table, source="s")
    assert not unformatted_numbers(fig)
    assert any("25.039" in t.get_text() for t in _texts(fig))


def test_a_long_title_is_wrapped_not_cut_off():
    fig, ax = style.new_figure(6, 3)
    ax.plot([0, 1], [0, 1])
    title = "Actieve uitkeringen naar leeftijdsklasse en geslacht per aantal jaren na start: Aa en Hunze"
    style.finish(fig, title=title, source="s")
    assert not texts_outside(fig)
    assert "\n" in fig._suptitle.get_text()
    assert fig._suptitle.get_text().replace("\n", " ") == title
