"""Simulation of client careers: households, benefit spells, assessments, activities.

The simulation is in continuous time (months, float) and vectorised over
households: each loop step advances every household by one assessment interval
(6-12 months), so the number of Python iterations is the longest career in
intervals (about a hundred), never the number of clients.

Model
-----
A household (one person, or a couple with one dossier) enters benefit at a time
drawn from a yearly inflow intensity. While on benefit it is assessed at the
start of the spell and then every 6-12 months (uniform). Each assessment fixes,
until the next one, the monthly hazards

* exit to work: ``h_w = sum over the persons of exp(eta)`` with ``eta`` made of
  the ladder step, werkfit, barriers, competences, age, education and the calendar
  year, an unobserved propensity per person (:data:`FRAILTY_SD`), and effects a
  model's features carry only partly (:data:`NONLINEAR`: werkfit x ladder step,
  a competence threshold, age x spell duration), plus the optional disparity of
  the group, which no feature carries. The sizes give a true-probability AUC of
  about 0.82 for work within six months (issue 14; it was 0.97);
* other exits (verhuizing, inkomen_partner, andere_uitkering, opleiding,
  handhaving, overlijden, detentie, overig): ``h_o``, household level;
* ``aow``: deterministic at the pension age of the applicant.

Because the hazards are constant between assessments and the next assessment
is at least 6 months away, the probability of exit to work within 6 months of
an assessment is exactly ``h_w / h * (1 - exp(-h * T))`` with ``h = h_w + h_o``
and ``T = min(6, months to the pension age)``. That is ``true_p_work_6m``.
After an exit the household may return (revolving door), with a probability
and delay that depend on the end reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.schema import BARRIERS, COMPETENCES
from caseload.synth.codes import PROFILE_PROTOTYPES

DAYS_PER_MONTH = 365.25 / 12
SIM_YEARS_BEFORE_START = 30
"""Inflow is simulated from this many years before ``start``, so that spells open
at ``start`` carry a realistic (long) history."""

END_CODES = ("werk", "werk_deels", "opleiding", "verhuizing", "inkomen_partner",
             "andere_uitkering", "aow", "detentie", "overlijden", "handhaving", "overig")
_E = {c: i for i, c in enumerate(END_CODES)}
_OTHER = ("opleiding", "verhuizing", "inkomen_partner", "andere_uitkering", "detentie",
          "overlijden", "handhaving", "overig")
HOUSEHOLDS = ("alleenstaand", "alleenstaande_ouder", "paar", "paar_met_kinderen")
EDUCATIONS = ("laag", "middel", "hoog", "onbekend")
MIGRATIONS = ("nederland", "europa", "buiten_europa", "onbekend")
_COMP = list(COMPETENCES)
_BARR = list(BARRIERS)
_PROTO = np.array([[PROFILE_PROTOTYPES[p][c] for c in _COMP] for p in range(1, 7)])

# ---------------------------------------------------------------- parameters
# Relative inflow intensity per calendar year (crisis 2009-2014, refugees 2015-2017,
# tight labour market 2018-2019 and 2022-2023). Years not listed: 1.0.
INFLOW_BY_YEAR = {2009: 1.25, 2010: 1.3, 2011: 1.3, 2012: 1.35, 2013: 1.4, 2014: 1.35,
                  2015: 1.35, 2016: 1.4, 2017: 1.2, 2018: 1.0, 2019: 0.95, 2020: 1.1,
                  2021: 0.95, 2022: 0.9, 2023: 0.95, 2024: 1.0, 2025: 1.0}
# Multiplier of the work hazard per calendar year of the assessment (labour market).
WORK_BY_YEAR = {2009: 0.8, 2010: 0.8, 2011: 0.8, 2012: 0.75, 2013: 0.75, 2014: 0.85,
                2015: 0.9, 2016: 0.95, 2017: 1.05, 2018: 1.15, 2019: 1.15, 2020: 0.8,
                2021: 1.0, 2022: 1.2, 2023: 1.15, 2024: 1.05, 2025: 1.0}
# Share of refugees with a permit (statushouders) in the inflow per year.
STATUSHOUDER_BY_YEAR = {2014: 0.06, 2015: 0.14, 2016: 0.22, 2017: 0.16, 2018: 0.10,
                        2019: 0.08, 2020: 0.07, 2021: 0.08, 2022: 0.10, 2023: 0.12,
                        2024: 0.12, 2025: 0.11}
# Share of new target group (former Wajong/Wsw) in the inflow of under-30s from 2015
# (a quarter of that at older ages: the former Wsw part).
NEW_TARGET_GROUP_BY_YEAR = {2015: 0.075, 2016: 0.09, 2017: 0.1, 2018: 0.105, 2019: 0.11,
                            2020: 0.12, 2021: 0.13, 2022: 0.135, 2023: 0.135, 2024: 0.14,
                            2025: 0.15}

JOB_READY_BY_AGE = (0.6, 0.57, 0.46, 0.18)
"""Share of job-ready people in the inflow at ages 18, 27, 45 and 64 (interpolated)."""

WORK_BASE = -3.5
"""Intercept of the log monthly work hazard: age under 27, ladder step 4, no
barriers, average competences (``LADDER_EFFECT``, indexed by step)."""
LADDER_EFFECT = np.array([0.0, -0.7, -0.5, -0.25, 0.0, 0.5, 0.7])  # index = step
# Issue 14: until version 0.x the effects were about ten times larger (ladder step
# -4.4 ... +2.4, the assessment effects at full size): the true-probability AUC was
# 0.97 and a model with the generator's own form recovered it, which no real
# profiling system does. The sizes below give a true AUC of about 0.81 for work
# within six months (see docs/segmentation-fairness.md for the measurement).
WORK_COEF = {
    "werkfit": 0.8, "barrier_language": -0.6, "barrier_debts": -0.35, "barrier_care": -0.3,
    "barrier_health": -0.8, "barrier_childcare": -0.45, "competence_mean": 0.45,
    "competence_drive": 0.3, "edu_middel": 0.15, "edu_hoog": 0.35, "new_target_group": 3.0,
}
WORK_EFFECT_SCALE = 0.2
"""Multiplies the effects of the assessment other than the ladder step on the log
work hazard (werkfit, barriers, competences, education, new target group)."""
FRAILTY_SD = 0.55
"""Standard deviation of each person's unobserved work propensity (added to the log
work hazard, constant over the career): motivation, network, the things no
assessment records. The true probability knows it; no feature carries it, except
through the selection it causes (people with a low propensity stay longer, so
duration carries part of it)."""
NONLINEAR = {"werkfit_mid_ladder": 0.6, "competence_threshold": 3.3, "competence_slope": 1.0,
             "scarring_per_year": 0.3, "scarring_age": 27.0, "scarring_cap_years": 3.0}
"""Effects the segmentation model's features carry only partly: werkfit counts
extra on ladder steps 3-4 (an interaction), competences count only above a
threshold (a kink, the model has them linear), and from ``scarring_age`` each
year on the current spell lowers the log hazard (age x duration interaction,
up to ``scarring_cap_years``)."""
OTHER_EXIT_SCALE = 0.72
"""Multiplies the monthly hazards of the other exits (not death or pension)."""
WORK_PARTIAL_SHARE = 0.25
"""Share of exits to work that are partial (``werk_deels``)."""

# Return to benefit after an exit: P(return within 12 months), P(return later).
RETURN = {
    "werk": (0.16, 0.18), "werk_deels": (0.20, 0.18), "opleiding": (0.10, 0.20),
    "verhuizing": (0.0, 0.03), "inkomen_partner": (0.04, 0.12),
    "andere_uitkering": (0.04, 0.08), "aow": (0.0, 0.0), "detentie": (0.35, 0.2),
    "overlijden": (0.0, 0.0), "handhaving": (0.25, 0.15), "overig": (0.10, 0.12),
}


def _year_lookup(table: dict, default: float, years: np.ndarray) -> np.ndarray:
    lo, hi = min(table), max(table)
    arr = np.array([table.get(y, default) for y in range(lo, hi + 1)])
    idx = np.clip(years - lo, 0, hi - lo)
    out = arr[idx]
    out = np.where(years < lo, default, out)
    out = np.where(years > hi, arr[-1], out)
    return out


class _Clock:
    """Converts simulation months (float, since ``epoch``) to days and years."""

    def __init__(self, start: pd.Timestamp, peildatum: pd.Timestamp):
        self.epoch = pd.Timestamp(year=start.year - SIM_YEARS_BEFORE_START, month=1, day=1)
        self.start = self.months(start)
        self.end = self.months(peildatum + pd.Timedelta(days=1))

    def months(self, ts: pd.Timestamp) -> float:
        return (ts - self.epoch).days / DAYS_PER_MONTH

    def days(self, t: np.ndarray) -> np.ndarray:
        """Whole days since the epoch (floor)."""
        return np.floor(np.asarray(t) * DAYS_PER_MONTH).astype("int64")

    def year(self, t: np.ndarray) -> np.ndarray:
        return self.epoch.year + np.floor(np.asarray(t) / 12.0).astype("int64")

    def dates(self, t: np.ndarray) -> np.ndarray:
        d = self.days(t)
        return (np.datetime64(self.epoch.date(), "D") + d).astype("datetime64[ns]")


def aow_age(birth_year: np.ndarray) -> np.ndarray:
    """Pension (AOW) age in years: 65 for cohorts up to 1947, 67 from 1957, linear between.

    A smooth version of the real schedule (66 in 2018, 67 in 2024)."""
    return 65.0 + np.clip((birth_year - 1947) / 10 * 2, 0, 2)


def _draw_households(rng, m: int, clock: _Clock, weights: np.ndarray) -> dict:
    """Static traits of ``m`` households and their persons (main applicant first)."""
    # inflow time: monthly grid weighted by the yearly intensity
    n_months = int(np.ceil(clock.end))
    grid_years = clock.year(np.arange(n_months) + 0.5)
    w = _year_lookup(INFLOW_BY_YEAR, 1.0, grid_years)
    month = rng.choice(n_months, size=m, p=w / w.sum())
    t0 = np.minimum(month + rng.random(m), clock.end - 1e-6)
    year0 = clock.year(t0)
    muni = rng.choice(len(weights), size=m, p=weights)

    # age at first inflow: young people enter often, leave fast
    band = rng.choice(3, size=m, p=[0.27, 0.47, 0.26])
    lo = np.array([18.0, 27.0, 45.0])[band]
    hi = np.array([27.0, 45.0, 63.0])[band]
    age0 = lo + (hi - lo) * rng.random(m)

    statushouder = rng.random(m) < _year_lookup(STATUSHOUDER_BY_YEAR, 0.0, year0)
    # new target group: former Wajong (school leavers) and former Wsw (any age)
    p_ntg = _year_lookup(NEW_TARGET_GROUP_BY_YEAR, 0.0, year0) * np.where(age0 < 30, 1.0, 0.25)
    ntg = (rng.random(m) < p_ntg) & ~statushouder
    age0 = np.where(ntg & (age0 < 30), 18 + 4 * rng.random(m), age0)
    age0 = np.where(statushouder, 20 + 30 * rng.beta(1.5, 2.5, m), age0)

    r = rng.random(m)
    young = age0 < 27
    # household form by age: couples and single parents are rarer among the young
    p_single_parent = np.where(young, 0.10, np.where(age0 < 45, 0.28, 0.08))
    p_couple = np.where(young, 0.03, np.where(age0 < 45, 0.06, 0.09))
    p_couple_kids = np.where(young, 0.03, np.where(age0 < 45, 0.10, 0.04))
    p_couple = np.where(statushouder, 0.12, p_couple)
    p_couple_kids = np.where(statushouder, 0.25, p_couple_kids)
    household = np.zeros(m, dtype=np.int8)
    household[r < p_single_parent] = 1
    household[(r >= p_single_parent) & (r < p_single_parent + p_couple)] = 2
    household[(r >= p_single_parent + p_couple) & (r < p_single_parent + p_couple + p_couple_kids)] = 3
    household[ntg] = 0
    couple = household >= 2

    sex = np.where(rng.random(m) < 0.48, "V", "M").astype(object)
    sex[household == 1] = np.where(rng.random((household == 1).sum()) < 0.9, "V", "M")
    return {"t0": t0, "muni": muni, "age0": age0, "statushouder": statushouder, "ntg": ntg,
            "household": household, "couple": couple, "sex": sex}


def _draw_persons(rng, hh: dict, clock: _Clock) -> dict:
    """Persons: mains are 0..m-1 (person i belongs to household i); partners follow."""
    m = len(hh["t0"])
    partner_of = np.flatnonzero(hh["couple"])  # household of each partner
    k = len(partner_of)
    hh_of = np.concatenate([np.arange(m), partner_of])
    age0 = np.concatenate([hh["age0"], np.clip(hh["age0"][partner_of] + rng.normal(-1, 4, k), 18, 64)])
    birth_t = np.concatenate([hh["t0"], hh["t0"][partner_of]]) - age0 * 12
    sex_p = np.where(hh["sex"][partner_of] == "M", "V", "M").astype(object)
    sex = np.concatenate([hh["sex"], sex_p])
    statushouder = hh["statushouder"][hh_of]
    ntg = np.concatenate([hh["ntg"], np.zeros(k, bool)])
    n = m + k

    mig = rng.choice(4, size=n, p=[0.62, 0.12, 0.24, 0.02])
    mig[statushouder] = 2
    mig[m:] = mig[partner_of]  # partners share the migration background
    edu = rng.choice(4, size=n, p=[0.47, 0.37, 0.09, 0.07])
    edu[statushouder] = rng.choice(4, size=statushouder.sum(), p=[0.35, 0.15, 0.1, 0.4])
    edu[ntg] = 0
    work_limitation = ntg | (rng.random(n) < 0.05)
    profile = rng.choice(6, size=n, p=[0.2, 0.15, 0.2, 0.17, 0.12, 0.16])
    comp = _PROTO[profile] + rng.normal(0, 0.45, (n, len(_COMP)))
    comp -= np.where(ntg, 0.6, 0.0)[:, None]
    comp = np.clip(comp, 1, 5)
    health = rng.random(n) < 0.08 + np.clip((age0 - 30) * 0.006, 0, 0.25)
    birth_year = clock.year(birth_t)
    frailty = rng.normal(0.0, FRAILTY_SD, n)
    return {"hh": hh_of, "birth_t": birth_t, "birth_year": birth_year, "sex": sex,
            "statushouder": statushouder, "ntg": ntg, "mig": mig, "edu": edu,
            "work_limitation": work_limitation, "profile": profile, "comp": comp,
            "health": health, "frailty": frailty, "n": n, "m": m}


def _intake(rng, p: dict, idx: np.ndarray, age: np.ndarray, household: np.ndarray, first: np.ndarray,
            state: dict) -> None:
    """Set the features of persons ``idx`` at the intake assessment of a spell."""
    n = len(idx)
    edu = p["edu"][idx]
    # Two kinds of inflow: job-ready people (recent job loss, no barriers: ladder 5-6,
    # the "quickly placeable third") and people further from work.
    p_ready = np.interp(age, [18, 27, 45, 64], JOB_READY_BY_AGE)
    p_ready = np.where(p["ntg"][idx] | p["statushouder"][idx] | p["health"][idx], 0.02, p_ready)
    ready = rng.random(n) < p_ready
    score = (2.7 + 0.4 * (edu == 1) + 0.8 * (edu == 2) - 0.9 * p["health"][idx]
             - 1.0 * p["ntg"][idx] - 0.6 * p["statushouder"][idx]
             - 0.03 * np.clip(age - 30, 0, None) + rng.normal(0, 1.0, n))
    ladder_new = np.where(ready, 5 + (rng.random(n) < 0.5), np.clip(np.round(score), 1, 4)).astype(np.int8)
    # a returning client keeps roughly the step reached (work experience counts)
    old = state["ladder"][idx]
    ladder = np.where(first, ladder_new, np.clip(np.maximum(old, ladder_new) - (rng.random(n) < 0.3), 1, 6))
    state["ladder"][idx] = ladder
    state["werkfit"][idx] = np.where(ready, rng.random(n) < 0.9,
                                     rng.random(n) < 1 / (1 + np.exp(-(-1.3 + 1.1 * (ladder - 4.0)))))
    b = state["barriers"]
    lang_p = np.where(p["statushouder"][idx], 0.85, np.where(p["mig"][idx] == 2, 0.25,
                      np.where(p["mig"][idx] == 1, 0.15, 0.02)))
    b[idx, 0] = np.where(first, rng.random(n) < lang_p, b[idx, 0])
    b[idx, 1] = rng.random(n) < np.where(ready, 0.08, 0.28)
    b[idx, 2] = rng.random(n) < np.where(ready, 0.01, 0.05 + 0.06 * (age > 45))
    b[idx, 3] = p["health"][idx] | (rng.random(n) < 0.04 * ~ready)
    b[idx, 4] = rng.random(n) < np.where(household == 1, 0.35, np.where(household == 3, 0.12, 0.0)) * (1 - 0.7 * ready)
    state["drift"][idx] = np.where(first[:, None], 0.0, state["drift"][idx])


def _evolve(rng, p: dict, idx: np.ndarray, age: np.ndarray, state: dict) -> None:
    """Slow change of features between two assessments within a spell."""
    n = len(idx)
    ladder = state["ladder"][idx].astype(np.int16)
    up = rng.random(n) < np.where(p["ntg"][idx], 0.05, np.where(ladder <= 3, 0.14, 0.04))
    down = rng.random(n) < 0.04
    ladder = np.clip(ladder + up - down, 1, 6)
    state["ladder"][idx] = ladder
    wf = state["werkfit"][idx]
    redraw = rng.random(n) < 0.3
    new_wf = rng.random(n) < 1 / (1 + np.exp(-(-1.3 + 1.1 * (ladder - 4.0))))
    state["werkfit"][idx] = np.where(redraw, new_wf, wf)
    b = state["barriers"]
    b[idx, 0] &= rng.random(n) > 0.12
    b[idx, 1] = np.where(b[idx, 1], rng.random(n) > 0.15, rng.random(n) < 0.03)
    b[idx, 2] = np.where(b[idx, 2], rng.random(n) > 0.1, rng.random(n) < 0.01)
    b[idx, 3] = b[idx, 3] | (rng.random(n) < 0.005 * np.clip(age - 35, 1, None) / 5)
    b[idx, 4] &= rng.random(n) > 0.15
    state["drift"][idx] += rng.normal(0.02, 0.08, (n, 1))


def _share_household_features(rng, hh_idx: np.ndarray, partner: np.ndarray, state: dict,
                              intake: bool) -> None:
    """Partners resemble each other: debts and childcare are the household's, and at
    intake most partners are about as close to work as the applicant.

    This keeps a couple's joint work hazard (the sum of both partners' hazards)
    predictable from either partner's own assessment."""
    has = partner[hh_idx] >= 0
    main = hh_idx[has]
    part = partner[main]
    b = state["barriers"]
    b[part, 1] = b[main, 1]
    b[part, 4] = b[main, 4]
    if intake:
        copy = rng.random(len(main)) < 0.8
        state["ladder"][part[copy]] = state["ladder"][main[copy]]
        state["werkfit"][part[copy]] = state["werkfit"][main[copy]]
    else:
        # a step up of the applicant often goes with one of the partner (joint trajectory)
        follow = (state["ladder"][main] > state["ladder"][part]) & (rng.random(len(main)) < 0.5)
        state["ladder"][part[follow]] = state["ladder"][main[follow]]


def _competences(rng, p: dict, idx: np.ndarray, state: dict) -> np.ndarray:
    """Observed competence scores: true level + slow drift + measurement noise."""
    obs = p["comp"][idx] + state["drift"][idx] + rng.normal(0, 0.25, (len(idx), len(_COMP)))
    return np.clip(np.round(obs * 2) / 2, 1, 5)


def _work_eta(p: dict, idx: np.ndarray, age: np.ndarray, year: np.ndarray, comp: np.ndarray,
              state: dict, spell_years: np.ndarray | None = None) -> np.ndarray:
    """Log monthly work hazard (without disparity).

    Linear in the assessment and the person's background, plus the person's
    unobserved propensity (:data:`FRAILTY_SD`) and the effects of
    :data:`NONLINEAR`."""
    b = state["barriers"][idx]
    edu = p["edu"][idx]
    c = WORK_COEF
    nl = NONLINEAR
    ladder = state["ladder"][idx]
    werkfit = state["werkfit"][idx]
    comp_mean = comp.mean(axis=1)
    assessed = (c["werkfit"] * werkfit
                + nl["werkfit_mid_ladder"] * werkfit * ((ladder == 3) | (ladder == 4))
                + b @ np.array([c[k] for k in _BARR])
                + nl["competence_slope"] * np.clip(comp_mean - nl["competence_threshold"], 0, None)
                + c["competence_drive"] * (comp[:, 0] - 3.0)
                + c["edu_middel"] * (edu == 1) + c["edu_hoog"] * (edu == 2)
                + c["new_target_group"] * p["ntg"][idx])
    eta = (WORK_BASE + LADDER_EFFECT[ladder] + WORK_EFFECT_SCALE * assessed
           - 0.5 * (age >= 27) - 0.06 * np.clip(age - 40, 0, None)
           - 0.08 * np.clip(age - 55, 0, None)
           + p["frailty"][idx])
    if spell_years is not None:
        eta -= (nl["scarring_per_year"] * (age >= nl["scarring_age"])
                * np.clip(spell_years, 0, nl["scarring_cap_years"]))
    return eta + np.log(_year_lookup(WORK_BY_YEAR, 1.0, year))


def _other_hazards(p: dict, idx: np.ndarray, age: np.ndarray, household: np.ndarray,
                   state: dict) -> np.ndarray:
    """Monthly hazards of the other exits (columns in ``_OTHER`` order) of main persons."""
    young = age < 27
    mid = (age >= 27) & (age < 45)
    health = state["barriers"][idx, 3]
    male = p["sex"][idx] == "M"
    single = household <= 1
    h = np.empty((len(idx), len(_OTHER)))
    h[:, 0] = np.where(young, 0.02, np.where(age < 35, 0.002, 0.0002))  # opleiding
    h[:, 1] = np.where(young, 0.009, np.where(mid, 0.0055, 0.0014))  # verhuizing
    h[:, 2] = single * np.where(young, 0.009, np.where(mid, 0.0075, 0.0014))  # inkomen_partner
    h[:, 3] = 0.0014 + 0.004 * health + 0.002 * (age >= 45)  # andere_uitkering
    h[:, 4] = np.where(young & male, 0.0012, 0.0002)  # detentie
    h[:, 5] = 0.00004 * np.exp(0.085 * (age - 40))  # overlijden
    h[:, 6] = np.where(young, 0.006, np.where(mid, 0.003, 0.0017))  # handhaving
    h[:, 7] = np.where(age < 45, 0.0022, 0.0015)  # overig
    # people close to work also leave quickly by other routes: a late unemployment
    # benefit, not showing up under work-first obligations, other income
    near = state["ladder"][idx] >= 5
    h[:, 3] += 0.018 * near
    h[:, 6] += 0.022 * near
    h[:, 7] += 0.015 * near
    # the new target group stays long: few alternatives to the municipality's support
    h *= np.where(p["ntg"][idx], 0.6, 1.0)[:, None]
    h[:, :5] *= OTHER_EXIT_SCALE
    h[:, 6:] *= OTHER_EXIT_SCALE
    return h


def _p6(hw: np.ndarray, ho: np.ndarray, horizon: np.ndarray) -> np.ndarray:
    h = hw + ho
    return hw / h * -np.expm1(-h * horizon)


def _apply_disparity(hw_group: np.ndarray, ho: np.ndarray, horizon: np.ndarray,
                     odds_ratio) -> np.ndarray:
    """Work hazards that multiply the odds of exit to work within 6 months by ``odds_ratio``.

    ``odds_ratio`` is a number or one per row. Solved per row by bisection on the
    log hazard multiplier (p6 is increasing in it; 60 halvings of [-12, 12] leave
    an error of about 1e-17 on the log scale)."""
    p0 = _p6(hw_group, ho, horizon)
    odds = odds_ratio * p0 / (1 - p0)
    target = odds / (1 + odds)
    lo = np.full(len(hw_group), -12.0)
    hi = np.full(len(hw_group), 12.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        too_high = _p6(hw_group * np.exp(mid), ho, horizon) > target
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return hw_group * np.exp((lo + hi) / 2)


def simulate(rng, m: int, clock: _Clock, weights: np.ndarray, disparity_mask_fn=None,
             odds_ratio: float = 1.0) -> dict:
    """Simulate ``m`` households from their first inflow to the peildatum.

    Returns household, person, spell, assessment records (numpy arrays with local
    indices). ``disparity_mask_fn(p, hh) -> bool array`` marks the persons in the
    disparity group; the odds of the dossier's exit to work within 6 months are
    multiplied by ``odds_ratio`` (``odds_ratio ** 0.5`` when one of a couple is in the group).
    """
    hh = _draw_households(rng, m, clock, weights)
    p = _draw_persons(rng, hh, clock)
    n = p["n"]
    partner = np.full(m, -1, dtype=np.int64)
    partner[p["hh"][m:]] = np.arange(m, n)
    group = (disparity_mask_fn(p, hh) if disparity_mask_fn is not None else np.zeros(n, bool))
    t_aow = p["birth_t"][:m] + aow_age(p["birth_year"][:m]) * 12

    state = {"ladder": np.zeros(n, np.int8), "werkfit": np.zeros(n, bool),
             "barriers": np.zeros((n, len(_BARR)), bool), "drift": np.zeros((n, 1))}

    # household state: mode 0 = waiting to enter at t_enter, 1 = on benefit, 2 = done
    mode = np.zeros(m, np.int8)
    t_enter = hh["t0"].copy()
    first = np.ones(m, bool)
    spell_start = np.zeros(m)
    seg_start = np.zeros(m)
    t_assess = np.zeros(m)
    spell_no = np.zeros(m, np.int32)

    spells = {k: [] for k in ("hh", "start", "end", "reason", "no")}
    rec = {k: [] for k in ("person", "t", "ladder", "werkfit", "barriers", "comp", "p6",
                           "p6_base", "hw", "ho", "spell_no")}

    while True:
        # ---- entries
        ent = np.flatnonzero(mode == 0)
        if len(ent):
            late = t_enter[ent] >= np.minimum(clock.end, t_aow[ent] - 1)
            mode[ent[late]] = 2
            ent = ent[~late]
            mode[ent] = 1
            spell_start[ent] = t_enter[ent]
            seg_start[ent] = t_enter[ent]
            t_assess[ent] = t_enter[ent] + 0.7 * rng.random(len(ent))
            spell_no[ent] += 1
            pers = np.concatenate([ent, partner[ent][partner[ent] >= 0]])
            age = (t_assess[p["hh"][pers]] - p["birth_t"][pers]) / 12
            _intake(rng, p, pers, age, hh["household"][p["hh"][pers]], first[p["hh"][pers]], state)
            _share_household_features(rng, ent, partner, state, intake=True)
            first[ent] = False
        act = np.flatnonzero(mode == 1)
        if len(act) == 0:
            break
        # ---- one assessment interval for every household on benefit
        pers = np.concatenate([act, partner[act][partner[act] >= 0]])
        hh_p = p["hh"][pers]
        ta = t_assess[hh_p]
        age = (ta - p["birth_t"][pers]) / 12
        comp = _competences(rng, p, pers, state)
        eta = _work_eta(p, pers, age, clock.year(ta), comp, state, (ta - spell_start[hh_p]) / 12)
        hw_base_p = np.exp(eta)
        # household hazards (partners add their work hazard to the dossier's)
        pos = np.full(m, -1, np.int64)
        pos[act] = np.arange(len(act))
        slot = pos[hh_p]
        hw_base = np.bincount(slot, weights=hw_base_p, minlength=len(act))
        age_main = age[: len(act)]
        h_other = _other_hazards(p, act, age_main, hh["household"][act], state)
        ho = h_other.sum(axis=1)
        horizon = np.clip(t_aow[act] - t_assess[act], 0, 6)
        hw = hw_base
        if group.any():
            # The dossier shares one outcome: its odds of exit to work within 6 months
            # are multiplied by exactly odds_ratio ** (share of its persons in the group):
            # odds_ratio for a single person or a couple both in the group, its square
            # root for a mixed couple (issue 14).
            share = (np.bincount(slot, weights=group[pers].astype(float), minlength=len(act))
                     / np.bincount(slot, minlength=len(act)))
            d = share > 0
            if d.any():
                hw = hw_base.copy()
                hw[d] = _apply_disparity(hw_base[d], ho[d], np.maximum(horizon[d], 1e-9),
                                         odds_ratio ** share[d])
        p6 = _p6(hw, ho, horizon)
        p6_base = _p6(hw_base, ho, horizon)

        seg_end = np.minimum(np.minimum(t_assess[act] + 6 + 6 * rng.random(len(act)), t_aow[act]),
                             clock.end)
        h = hw + ho
        t_exit = seg_start[act] + rng.exponential(1.0, len(act)) / h
        exits = t_exit < seg_end
        # record the assessment if the household was still on benefit and it is in the window
        keep_a = ((ta >= clock.start) & (ta < clock.end) & (ta < seg_end[slot])
                  & (~exits[slot] | (t_exit[slot] > ta)))
        if keep_a.any():
            k = keep_a
            rec["person"].append(pers[k])
            rec["t"].append(ta[k])
            rec["ladder"].append(state["ladder"][pers[k]].copy())
            rec["werkfit"].append(state["werkfit"][pers[k]].copy())
            rec["barriers"].append(state["barriers"][pers[k]].copy())
            rec["comp"].append(comp[k])
            rec["p6"].append(p6[slot[k]])
            rec["p6_base"].append(p6_base[slot[k]])
            rec["hw"].append(hw[slot[k]])
            rec["ho"].append(ho[slot[k]])
            rec["spell_no"].append(spell_no[hh_p[k]])

        # ---- exits: reason proportional to the hazards
        ex = act[exits]
        if len(ex):
            hz = np.column_stack([hw[exits] * (1 - WORK_PARTIAL_SHARE), hw[exits] * WORK_PARTIAL_SHARE,
                                  h_other[exits]])
            cum = np.cumsum(hz, axis=1)
            u = rng.random(len(ex)) * cum[:, -1]
            choice = (u[:, None] > cum).sum(axis=1)
            codes = np.array([_E[c] for c in ("werk", "werk_deels", *_OTHER)])[choice]
            _end_spell(ex, t_exit[exits], codes, spells, spell_start, spell_no)
            _schedule_return(rng, ex, t_exit[exits], codes, mode, t_enter)
        stay = act[~exits]
        se = seg_end[~exits]
        at_aow = (se >= t_aow[stay]) & (se < clock.end)
        if at_aow.any():
            a = stay[at_aow]
            _end_spell(a, t_aow[a], np.full(len(a), _E["aow"]), spells, spell_start, spell_no)
            mode[a] = 2
        cens = se >= clock.end
        if cens.any():
            c_ = stay[cens]
            _end_spell(c_, np.full(len(c_), np.nan), np.full(len(c_), -1), spells, spell_start, spell_no)
            mode[c_] = 2
        go = stay[~at_aow & ~cens]
        if len(go):
            seg_start[go] = seg_end[~exits][~at_aow & ~cens]
            t_assess[go] = seg_start[go]
            pers_go = np.concatenate([go, partner[go][partner[go] >= 0]])
            age_go = (t_assess[p["hh"][pers_go]] - p["birth_t"][pers_go]) / 12
            _evolve(rng, p, pers_go, age_go, state)
            _share_household_features(rng, go, partner, state, intake=False)

    spell_arr = {k: np.concatenate(v) if v else np.array([]) for k, v in spells.items()}
    rec_arr = {k: np.concatenate(v) if v else np.array([]) for k, v in rec.items()}
    return {"hh": hh, "p": p, "partner": partner, "group": group, "t_aow": t_aow,
            "spells": spell_arr, "assess": rec_arr}


def _end_spell(idx, t_end, codes, spells, spell_start, spell_no) -> None:
    spells["hh"].append(idx)
    spells["start"].append(spell_start[idx].copy())
    spells["end"].append(np.asarray(t_end, dtype=float))
    spells["reason"].append(np.asarray(codes))
    spells["no"].append(spell_no[idx].copy())


def _schedule_return(rng, idx, t_exit, codes, mode, t_enter) -> None:
    n = len(idx)
    p12 = np.array([RETURN[c][0] for c in END_CODES])[codes]
    plate = np.array([RETURN[c][1] for c in END_CODES])[codes]
    u = rng.random(n)
    soon = u < p12
    later = (u >= p12) & (u < p12 + plate)
    delay = np.where(soon, 0.5 + 11.5 * rng.random(n), 12 + rng.exponential(40, n))
    back = soon | later
    mode[idx] = np.where(back, 0, 2)
    t_enter[idx] = np.where(back, t_exit + delay, np.inf)
