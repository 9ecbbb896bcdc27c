"""Kaplan-Meier with left truncation (delayed entry), groups and R-style intervals.

Extracts are stock samples: a spell that started before the observation window
is only seen because it was still running when the window opened. Such a spell
enters the risk set at its *entry* time (elapsed duration at the window start),
not at 0; ignoring that over-states survival (length-biased sampling).

Conventions, all as R's ``survival::survfit`` (with its ``conf.type``):

* risk set at ``t``: rows with ``entry < t <= duration`` (counting process
  ``(start, stop]``); exits and censorings tied at ``t`` are all at risk at ``t``
  (censoring after exits); a row entering at ``t`` is not at risk at ``t``
  (the convention of :mod:`caseload.durations._counts`, shared with
  Aalen-Johansen and Cox).
* Greenwood variance ``Var(log S(t)) = sum d_j / (n_j (n_j - d_j))``.
* ``conf_type="log-log"`` (default): ``S(t) ** exp(±z se / log S(t))`` with
  ``se = sqrt(Var(log S))``, identical to lifelines' "exponential Greenwood"
  interval, Stata's and SAS's default. It stays inside (0, 1) and covers
  better than the log interval in the tails and small groups (Borgan &
  Liestøl 1990), which is why it is the default here although R's is "log".
* ``conf_type="log"`` (R's default): ``S(t) exp(±z se)``, the upper end capped
  at 1.
* median: the first time ``S <= 0.5``; when ``S`` equals 0.5 exactly (within
  ``1e-8``) on an interval, the midpoint of that interval (R's rule). Its
  interval is Brookmeyer-Crowley: the times where the upper and lower
  confidence curves cross 0.5.
* restricted mean to horizon ``tau``: ``integral_0^tau S(t) dt`` with R's
  standard error ``sqrt(sum_j A_j^2 d_j / (n_j (n_j - d_j)))``, where
  ``A_j = integral_{t_j}^tau S(t) dt``, and a normal interval.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from scipy import stats

from caseload.durations._counts import GroupCounts, aggregate, step_at
from caseload.errors import CaseloadError, NotFittedError

__all__ = ["KaplanMeier"]

_TOL = 1e-8  # R's sqrt(.Machine$double.eps) for "S equals 0.5 exactly"


def _event_codes(event_observed, n: int) -> np.ndarray:
    if event_observed is None:
        return np.zeros(n, dtype=np.int64)
    arr = np.asarray(event_observed)
    if arr.dtype == bool and arr.size == n:
        return arr.ravel()  # True = exit (cause 0), False = censored
    ev = pd.Series(np.asarray(event_observed).ravel())
    if len(ev) != n:
        raise CaseloadError(f"'event_observed' has {len(ev)} values but there are {n} durations.",
                            column="event_observed", fix="Pass one event indicator per row.")
    if ev.isna().any():
        raise CaseloadError(f"'event_observed' has {int(ev.isna().sum())} missing value(s).",
                            column="event_observed", fix="Use False/0 for censored rows.")
    values = ev.to_numpy()
    if values.dtype == bool:
        obs = values
    else:
        try:
            num = values.astype("float64")
        except (TypeError, ValueError) as exc:
            raise CaseloadError("'event_observed' must be boolean or 0/1.", column="event_observed",
                                fix="For a cause label per row use AalenJohansen instead.") from exc
        if not np.isin(num, (0.0, 1.0)).all():
            raise CaseloadError("'event_observed' must be boolean or 0/1.", column="event_observed",
                                fix="For a cause label per row use AalenJohansen instead.")
        obs = num == 1.0
    return obs


def loglog_interval(s: np.ndarray, var_log: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """log-log interval for a survival probability from ``Var(log S)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(s)
        theta = z * np.sqrt(var_log) / log_s
        lower = np.exp(log_s * np.exp(-theta))
        upper = np.exp(log_s * np.exp(theta))
    lower = np.where(s >= 1.0, 1.0, np.where(s <= 0.0, 0.0, lower))
    upper = np.where(s >= 1.0, 1.0, np.where(s <= 0.0, 0.0, upper))
    # infinite variance (last row exits) gives the widest interval
    lower = np.where(np.isnan(lower), 0.0, lower)
    upper = np.where(np.isnan(upper), 1.0, upper)
    return lower, upper


def log_interval(s: np.ndarray, var_log: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """log interval for a survival probability from ``Var(log S)`` (R's ``conf.type = "log"``)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half = z * np.sqrt(var_log)
        lower = s * np.exp(-half)
        upper = np.minimum(s * np.exp(half), 1.0)
    lower = np.where(s <= 0.0, 0.0, np.where(np.isnan(lower), 0.0, lower))
    upper = np.where(s <= 0.0, 0.0, np.where(np.isnan(upper), 1.0, upper))
    return lower, upper


CONF_TYPES = {"log-log": loglog_interval, "log": log_interval}


def check_conf_type(conf_type: str) -> str:
    if conf_type not in CONF_TYPES:
        raise CaseloadError(f"unknown conf_type {conf_type!r}.", value=conf_type,
                            fix="Use conf_type='log-log' (default) or 'log' (R's default).")
    return conf_type


def _quantile_time(time: np.ndarray, curve: np.ndarray, p: float = 0.5) -> float:
    """R's quantile rule on a decreasing step curve with value 1 before ``time[0]``."""
    x = np.concatenate([[0.0], time])
    y = np.concatenate([[1.0], curve])
    # keep the first time each distinct value is reached
    keep = np.concatenate([[True], np.diff(y) != 0])
    x, y = x[keep], y[keep]
    hit = np.flatnonzero(y - p < _TOL)
    if hit.size == 0:
        return np.nan
    i = hit[0]
    if abs(y[i] - p) < _TOL:
        return float((x[i] + x[i + 1]) / 2) if i + 1 < x.size else float(x[i])
    return float(x[i])


class KaplanMeier:
    """Kaplan-Meier survival curves, by group, with delayed entry.

    Parameters
    ----------
    alpha : float, default 0.05
        Intervals are ``1 - alpha`` (two-sided).
    conf_type : {"log-log", "log"}, default "log-log"
        Transform of the pointwise intervals (and so of the median's
        interval): ``"log-log"`` as Stata, SAS and lifelines, ``"log"`` as R's
        default ``survfit``. See the module notes.

    Attributes
    ----------
    survival_function_ : DataFrame
        Index ``timeline`` (0 and every exit/censoring time of any group), one
        column per group.
    confidence_interval_ : DataFrame
        Columns ``<group>_lower_<1-alpha>`` and ``<group>_upper_<1-alpha>``.
    event_table_ : DataFrame
        Long: ``group, time, at_risk, events, censored, survival, std_err,
        lower_<level>, upper_<level>`` (``std_err`` is the Greenwood standard
        error of S).
    at_risk_ : DataFrame
        Number at risk just before each time (index ``timeline``), a column per group.
    median_ : DataFrame
        Index group; ``median, lower_<level>, upper_<level>`` (NaN: not reached).
    n_, events_, entered_late_ : Series
        Rows, exits and rows with entry > 0 per group.

    Examples
    --------
    >>> km = KaplanMeier().fit([1, 2, 2, 3, 5], [1, 1, 0, 1, 0])
    >>> km.survival_function_["all"].round(4).tolist()
    [1.0, 0.8, 0.6, 0.3, 0.3]
    """

    def __init__(self, alpha: float = 0.05, conf_type: str = "log-log"):
        self.alpha = alpha
        self.conf_type = check_conf_type(conf_type)

    # ------------------------------------------------------------------ fit
    def fit(self, durations, event_observed=None, entry=None, by=None, weights=None) -> KaplanMeier:
        """Estimate the curves.

        Parameters
        ----------
        durations : array-like
            Time from spell start to exit or censoring (any unit; days or years).
        event_observed : array-like of bool or 0/1, optional
            True when the exit was observed; default all observed.
        entry : array-like, optional
            Time from spell start at which the row came under observation
            (left truncation); 0 or None when observed from the start.
        by : array-like or DataFrame, optional
            Group label per row (several columns are joined with " / ").
        weights : array-like, optional
            Case weights.

        Returns
        -------
        KaplanMeier
            ``self``.
        """
        n = np.asarray(durations).size
        codes = _event_codes(event_observed, n)
        self._groups: list[GroupCounts] = aggregate(durations, codes, 1, entry=entry, by=by, weights=weights)
        self._at_risk_cache = self._entered_late_cache = None
        self._z = float(stats.norm.ppf(1 - self.alpha / 2))
        self._level = f"{1 - self.alpha:g}"
        self._curves = {}
        rows = []
        for g in self._groups:
            d = g.events[:, 0]
            nr = g.at_risk
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.cumprod(1.0 - d / nr)
                gw = np.cumsum(np.where(d > 0, d / (nr * (nr - d)), 0.0))
                se = s * np.sqrt(gw)  # NaN once S = 0 (infinite Greenwood sum), as in R
            lower, upper = CONF_TYPES[self.conf_type](s, gw, self._z)
            self._curves[g.label] = (s, gw, lower, upper)
            rows.append(pd.DataFrame({
                "group": g.label, "time": g.time, "at_risk": nr, "events": d, "censored": g.censored,
                "survival": s, "std_err": se,
                f"lower_{self._level}": lower, f"upper_{self._level}": upper,
            }))
        self.event_table_ = pd.concat(rows, ignore_index=True)
        timeline = np.unique(np.concatenate([[0.0]] + [g.time for g in self._groups]))
        index = pd.Index(timeline, name="timeline")
        sf, ci = {}, {}
        for g in self._groups:
            # the curves are steps: one lookup per group serves the curve and both interval bounds
            pos = np.searchsorted(g.time, timeline, side="right")
            s, _, lower, upper = self._curves[g.label]
            sf[g.label] = np.concatenate([[1.0], s])[pos]
            ci[f"{g.label}_lower_{self._level}"] = np.concatenate([[1.0], lower])[pos]
            ci[f"{g.label}_upper_{self._level}"] = np.concatenate([[1.0], upper])[pos]
        self.survival_function_ = pd.DataFrame(sf, index=index)
        self.confidence_interval_ = pd.DataFrame(ci, index=index)
        self.n_ = pd.Series({g.label: g.n for g in self._groups}, name="n")
        self.events_ = pd.Series({g.label: float(g.events.sum()) for g in self._groups}, name="events")
        self.median_ = self._medians()
        self.fitted_at_ = datetime.now(UTC).replace(microsecond=0)
        return self

    @property
    def entered_late_(self) -> pd.Series:
        """Rows (weighted) with entry > 0 per group."""
        self._check()
        if getattr(self, "_entered_late_cache", None) is None:
            # counted on first use: fitting only needs the entries per time, not this summary
            self._entered_late_cache = pd.Series({g.label: g.n_late for g in self._groups}, name="entered_late")
        return self._entered_late_cache

    @property
    def at_risk_(self) -> pd.DataFrame:
        """Number at risk at each time of ``survival_function_`` (``entry < t <= duration``)."""
        self._check()
        if getattr(self, "_at_risk_cache", None) is None:
            timeline = self.survival_function_.index.to_numpy()
            # computed on first use: it sorts the entry times, which fitting avoids
            self._at_risk_cache = pd.DataFrame({g.label: g.at_risk_at(timeline) for g in self._groups},
                                               index=self.survival_function_.index)
        return self._at_risk_cache

    def _check(self) -> None:
        if not hasattr(self, "_groups"):
            raise NotFittedError("this KaplanMeier is not fitted yet.", fix="Call .fit(durations, event_observed) first.")

    @property
    def labels_(self) -> list:
        """Group labels in output order."""
        self._check()
        return [g.label for g in self._groups]

    def _wide(self, times, which: int) -> pd.DataFrame:
        return pd.DataFrame(
            {g.label: step_at(g.time, self._curves[g.label][which], times, start=1.0) for g in self._groups},
            index=pd.Index(np.asarray(times, dtype="float64"), name="timeline"),
        )

    def _medians(self) -> pd.DataFrame:
        out = {}
        for g in self._groups:
            s, _, lower, upper = self._curves[g.label]
            out[g.label] = {
                "median": _quantile_time(g.time, s),
                f"lower_{self._level}": _quantile_time(g.time, lower),
                f"upper_{self._level}": _quantile_time(g.time, upper),
            }
        df = pd.DataFrame.from_dict(out, orient="index")
        df.index.name = "group"
        return df

    # ------------------------------------------------------------------ results
    def predict(self, times) -> pd.DataFrame:
        """Survival at ``times`` (index), a column per group."""
        self._check()
        return self._wide(np.atleast_1d(np.asarray(times, dtype="float64")), 0)

    def at_risk_counts(self, times) -> pd.DataFrame:
        """Number at risk at ``times`` (``entry < t <= duration``): rows groups, columns times."""
        self._check()
        times = np.atleast_1d(np.asarray(times, dtype="float64"))
        return pd.DataFrame([g.at_risk_at(times) for g in self._groups],
                            index=pd.Index(self.labels_, name="group"), columns=times)

    def restricted_mean(self, horizon: float) -> pd.DataFrame:
        """Restricted mean survival time up to ``horizon``, with standard error and interval.

        Returns
        -------
        DataFrame
            Index group; ``horizon, rmst, std_err, lower_<level>, upper_<level>``.
        """
        self._check()
        horizon = float(horizon)
        out = {}
        for g in self._groups:
            s, *_ = self._curves[g.label]
            keep = g.time <= horizon
            t = g.time[keep]
            sv = s[keep]
            knots = np.concatenate([[0.0], t, [horizon]])
            vals = np.concatenate([[1.0], sv])
            areas = vals * np.diff(knots)      # area of each step up to the horizon
            rmst = float(areas.sum())
            # A_j = area from t_j to the horizon
            a = np.cumsum(areas[::-1])[::-1][1:]
            d = g.events[keep, 0]
            nr = g.at_risk[keep]
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = np.where(d > 0, a**2 * d / (nr * (nr - d)), 0.0)
            se = float(np.sqrt(np.nansum(np.where(np.isinf(terms), 0.0, terms))))
            out[g.label] = {"horizon": horizon, "rmst": rmst, "std_err": se,
                            f"lower_{self._level}": rmst - self._z * se,
                            f"upper_{self._level}": rmst + self._z * se}
        df = pd.DataFrame.from_dict(out, orient="index")
        df.index.name = "group"
        return df

    @property
    def summary(self) -> pd.DataFrame:
        """Per group: rows, late entries, exits, censored, median with interval."""
        self._check()
        df = pd.DataFrame({"n": self.n_, "entered_late": self.entered_late_, "events": self.events_})
        df["censored"] = df["n"] - df["events"]
        df.index.name = "group"
        return df.join(self.median_)

    def __repr__(self) -> str:
        if not hasattr(self, "_groups"):
            return f"KaplanMeier(alpha={self.alpha}, conf_type={self.conf_type!r})"
        return (f"<KaplanMeier: {len(self._groups)} group(s), {self.n_.sum():,.0f} rows, "
                f"{self.events_.sum():,.0f} exits, fitted {self.fitted_at_:%Y-%m-%d %H:%M} UTC>")

    # ------------------------------------------------------------------ plot
    def plot(self, ax=None, at_risk_counts: bool = True, ci: bool = True, colors=None, labels=None,
             at_risk_label: str = "At risk"):
        """Draw the step curves (and intervals); at-risk counts under the x axis.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        at_risk_counts : bool
            Write the number at risk at each x tick under the axis.
        ci : bool
            Shade the confidence band.
        colors, labels : dict, optional
            Colour and legend text per group label.
        at_risk_label : str
            Row title of the at-risk table.

        Returns
        -------
        Axes
        """
        self._check()
        import matplotlib.pyplot as plt

        from caseload.figures.style import PALETTE

        if ax is None:
            _, ax = plt.subplots()
        colors = colors or {}
        labels = labels or {}
        for i, label in enumerate(self.labels_):
            color = colors.get(label, PALETTE[i % len(PALETTE)])
            sf = self.survival_function_[label]
            ax.step(sf.index, sf.to_numpy(), where="post", color=color, label=str(labels.get(label, label)))
            if ci:
                lo = self.confidence_interval_[f"{label}_lower_{self._level}"]
                hi = self.confidence_interval_[f"{label}_upper_{self._level}"]
                ax.fill_between(sf.index, lo.to_numpy(), hi.to_numpy(), step="post", color=color, alpha=0.15,
                                linewidth=0)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        if len(self.labels_) > 1 or labels:
            ax.legend()
        if at_risk_counts:
            self._add_at_risk(ax, labels, at_risk_label)
        return ax

    def _add_at_risk(self, ax, labels, title) -> None:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
        ax.set_xticks(ticks)
        # at tick 0 show everyone observed from the start (at risk just after 0)
        counts = self.at_risk_counts([t if t > 0 else np.nextafter(0.0, 1.0) for t in ticks])
        trans = ax.get_xaxis_transform()
        y0 = -0.22
        ax.text(lo - 0.05 * (hi - lo), y0, title, transform=trans, ha="right", va="top", fontsize=8,
                fontweight="bold")
        for r, label in enumerate(self.labels_):
            y = y0 - 0.07 * (r + 1)
            ax.text(lo - 0.05 * (hi - lo), y, str(labels.get(label, label)), transform=trans, ha="right",
                    va="top", fontsize=8)
            for t, v in zip(ticks, counts.iloc[r].to_numpy(), strict=True):
                ax.text(t, y, f"{v:.0f}", transform=trans, ha="center", va="top", fontsize=8)
