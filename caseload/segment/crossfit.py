"""Cross-fitted (out-of-fold) chances for the fairness report on all history.

The deployed model is judged on its time-based hold-out (the latest 25% of the
assessments). For the fairness report that leaves three quarters of the history
unused, and at 20,000 clients the hold-out alone lacks the power to find an odds
ratio of 1.5 (issue 14). Cross-fitting uses every assessment with a closed label
window: the history is split into ``k`` folds, the same model specification is
fitted on ``k - 1`` of them and predicts the remaining one, so that every
assessment gets a chance from a model that never saw it (nor anyone who shares
its outcome).

Folds are grouped: the two partners of a couple share one outcome, and one client
can appear on more than one dossier over the years (alone, then with a partner),
carrying the same person-level chance. A fold group is therefore a connected
component of the client-dossier graph: all assessments of a dossier, of every
client on it, and of every other dossier those clients were on
(:func:`crossfit_groups`). No dossier and no client is in two folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.segment.frames import LABEL

__all__ = ["crossfit_groups", "crossfit_predict", "CROSSFIT_FOLDS"]

CROSSFIT_FOLDS = 5
"""Number of folds (the usual choice for cross-fitting)."""


def crossfit_groups(frame: pd.DataFrame, dossier: str = "dossier_id", client: str = "client_id") -> np.ndarray:
    """Integer fold group per row: dossiers joined when they share a client.

    Rows without a dossier are grouped by client alone; without either column
    (or with both missing on a row) a row is its own group.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype="int64")
    d = pd.factorize(frame[dossier])[0] if dossier in frame else np.full(n, -1)
    c = pd.factorize(frame[client])[0] if client in frame else np.full(n, -1)
    nd, nc = int(d.max()) + 1, int(c.max()) + 1
    # Nodes: dossiers 0..nd-1, clients nd..nd+nc-1, and one node per row that has neither.
    lone = (d < 0) & (c < 0)
    row_node = np.where(d >= 0, d, np.where(c >= 0, nd + c, nd + nc + np.cumsum(lone) - 1))
    both = (d >= 0) & (c >= 0)
    size = nd + nc + int(lone.sum())
    graph = coo_matrix((np.ones(int(both.sum())), (d[both], nd + c[both])), shape=(size, size))
    _, comp = connected_components(graph, directed=False)
    return pd.factorize(comp[row_node])[0].astype("int64")


def crossfit_predict(model, frame: pd.DataFrame, groups: np.ndarray | None = None, k: int = CROSSFIT_FOLDS,
                     random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold chances of ``frame`` from ``k`` fits of ``model``'s specification.

    Parameters
    ----------
    model : SegmentModel
        Fitted or not; only its parameters are used (``sklearn.clone``): each fold
        fits its own spline knots and medians from its own training rows, as the
        deployed model does.
    frame : DataFrame
        Examples with the label ``exit_work_6m`` (:func:`training_frame`).
    groups : array of int, optional
        Fold groups (default :func:`crossfit_groups`); rows of one group are never
        split over folds.
    k : int
        Number of folds; folds are drawn with scikit-learn's
        ``StratifiedGroupKFold`` (shuffled with ``random_state``), which keeps
        the share of exits about equal over the folds.

    Returns
    -------
    (p, fold)
        The chance of exit to work per row from the model fitted without its
        fold, and the fold number (0 .. k-1) per row.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedGroupKFold

    if LABEL not in frame:
        raise CaseloadError(f"the cross-fitting frame has no column '{LABEL}'.",
                            fix="Build it with caseload.segment.training_frame(caseload).")
    groups = crossfit_groups(frame) if groups is None else np.asarray(groups)
    if len(groups) != len(frame):
        raise CaseloadError(f"{len(groups)} fold groups for {len(frame)} rows.",
                            fix="Pass one group per row of the frame.")
    if len(np.unique(groups)) < k:
        raise CaseloadError(f"cross-fitting needs at least {k} dossier groups; the history has "
                            f"{len(np.unique(groups))}.", fix='Use fairness_data = "holdout".')
    y = frame[LABEL].to_numpy("int64")
    p = np.full(len(frame), np.nan)
    fold = np.full(len(frame), -1, dtype="int64")
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=random_state)
    for i, (tr, te) in enumerate(splitter.split(np.zeros((len(frame), 1)), y, groups)):
        m = clone(model).fit(frame.iloc[tr], y[tr])
        p[te] = m.predict_proba(frame.iloc[te])[:, 1]
        fold[te] = i
    return p, fold
