"""Candidate pipeline: how many A-candidates per profile-market combination, per quarter.

Employers are told how many candidates per profile-market combination (PMC)
will be available (Drechtsteden 2019). Clients move between the groups C (not
yet placeable), B (placeable within 3-6 months) and A (can work now), and leave
the benefit for work or for another reason. We treat the quarterly moves as a
Markov chain with states ``A, B, C`` and two absorbing exits ``werk`` and
``uitstroom_overig``:

.. math::

    v_{k} = v_{k-1} P + u_k

with :math:`v_k` the expected number per state after quarter :math:`k`,
:math:`P` the quarterly transition matrix and :math:`u_k` an optional inflow.
A client keeps the PMC. Clients move independently, so the count in A after
:math:`k` quarters is a sum of Bernoulli variables with variance
:math:`\\sum_s n_s p^{(k)}_{sA}(1 - p^{(k)}_{sA})`; the intervals are the normal
approximation to it (they show chance variation, not uncertainty in :math:`P`).

:func:`transition_matrix` estimates :math:`P` from an extract: a client's group
at the end of each quarter is the latest assessment's group (carried forward)
while on benefit; a benefit that ends in the quarter counts as ``werk`` when the
end reason is ``werk`` or ``werk_deels``, else ``uitstroom_overig``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from caseload.errors import CaseloadError
from caseload.schema import WORK_END_REASONS

__all__ = ["transition_matrix", "project_candidates", "STATES", "GROUPS"]

GROUPS = ["A", "B", "C"]
STATES = ["A", "B", "C", "werk", "uitstroom_overig"]


def _quarter_states(assessments: pd.DataFrame, spells: pd.DataFrame, segment: str, freq: str,
                    peildatum=None) -> pd.DataFrame:
    for col in ("client_id", "assessed_on", segment):
        if col not in assessments.columns:
            raise CaseloadError(f"assessments lack the column '{col}'.", column=col,
                                fix="Pass the canonical assessments table or name the group column with segment=.")
    for col in ("client_id", "start_date", "end_date", "end_reason"):
        if col not in spells.columns:
            raise CaseloadError(f"spells lack the column '{col}'.", column=col,
                                fix="Pass the canonical spells table.")
    ass = assessments.loc[assessments[segment].isin(GROUPS), ["client_id", "assessed_on", segment]]
    ass = ass.rename(columns={segment: "segment"}).dropna(subset=["assessed_on"])
    # merge_asof needs one datetime resolution on both sides.
    ass["assessed_on"] = pd.to_datetime(ass["assessed_on"]).astype("datetime64[ns]")
    if ass.empty:
        raise CaseloadError(f"no assessment has a group A, B or C in '{segment}'.", column=segment,
                            fix="Fill the caseworker's group or pass the segmentation output.")
    if peildatum is None:
        peildatum = pd.concat([spells["start_date"], spells["end_date"], ass["assessed_on"]]).max()
    periods = pd.period_range(ass["assessed_on"].min(), pd.Timestamp(peildatum), freq=freq)
    ends = pd.DatetimeIndex(periods.end_time.normalize()).astype("datetime64[ns]")
    # The last complete period only: a period still running at the peildatum is left out.
    ends = ends[ends <= pd.Timestamp(peildatum)]
    clients = pd.Index(ass["client_id"].unique(), name="client_id")
    grid = pd.MultiIndex.from_product([clients, ends], names=["client_id", "qe"]).to_frame(index=False)
    grid = grid.sort_values("qe")
    ass = ass.sort_values("assessed_on")
    grid = pd.merge_asof(grid, ass, left_on="qe", right_on="assessed_on", by="client_id",
                         direction="backward")
    sp = spells.loc[spells["client_id"].isin(clients), ["client_id", "start_date", "end_date", "end_reason"]]
    sp = sp.dropna(subset=["start_date"]).astype({"start_date": "datetime64[ns]",
                                                  "end_date": "datetime64[ns]"}).sort_values("start_date")
    grid = pd.merge_asof(grid, sp, left_on="qe", right_on="start_date", by="client_id",
                         direction="backward")
    grid = grid.sort_values(["client_id", "qe"]).reset_index(drop=True)
    prev = grid.groupby("client_id")["qe"].shift(1)
    prev = prev.fillna(grid["qe"] - pd.DateOffset(months=3 if freq.upper().startswith("Q") else 1))
    on_benefit = grid["start_date"].notna() & (grid["end_date"].isna() | (grid["end_date"] > grid["qe"]))
    exited = grid["end_date"].notna() & (grid["end_date"] > prev) & (grid["end_date"] <= grid["qe"])
    work = grid["end_reason"].isin(WORK_END_REASONS)
    state = pd.Series(pd.NA, index=grid.index, dtype="string")
    state[on_benefit & grid["segment"].notna()] = grid.loc[on_benefit, "segment"]
    state[exited & work] = "werk"
    state[exited & ~work] = "uitstroom_overig"
    grid["state"] = state
    return grid[["client_id", "qe", "state"]]


def transition_matrix(assessments: pd.DataFrame, spells: pd.DataFrame, freq: str = "Q",
                      segment: str = "caseworker_segment", peildatum=None) -> pd.DataFrame:
    """Quarterly transition probabilities between A, B, C and exit, from an extract.

    Parameters
    ----------
    assessments : DataFrame
        ``client_id, assessed_on`` and a group column (A/B/C).
    spells : DataFrame
        ``client_id, start_date, end_date, end_reason``.
    freq : str, default "Q"
        Period of a step (pandas period alias: ``"Q"`` quarter, ``"M"`` month).
    segment : str, default "caseworker_segment"
        Column with the group; e.g. the segmentation's output merged in.
    peildatum : date-like, optional
        Last date of the data; default the latest date in the tables.

    Returns
    -------
    DataFrame
        Index ``A, B, C`` (from), columns ``A, B, C, werk, uitstroom_overig`` (to),
        rows summing to 1. ``attrs["counts"]`` holds the transition counts and
        ``attrs["n_transitions"]`` their total.
    """
    states = _quarter_states(assessments, spells, segment, freq, peildatum)
    nxt = states.groupby("client_id")["state"].shift(-1)
    pairs = pd.DataFrame({"from": states["state"], "to": nxt})
    pairs = pairs[pairs["from"].isin(GROUPS) & pairs["to"].notna()]
    counts = pd.crosstab(pairs["from"], pairs["to"]).reindex(index=GROUPS, columns=STATES, fill_value=0)
    totals = counts.sum(axis=1)
    empty = totals[totals == 0]
    if len(empty):
        raise CaseloadError(f"no transitions observed from group(s) {list(empty.index)}.",
                            column=segment, fix="Use a longer history or pass a transition matrix by hand.")
    probs = counts.div(totals, axis=0)
    probs.index.name, probs.columns.name = "from", "to"
    probs.attrs["counts"] = counts
    probs.attrs["n_transitions"] = int(totals.sum())
    return probs


def _full_matrix(transitions: pd.DataFrame) -> np.ndarray:
    p = transitions.reindex(index=GROUPS, columns=STATES).astype(float)
    if p.isna().any().any():
        raise CaseloadError("transition matrix lacks rows A, B, C or columns "
                            f"{STATES}.", fix="Pass the output of transition_matrix() or a full table.")
    if (p.to_numpy() < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise CaseloadError("transition probabilities must be >= 0 and each row must sum to 1.",
                            value=p.sum(axis=1).round(4).to_dict(), fix="Normalise the rows.")
    full = np.zeros((5, 5))
    full[:3] = p.to_numpy()
    full[3, 3] = full[4, 4] = 1.0  # exits are absorbing
    return full


def project_candidates(current: pd.DataFrame, transitions: pd.DataFrame, quarters: int = 4,
                       inflow: pd.DataFrame | None = None, level=(80, 95), start=None) -> pd.DataFrame:
    """Expected A-candidates per PMC in each of the next quarters (Markov chain).

    Parameters
    ----------
    current : DataFrame
        Either one row per client with ``segment`` and ``pmc`` (and optionally
        ``municipality``), or counts with an extra column ``n``.
    transitions : DataFrame
        Quarterly probabilities, index ``A, B, C``, columns ``A, B, C, werk,
        uitstroom_overig`` (as from :func:`transition_matrix`).
    quarters : int, default 4
    inflow : DataFrame, optional
        New clients per quarter: ``segment, pmc[, municipality], n``, added at the
        start of every quarter.
    level : sequence of int, default (80, 95)
        Interval levels (chance variation of the count, normal approximation).
    start : date-like, optional
        Peildatum; labels the quarters (``2026K1``). Default: quarter numbers only.

    Returns
    -------
    DataFrame
        ``[municipality,] pmc, quarter, period, A, lo_<l>, hi_<l>, B, C, werk``
        where A, B, C are expected counts at the end of the quarter and ``werk``
        the expected cumulative exits to work.
    """
    for col in ("segment", "pmc"):
        if col not in current.columns:
            raise CaseloadError(f"current table lacks the column '{col}'.", column=col,
                                fix="Pass one row per client with segment and pmc (segmentation output).")
    if quarters < 1:
        raise CaseloadError(f"quarters must be at least 1, got {quarters}.", value=quarters,
                            fix="Pass e.g. quarters=4.")
    P = _full_matrix(transitions)
    keys = ["municipality", "pmc"] if "municipality" in current.columns else ["pmc"]

    def counts(df: pd.DataFrame) -> pd.DataFrame:
        # Plain strings: categorical keys (segmentation output) would add empty combinations.
        df = df.astype({k: "string" for k in (*keys, "segment")})
        df = df[df["segment"].isin(GROUPS)]
        n = df["n"] if "n" in df.columns else pd.Series(1, index=df.index)
        c = df.assign(n=n).groupby([*keys, "segment"])["n"].sum().unstack("segment")
        return c.reindex(columns=GROUPS, fill_value=0).fillna(0)

    now = counts(current)
    add = counts(inflow) if inflow is not None else None
    if add is not None:
        now = now.reindex(now.index.union(add.index), fill_value=0)
        add = add.reindex(now.index, fill_value=0)
    levels = sorted({int(x) for x in level})
    z = {lv: norm.ppf(0.5 + lv / 200) for lv in levels}
    powers = [np.linalg.matrix_power(P, k) for k in range(quarters + 1)]
    labels = None
    if start is not None:
        first = pd.Period(pd.Timestamp(start), freq="Q") + 1
        labels = [str(first + k).replace("Q", "K") for k in range(quarters)]
    rows = []
    for key, n0 in now.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        n0 = np.concatenate([n0.to_numpy(dtype=float), [0.0, 0.0]])
        u = (np.concatenate([add.loc[key if len(key) > 1 else key[0]].to_numpy(dtype=float), [0.0, 0.0]])
             if add is not None else np.zeros(5))
        for k in range(1, quarters + 1):
            # Cohorts: the current stock moved k steps, each quarter's inflow k - j + 1 steps.
            mean = n0 @ powers[k]
            var_a = n0 @ (powers[k][:, 0] * (1 - powers[k][:, 0]))
            for j in range(1, k + 1):
                mean = mean + u @ powers[k - j + 1]
                var_a += u @ (powers[k - j + 1][:, 0] * (1 - powers[k - j + 1][:, 0]))
            row = dict(zip(keys, key, strict=True))
            row.update({"quarter": k, "period": labels[k - 1] if labels else str(k), "A": mean[0]})
            sd = np.sqrt(max(var_a, 0.0))
            for lv in levels:
                row[f"lo_{lv}"] = max(mean[0] - z[lv] * sd, 0.0)
                row[f"hi_{lv}"] = mean[0] + z[lv] * sd
            row.update({"B": mean[1], "C": mean[2], "werk": mean[3]})
            rows.append(row)
    return pd.DataFrame(rows)
