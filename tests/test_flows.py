"""Tests of caseload.flows: the month-end rule, the stock identity, households."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caseload.errors import CaseloadError
from caseload.flows import household_spells, monthly_flows, stock_at


@pytest.fixture(scope="module")
def spells():
    from caseload.synth import generate

    return generate(n_clients=1500, random_state=3).spells


def _naive(spells, month: pd.Period, municipality: str):
    """Direct definition, one month at a time (the slow way)."""
    s = spells[spells["municipality"] == municipality]
    start, end = s["start_date"], s["end_date"]
    t = month.to_timestamp(how="end").normalize()
    stock = int(((start <= t) & (end.isna() | (end > t))).sum())
    inflow = int((start.dt.to_period("M") == month).sum())
    ended = end.dt.to_period("M") == month
    return stock, inflow, int(ended.sum()), int((ended & (s["end_reason"] == "werk")).sum())


def test_stock_identity_holds_exactly(spells):
    flows = monthly_flows(spells, start="2012-01", end="2025-12")
    for _, g in flows.groupby("municipality"):
        prev = g["stock"].shift(1)
        change = g["inflow"] - g["outflow"]
        assert (g["stock"].iloc[1:] == (prev + change).iloc[1:]).all()
    reasons = [c for c in flows.columns if c.startswith("outflow_")]
    assert (flows[reasons].sum(axis=1) == flows["outflow"]).all()
    assert flows["month"].dtype == pd.PeriodDtype("M")


def test_equals_naive_month_loop(spells):
    flows = monthly_flows(spells, start="2015-01", end="2025-12").set_index(["municipality", "month"])
    rng = np.random.default_rng(0)
    months = pd.period_range("2015-01", "2025-12", freq="M")
    for municipality in spells["municipality"].unique():
        for month in rng.choice(months, 12, replace=False):
            row = flows.loc[(municipality, month)]
            assert (row["stock"], row["inflow"], row["outflow"], row["outflow_werk"]) == _naive(
                spells, month, municipality)


def test_window_start_counts_stock_already_open(spells):
    late = monthly_flows(spells, start="2020-01", end="2020-06").set_index(["municipality", "month"])
    full = monthly_flows(spells, end="2020-06").set_index(["municipality", "month"])
    assert late["stock"].equals(full.loc[late.index, "stock"])
    p = pd.Timestamp("2020-03-31")
    open_ = stock_at(spells, p).groupby("municipality").size()
    assert open_.to_dict() == late.xs(pd.Period("2020-03", "M"), level="month")["stock"].to_dict()


def test_month_end_rule_on_literal_spells():
    s = pd.DataFrame({
        "municipality": ["GM1"] * 4,
        "start_date": pd.to_datetime(["2024-01-31", "2024-01-05", "2024-02-01", "2023-06-01"]),
        # ends on the month's last day: not in that month's stock; same-month start and end: never in a stock
        "end_date": pd.to_datetime(["2024-02-29", "2024-01-20", None, "2024-01-01"]),
        "end_reason": ["werk", "verhuizing", None, None],
    })
    f = monthly_flows(s, start="2024-01", end="2024-03")
    assert f["stock"].tolist() == [1, 1, 1]
    assert f["inflow"].tolist() == [2, 1, 0]
    assert f["outflow"].tolist() == [2, 1, 0]
    assert f["outflow_werk"].tolist() == [0, 1, 0]
    assert f["outflow_onbekend"].tolist() == [1, 0, 0]
    tidy = monthly_flows(s, start="2024-01", end="2024-03", tidy=True)
    assert set(tidy.columns) == {"municipality", "month", "measure", "value"}


def test_households_count_a_couple_once():
    s = pd.DataFrame({
        "spell_id": ["a", "b", "c"],
        "client_id": ["1", "2", "3"],
        "dossier_id": ["D1", "D1", "D2"],
        "municipality": ["GM1"] * 3,
        "start_date": pd.to_datetime(["2024-01-10", "2024-02-15", "2024-01-01"]),
        "end_date": pd.to_datetime(["2024-04-10", None, "2024-02-10"]),
        "end_reason": ["inkomen_partner", None, "werk"],
    })
    persons = monthly_flows(s, start="2024-01", end="2024-05")
    households = monthly_flows(s, start="2024-01", end="2024-05", unit="households")
    assert persons["stock"].tolist() == [2, 2, 2, 1, 1]
    assert households["stock"].tolist() == [2, 1, 1, 1, 1]
    assert households["inflow"].tolist() == [2, 0, 0, 0, 0]
    merged = household_spells(s)
    assert len(merged) == 2 and merged["end_date"].isna().tolist() == [True, False]


def test_households_on_synthetic_match_distinct_dossiers(spells):
    f = monthly_flows(spells, start="2024-01", end="2024-12", unit="households").set_index(["municipality", "month"])
    p = pd.Period("2024-06", "M")
    open_ = stock_at(spells, p.to_timestamp(how="end").normalize())
    expected = open_.groupby("municipality")["dossier_id"].nunique()
    assert f.xs(p, level="month")["stock"].to_dict() == expected.to_dict()


def test_errors():
    s = pd.DataFrame({"municipality": ["GM1"], "start_date": pd.to_datetime(["2024-02-01"]),
                      "end_date": pd.to_datetime(["2024-01-01"]), "end_reason": ["werk"]})
    with pytest.raises(CaseloadError, match="end before they start"):
        monthly_flows(s)
    with pytest.raises(CaseloadError, match="unit"):
        monthly_flows(s, unit="dossiers")
    with pytest.raises(CaseloadError, match="no column 'gemeente'"):
        monthly_flows(s, by=("gemeente",))
