"""``generate``: a synthetic :class:`~caseload.schema.Caseload` with ground truth."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema import (
    ACTIVITIES,
    ASSESSMENTS,
    BARRIERS,
    CLIENTS,
    COMPETENCES,
    SPELLS,
    Caseload,
    conform,
)
from caseload.synth import population as pop
from caseload.synth.activities import activities as _activities

__all__ = ["generate", "parse_disparity", "MUNICIPALITY_WEIGHTS", "SEGMENT_CUTOFFS"]

MUNICIPALITY_WEIGHTS = {"GM0168": 0.8, "GM0037": 1.25, "GM0047": 1.0}
"""Relative caseload size of the default municipalities (Losser, Stadskanaal,
Veendam); any other CBS code gets weight 1.0."""

SEGMENT_CUTOFFS = (0.66, 0.25)
"""AMS-style cut-offs on ``true_p_work_6m``: A at or above 0.66, C below 0.25."""

CASEWORKER_NOISE = 2.5
CASEWORKER_OPTIMISM = 1.4
"""Standard deviation of the caseworker's error on the logit of the work chance,
and its mean (caseworkers are optimistic): a caseworker puts about a third of the
new inflow in A (the VNG/OVAL screening share), where the true six-month chance
of few people reaches the AMS cut-off of 0.66."""

CASEWORKER_PROFILE_ERROR = 0.12
"""Share of assessments where the caseworker picks a random profile."""

_DISPARITY_COLUMNS = ("sex", "migration_background", "education", "statushouder",
                      "work_limitation", "new_target_group", "household")


_DISPARITY_LEVELS = {
    "sex": ("M", "V"),
    "migration_background": pop.MIGRATIONS,
    "education": pop.EDUCATIONS,
    "household": pop.HOUSEHOLDS,
}
_BOOL_COLUMNS = ("statushouder", "work_limitation", "new_target_group")
_TRUE = {"1", "true", "ja", "yes", "waar"}
_FALSE = {"0", "false", "nee", "no", "onwaar"}


def parse_disparity(text: str | Mapping | None) -> dict | None:
    """Read a disparity as ``column=value:odds_ratio`` (the CLI's ``--disparity``).

    Parameters
    ----------
    text : str, dict or None
        ``"sex=V:1.5"``: the odds of exit to work within six months of clients with
        ``sex == "V"`` are multiplied by 1.5. Boolean columns take ``ja``/``nee``
        (or true/false, 1/0). A dict is checked and returned.

    Returns
    -------
    dict or None
        ``{"column", "value", "odds_ratio"}``.

    Raises
    ------
    CaseloadError
        For an unknown column or level, or an odds ratio that is not a positive number.

    Examples
    --------
    >>> parse_disparity("sex=V:1.5")
    {'column': 'sex', 'value': 'V', 'odds_ratio': 1.5}
    >>> parse_disparity("statushouder=ja:0.7")
    {'column': 'statushouder', 'value': True, 'odds_ratio': 0.7}
    """
    if text is None:
        return None
    if isinstance(text, Mapping):
        d = dict(text)
        col, val, orr = d.get("column"), d.get("value"), d.get("odds_ratio")
    else:
        m = re.fullmatch(r"\s*([A-Za-z_]+)\s*=\s*([^:]+?)\s*:\s*([^\s]+)\s*", str(text))
        if m is None:
            raise CaseloadError(f"cannot read the disparity {text!r}.", column="disparity", value=str(text),
                                fix="Write column=value:odds_ratio, e.g. sex=V:1.5 or "
                                    "migration_background=buiten_europa:1.5.")
        col, val, orr = m.groups()
    if col not in _DISPARITY_COLUMNS:
        raise CaseloadError(f"disparity column {col!r} is not a client attribute.", column="disparity",
                            value=str(col), fix=f"Use one of {', '.join(_DISPARITY_COLUMNS)}.")
    if col in _BOOL_COLUMNS:
        if isinstance(val, (bool, np.bool_)):
            val = bool(val)
        elif str(val).strip().lower() in _TRUE | _FALSE:
            val = str(val).strip().lower() in _TRUE
        else:
            raise CaseloadError(f"disparity value {val!r} for {col} is not yes/no.", column="disparity",
                                value=str(val), fix="Use ja or nee (true/false, 1/0).")
    elif val not in _DISPARITY_LEVELS[col]:
        raise CaseloadError(f"disparity value {val!r} is not a level of {col}.", column="disparity",
                            value=str(val), fix=f"Use one of {', '.join(_DISPARITY_LEVELS[col])}.")
    try:
        orr = float(orr)
    except (TypeError, ValueError):
        orr = float("nan")
    if not (np.isfinite(orr) and orr > 0):
        raise CaseloadError(f"disparity odds ratio must be a positive number, got {orr!r}.",
                            column="disparity", fix="Use e.g. 1.5 (odds x 1.5) or 0.67 (odds / 1.5).")
    return {"column": col, "value": val, "odds_ratio": orr}


def _validate(n_clients, municipalities, peildatum, start, disparity):
    if not isinstance(n_clients, (int, np.integer)) or n_clients < 1:
        raise CaseloadError(f"n_clients must be a positive whole number, got {n_clients!r}.",
                            fix="Pass e.g. n_clients=3000.")
    if isinstance(municipalities, str):
        municipalities = (municipalities,)
    municipalities = tuple(municipalities)
    bad = [m for m in municipalities if not re.fullmatch(r"GM\d{4}", str(m))]
    if not municipalities or bad:
        raise CaseloadError(f"municipalities must be CBS codes like 'GM0168'; got {bad or municipalities!r}.",
                            fix="Use the CBS municipality code: 'GM' and four digits.")
    if len(set(municipalities)) != len(municipalities):
        raise CaseloadError(f"municipalities has duplicates: {municipalities!r}.",
                            fix="Name each municipality once.")
    try:
        peil = pd.Timestamp(peildatum).normalize()
        st = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as exc:
        raise CaseloadError(f"peildatum/start must be dates, got {peildatum!r}, {start!r}.",
                            fix="Use ISO dates such as '2025-12-31'.") from exc
    if not st < peil:
        raise CaseloadError(f"start {st.date()} must lie before peildatum {peil.date()}.",
                            fix="Choose a start date (e.g. 2008-01-01) before the peildatum.")
    if disparity is not None and not isinstance(disparity, (str, Mapping)):
        raise CaseloadError("disparity must be None, 'column=value:odds_ratio' or a dict with keys "
                            "column, value, odds_ratio.",
                            fix='Pass e.g. "sex=V:1.5" or {"column": "migration_background", "value": '
                                '"buiten_europa", "odds_ratio": 1.5}.')
    return int(n_clients), municipalities, peil, st, parse_disparity(disparity)


def _person_attribute(p: dict, hh: dict, column: str) -> np.ndarray:
    """A client attribute as it appears in the clients table, for the disparity mask."""
    if column == "sex":
        return p["sex"]
    if column == "migration_background":
        return np.array(pop.MIGRATIONS, dtype=object)[p["mig"]]
    if column == "education":
        return np.array(pop.EDUCATIONS, dtype=object)[p["edu"]]
    if column == "household":
        return np.array(pop.HOUSEHOLDS, dtype=object)[hh["household"][p["hh"]]]
    return {"statushouder": p["statushouder"], "work_limitation": p["work_limitation"],
            "new_target_group": p["ntg"]}[column]


def _client_numbers(rng, n: int) -> np.ndarray:
    """Distinct 7-digit client numbers that fail the BSN eleven-test even when zero-padded."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        cand = 1_000_000 + rng.choice(9_000_000, size=min(int((n - len(out)) * 1.2) + 16, 9_000_000),
                                      replace=False)
        digits = np.stack([(cand // 10 ** (8 - i)) % 10 for i in range(9)], axis=1)
        weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1])
        bsn_like = (digits @ weights) % 11 == 0
        out = np.unique(np.concatenate([out, cand[~bsn_like]]))
    return rng.permutation(out)[:n]


def _inflow_reasons(rng, start_dates: pd.DatetimeIndex, age: np.ndarray, statushouder: np.ndarray,
                    ntg: np.ndarray) -> np.ndarray:
    """A realistic mix of inflow-reason codes (``schema.inflow_reasons()``)."""
    base = {"11": 0.28, "14": 0.17, "2": 0.10, "1": 0.07, "41": 0.08, "42": 0.06, "13": 0.04,
            "40": 0.05, "17": 0.02, "35": 0.04, "25": 0.01, "33": 0.01, "34": 0.02, "4": 0.02,
            "5": 0.03}
    # codes that exist only from some date; before it they fall back to code 39 or 11
    since = {"41": "2015-10-28", "42": "2018-05-14", "43": "2018-06-19", "35": "2017-11-29",
             "33": "2017-11-08", "34": "2017-11-08", "31": "2015-10-28", "32": "2015-10-28"}
    until = {"5": "2015-10-28"}
    codes = np.array(list(base))
    w = np.array(list(base.values()))
    n = len(age)
    out = codes[rng.choice(len(codes), size=n, p=w / w.sum())].astype(object)
    young = age < 27
    out[young & (rng.random(n) < 0.25)] = "1"
    out[ntg] = np.where(rng.random(ntg.sum()) < 0.5, "1", "32")
    out[statushouder] = "43"
    for code, day in since.items():
        early = (out == code) & (start_dates < pd.Timestamp(day))
        out[early] = "4" if code == "43" else ("1" if code == "32" else "11")
    for code, day in until.items():
        out[(out == code) & (start_dates >= pd.Timestamp(day))] = "11"
    return out


def generate(
    n_clients: int = 3000,
    municipalities: Sequence[str] = ("GM0168", "GM0037", "GM0047"),
    peildatum: str | pd.Timestamp = "2025-12-31",
    start: str | pd.Timestamp = "2008-01-01",
    random_state: int | None = 0,
    disparity: Mapping | None = None,
) -> Caseload:
    """Generate a synthetic caseload extract with ground truth.

    Parameters
    ----------
    n_clients : int
        Number of clients (persons) in the extract: everyone with a benefit spell
        open on or after ``start``. A couple is two clients with one dossier.
    municipalities : sequence of str
        CBS codes. Default Losser (GM0168), Stadskanaal (GM0037), Veendam (GM0047);
        sizes follow :data:`MUNICIPALITY_WEIGHTS`.
    peildatum : date-like
        Reference date of the extract; spells still running then have no end date.
    start : date-like
        First day of the extract window. Spells that started earlier but were
        open on ``start`` are included with their true start date (left truncation);
        assessments and activities are only recorded from ``start``.
    random_state : int or None
        Seed; the same seed gives identical tables.
    disparity : str or dict, optional
        ``"sex=V:1.5"`` (:func:`parse_disparity`) or
        ``{"column": ..., "value": ..., "odds_ratio": ...}``: multiply the odds of
        exit to work within 6 months, for clients whose ``column`` equals ``value``,
        by ``odds_ratio``, *without* any assessment feature carrying it. A model
        that does not see ``column`` then under-predicts the group's work exits.
        ``None`` (default): group membership is independent of the outcome given
        the features. The odds ratio is exact, per assessment, between the
        dossier's true probability with and without the disparity (its work hazard
        scaled, the scale found by bisection); a couple shares one outcome, so for
        a couple with one partner in the group the odds are multiplied by
        ``odds_ratio ** 0.5``.

    Returns
    -------
    Caseload
        ``clients``, ``spells``, ``assessments``, ``activities`` conforming to the
        schema, with ground truth in extra ``true_*`` columns:
        ``assessments.true_p_work_6m`` (exact probability of exit to work within 6
        months of the assessment under the generator's hazards),
        ``true_p_work_6m_base`` (the same without the disparity),
        ``true_segment`` (A/B/C by :data:`SEGMENT_CUTOFFS`), ``true_profile``,
        ``true_hazard_work``, ``true_hazard_other`` (monthly); ``clients.true_profile``
        and ``clients.true_disparity_group``; ``spells.true_type`` (``aanvrager`` or
        ``partner``) and ``spells.true_amount_factor`` (share of the norm paid).

    Notes
    -----
    Persons and households are both countable: a couple (household ``paar`` or
    ``paar_met_kinderen``) is two clients sharing one ``dossier_id``; each has a
    spell with the same dates and end reason. A client keeps the household form,
    municipality and background over all spells. See :mod:`caseload.synth.population`
    for the model and the README for the calibration targets.

    Examples
    --------
    >>> from caseload.synth import generate
    >>> cl = generate(n_clients=200, random_state=1)
    >>> len(cl.clients)
    200
    """
    n_clients, municipalities, peil, st, disparity = _validate(n_clients, municipalities, peildatum, start,
                                                               disparity)
    rng = np.random.default_rng(random_state)
    clock = pop._Clock(st, peil)
    weights = np.array([MUNICIPALITY_WEIGHTS.get(m, 1.0) for m in municipalities])
    weights = weights / weights.sum()
    mask_fn = None
    odds_ratio = 1.0
    if disparity is not None:
        col, val = disparity["column"], disparity["value"]
        odds_ratio = float(disparity["odds_ratio"])

        def mask_fn(p, hh):
            return np.asarray(_person_attribute(p, hh, col) == val, dtype=bool)

    # Simulate batches of households until enough clients have a spell in the window
    # (about 0.5 kept persons per simulated household). Batch sizes depend only on
    # n_clients and earlier batches, so the result depends on the seed only.
    batches = []
    have = 0
    need = n_clients
    while have < n_clients + 2:
        m = int(need / 0.5) + 50
        sim = _simulate_batch(rng, m, clock, weights, mask_fn, odds_ratio)
        batches.append(sim)
        have += sim["n_kept_persons"]
        need = int((n_clients + 2 - have) * 1.2) + 50
    return _build_tables(rng, batches, n_clients, clock, municipalities, peil, st)


def _simulate_batch(rng, m, clock, weights, mask_fn, odds_ratio):
    sim = pop.simulate(rng, m, clock, weights, mask_fn, odds_ratio)
    sp = sim["spells"]
    in_window = np.isnan(sp["end"]) | (sp["end"] >= clock.start)
    kept_hh = np.zeros(m, bool)
    kept_hh[sp["hh"][in_window].astype(np.int64)] = True
    sim["kept_hh"] = kept_hh
    sim["n_kept_persons"] = int(kept_hh.sum() + (kept_hh & (sim["partner"] >= 0)).sum())
    return sim


def _select_households(batches: list, n_clients: int) -> None:
    """Mark in each batch the households that make up exactly ``n_clients`` persons.

    Households are taken in simulation order (they are exchangeable); when the last
    one would overshoot by a partner, the next single household is taken instead."""
    sizes = np.concatenate([1 + (b["partner"][b["kept_hh"]] >= 0) for b in batches])
    order = np.concatenate([np.flatnonzero(b["kept_hh"]) for b in batches])
    batch_of = np.concatenate([np.full(b["kept_hh"].sum(), i) for i, b in enumerate(batches)])
    cum = np.cumsum(sizes)
    take = cum <= n_clients
    total = int(cum[take][-1]) if take.any() else 0
    if total < n_clients:
        singles = np.flatnonzero(~take & (sizes == 1))
        if not len(singles):  # pragma: no cover - needs a run of thousands of couples
            raise CaseloadError("could not reach the requested number of clients.",
                                fix="Try another random_state.")
        take[singles[0]] = True
    for i, b in enumerate(batches):
        sel = np.zeros(len(b["kept_hh"]), bool)
        sel[order[take & (batch_of == i)]] = True
        b["selected"] = sel


def _batch_frames(b: dict, clock, municipalities, hh_offset: int, person_offset: int) -> dict:
    """Persons, person-spells and assessments of the selected households of one batch."""
    hh, p, partner = b["hh"], b["p"], b["partner"]
    sel_hh = np.flatnonzero(b["selected"])
    sel_pers = np.concatenate([sel_hh, partner[sel_hh][partner[sel_hh] >= 0]])
    sel_pers.sort()
    persons = pd.DataFrame({
        "_pid": person_offset + sel_pers,
        "_hid": hh_offset + p["hh"][sel_pers],
        "municipality": np.asarray(municipalities, dtype=object)[hh["muni"][p["hh"][sel_pers]]],
        "birth_t": p["birth_t"][sel_pers],
        "sex": p["sex"][sel_pers],
        "household": np.asarray(pop.HOUSEHOLDS, dtype=object)[hh["household"][p["hh"][sel_pers]]],
        "education": np.asarray(pop.EDUCATIONS, dtype=object)[p["edu"][sel_pers]],
        "statushouder": p["statushouder"][sel_pers],
        "migration_background": np.asarray(pop.MIGRATIONS, dtype=object)[p["mig"][sel_pers]],
        "work_limitation": p["work_limitation"][sel_pers],
        "new_target_group": p["ntg"][sel_pers],
        "true_profile": p["profile"][sel_pers] + 1,
        "true_disparity_group": b["group"][sel_pers],
        "_partner": sel_pers >= p["m"],
    })
    sp = b["spells"]
    hidx = sp["hh"].astype(np.int64)
    keep = b["selected"][hidx] & (np.isnan(sp["end"]) | (sp["end"] >= clock.start))
    hs = pd.DataFrame({"_hh": hidx[keep], "_no": sp["no"][keep].astype(np.int64),
                       "t_start": sp["start"][keep], "t_end": sp["end"][keep],
                       "reason": sp["reason"][keep].astype(np.int64)})
    hs["_hsid"] = np.arange(len(hs))
    main = hs.assign(_person=hs["_hh"], type="aanvrager")
    part = hs[partner[hs["_hh"]] >= 0]
    part = part.assign(_person=partner[part["_hh"]], type="partner")
    spells = pd.concat([main, part], ignore_index=True)
    spells["_hid"] = hh_offset + spells["_hh"]
    spells["_pid"] = person_offset + spells["_person"]

    a = b["assess"]
    person = a["person"].astype(np.int64)
    ka = b["selected"][p["hh"][person]]
    barriers = a["barriers"][ka]
    comp = a["comp"][ka]
    assess = pd.DataFrame({
        "_pid": person_offset + person[ka],
        "_hid": hh_offset + p["hh"][person[ka]],
        "_no": a["spell_no"][ka].astype(np.int64),
        "t": a["t"][ka],
        "ladder_step": a["ladder"][ka].astype(np.int64),
        "werkfit": a["werkfit"][ka],
        **{c: barriers[:, i] for i, c in enumerate(BARRIERS)},
        **{c: comp[:, i] for i, c in enumerate(COMPETENCES)},
        "true_p_work_6m": a["p6"][ka],
        "true_p_work_6m_base": a["p6_base"][ka],
        "true_hazard_work": a["hw"][ka],
        "true_hazard_other": a["ho"][ka],
        "true_profile": p["profile"][person[ka]] + 1,
        "_ntg": p["ntg"][person[ka]],
        "_wl": p["work_limitation"][person[ka]],
        "_birth_t": p["birth_t"][person[ka]],
    })
    return {"persons": persons, "spells": spells, "assess": assess}


PERIOD_MONTHS = 3
"""Length of a payment period row in the gws layout (calendar quarters)."""

NORM_2025 = {"single": 1401.50, "couple": 2002.15}
"""Approximate monthly social-assistance norms in the first half of 2025 (euro);
earlier years are deflated by 1% per half year (the norms are indexed each
January and July)."""


def _segment(p: np.ndarray) -> np.ndarray:
    hi, lo = SEGMENT_CUTOFFS
    return np.where(p >= hi, "A", np.where(p < lo, "C", "B")).astype(object)


def _build_tables(rng, batches, n_clients, clock, municipalities, peil, st) -> Caseload:
    _select_households(batches, n_clients)
    frames = []
    hh_off = p_off = 0
    for b in batches:
        frames.append(_batch_frames(b, clock, municipalities, hh_off, p_off))
        hh_off += len(b["kept_hh"])
        p_off += b["p"]["n"]
    def stack(key):
        if len(frames) == 1:
            return frames[0][key]
        return pd.concat([f[key] for f in frames], ignore_index=True)

    persons, spells, assess = stack("persons"), stack("spells"), stack("assess")
    frames.clear()
    assert len(persons) == n_clients

    # ---- identifiers: 7-digit client and dossier numbers, never BSN-like
    hs_key = spells["_hid"].to_numpy() * 10_000 + spells["_no"].to_numpy()
    hs_codes, hs_index = np.unique(hs_key, return_inverse=True)
    numbers = _client_numbers(rng, n_clients + len(hs_codes))
    client_no = pd.Series(numbers[:n_clients].astype(str), index=persons["_pid"].to_numpy())
    dossier_no = numbers[n_clients:].astype(str)
    persons["client_id"] = client_no.to_numpy()
    birth = clock.dates(persons["birth_t"].to_numpy())
    persons["birth_date"] = birth
    persons["birth_year"] = pd.DatetimeIndex(birth).year

    # ---- spells
    spells["client_id"] = client_no.loc[spells["_pid"].to_numpy()].to_numpy()
    spells["dossier_id"] = dossier_no[hs_index]
    pers_idx = persons.set_index("_pid")
    spells["municipality"] = pers_idx["municipality"].loc[spells["_pid"]].to_numpy()
    spells["household"] = pers_idx["household"].loc[spells["_pid"]].to_numpy()
    spells["start_date"] = clock.dates(spells["t_start"].to_numpy())
    end = spells["t_end"].to_numpy()
    spells["end_date"] = pd.to_datetime(np.where(np.isnan(end), np.datetime64("NaT"),
                                                 clock.dates(np.nan_to_num(end))))
    reason = spells["reason"].to_numpy()
    spells["end_reason"] = np.where(reason >= 0, np.asarray(pop.END_CODES, dtype=object)[reason],
                                    None)
    age_start = (spells["t_start"].to_numpy() - pers_idx["birth_t"].loc[spells["_pid"]].to_numpy()) / 12
    # the inflow reason and benefit belong to the household's dossier: draw for the applicant
    main = spells["type"].to_numpy() == "aanvrager"
    sdates = pd.DatetimeIndex(spells["start_date"])
    reasons = _inflow_reasons(rng, sdates, age_start,
                              pers_idx["statushouder"].loc[spells["_pid"]].to_numpy(),
                              pers_idx["new_target_group"].loc[spells["_pid"]].to_numpy())
    benefit = np.full(len(spells), "PW", dtype=object)
    older = age_start >= 50
    benefit[older & (reasons == "14") & (rng.random(len(spells)) < 0.4)] = "IOAW"
    benefit[older & (reasons == "13") & (rng.random(len(spells)) < 0.5)] = "IOAZ"
    by_dossier = pd.DataFrame({"d": hs_index[main], "r": reasons[main], "b": benefit[main]})
    by_dossier = by_dossier.set_index("d")
    spells["inflow_reason"] = by_dossier["r"].loc[hs_index].to_numpy()
    spells["benefit"] = by_dossier["b"].loc[hs_index].to_numpy()
    # share of the norm actually paid: most get the full norm, some have income
    factor = np.where(rng.random(len(hs_codes)) < 0.72, 1.0, rng.uniform(0.25, 0.95, len(hs_codes)))
    spells["true_amount_factor"] = factor[hs_index].round(3)
    spells = spells.sort_values(["client_id", "start_date"], kind="stable").reset_index(drop=True)
    spells["spell_id"] = [f"U{i:08d}" for i in range(1, len(spells) + 1)]
    # number of period rows and the amount of the last one, without building the periods
    _, _, _, k0, k1 = _period_bounds(spells, st, peil)
    spells["n_periods"] = k1 - k0 + 1
    spells["amount"] = _period_amounts(spells, k1, np.arange(len(spells)))
    spells["peildatum"] = peil

    # ---- assessments
    assess["client_id"] = client_no.loc[assess["_pid"].to_numpy()].to_numpy()
    assess["assessed_on"] = clock.dates(assess["t"].to_numpy())
    assess["true_segment"] = _segment(assess["true_p_work_6m"].to_numpy())
    p = np.clip(assess["true_p_work_6m"].to_numpy(), 1e-6, 1 - 1e-6)
    seen = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + rng.normal(CASEWORKER_OPTIMISM, CASEWORKER_NOISE, len(p)))))
    assess["caseworker_segment"] = _segment(seen)
    # nearest prototype, one prototype at a time (an n x 6 x 7 array would be large)
    comp = assess[list(COMPETENCES)].to_numpy()
    dist = np.column_stack([((comp - proto) ** 2).sum(axis=1) for proto in pop._PROTO])
    del comp
    prof = dist.argmin(axis=1) + 1
    wrong = rng.random(len(prof)) < CASEWORKER_PROFILE_ERROR
    prof[wrong] = rng.integers(1, 7, wrong.sum())
    assess["caseworker_profile"] = prof
    assess["peildatum"] = peil

    activities = _activities(rng, assess, spells, persons, clock, peil, st)

    clients = persons.drop(columns=["_hid", "birth_t", "_partner"]).copy()
    clients["peildatum"] = peil
    clients = clients.sort_values("client_id", kind="stable")
    clients = conform(clients.drop(columns=["_pid"]), CLIENTS)
    spells_out = conform(spells.drop(columns=["_hh", "_no", "t_start", "t_end", "reason", "_hsid",
                                              "_person", "_hid", "_pid", "type"])
                         .assign(true_type=spells["type"].to_numpy()), SPELLS)
    # order by client and date; client numbers are 7-digit strings, so numeric order is text order
    order = np.lexsort((assess["t"].to_numpy(), assess["client_id"].to_numpy().astype(np.int64)))
    private = {"_pid", "_hid", "_no", "t", "_ntg", "_wl", "_birth_t"}
    columns = [c for c in assess.columns if c not in private]
    ordered = {}
    for c in columns:
        ordered[c] = assess[c].to_numpy()[order]
    del assess
    assess_out = conform(pd.DataFrame(ordered), ASSESSMENTS)
    del ordered
    spells_out.attrs["window_start"] = st
    return Caseload(clients=clients, spells=spells_out, assessments=assess_out,
                    activities=conform(activities, ACTIVITIES), peildatum=peil)


def spell_periods(spells: pd.DataFrame, start: pd.Timestamp, peildatum: pd.Timestamp) -> pd.DataFrame:
    """Split spells into payment periods: one row per calendar quarter.

    The amount changes each January and July (norm indexation).

    Only the part of a spell inside [``start``, ``peildatum``] is covered; the
    first period of a spell that began earlier starts on ``start``. Returns
    ``spell`` (row position in ``spells``), ``period_start``, ``period_end``
    (NaT for the open last period of an open spell) and ``amount`` (euro per
    month: the household norm times ``true_amount_factor``, half the couple norm
    for each partner).
    """
    lo, e_raw, is_open, k0, k1 = _period_bounds(spells, start, peildatum)
    n = k1 - k0 + 1
    idx = np.repeat(np.arange(len(spells)), n)
    step = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    k = k0[idx] + step
    bound = (k * PERIOD_MONTHS).astype("datetime64[M]").astype("datetime64[D]")
    p_start = np.where(step == 0, lo[idx], bound)
    next_bound = ((k + 1) * PERIOD_MONTHS).astype("datetime64[M]").astype("datetime64[D]") - 1
    last = step == n[idx] - 1
    p_end = np.where(last, np.where(is_open[idx], np.datetime64("NaT"), e_raw[idx]), next_bound)
    amount = _period_amounts(spells, k, idx)
    return pd.DataFrame({"spell": idx, "period_start": p_start.astype("datetime64[ns]"),
                         "period_end": p_end.astype("datetime64[ns]"), "amount": amount})


def _period_bounds(spells: pd.DataFrame, start: pd.Timestamp, peildatum: pd.Timestamp):
    """Covered part [lo, hi] of each spell and the index of its first and last quarter."""
    s = spells["start_date"].to_numpy().astype("datetime64[D]")
    e_raw = spells["end_date"].to_numpy().astype("datetime64[D]")
    is_open = np.isnat(e_raw)
    lo = np.maximum(s, np.datetime64(pd.Timestamp(start).date()))
    hi = np.where(is_open, np.datetime64(pd.Timestamp(peildatum).date()), e_raw)
    hi = np.maximum(hi, lo)

    def quarter(d):
        return d.astype("datetime64[M]").astype(np.int64) // PERIOD_MONTHS

    return lo, e_raw, is_open, quarter(lo), quarter(hi)


def _period_amounts(spells: pd.DataFrame, k: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Monthly amount of quarter ``k`` of spell ``idx``: norm of that half year x factor."""
    couple = spells["household"].isin(["paar", "paar_met_kinderen"]).to_numpy()[idx]
    half_year = (k * PERIOD_MONTHS) // 6
    norm = (np.where(couple, NORM_2025["couple"] / 2, NORM_2025["single"])
            * 1.01 ** (half_year - (2025 - 1970) * 2))
    factor = (spells["true_amount_factor"].to_numpy()[idx] if "true_amount_factor" in spells
              else 1.0)
    return np.round(norm * factor, 2)
