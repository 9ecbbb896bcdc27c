"""Tests for caseload.capacity: the Losser 2,9 FTE example both ways, and hand calculations."""

from __future__ import annotations

import pandas as pd
import pytest

from caseload.capacity import (
    DEFAULT_MINUTES_PER_CONTACT,
    DEFAULT_PRODUCTIVE_HOURS,
    LOSSER_MIX,
    LOSSER_SCHEME,
    ContactScheme,
    calibrate_minutes,
    clients_by_contact_group,
    fte_from_contacts,
    fte_from_norm,
    losser_mix,
)
from caseload.errors import CaseloadError


def test_norm_reproduces_losser():
    res = fte_from_norm(174, 60)
    assert res["fte"] == pytest.approx(2.9, abs=1e-12)  # 174 / 60 = 2.9 exactly
    assert res["fte_rounded"] == 2.9
    assert fte_from_norm(175, 60)["fte_rounded"] == 2.9  # 2.9167 -> 2.9 as the source rounds
    with pytest.raises(CaseloadError):
        fte_from_norm(174, 0)


def test_losser_mix_sums_to_174_with_source_shares():
    assert sum(LOSSER_MIX.values()) == pytest.approx(174)
    assert LOSSER_MIX["tot27"] == pytest.approx(174 * 0.098)
    mid = LOSSER_MIX["27-44_kansen"] + LOSSER_MIX["27-44_geen_kansen"]
    assert mid == pytest.approx(174 * 0.396)
    assert LOSSER_MIX["27-44_kansen"] / mid == pytest.approx(159 / 409)


def test_contact_scheme_reproduces_losser_fte():
    tab = fte_from_contacts(LOSSER_MIX)
    assert round(tab.attrs["fte"], 1) == 2.9
    # Hand: contacts per year for the mix, times 124 minutes, over 1300 hours.
    c = (174 * 0.098 * 26 + 174 * 0.396 * (159 / 409 * 26 + 250 / 409 * 4)
         + 174 * 0.506 * (159 / 409 * 12 + 250 / 409 * 2))
    assert tab.attrs["fte"] == pytest.approx(c * 124 / 60 / 1300, rel=1e-12)
    total = tab.set_index("code").loc["totaal"]
    assert total["clients"] == pytest.approx(174)
    assert total["fte"] == pytest.approx(tab.loc[tab["code"] != "totaal", "fte"].sum())


def test_calibrate_minutes_round_trip():
    m = calibrate_minutes(LOSSER_MIX, 2.9)
    assert m == pytest.approx(123.834, abs=1e-3)
    assert round(m) == DEFAULT_MINUTES_PER_CONTACT
    tab = fte_from_contacts(LOSSER_MIX, minutes_per_contact=m)
    assert tab.attrs["fte"] == pytest.approx(2.9, rel=1e-12)
    # Twice the productive hours need twice the minutes for the same FTE.
    assert calibrate_minutes(LOSSER_MIX, 2.9, productive_hours_per_fte=2600) == pytest.approx(2 * m)


def test_group_minutes_and_training():
    scheme = ContactScheme.from_table([
        {"code": "a", "contacts_per_year": 26},
        {"code": "train", "contacts_per_year": 10, "minutes_per_contact": 90},
    ])
    tab = fte_from_contacts({"a": 10, "train": 8}, scheme, minutes_per_contact=60,
                            productive_hours_per_fte=1000).set_index("code")
    assert tab.loc["a", "hours"] == pytest.approx(10 * 26 * 60 / 60)
    assert tab.loc["train", "hours"] == pytest.approx(8 * 10 * 90 / 60)
    assert tab.loc["totaal", "fte"] == pytest.approx((260 + 120) / 1000)
    # calibrate keeps the group's own minutes fixed
    m = calibrate_minutes({"a": 10, "train": 8}, 0.5, scheme, productive_hours_per_fte=1000)
    assert m == pytest.approx((0.5 * 1000 * 60 - 8 * 10 * 90) / 260)


def test_scheme_errors():
    with pytest.raises(CaseloadError, match="not in the contact scheme"):
        fte_from_contacts({"nope": 3})
    with pytest.raises(CaseloadError):
        ContactScheme.from_table([{"code": "a"}])
    with pytest.raises(CaseloadError):
        fte_from_contacts(LOSSER_MIX, productive_hours_per_fte=0)


def test_losser_scheme_frequencies_from_source():
    f = LOSSER_SCHEME.contacts_per_year()
    assert f == {"tot27": 26, "27-44_kansen": 26, "27-44_geen_kansen": 4, "45plus_kansen": 12,
                 "45plus_geen_kansen": 2, "sollicitatietraining": 10}
    assert "aanname" in LOSSER_SCHEME.to_frame().set_index("code").loc["45plus_kansen", "source"]
    assert DEFAULT_PRODUCTIVE_HOURS == 1300


def test_clients_by_contact_group_from_tables():
    clients = pd.DataFrame({"client_id": list("abcdef"), "birth_year": [2000, 1990, 1985, 1970, 1960, 1975],
                            "peildatum": pd.Timestamp("2024-12-31")})
    assessments = pd.DataFrame({
        "client_id": ["b", "c", "c", "d"],
        "assessed_on": pd.to_datetime(["2024-01-01", "2023-01-01", "2024-06-01", "2024-02-01"]),
        "ladder_step": [5, 6, 3, 6],
    })
    got = clients_by_contact_group(clients, assessments, training_ids=["a"])
    # ages 24, 34, 39, 54, 64, 49; c's latest step is 3 (no chances).
    assert got == {"tot27": 1, "27-44_kansen": 1, "27-44_geen_kansen": 1, "45plus_kansen": 1,
                   "45plus_geen_kansen": 2, "sollicitatietraining": 1}
    assert sum(losser_mix(100).values()) == pytest.approx(100)


def test_contact_groups_and_composition_follow_the_age_rule():
    """On 31-3-2026, born 15-10-1999 is 26 by the date of birth but 27 by the calendar year
    (2026 - 1999); born 15-10-1998 is 27 by both. Hand calculation."""
    from caseload.capacity import clients_by_contact_group
    from caseload.kpi.monitoring import composition

    clients = pd.DataFrame({"client_id": ["a", "b"], "birth_year": [1999, 1998],
                            "birth_date": pd.to_datetime(["1999-10-15", "1998-10-15"])})
    peil = pd.Timestamp("2026-03-31")
    exact = clients_by_contact_group(clients, peildatum=peil, age_rule="birth_date")
    calendar = clients_by_contact_group(clients, peildatum=peil, age_rule="calendar_year")
    assert (exact["tot27"], exact["27-44_geen_kansen"]) == (1, 1)
    assert (calendar["tot27"], calendar["27-44_geen_kansen"]) == (0, 2)
    bands = ((15, 26), (27, 44))
    exact_comp = composition(clients, peildatum=peil, age_bands=bands, age_rule="birth_date")
    calendar_comp = composition(clients, peildatum=peil, age_bands=bands, age_rule="calendar_year")
    assert exact_comp["Aantal"].tolist()[:2] == [1, 1]
    assert calendar_comp["Aantal"].tolist()[:2] == [0, 2]
