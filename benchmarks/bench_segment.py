"""Benchmark: segmenting 500,000 clients, and scoring them with a fitted model.

Targets (issue 3): rules + profiles + PMC table for 500,000 clients under 5 s;
scoring with a fitted model under 2 s. Alternative measured in the same run: the
rules evaluated row by row with ``DataFrame.apply`` (the obvious pandas way),
on a 50,000-client subset and extrapolated linearly to 500,000.

The 500,000 clients are drawn directly with numpy (the simulator is built for
realism, not for this size): one open spell and one assessment per client, couples
sharing a dossier, competences around the six prototypes.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd

N = 500_000
N_APPLY = 50_000


def make_caseload(n: int = N, seed: int = 0):
    from caseload.schema import BARRIERS, COMPETENCES, Caseload
    from caseload.segment import DEFAULT_PROTOTYPES

    rng = np.random.default_rng(seed)
    peil = pd.Timestamp("2025-12-31")
    ids = pd.array([f"{i:020x}" for i in range(n)], dtype="string")
    muni = rng.choice(np.array(["GM0168", "GM0037", "GM0047", "GM0505", "GM0590"]), n)
    # Couples: 15% of clients share a dossier with the next client.
    dossier = np.arange(n)
    pair = (rng.random(n) < 0.15) & (np.arange(n) % 2 == 0)
    dossier[1:][pair[:-1]] = dossier[:-1][pair[:-1]]
    clients = pd.DataFrame({
        "client_id": ids, "municipality": pd.array(muni, dtype="string"),
        "birth_year": pd.array(rng.integers(1960, 2006, n), dtype="Int64"),
        "sex": pd.array(rng.choice(["M", "V"], n), dtype="string"),
        "household": pd.array(rng.choice(["alleenstaand", "alleenstaande_ouder", "paar"], n), dtype="string"),
        "education": pd.array(rng.choice(["laag", "middel", "hoog"], n), dtype="string"),
        "migration_background": pd.array(rng.choice(["nederland", "europa", "buiten_europa"], n), dtype="string"),
        "statushouder": pd.array(rng.random(n) < 0.08, dtype="boolean"),
        "new_target_group": pd.array(rng.random(n) < 0.05, dtype="boolean"),
    })
    start = peil - pd.to_timedelta(rng.integers(30, 365 * 12, n), unit="D")
    spells = pd.DataFrame({
        "spell_id": ids, "client_id": ids, "dossier_id": pd.array(dossier.astype(str), dtype="string"),
        "municipality": clients["municipality"], "benefit": "PW", "start_date": start,
        "end_date": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        "end_reason": pd.array([None] * n, dtype="string"),
    })
    protos = np.array([DEFAULT_PROTOTYPES[k] for k in "123456"])
    comp = np.clip(np.round((protos[rng.integers(0, 6, n)] + rng.normal(0, 0.5, (n, 7))) * 2) / 2, 1, 5)
    assessments = pd.DataFrame({
        "client_id": ids,
        "assessed_on": peil - pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "ladder_step": pd.array(rng.integers(1, 7, n), dtype="Int64"),
        "werkfit": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        **{b: pd.array(rng.random(n) < 0.2, dtype="boolean") for b in BARRIERS},
        **{c: comp[:, i] for i, c in enumerate(COMPETENCES)},
    })
    return Caseload(clients=clients, spells=spells, assessments=assessments, peildatum=peil)


def _rowwise_rules(df: pd.DataFrame) -> pd.Series:
    """The default rule table, evaluated one row at a time (the alternative)."""
    barriers = ["barrier_language", "barrier_debts", "barrier_care", "barrier_health", "barrier_childcare"]

    def one(row):
        step = row["ladder_step"]
        n_bar = sum(bool(row[b]) for b in barriers)
        if step <= 2:
            return "C"
        if row["barrier_health"] and step <= 3:
            return "C"
        if n_bar >= 3:
            return "C"
        if step >= 5:
            return "A"
        if row["werkfit"] and step >= 4 and n_bar == 0:
            return "A"
        return "B"

    return df.apply(one, axis=1)


def main() -> dict:
    import caseload.synth as synth
    from caseload.segment import SegmentModel, apply_rules, client_frame, segment, training_frame

    t0 = time.perf_counter()
    cl = make_caseload()
    t_make = time.perf_counter() - t0

    # Warm-up on a small caseload (imports, first-call costs), then the timed run.
    segment(make_caseload(2000, seed=1), config={"fairness": False})
    t0 = time.perf_counter()
    result = segment(cl, config={"fairness": False})
    t_segment = time.perf_counter() - t0
    assert len(result.clients) == N
    assert result.pmc_table["n"].sum() == N

    # Model: fitted on a synthetic history, then scoring the 500,000 clients.
    hist = training_frame(synth.generate(n_clients=3000, random_state=0))
    model = SegmentModel().fit(hist)
    frame = client_frame(cl)
    t0 = time.perf_counter()
    p = model.predict_proba(frame)[:, 1]
    seg = model.segments_from_p(p)
    t_score = time.perf_counter() - t0
    t0 = time.perf_counter()
    result_model = segment(cl, config={"fairness": False}, model=model)
    t_segment_model = time.perf_counter() - t0
    assert (result_model.clients["segment_model"].astype(str).to_numpy() == seg).all()

    # Alternative: row-wise DataFrame.apply on a subset, extrapolated.
    sub = frame.iloc[:N_APPLY]
    t0 = time.perf_counter()
    rowwise = _rowwise_rules(sub)
    t_apply = (time.perf_counter() - t0) * (N / N_APPLY)
    t0 = time.perf_counter()
    vec = apply_rules(sub)["segment"]
    t_vec_sub = time.perf_counter() - t0
    assert (rowwise.to_numpy() == vec.astype(str).to_numpy()).all(), "row-wise and vectorised rules differ"
    t0 = time.perf_counter()
    apply_rules(frame)
    t_rules_full = time.perf_counter() - t0

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n_clients": N,
        "make_data_seconds": round(t_make, 2),
        "segment_rules_profiles_pmc_seconds": round(t_segment, 2),
        "target_segment_seconds": 5.0,
        "score_model_seconds": round(t_score, 3),
        "target_score_seconds": 2.0,
        "segment_with_model_seconds": round(t_segment_model, 2),
        "rules_vectorised_500k_seconds": round(t_rules_full, 3),
        "rules_vectorised_50k_seconds": round(t_vec_sub, 3),
        "alternative": "row-wise DataFrame.apply of the same rules, 50,000 rows, extrapolated x10",
        "rules_rowwise_apply_500k_seconds_extrapolated": round(t_apply, 2),
        "speedup_vectorised_vs_apply": round(t_apply / t_rules_full, 1),
        "peak_rss_mb": round(peak_mb),
        "passed": bool(t_segment < 5.0 and t_score < 2.0),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
