"""Tests for caseload.kpi: every KPI on hand-made spells with a hand calculation.

Tolerances: exact counts; shares and estimates to 1e-9 (hand fractions) unless noted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caseload.errors import CaseloadError
from caseload.kpi import (
    activity_durations,
    benchmark_municipality,
    composition,
    dropout,
    dropout_reasons,
    durability,
    first_segment,
    judge_against_target,
    load_cbs_municipalities,
    outflow_by_destination,
    outflow_by_sector,
    outflow_to_work,
    participants_per_activity,
    peer_group,
    revolving_door,
    select_cohort,
    sheltered_places,
    spells_per_client,
    trajectories,
    trajectory_durations,
)
from caseload.kpi.outflow import DAYS_PER_MONTH

D = pd.Timestamp


def _spells(rows, peildatum):
    df = pd.DataFrame(rows, columns=["client_id", "start_date", "end_date", "end_reason"])
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    df.insert(0, "spell_id", [f"s{i}" for i in range(len(df))])
    df["municipality"] = "GM0168"
    df["benefit"] = "PW"
    df["peildatum"] = pd.Timestamp(peildatum)
    return df


def _end(start: str, months: float) -> pd.Timestamp:
    """End date such that the spell lasts ``months`` (counting the end day)."""
    return D(start) + pd.Timedelta(days=round(months * DAYS_PER_MONTH) - 1)


# --------------------------------------------------------------------------- outflow to work

PEIL_KPI = "2023-12-31"


def _kpi_cohort():
    s = "2020-01-01"
    rows = [
        ("c1", s, _end(s, 2), "werk"),
        ("c2", s, _end(s, 4), "verhuizing"),
        ("c3", s, _end(s, 6), "werk_deels"),
        ("c4", "2023-04-30", None, None),           # open, followed ~8 months: censored
        ("c5", s, _end(s, 10), "werk"),
        ("c6", s, _end(s, 12), "inkomen_partner"),
        ("c7", s, _end(s, 14), "werk"),
        ("c8", "2022-08-31", None, None),           # open, followed ~16 months: censored
        ("c9", s, _end(s, 30), "werk"),             # exit to work after the horizon
        ("c10", s, None, None),                     # open, followed 48 months
    ]
    return _spells(rows, PEIL_KPI)


def test_outflow_to_work_matches_hand_aalen_johansen():
    out = outflow_to_work(_kpi_cohort(), months=24, target=0.8)
    row = out.iloc[0]
    # Hand: F = 1/10 + (0.8)(1/8) + (0.7)(1/6) + (0.7*5/6*4/5)(1/4) = 13/30.
    assert row["estimate"] == pytest.approx(13 / 30, abs=1e-9)
    assert (row["n_spells"], row["n_work"], row["n_other"], row["n_censored"], row["n_at_risk"]) == (10, 4, 2, 2, 2)
    # Naive: 4 exits to work among the 8 spells observed for 24 months or ended.
    assert row["naive_n"] == 8
    assert row["naive_share"] == pytest.approx(0.5)
    assert row["lower_0.95"] < row["estimate"] < row["upper_0.95"]
    assert row["judgement"] in {"onder_doel", "niet_verschillend"}
    assert row["judgement"] == judge_against_target([row["lower_0.95"]], [row["upper_0.95"]], 0.8)[0]


def test_outflow_to_work_agrees_with_lifelines():
    lifelines = pytest.importorskip("lifelines")
    cohort = _kpi_cohort()
    out = outflow_to_work(cohort, months=24, target=None)
    end = cohort["end_date"].fillna(D(PEIL_KPI))
    months = ((end - cohort["start_date"]).dt.days + 1) / DAYS_PER_MONTH
    ev = np.where(cohort["end_date"].isna(), 0, np.where(cohort["end_reason"].isin(["werk", "werk_deels"]), 1, 2))
    ajf = lifelines.AalenJohansenFitter(calculate_variance=False, seed=0).fit(months, ev, event_of_interest=1)
    ref = ajf.cumulative_density_.loc[:24].iloc[-1, 0]
    assert out["estimate"].iloc[0] == pytest.approx(ref, abs=1e-6)


def test_outflow_to_work_by_group_and_judgement():
    cohort = _kpi_cohort()
    cohort["group"] = ["a"] * 5 + ["b"] * 5
    out = outflow_to_work(cohort, months=24, target=0.1, by="group")
    assert out["group"].tolist() == ["a", "b"]
    assert out["n_spells"].tolist() == [5, 5]
    # Group a: events werk(2), overig(4), werk(6), censored(8), werk(10):
    # F = 1/5 + (4/5)(1/3)... computed: 1/5 + 0.6*1/3 + 0.4*1/1 = 0.8
    assert out["estimate"].iloc[0] == pytest.approx(0.2 + 0.6 / 3 + 0.4, abs=1e-9)


def test_outflow_to_work_without_exits_to_work_is_not_judged_certain():
    cohort = _spells([("a", "2020-01-01", "2020-03-01", "verhuizing"), ("b", "2020-01-01", None, None)],
                     PEIL_KPI)
    row = outflow_to_work(cohort, months=24).iloc[0]
    assert row["estimate"] == 0.0 and np.isnan(row["upper_0.95"])
    assert row["judgement"] == "onbekend"


def test_judge_against_target():
    j = judge_against_target([0.6, 0.85, 0.7, np.nan], [0.75, 0.9, 0.9, 0.9], 0.8)
    assert j.tolist() == ["onder_doel", "boven_doel", "niet_verschillend", "onbekend"]


def test_select_cohort_filters():
    spells = _kpi_cohort()
    spells.loc[spells["client_id"] == "c3", "municipality"] = "GM0037"
    clients = pd.DataFrame({"client_id": spells["client_id"],
                            "new_target_group": [True, False] * 5})
    assessments = pd.DataFrame({
        "client_id": ["c1", "c1", "c3", "c5"],
        "assessed_on": pd.to_datetime(["2019-06-01", "2020-02-01", "2020-03-01", "2019-12-01"]),
        "caseworker_segment": ["C", "A", "B", "C"],
    })
    seg = first_segment(spells, assessments)
    # c1: first assessment on/after start -> A; c3 -> B; c5: only one before start -> C.
    assert seg.iloc[0] == "A" and seg.iloc[2] == "B" and seg.iloc[4] == "C"
    assert seg.iloc[[1, 3, 5]].isna().all()
    got = select_cohort(spells, inflow_start="2020-01-01", inflow_end="2020-12-31",
                        assessments=assessments, segments=["A", "B"])
    assert got["client_id"].tolist() == ["c1", "c3"]
    got = select_cohort(spells, municipality="GM0168", clients=clients, new_target_group=True)
    assert got["client_id"].tolist() == ["c1", "c5", "c7", "c9"]
    got = select_cohort(spells, mask=spells["end_reason"].isna())
    assert got["client_id"].tolist() == ["c4", "c8", "c10"]
    with pytest.raises(CaseloadError, match="assessments"):
        select_cohort(spells, segments=["A"])


# --------------------------------------------------------------------------- durability / revolving door

PEIL_DUR = "2025-12-31"


def _return_spells():
    rows = [
        ("a", "2022-01-01", "2024-01-31", "werk"),
        ("a", "2024-03-15", None, None),            # back within 3 months
        ("b", "2022-01-01", "2024-01-31", "werk"),
        ("b", "2024-06-01", None, None),            # back after 3, within 6 months
        ("c", "2021-01-01", "2023-05-31", "werk_deels"),   # never back
        ("d", "2024-01-01", "2025-11-30", "werk"),  # too recent for 3 and 6 months
        ("e", "2024-01-01", "2025-08-31", "werk"),  # judged at 3, too recent at 6
        ("e", "2025-10-01", None, None),            # back within 3 months
        ("f", "2023-01-01", "2024-01-31", "verhuizing"),
        ("f", "2024-02-15", None, None),
        ("g", "2020-01-01", None, None),
        ("h", "2015-01-01", "2023-01-01", "aow"),
    ]
    return _spells(rows, PEIL_DUR)


def test_durability_hand_counts():
    out = durability(_return_spells()).set_index("months")
    assert out.loc[3, ["n_exits", "n_too_recent", "n_judged", "n_returned", "n_durable"]].tolist() == [5, 1, 4, 2, 2]
    assert out.loc[3, "share"] == pytest.approx(0.5)
    assert out.loc[6, ["n_exits", "n_too_recent", "n_judged", "n_returned", "n_durable"]].tolist() == [5, 2, 3, 2, 1]
    assert out.loc[6, "share"] == pytest.approx(1 / 3)
    # Wilson interval from statsmodels' definition, independently: 1 of 3.
    z = 1.959963984540054
    p, n = 1 / 3, 3
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert out.loc[6, "lower_0.95"] == pytest.approx(centre - half, abs=1e-9)
    assert out.loc[6, "upper_0.95"] == pytest.approx(centre + half, abs=1e-9)


def test_durability_too_recent_is_not_success():
    # One exit last month and nothing else: nothing can be judged.
    spells = _spells([("x", "2020-01-01", "2025-12-01", "werk")], PEIL_DUR)
    out = durability(spells, windows=[3])
    assert out["n_judged"].iloc[0] == 0 and out["n_too_recent"].iloc[0] == 1
    assert np.isnan(out["share"].iloc[0])


def test_revolving_door_hand_counts():
    spells = _return_spells()
    allx = revolving_door(spells, months=12).iloc[0]
    # exits a,b,c,d,e,f (h: aow excluded); d,e too recent; a,b,f back within 12 months.
    assert (allx["n_exits"], allx["n_too_recent"], allx["n_judged"], allx["n_returned"]) == (6, 2, 4, 3)
    assert allx["share"] == pytest.approx(0.75)
    work = revolving_door(spells, months=12, exits="work").iloc[0]
    assert (work["n_judged"], work["n_returned"]) == (3, 2)
    with pytest.raises(CaseloadError):
        revolving_door(spells, exits="some")


def test_spells_per_client():
    out = spells_per_client(_return_spells()).set_index("n_spells")
    assert out.loc["1", "n_clients"] == 4 and out.loc["2", "n_clients"] == 4
    assert out["share"].sum() == pytest.approx(1.0)
    assert out.loc["5+", "n_clients"] == 0


# --------------------------------------------------------------------------- monitoring

PEIL_ACT = "2024-12-31"


def _activities():
    rows = [
        # client, instrument, start, end, outcome, sector, dropout_reason
        ("p1", "werkfit", "2024-01-01", "2024-02-19", "regulier_werk", "logistiek", None),
        ("p1", "jobcoach", "2024-03-01", None, "lopend", None, None),
        ("p2", "werkfit", "2024-02-01", "2024-03-31", "uitval", None, "gezondheid"),
        ("p3", "wep", "2023-06-01", "2024-05-31", "banenafspraak", "zorg", None),
        ("p4", "wep", "2024-04-01", "2024-06-30", "uitval", None, "gezondheid"),
        ("p5", "wep", "2024-05-01", "2024-07-31", "uitval", None, "motivatie"),
        ("p6", "beschut_werk", "2022-01-01", None, "lopend", None, None),
        ("p7", "beschut_werk", "2023-03-01", "2024-06-30", "beschut_werk", "productie", None),
        ("p8", "scholing", "2024-01-01", "2024-08-31", "opleiding", None, None),
        ("p9", "werkfit", "2023-01-01", "2023-03-31", "regulier_werk", "logistiek", None),
    ]
    df = pd.DataFrame(rows, columns=["client_id", "instrument", "start_date", "end_date", "outcome", "sector",
                                     "dropout_reason"])
    df.insert(0, "activity_id", [f"a{i}" for i in range(len(df))])
    df["start_date"] = pd.to_datetime(df["start_date"])
    df["end_date"] = pd.to_datetime(df["end_date"])
    df["peildatum"] = D(PEIL_ACT)
    return df


def test_participants_per_activity_2024():
    out = participants_per_activity(_activities(), period_start="2024-01-01", period_end="2024-12-31",
                                    lang="en").set_index("Instrument")
    assert out.loc["Work-fitness programme", ["Participants", "Started", "Ended", "Ongoing at end of period"]
                   ].tolist() == [2, 2, 2, 0]
    assert out.loc["Work-experience placement", "Participants"] == 3
    assert out.loc["Sheltered work", ["Participants", "Ongoing at end of period"]].tolist() == [2, 1]
    assert out.loc["Total", "Participants"] == 8   # p9 ended in 2023


def test_participants_dutch_headers():
    out = participants_per_activity(_activities())
    assert list(out.columns) == ["Instrument", "Deelnemers", "Gestart", "Beëindigd", "Lopend op einddatum periode"]
    assert "Werkfit-traject" in out["Instrument"].tolist()


def test_outflow_by_destination_and_sector():
    acts = _activities()
    out = outflow_by_destination(acts, period_start="2024-01-01", lang="en").set_index("Destination")
    assert out.loc["Dropout", "Count"] == 3
    assert out.loc["Regular work", "Count"] == 1
    assert out["Count"].sum() == 7
    assert out["Share"].sum() == pytest.approx(1.0)
    sec = outflow_by_sector(acts, period_start="2024-01-01", lang="en").set_index("Sector")
    assert sec.loc["Logistics", "Regular work"] == 1
    assert sec.loc["Care and welfare", "Work via the jobs agreement"] == 1
    assert sec.loc["Manufacturing", "Sheltered work"] == 1
    assert sec["Total"].sum() == 3


def test_dropout_size_and_reasons():
    acts = _activities()
    d = dropout(acts, period_start="2024-01-01", lang="en").set_index("Instrument")
    assert d.loc["Work-experience placement", ["Ended", "Dropouts"]].tolist() == [3, 2]
    assert d.loc["Total", ["Ended", "Dropouts"]].tolist() == [7, 3]
    assert d.loc["Total", "Dropout share"] == pytest.approx(3 / 7)
    r = dropout_reasons(acts, lang="en")
    assert r.iloc[0].tolist()[:2] == ["gezondheid", 2]
    assert r["Share"].sum() == pytest.approx(1.0)


def test_composition():
    clients = pd.DataFrame({
        "client_id": ["p1", "p2", "p3", "p4"], "birth_year": [2000, 1990, 1970, 1960],
        "education": ["laag", "laag", "hoog", None], "sex": ["M", "V", "V", "V"],
        "work_limitation": pd.array([True, False, None, False], dtype="boolean"),
        "peildatum": D(PEIL_ACT),
    })
    out = composition(clients, client_ids=["p1", "p2", "p3"], lang="en")
    age = out[out["Characteristic"] == "Age"].set_index("Category")["Count"]
    assert age["15-26 years"] == 1 and age["27-44 years"] == 1 and age["45-64 years"] == 1
    sex = out[out["Characteristic"] == "Sex"].set_index("Category")
    assert sex.loc["Female", "Count"] == 2 and sex.loc["Female", "Share"] == pytest.approx(2 / 3)
    wl = out[out["Characteristic"] == "Work limitation"].set_index("Category")["Count"]
    assert wl.to_dict() == {"Yes": 1, "No": 1, "Unknown": 1}


def test_activity_and_trajectory_durations():
    acts = _activities()
    dur = activity_durations(acts, lang="en").set_index("Instrument")
    # werkfit: 50 days (p1), 60 days (p2), 90 days (p9)
    exp = np.array([50, 60, 90]) / DAYS_PER_MONTH
    assert dur.loc["Work-fitness programme", "Mean duration (months)"] == pytest.approx(exp.mean())
    assert dur.loc["Work-fitness programme", "Median duration (months)"] == pytest.approx(60 / DAYS_PER_MONTH)
    assert dur.loc["Total", "Ongoing at end of period"] == 2
    tr = trajectories(acts)
    p1 = tr[tr["client_id"] == "p1"]
    # p1: werkfit ends 19 Feb, jobcoach starts 1 Mar (gap 11 days): one ongoing trajectory.
    assert len(p1) == 1 and p1["n_activities"].iloc[0] == 2 and pd.isna(p1["end_date"].iloc[0])
    assert len(trajectories(acts, gap_days=5).query("client_id == 'p1'")) == 2
    td = trajectory_durations(acts, lang="en")
    assert td["Completed"].iloc[0] == 7 and td["Ongoing at end of period"].iloc[0] == 2


def test_sheltered_places_realised_vs_target():
    acts = _activities()
    targets = pd.DataFrame({"year": [2022, 2023, 2024, 2025], "target": [1, 3, 2, 4]})
    out = sheltered_places(acts, targets, lang="en").set_index("Year")
    assert out.index.tolist() == [2022, 2023, 2024]          # 2025 is after the peildatum
    assert out["Realised"].tolist() == [1, 2, 1]
    assert out.loc[2023, "Difference"] == -1
    assert out.loc[2024, "Realisation (share of target)"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- benchmark


@pytest.fixture(scope="module")
def cbs():
    return load_cbs_municipalities()


def test_cbs_loader(cbs):
    assert set(cbs["municipality"].str[:2]) == {"GM"}
    assert cbs.groupby("year").size().to_dict() == {2015: 393, 2016: 390, 2017: 388}
    assert "CBS" in cbs.attrs["source"]
    losser = cbs[(cbs["municipality"] == "GM0168") & (cbs["year"] == 2017)].iloc[0]
    assert losser["inhabitants"] == 19070


def test_benchmark_percentile_matches_raw_file(cbs):
    from importlib import resources

    raw = pd.read_csv(resources.files("caseload").joinpath("data/cbs_participatiewet_gemeente_2015_2017.csv"))
    gm = raw[raw["Regio"].str.startswith("GM") & (raw["jaar"] == 2017) & (raw["Leeftijd"] == "15+ totaal")]
    own = gm[gm["Regio"] == "GM0168"].iloc[0]
    peers = gm[(gm["Inwoners"] >= 0.5 * own["Inwoners"]) & (gm["Inwoners"] <= 2 * own["Inwoners"])]
    res = benchmark_municipality(cbs, "GM0168", year=2017).set_index("indicator")
    for col, ind in [("Bijstandsdichtheid_per1000", "density"), ("UitstroomNaarWerk_pct", "outflow_work_pct")]:
        v = peers[col].dropna()
        x = own[col]
        pct = 100 * ((v < x).mean() + 0.5 * (v == x).mean())
        assert res.loc[ind, "percentile"] == pytest.approx(pct, abs=1e-9)
        assert res.loc[ind, "n_peers"] == len(v)
        assert res.loc[ind, "peer_median"] == pytest.approx(v.median())
        assert res.loc[ind, "rank"] == 1 + (v > x).sum()
    from scipy.stats import percentileofscore

    v = peers["Bijstandsdichtheid_per1000"].dropna()
    assert res.loc["density", "percentile"] == pytest.approx(percentileofscore(v, own["Bijstandsdichtheid_per1000"],
                                                                               kind="mean"))


def test_benchmark_handles_unpublished_values(cbs):
    y = cbs[cbs["year"] == 2017]
    missing = y[y["outflow_work_pct"].isna()].sort_values("inhabitants")["municipality"].iloc[-1]
    res = benchmark_municipality(cbs, missing, year=2017).set_index("indicator")
    assert np.isnan(res.loc["outflow_work_pct", "value"]) and np.isnan(res.loc["outflow_work_pct", "percentile"])
    assert res.loc["outflow_work_pct", "n_peers"] > 0


def test_benchmark_own_values_and_size_class(cbs):
    res = benchmark_municipality(cbs, "GM0168", values={"density": 1000.0}).set_index("indicator")
    assert res.loc["density", "rank"] == 1
    assert res.loc["density", "percentile"] == pytest.approx(100 * (1 - 0.5 / res.loc["density", "n_peers"]))
    peers = peer_group(cbs, "GM0168", method="size_class")
    assert peers["size_class"].nunique() == 1 and peers["size_class"].iloc[0] == "10.000-20.000"
    with pytest.raises(CaseloadError, match="GM9999"):
        peer_group(cbs, "GM9999")
    with pytest.raises(CaseloadError):
        benchmark_municipality(cbs, "GM0168", indicators=["nonsense"])


# --------------------------------------------------------------------------- whole run on synthetic data


@pytest.fixture(scope="module")
def synth_caseload():
    from caseload.synth import generate

    return generate(n_clients=800, random_state=1)


def test_kpi_results_on_synthetic_extract(synth_caseload, tmp_path):
    from caseload.kpi.report import kpi_results
    from caseload.publish import Publication, write_report
    from caseload.refresh.sections.kpi import add_kpi_to_publication

    cs = synth_caseload
    res = kpi_results(cs)
    out = res.outflow
    assert out["municipality"].iloc[-1] == "Totaal"
    assert out["n_spells"].iloc[:-1].sum() == out["n_spells"].iloc[-1]
    assert ((out["lower_0.95"] <= out["estimate"]) & (out["estimate"] <= out["upper_0.95"])).all()
    # The cohort ends N months before the peildatum: all followed N months, so naive = Aalen-Johansen.
    assert (out["n_censored"] == 0).all()
    np.testing.assert_allclose(out["estimate"], out["naive_share"], atol=1e-12)
    assert set(res.monitoring) >= {"deelnemers", "samenstelling", "beschut_werk"}
    assert res.benchmark is not None and res.benchmark["n_peers"].min() > 50
    pub = Publication("KPI", cs.peildatum, "synthetisch")
    add_kpi_to_publication(pub, res)
    report = write_report(pub, tmp_path / "kpi")
    assert (report.out_dir / "tables" / "kpi_uitstroom_werk.csv").is_file()
    header = (report.out_dir / "tables" / "kpi_uitstroom_werk.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "Aandeel naar werk (Aalen-Johansen)" in header and "client_id" not in header


def test_recent_cohort_shows_why_censoring_matters(synth_caseload):
    cs = synth_caseload
    peil = cs.peildatum
    cohort = select_cohort(cs.spells, inflow_start=peil - pd.DateOffset(months=30), inflow_end=peil)
    row = outflow_to_work(cohort, months=24, target=None).iloc[0]
    assert row["n_censored"] > 0
    # Naive share among the fully observed ignores the open spells; the Aalen-Johansen estimate
    # counts them at risk until censored, so the two differ.
    assert row["naive_n"] == row["n_spells"] - row["n_censored"]
    assert row["estimate"] != pytest.approx(row["naive_share"], abs=1e-6)


def test_cli_kpi_and_capacity(synth_caseload, tmp_path):
    from typer.testing import CliRunner

    from caseload.cli import app
    from caseload.synth import write_extract

    files = write_extract(synth_caseload, tmp_path / "extract")
    runner = CliRunner()
    res = runner.invoke(app, ["kpi", *map(str, files.values()), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "Uitstroom naar werk binnen 24 maanden" in res.output
    assert (tmp_path / "out" / "figures" / "kpi_uitstroom_werk.png").is_file()
    res = runner.invoke(app, ["capacity"])
    assert res.exit_code == 0, res.output
    assert "2,9 fte" in res.output
    res = runner.invoke(app, ["capacity", "--clients", "120", "--out", str(tmp_path / "cap")])
    assert res.exit_code == 0 and (tmp_path / "cap" / "tables" / "capaciteit_contactschema.csv").is_file()
    res = runner.invoke(app, ["kpi", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2


# --------------------------------------------------------------------------- figures


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [t.get_text() for t in fig.texts]


def test_figures_dutch_labels_and_small_cells():
    import matplotlib.pyplot as plt

    from caseload.capacity import fte_from_contacts, fte_from_norm
    from caseload.figures.kpi import (
        benchmark_figure,
        capacity_figure,
        durability_figure,
        kpi_target_figure,
    )
    from caseload.kpi import peer_values

    cohort = _kpi_cohort()
    cohort["groep"] = ["a"] * 7 + ["b"] * 3          # group b has 3 spells: below the threshold of 5
    kpi = outflow_to_work(cohort, by="groep")
    fig = kpi_target_figure(kpi, by="groep", peildatum=PEIL_KPI)
    texts = _texts(fig)
    assert "< 5, niet getoond" in texts
    assert fig.axes[0].get_xlabel() == "Aandeel uitgestroomd naar werk"
    assert any("Doel 80%" == h.get_label() for h in fig.axes[0].get_legend().legend_handles)
    plt.close(fig)

    fig = durability_figure(durability(_return_spells()), lang="en")
    assert "1 judged, 2 too recent" not in _texts(fig)     # 3 judged at 6 months is below 5: not drawn
    assert any("< 5 judged" in t for t in _texts(fig))
    plt.close(fig)

    cbs = load_cbs_municipalities()
    fig = benchmark_figure(peer_values(cbs, "GM0168"), benchmark_municipality(cbs, "GM0168"), year=2017)
    # the own municipality's percentile is in the panel title (a label above the marker was crossed
    # by the median line)
    assert fig.axes[0].get_title(loc="left").startswith("Bijstandsdichtheid (per 1.000 inwoners) · ")
    assert "percentiel" in fig.axes[0].get_title(loc="left")
    plt.close(fig)

    fig = capacity_figure(fte_from_contacts({"tot27": 3, "45plus_geen_kansen": 40}), norm=fte_from_norm(43))
    assert any("< 5 cl." in t for t in _texts(fig)) and any("(40 cl.)" in t for t in _texts(fig))
    plt.close(fig)


def test_row_order_index_and_id_dtypes_do_not_matter():
    spells = _return_spells()
    shuffled = spells.sample(frac=1, random_state=1)
    shuffled.index = range(100, 100 + len(shuffled))
    shuffled["client_id"] = shuffled["client_id"].astype(object)
    pd.testing.assert_frame_equal(durability(shuffled), durability(spells))
    pd.testing.assert_frame_equal(revolving_door(shuffled), revolving_door(spells))
    cohort = _kpi_cohort()
    cohort.index = list("abcdefghij")
    assert outflow_to_work(cohort)["estimate"].iloc[0] == pytest.approx(13 / 30)
    no_assessments = pd.DataFrame({"client_id": pd.Series([], dtype="string"),
                                   "assessed_on": pd.Series([], dtype="datetime64[ns]"),
                                   "caseworker_segment": pd.Series([], dtype="string")})
    assert select_cohort(cohort, assessments=no_assessments, segments=["A"]).empty


def test_extract_indicators_hand_counts_and_benchmark(cbs):
    from caseload.kpi import extract_indicators

    rows = [
        ("a", "2015-03-01", None, None),                 # on benefit 31-12-2017
        ("b", "2017-02-01", "2017-06-30", "werk"),       # in and out in 2017, to work
        ("b", "2017-09-01", None, None),                 # back: in again (b counted once), on 31-12
        ("c", "2016-01-01", "2017-12-31", "verhuizing"),  # ends on 31-12: out, not in the stock
        ("d", "2017-12-31", None, None),                 # starts on 31-12: in and in the stock
    ]
    spells = _spells(rows, "2018-06-30")
    got = extract_indicators(spells, 2017, inhabitants=2000)
    assert got == {"density": pytest.approx(1000 * 3 / 2000), "inflow_per_1000": pytest.approx(1000 * 2 / 2000),
                   "outflow_per_1000": pytest.approx(1000 * 2 / 2000), "outflow_work_share": pytest.approx(50.0)}
    res = benchmark_municipality(cbs, "GM0168", values=got, indicators=list(got)).set_index("indicator")
    assert res.loc["density", "value"] == pytest.approx(1.5) and res.loc["density", "rank"] == res.loc["density",
                                                                                                       "n_peers"]
