"""Durations on benefit: elapsed-duration tables, Kaplan-Meier with left truncation,
competing exits (Aalen-Johansen), Cox regression and cohort curves.

Modules: :mod:`~caseload.durations.kaplan_meier`, :mod:`~caseload.durations.competing`.
"""

from caseload.durations.competing import AalenJohansen
from caseload.durations.kaplan_meier import KaplanMeier

__all__ = ["KaplanMeier", "AalenJohansen"]
