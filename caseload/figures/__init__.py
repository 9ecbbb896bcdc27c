"""The policy figures, in one house style.

:mod:`caseload.figures.style` holds the house style (palette, labels, source
line, saving); one module per domain holds its figures
(``caseload.figures.durations``, ``...segments``, ``...forecast``, ``...kpi``).
Every figure function takes result tables (never raw extracts), draws on an
optional ``ax`` and returns the matplotlib ``Figure``.
"""

from caseload.figures.style import PALETTE, SEGMENT_COLORS, finish, new_figure, save, t

__all__ = ["PALETTE", "SEGMENT_COLORS", "finish", "new_figure", "save", "t"]
