"""Combining forecasts by cross-validation, and conformal prediction intervals.

The pieces of :func:`caseload.forecast.forecast_series` (``method="combined"``)
that are plain arithmetic, kept apart so that each can be checked by hand:

- :func:`combination_weights`: weights of the candidate models per series from
  their rolling-origin cross-validation errors;
- :func:`conformal_quantile`: the split-conformal quantile of a set of
  nonconformity scores (Vovk et al. 2005; Angelopoulos and Bates 2023, eq. 1);
- :func:`interval_coverage`: the share of actual values inside an interval, the
  measure a backtest reports.

Nonconformity score. For each cross-validation origin and each step ahead ``h``
the score is ``|y - f| / s_h``: the absolute error of the combined forecast
divided by the combination's model-based scale at that step (the weighted mean
of the candidates' analytic forecast standard deviations, ``s_h``). Scores of
all origins and steps of one series are pooled, so one quantile ``q`` per series
and level calibrates the width; the models only give the shape of the fan (how
it widens with ``h``). The interval is ``f +/- q s_h``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError

__all__ = ["combination_weights", "conformal_quantile", "interval_coverage", "RULES"]

RULES = ("best2", "select", "mean", "inverse_mse")


def combination_weights(scores: pd.DataFrame, rule: str = "best2") -> pd.DataFrame:
    """Weights of the candidate models per series from cross-validation errors.

    Parameters
    ----------
    scores : DataFrame
        One row per series and model: ``unique_id, model, mae, mse`` (mean
        absolute and mean squared error over all origins and steps ahead).
    rule : {"best2", "select", "mean", "inverse_mse"}, default "best2"
        ``"select"``: weight 1 on the model with the lowest MAE. ``"best2"``:
        equal weights on the two lowest-MAE models (one model if only one is
        given). ``"mean"``: equal weights on all. ``"inverse_mse"``: weights
        proportional to 1 / MSE (Bates and Granger 1969). Ties go to the model
        listed first; a model with exactly the same MAE and MSE as one listed
        before it (the same forecasts) gets weight 0.

    Returns
    -------
    DataFrame
        ``scores`` with a ``weight`` column; weights of a series sum to 1.

    Examples
    --------
    >>> s = pd.DataFrame({"unique_id": "a", "model": ["x", "y", "z"],
    ...                   "mae": [3.0, 1.0, 2.0], "mse": [9.0, 1.0, 4.0]})
    >>> combination_weights(s, "best2")["weight"].tolist()
    [0.0, 0.5, 0.5]
    >>> combination_weights(s, "select")["weight"].tolist()
    [0.0, 1.0, 0.0]
    """
    if rule not in RULES:
        raise CaseloadError(f"unknown combination rule {rule!r}.", value=rule,
                            fix=f"Use one of {list(RULES)}.")
    out = scores.copy()
    out["_order"] = np.arange(len(out))
    w = np.zeros(len(out))
    for _, g in out.groupby("unique_id", sort=False):
        idx = g.index.to_numpy()
        pos = out.index.get_indexer(idx)
        mae = g["mae"].to_numpy(dtype=float)
        ok = np.isfinite(mae)
        # A model whose errors equal an earlier one's (e.g. the damped ETS when
        # AutoETS chose the same damped form) is the same forecast: count it once.
        seen: set = set()
        for i, key in enumerate(zip(mae.round(12), g["mse"].to_numpy(dtype=float).round(12), strict=True)):
            if ok[i] and key in seen:
                ok[i] = False
            seen.add(key)
        if not ok.any():
            w[pos] = 1.0 / len(pos)
            continue
        rank = np.lexsort((g["_order"].to_numpy(), np.where(ok, mae, np.inf)))
        if rule == "select":
            w[pos[rank[0]]] = 1.0
        elif rule == "best2":
            k = min(2, int(ok.sum()))
            w[pos[rank[:k]]] = 1.0 / k
        elif rule == "mean":
            w[pos[ok]] = 1.0 / ok.sum()
        else:
            mse = g["mse"].to_numpy(dtype=float)
            inv = np.where(ok & (mse > 0), 1.0 / np.where(mse > 0, mse, 1.0), 0.0)
            if (ok & (mse == 0)).any():  # a perfect model takes all the weight
                inv = np.where(ok & (mse == 0), 1.0, 0.0)
            w[pos] = inv / inv.sum()
    out["weight"] = w
    return out.drop(columns="_order")


def conformal_quantile(scores, level: float) -> float:
    """The split-conformal quantile of nonconformity scores at ``level`` percent.

    The ``ceil((n + 1) level / 100)``-th smallest of the ``n`` finite scores:
    under exchangeability a new score is at most this value with probability
    at least ``level`` percent. When ``n`` is too small for that rank
    (``ceil((n + 1) level / 100) > n``) the result is ``nan``; the caller then
    falls back to the model-based interval.

    Parameters
    ----------
    scores : array-like
        Nonconformity scores (non-finite values are ignored).
    level : float
        Coverage in percent, between 0 and 100.

    Returns
    -------
    float

    Examples
    --------
    >>> conformal_quantile(np.arange(1.0, 20.0), 80)  # rank ceil(20 * 0.8) = 16
    16.0
    >>> conformal_quantile([1.0, 2.0], 95)
    nan
    """
    s = np.asarray(scores, dtype=float)
    s = np.sort(s[np.isfinite(s)])
    if not 0 < level < 100:
        raise CaseloadError(f"level must lie between 0 and 100, got {level}.", value=level,
                            fix="Pass e.g. 80 or 95.")
    n = len(s)
    k = math.ceil((n + 1) * level / 100 - 1e-12)
    if n == 0 or k > n:
        return float("nan")
    return float(s[k - 1])


def interval_coverage(actual, lower, upper) -> float:
    """Share of actual values inside ``[lower, upper]`` (bounds included).

    Examples
    --------
    >>> interval_coverage([1, 2, 3, 4], [0, 2.5, 3, 0], [1, 3, 3, 3])
    0.5
    """
    y, lo, hi = (np.asarray(a, dtype=float) for a in (actual, lower, upper))
    if not (y.shape == lo.shape == hi.shape):
        raise CaseloadError("actual, lower and upper differ in length.",
                            value=(y.shape, lo.shape, hi.shape), fix="Pass aligned arrays.")
    if len(y) == 0:
        return float("nan")
    return float(np.mean((y >= lo) & (y <= hi)))
