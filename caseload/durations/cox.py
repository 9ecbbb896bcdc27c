"""Cox proportional-hazards regression with delayed entry and strata (statsmodels ``PHReg``).

statsmodels' ``PHReg`` supports left truncation (``entry``), strata and both
Breslow and Efron ties. This wrapper takes a DataFrame, turns categorical
covariates into indicator columns (first level is the reference) and returns a
lifelines-style summary with hazard ratios and intervals.

Risk sets are those of Kaplan-Meier and Aalen-Johansen (and of R's ``coxph``):
a row is at risk at ``t`` when ``entry < t <= duration``. ``PHReg`` itself
counts a row entering at ``t`` as at risk at ``t``; the entries it gets are
moved to the next floating-point number
(:func:`caseload.durations._counts.open_entry`), which gives exactly the
half-open risk sets. Day-resolution extracts have many entries tied to exit
times (a window start on a day spells end), so this matters: without it a
coefficient can differ from R by 3e-2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from caseload.durations._counts import open_entry
from caseload.errors import CaseloadError

__all__ = ["cox_regression", "CoxResult"]


@dataclass
class CoxResult:
    """Result of :func:`cox_regression`.

    Attributes
    ----------
    summary : DataFrame
        Index covariate; ``coef, std_err, hazard_ratio, lower_<level>,
        upper_<level>`` (interval of the hazard ratio), ``z, p``.
    n, events : int
        Rows used and exits.
    n_complete : int
        Complete rows before sampling; larger than ``n`` when the model was
        fitted on a random sample (``max_rows``).
    log_likelihood : float
        Partial log-likelihood at the estimate.
    alpha : float
    ties : str
    model : statsmodels PHRegResults
        The fitted statsmodels result, for anything else.
    """

    summary: pd.DataFrame
    n: int
    events: int
    log_likelihood: float
    alpha: float
    ties: str
    model: object
    n_complete: int | None = None

    @property
    def sampled(self) -> bool:
        """True when the model was fitted on a random sample of the complete rows."""
        return self.n_complete is not None and self.n_complete > self.n

    @property
    def hazard_ratios_(self) -> pd.Series:
        return self.summary["hazard_ratio"]

    def __repr__(self) -> str:
        sample = f" (random sample of {self.n_complete:,})" if self.sampled else ""
        return (f"<CoxResult: {self.n:,} rows{sample}, {self.events:,} exits, ties={self.ties}, "
                f"log-likelihood {self.log_likelihood:.2f}>\n{self.summary.round(4).to_string()}")


def _design(df: pd.DataFrame, covariates) -> pd.DataFrame:
    parts = []
    for col in covariates:
        if col not in df.columns:
            raise CaseloadError(f"no column {col!r} for the Cox model.", column=col,
                                fix="Name covariates that are columns of the data frame.")
        s = df[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s) and not isinstance(
                s.dtype, pd.CategoricalDtype):
            parts.append(s.astype("float64").rename(col))
        else:
            cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
            cat = cat.cat.remove_unused_categories()
            dummies = pd.get_dummies(cat, prefix=col, prefix_sep="=", drop_first=True, dtype="float64")
            parts.append(dummies)
    return pd.concat(parts, axis=1)


def cox_regression(
    df: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates,
    entry_col: str | None = None,
    strata: str | None = None,
    alpha: float = 0.05,
    ties: str = "breslow",
    max_rows: int | None = None,
    random_state: int = 0,
) -> CoxResult:
    """Fit a Cox model; hazard ratios with Wald intervals.

    Parameters
    ----------
    df : DataFrame
        One row per spell, e.g. from :func:`~caseload.durations.spell_durations`.
    duration_col, event_col : str
        Time to exit or censoring, and the exit indicator (bool or 0/1).
    covariates : list of str
        Numeric, boolean or categorical columns; text/categorical columns become
        indicators against their first level (sorted, or category order).
    entry_col : str, optional
        Delayed-entry time (left truncation): the row is at risk on
        ``(entry, duration]``, as in Kaplan-Meier, Aalen-Johansen and R's
        ``coxph``; a row entering at an exit time is not at risk for that exit.
    strata : str, optional
        Column whose levels get separate baseline hazards.
    alpha : float
        Intervals are ``1 - alpha``.
    ties : {"breslow", "efron"}
    max_rows : int, optional
        Fit on a simple random sample of this many complete rows when there are
        more (statsmodels' ``PHReg`` takes about 35 s per million rows). The
        estimates are unbiased; standard errors and intervals are those of the
        sample, so they are honest but wider than a full fit would give.
        ``None`` or 0: all rows (0 as the config key ``[durations]
        cox_max_rows``).
    random_state : int
        Seed of the sample.

    Returns
    -------
    CoxResult
    """
    import statsmodels.api as sm

    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    cols = [duration_col, event_col, *covariates] + ([entry_col] if entry_col else []) + ([strata] if strata else [])
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise CaseloadError(f"no column {missing[0]!r} for the Cox model.", column=missing[0],
                            fix="Pass columns of the data frame.")
    data = df[cols].dropna()
    if len(data) == 0:
        raise CaseloadError("no complete rows for the Cox model.", fix="Check missing values in the covariates.")
    n_complete = len(data)
    if max_rows is not None and max_rows < 0:
        raise CaseloadError(f"max_rows={max_rows} is negative.", value=max_rows,
                            fix="Use a positive max_rows, or 0 or None for all rows.")
    if max_rows and n_complete > max_rows:
        rng = np.random.default_rng(random_state)
        # sorted positions keep the rows in data order, so the fit does not depend on the draw order
        data = data.iloc[np.sort(rng.choice(n_complete, size=max_rows, replace=False))]
    X = _design(data, covariates)
    constant = [c for c in X.columns if X[c].nunique() < 2]
    if constant:
        raise CaseloadError(f"covariate {constant[0]!r} has one value only; the model cannot estimate it.",
                            column=constant[0], fix="Drop the covariate or widen the selection.")
    status = data[event_col].astype("float64").to_numpy()
    kwargs = {"status": status, "ties": ties}
    time = data[duration_col].astype("float64").to_numpy()
    if entry_col:
        kwargs["entry"] = open_entry(data[entry_col].astype("float64").to_numpy(), time)
    if strata:
        kwargs["strata"] = pd.factorize(data[strata])[0]
    model = sm.PHReg(time, X.to_numpy(), **kwargs)
    # Newton-Raphson until the step is below 1e-12 (statsmodels stops at 1e-8): coefficients and
    # standard errors then equal R's coxph to 1e-8
    res = model.fit(method="newton", tol=1e-12, maxiter=100)
    z = float(stats.norm.ppf(1 - alpha / 2))
    level = f"{1 - alpha:g}"
    coef, se = np.asarray(res.params), np.asarray(res.bse)
    summary = pd.DataFrame({
        "coef": coef, "std_err": se, "hazard_ratio": np.exp(coef),
        f"lower_{level}": np.exp(coef - z * se), f"upper_{level}": np.exp(coef + z * se),
        "z": coef / se, "p": 2 * stats.norm.sf(np.abs(coef / se)),
    }, index=pd.Index(X.columns, name="covariate"))
    return CoxResult(summary=summary, n=len(data), events=int(status.sum()), log_likelihood=float(res.llf),
                     alpha=alpha, ties=ties, model=res, n_complete=n_complete)
