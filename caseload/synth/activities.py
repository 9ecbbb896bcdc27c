"""Synthetic re-integration activities: instruments, their dates and outcomes, exits by sector.

Split from :mod:`caseload.synth.generator`, which calls :func:`activities` once the
spells and assessments exist.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.synth import population as pop
from caseload.synth.codes import DROPOUT_REASONS, PROFILE_MARKETS

__all__ = ["activities"]


# Planned duration of each instrument in months (low, high).
INSTRUMENT_MONTHS = {"werkfit": (1.6, 1.6), "wep": (3, 6), "leerlijn": (4, 9),
                     "sollicitatietraining": (2.3, 2.3), "jobcoach": (2, 8), "lks": (3, 12),
                     "beschut_werk": (1, 4), "scholing": (3, 10), "taal": (6, 18)}
_MARKET_WEIGHTS = np.array([0.45, 0.25, 0.2, 0.1])


def _pick(rng, options: dict, n: int) -> np.ndarray:
    keys = np.array(list(options), dtype=object)
    w = np.array(list(options.values()), dtype=float)
    return keys[rng.choice(len(keys), size=n, p=w / w.sum())]


def _sector(rng, profile: np.ndarray) -> np.ndarray:
    markets = np.array([PROFILE_MARKETS[i] for i in range(1, 7)], dtype=object)
    j = rng.choice(4, size=len(profile), p=_MARKET_WEIGHTS)
    return markets[profile - 1, j]


def activities(rng, assess: pd.DataFrame, spells: pd.DataFrame, persons: pd.DataFrame,
                clock, peil: pd.Timestamp, st: pd.Timestamp) -> pd.DataFrame:
    """Activities consistent with the spells.

    * Placements: about 55% of exits to work (90% for the new target group) come
      with an activity of the applicant that ends on the exit date with a work
      outcome (``beschut_werk`` mostly for the new target group, ``banenafspraak``
      for others with a work limitation, otherwise ``regulier_werk``) and a sector
      linked to the client's profile.
    * Other activities start after an assessment (more often for segment B, language
      courses for language barriers) and end in dropout, completion, education or
      work (when the spell ends with work while it runs), or are still running.
    """
    # -- placements
    # one placement per household: the applicant's (a couple's spells end together)
    sp = spells[spells["end_reason"].isin(["werk", "werk_deels"]) & (spells["type"] == "aanvrager")]
    pers = persons.set_index("_pid")
    ntg_all = pers["new_target_group"].loc[sp["_pid"]].to_numpy()
    sp = sp[rng.random(len(sp)) < np.where(ntg_all, 0.9, 0.55)]
    ntg = pers["new_target_group"].loc[sp["_pid"]].to_numpy()
    wl = pers["work_limitation"].loc[sp["_pid"]].to_numpy()
    n = len(sp)
    instr = _pick(rng, {"sollicitatietraining": 0.3, "jobcoach": 0.2, "wep": 0.2,
                        "leerlijn": 0.15, "werkfit": 0.15}, n)
    instr = np.where(wl, _pick(rng, {"lks": 0.5, "jobcoach": 0.5}, n), instr)
    instr = np.where(ntg, _pick(rng, {"beschut_werk": 0.7, "lks": 0.2, "jobcoach": 0.1}, n), instr)
    outcome = np.where(instr == "beschut_werk", "beschut_werk",
                       np.where(wl, "banenafspraak", "regulier_werk")).astype(object)
    lo = np.array([INSTRUMENT_MONTHS[i][0] for i in instr])
    hi = np.array([INSTRUMENT_MONTHS[i][1] for i in instr])
    months = lo + (hi - lo) * rng.random(n)
    end = sp["end_date"].to_numpy()
    begin = np.maximum(end - (months * pop.DAYS_PER_MONTH).astype("timedelta64[D]"),
                       sp["start_date"].to_numpy())
    placements = pd.DataFrame({
        "client_id": sp["client_id"].to_numpy(), "instrument": instr,
        "start_date": begin, "end_date": end, "outcome": outcome,
        "sector": _sector(rng, pers["true_profile"].loc[sp["_pid"]].to_numpy()),
        "dropout_reason": None,
    })
    placements = placements[placements["start_date"] >= st]

    # -- activities after assessments
    seg = assess["true_segment"].to_numpy()
    lang = assess["barrier_language"].to_numpy()
    p_act = np.where(seg == "A", 0.12, np.where(seg == "B", 0.3, 0.15)) + 0.2 * lang
    a = assess[rng.random(len(assess)) < p_act]
    n = len(a)
    seg = a["true_segment"].to_numpy()
    instr = np.where(seg == "A", _pick(rng, {"sollicitatietraining": 0.6, "jobcoach": 0.4}, n),
                     np.where(seg == "B", _pick(rng, {"werkfit": 0.3, "wep": 0.25, "leerlijn": 0.15,
                                                      "scholing": 0.15, "sollicitatietraining": 0.15}, n),
                              _pick(rng, {"scholing": 0.4, "wep": 0.4, "werkfit": 0.2}, n)))
    instr = np.where(a["barrier_language"].to_numpy() & (rng.random(n) < 0.7), "taal", instr)
    instr = np.where(a["_ntg"].to_numpy() & (rng.random(n) < 0.5), "beschut_werk", instr)
    lo = np.array([INSTRUMENT_MONTHS[i][0] for i in instr])
    hi = np.array([INSTRUMENT_MONTHS[i][1] for i in instr])
    months = lo + (hi - lo) * rng.random(n)
    begin = a["assessed_on"].to_numpy() + (rng.uniform(0.2, 2.0, n) * pop.DAYS_PER_MONTH
                                           ).astype("timedelta64[D]")
    planned_end = begin + (months * pop.DAYS_PER_MONTH).astype("timedelta64[D]")
    # the spell the assessment belongs to
    key = spells[["_pid", "_no", "end_date", "end_reason"]].drop_duplicates(["_pid", "_no"])
    m = a[["_pid", "_no"]].merge(key, on=["_pid", "_no"], how="left")
    s_end = m["end_date"].to_numpy()
    s_reason = m["end_reason"].to_numpy()
    open_spell = np.isnat(s_end)
    valid = (begin <= np.where(open_spell, np.datetime64(peil), s_end)) & (begin <= np.datetime64(peil))
    grace = planned_end + np.timedelta64(31, "D")
    ends_inside = ~open_spell & (s_end <= grace)
    young = ((a["t"].to_numpy() - a["_birth_t"].to_numpy()) / 12) < 27
    outcome = np.full(n, "afgerond_geen_werk", dtype=object)
    end = planned_end.copy()
    drop = rng.random(n) < np.where(young, 0.45, 0.22)
    end = np.where(drop, begin + ((planned_end - begin) * rng.uniform(0.1, 0.9, n)).astype("timedelta64[D]"),
                   end)
    outcome[drop] = "uitval"
    work = ends_inside & np.isin(s_reason, ["werk", "werk_deels"])
    outcome[work] = np.where(instr[work] == "beschut_werk", "beschut_werk",
                             np.where(a["_wl"].to_numpy()[work], "banenafspraak", "regulier_werk"))
    study = ends_inside & (s_reason == "opleiding")
    outcome[study] = "opleiding"
    other = ends_inside & ~work & ~study & (s_end < end)
    outcome[other] = "uitval"
    end = np.where(ends_inside & (study | other), np.minimum(s_end, end), end)
    # a placement ends the activity on the day the benefit ends
    end = np.where(work, s_end, end)
    running = end > np.datetime64(peil)
    outcome[running] = "lopend"
    end = np.where(running, np.datetime64("NaT"), end)
    reasons = np.asarray(DROPOUT_REASONS, dtype=object)[rng.integers(0, len(DROPOUT_REASONS), n)]
    reasons = np.where(other, "Uitstroom uit de uitkering", reasons)
    sector = np.where(np.isin(outcome, ["regulier_werk", "banenafspraak", "beschut_werk"])
                      | np.isin(instr, ["wep", "leerlijn"]),
                      _sector(rng, a["true_profile"].to_numpy()), None)
    later = pd.DataFrame({
        "client_id": a["client_id"].to_numpy(), "instrument": instr,
        "start_date": begin, "end_date": end, "outcome": outcome, "sector": sector,
        "dropout_reason": np.where(outcome == "uitval", reasons, None),
    })[valid]
    acts = pd.concat([placements, later], ignore_index=True)
    acts["start_date"] = pd.to_datetime(acts["start_date"])
    acts["end_date"] = pd.to_datetime(acts["end_date"])
    acts = acts.sort_values(["client_id", "start_date", "instrument"], kind="stable").reset_index(drop=True)
    acts["activity_id"] = [f"A{i:08d}" for i in range(1, len(acts) + 1)]
    acts["peildatum"] = peil
    return acts
