"""The segmentation run: rules (or model), profiles, PMCs, overrides, fairness.

Overrides live in :mod:`caseload.segment.overrides`, cut-offs and metric
intervals in :mod:`caseload.segment.metrics`; their public names are re-exported
here (``__all__``) and in :mod:`caseload.segment`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError, ConfigError
from caseload.schema import (
    BARRIERS,
    COMPETENCES,
    MARKET,
    PROFILE,
    Caseload,
    label_table,
    pick_label,
)
from caseload.segment.crossfit import crossfit_groups, crossfit_predict
from caseload.segment.fairness import FAIRNESS_GROUPS, fairness_report
from caseload.segment.frames import (
    LABEL,
    _client_codes,
    _client_frame,
    _training_frame,
    time_split,
    training_frame,
)
from caseload.segment.metrics import (
    cutoff_table,
    fairness_summary,
    metric_intervals,
    resolve_cutoffs,
)
from caseload.segment.model import SegmentModel, evaluate
from caseload.segment.overrides import _overrides_from_config, apply_overrides, override_rates
from caseload.segment.profiles import (
    DEFAULT_MARKETS,
    DEFAULT_PROTOTYPES,
    assign_profiles,
    check_markets,
    cluster_profiles,
    pmc_links,
)
from caseload.segment.rules import DEFAULT_RULES, apply_rules

__all__ = ["SegmentResult", "segment", "apply_overrides", "fit_segment_model", "pmc_table",
           "candidates_table", "override_rates", "resolve_cutoffs", "cutoff_table", "fairness_summary"]

_WORDS = label_table("segment.core")


def _word(key: str, lang: str, **values) -> str:
    """A word or sentence of the ``segment.core`` group of the label catalogue in ``lang``."""
    return pick_label(_WORDS[key], lang, **values)



@dataclass
class SegmentResult:
    """What :func:`segment` returns.

    Attributes
    ----------
    clients : DataFrame
        INTERNAL, one row per client (with the pseudonym ``client_id``):
        ``municipality, segment_computed, segment, segment_reason, segment_rule,
        overridden, override_reason, override_date, profile, profile_label,
        market, pmc, pmc_label`` and ``p_work_6m`` when a model scored. Never
        publish this table.
    pmc_table : DataFrame
        The Drechtsteden table: counts by municipality x segment x profile x
        primary market (no client ids).
    candidates : DataFrame
        Per municipality and PMC: A candidates (can start now) and B candidates
        (within 3-6 months) to offer employers.
    pmc_links : DataFrame
        Long table over every linked market (a client counts in each of its
        profile's markets).
    override_rates : DataFrame
        Per computed segment: clients, overridden, rate, and where they went.
    fairness : DataFrame or None
        :func:`fairness_report` on history (assessments with a closed six-month
        window), or None when there is no history with outcomes. With a model
        fitted on the same history this is in-sample; the out-of-sample report
        (cross-fitted on all history by default, or on the hold-out) is in
        :func:`fit_segment_model`'s result and the model card.
    history : DataFrame or None
        The history examples with their segment (INTERNAL: has client ids).
        Without a model only the columns the rules and the fairness report use
        (:func:`training_frame` with ``columns``).
    clusters : DataFrame or None
        Cluster centres and their matched profiles (``profile_method="cluster"``).
    cutoffs : dict or None
        The cut-off method and the probability cut-offs used (``method, c_below,
        a_from`` and ``b_capacity`` for the capacity method); ``method`` is
        "rules" without a model.
    cutoff_table : DataFrame or None
        :func:`cutoff_table` on history: per group the cut-offs, n, share,
        observed work rate and precision.
    overrides_log : DataFrame or None
        INTERNAL (client ids): overrides not applied (unknown client, date after
        the peildatum, expired, superseded) or applied with a remark (written
        against another method's groups, ambiguous date); see :func:`apply_overrides`.
    counts : dict
        Clients, without assessment, overrides applied/unmatched, history counts.
    peildatum : Timestamp
    lang : str
    """

    clients: pd.DataFrame
    pmc_table: pd.DataFrame
    candidates: pd.DataFrame
    pmc_links: pd.DataFrame
    override_rates: pd.DataFrame
    fairness: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    clusters: pd.DataFrame | None = None
    counts: dict = field(default_factory=dict)
    peildatum: pd.Timestamp | None = None
    lang: str = "nl"
    decided_by: str = "rules"
    cutoffs: dict | None = None
    cutoff_table: pd.DataFrame | None = None
    overrides_log: pd.DataFrame | None = None

    def summary(self) -> pd.DataFrame:
        """Counts and shares of the final segment per municipality (publishable)."""
        c = self.clients
        seg = c["segment"].astype("object")
        if "reassess" in c:
            seg = seg.where(~(seg.isna() & c["reassess"]), _word("reassess", self.lang))
        seg = seg.fillna(_word("no_diagnosis", self.lang))
        t = pd.crosstab(c["municipality"], seg, margins=True,
                        margins_name=_word("total", self.lang))
        return t

    def __repr__(self) -> str:
        vc = self.clients["segment"].value_counts().reindex(list("ABC"), fill_value=0)
        return (f"SegmentResult(clients={len(self.clients):,}, A={vc['A']:,}, B={vc['B']:,}, "
                f"C={vc['C']:,}, without assessment={self.counts.get('without_assessment', 0):,}, "
                f"decided_by={self.decided_by!r})")


def _settings(config) -> dict:
    """Segment settings from a Config, a SegmentConfig, a dict or None."""
    if config is None:
        return {}
    sec = getattr(config, "segment", config)
    if hasattr(sec, "model_dump"):
        return sec.model_dump()
    return dict(sec)


def _get(cfg: dict, key: str, default):
    v = cfg.get(key)
    return default if v is None else v


def _assign_market(profiles: pd.DataFrame, markets: dict, lang: str) -> pd.DataFrame:
    """Primary market, PMC code and label per client, looked up per profile (six values)."""
    prof = profiles["profile"]
    cats = list(prof.cat.categories)
    codes = prof.cat.codes.to_numpy()
    market = [markets[p][0] if p in markets else None for p in cats]
    pmc = [f"{p}-{m}" if m else None for p, m in zip(cats, market, strict=True)]
    label = [f"{PROFILE.label(p, lang)} × {MARKET.label(m, lang)}" if m else None
             for p, m in zip(cats, market, strict=True)]

    def cat(values: list) -> pd.Categorical:
        # Profiles without a market link get a missing PMC.
        valid = [v for v in dict.fromkeys(values) if v is not None]
        lookup = np.array([valid.index(v) if v is not None else -1 for v in values] + [-1])
        return pd.Categorical.from_codes(lookup[np.where(codes < 0, len(values), codes)], categories=valid)

    return pd.DataFrame({"market": cat(market), "pmc": cat(pmc), "pmc_label": cat(label)}, index=profiles.index)


def pmc_table(clients: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """The Drechtsteden table: clients by municipality x segment x profile x primary market.

    Clients without assessment count under segment "geen diagnose", clients
    without competence scores under profile "onbekend".
    """
    def filled(col: str, missing: str) -> pd.Categorical:
        # Categorical codes: a groupby on 500,000 strings would cost more than the rest.
        c = pd.Categorical(clients[col])
        if c.isna().any():
            c = c.add_categories([missing]).fillna(missing)
        return c

    seg = filled("segment", _word("no_diagnosis", lang))
    if "reassess" in clients and clients["reassess"].any():
        redo = (clients["reassess"] & clients["segment"].isna()).to_numpy(bool)
        seg = seg.add_categories([_word("reassess", lang)])
        seg[redo] = _word("reassess", lang)
    key = pd.DataFrame({"municipality": pd.Categorical(clients["municipality"]),
                        "segment": seg,
                        "profile": filled("profile", _word("unknown", lang)),
                        "market": filled("market", _word("unknown", lang))})
    t = key.groupby(list(key.columns), sort=True, observed=True).size().rename("n").reset_index()
    for c in key.columns:
        t[c] = t[c].astype("object")
    t["profile_label"] = t["profile"].map(lambda p: PROFILE.label(p, lang) if p in PROFILE else p)
    t["market_label"] = t["market"].map(lambda m: MARKET.label(m, lang) if m in MARKET else m)
    return t[["municipality", "segment", "profile", "profile_label", "market", "market_label", "n"]]


def candidates_table(clients: pd.DataFrame, lang: str = "nl") -> pd.DataFrame:
    """Candidates per municipality and PMC: A (can start now) and B (in 3-6 months)."""
    c = clients.loc[clients["pmc"].notna() & clients["segment"].isin(["A", "B"]),
                    ["municipality", "pmc", "pmc_label", "segment"]]
    c = c.assign(municipality=pd.Categorical(c["municipality"]), segment=pd.Categorical(c["segment"]))
    t = (c.groupby(["municipality", "pmc", "pmc_label", "segment"], observed=True).size()
         .unstack("segment", fill_value=0).reindex(columns=["A", "B"], fill_value=0).reset_index())
    t.columns.name = None
    t = t.rename(columns={"A": "candidates_A", "B": "candidates_B"})
    t["municipality"] = t["municipality"].astype("object")
    t["pmc"] = t["pmc"].astype("object")
    t["pmc_label"] = t["pmc_label"].astype("object")
    return t.sort_values(["municipality", "pmc"]).reset_index(drop=True)


def _age_band_for(frame: pd.DataFrame, lang: str) -> pd.Series:
    from caseload.schema import AGE_BANDS_LOSSER, age_band
    return pd.Series(age_band(frame["age"].clip(upper=AGE_BANDS_LOSSER[-1][1]),
                              suffix=_word("age_band", lang, band="")), index=frame.index)


def segment(caseload: Caseload, config=None, overrides: pd.DataFrame | None = None,
            model: SegmentModel | None = None, lang: str = "nl") -> SegmentResult:
    """Segment the current caseload: A/B/C, profile, PMC, overrides, fairness.

    Parameters
    ----------
    caseload : Caseload
        Canonical tables; clients with a spell open at the peildatum are the
        caseload (``segment.only_open``).
    config : Config, SegmentConfig or dict, optional
        The ``[segment]`` settings; defaults as documented in the README.
    overrides : DataFrame, optional
        ``client_id, segment, reason, date`` (optionally ``method``); applied last.
        Default: the file of ``[segment] overrides_file`` when ``config`` is a
        loaded :class:`~caseload.config.Config`, as in the batch run.
    model : SegmentModel, optional
        A fitted model. It adds ``p_work_6m`` and, with ``decide_by`` "auto" or
        "model", decides the computed segment.
    lang : {"nl", "en"}
        Language of reasons and labels.

    Returns
    -------
    SegmentResult

    Examples
    --------
    >>> import caseload as cl  # doctest: +SKIP
    >>> result = cl.segment(cl.synth.generate(n_clients=500))  # doctest: +SKIP
    >>> result.pmc_table.head()  # doctest: +SKIP
    """
    cfg = _settings(config)
    rules = _get(cfg, "rules", DEFAULT_RULES)
    rules = [r if isinstance(r, dict) else dict(r) for r in rules]
    rule_barriers = _get(cfg, "rule_barriers", list(BARRIERS))
    decide_by = _get(cfg, "decide_by", "auto")
    if decide_by == "auto":
        decide_by = "model" if model is not None else "rules"
    if decide_by == "model" and model is None:
        raise CaseloadError("segment.decide_by = 'model' but no model was given.",
                            column="segment.decide_by",
                            fix="Pass model=load_model(...) (CLI: --model or --fit-model) or use 'rules'.")
    markets = check_markets(_get(cfg, "markets", DEFAULT_MARKETS))
    prototypes = _get(cfg, "prototypes", DEFAULT_PROTOTYPES)

    # One factorisation of the client ids for the current frame and the history.
    codes = _client_codes(caseload)
    f = _client_frame(caseload, _get(cfg, "only_open", True), codes)
    has, reassess, assess_age = _current_assessments(f, caseload.peildatum,
                                                     _get(cfg, "max_assessment_age_months", 12), lang)
    r = apply_rules(f, rules, rule_barriers, lang)
    seg_rules = r["segment"].astype("object").where(has, None)
    reason = r["segment_reason"].astype("object").where(has, _word("no_diagnosis", lang).capitalize() + ".")
    reason = reason.where(~reassess.astype(bool), reassess)
    rule_name = r["segment_rule"].astype("object").where(has, None)
    out = pd.DataFrame({"client_id": f["client_id"].astype("string"),
                        "municipality": f["municipality"].astype("string")})
    out["segment_rules"] = pd.Categorical(seg_rules, categories=list("ABC"))
    out["assessment_age_months"] = assess_age
    out["reassess"] = reassess.astype(bool).to_numpy()
    out["segment_rule"] = rule_name
    cutoffs = {"method": "rules", "c_below": np.nan, "a_from": np.nan}
    if model is not None:
        p = np.full(len(f), np.nan)
        if has.any():
            p[has] = model.predict_proba(f[has])[:, 1]
        out["p_work_6m"] = p
        model, cutoffs = _model_with_cutoffs(model, cfg, p[has])
        seg_model = np.where(has, model.segments_from_p(np.nan_to_num(p)), None)
        out["segment_model"] = pd.Categorical(seg_model, categories=list("ABC"))
        if decide_by == "model":
            reason = pd.Series(np.where(has, model.reasons(np.nan_to_num(p), lang), reason), index=f.index)
            out["segment_rule"] = np.where(has, "model", None)
    out["segment_computed"] = out["segment_model"] if decide_by == "model" else out["segment_rules"]
    out["segment_reason_computed"] = reason.to_numpy(dtype=object)
    if overrides is None:
        overrides = _overrides_from_config(config)
    out, ov_counts, ov_log = apply_overrides(
        out, overrides, lang, peildatum=caseload.peildatum,
        assessed_on=f["assessed_on"] if "assessed_on" in f else None, decided_by=decide_by)

    clusters = None
    if _get(cfg, "profile_method", "nearest") == "cluster":
        prof, clusters = cluster_profiles(f, prototypes, random_state=_get(cfg, "random_state", 0), lang=lang)
    else:
        prof = assign_profiles(f, prototypes, lang)
    out = pd.concat([out, prof, _assign_market(prof, markets, lang)], axis=1)

    history, fairness, hist_counts, cut_table = None, None, {}, None
    if _get(cfg, "fairness", True) and len(caseload.spells) and len(caseload.assessments):
        groups = list(_get(cfg, "fairness_groups", list(FAIRNESS_GROUPS)))
        # Without a model the rules and the report need a few columns of the forty:
        # those the rule conditions name, and age (for the age bands). A model may use
        # any (its features), so then the whole frame is built.
        columns = None if model is not None else ["age", "sex", "dossier_id",
                                                   *_rule_columns(rules, rule_barriers), *groups]
        history = _training_frame(caseload, _get(cfg, "horizon_months", 6), columns, codes)
        hist_counts = history.attrs.get("counts", {})
        if len(history) and history[LABEL].nunique() == 2:
            history = _segment_history(history, rules, rule_barriers, model, decide_by, lang)
            cut_table = cutoff_table(history, cutoffs if decide_by == "model" else
                                     {"method": "rules", "c_below": np.nan, "a_from": np.nan}, lang=lang)
            fairness = fairness_report(history, groups=groups,
                                       ratio=_get(cfg, "fairness_ratio", 1.25),
                                       min_n=_get(cfg, "fairness_min_n", 20),
                                       p="p_work_6m" if model is not None else None, lang=lang)

    counts = {
        "clients": int(len(out)),
        "without_assessment": int((~has & ~out["reassess"].to_numpy()).sum()),
        "reassess": int(out["reassess"].sum()),
        "without_profile": int(out["profile"].isna().sum()),
        **ov_counts,
        "history": hist_counts,
    }
    cols = ["client_id", "municipality", "segment_computed", "segment", "segment_reason", "segment_rule",
            "segment_reason_computed", "overridden", "override_reason", "override_date", "segment_rules",
            "assessment_age_months", "reassess",
            *(["segment_model", "p_work_6m"] if model is not None else []),
            "profile", "profile_label", "profile_distance", "market", "pmc", "pmc_label"]
    out = out[cols]
    return SegmentResult(
        clients=out,
        pmc_table=pmc_table(out, lang),
        candidates=candidates_table(out, lang),
        pmc_links=pmc_links(out[["municipality", "segment", "profile"]].assign(
            municipality=pd.Categorical(out["municipality"]),
            segment=pd.Categorical(out["segment"]).add_categories([_word("no_diagnosis", lang)]).fillna(
                _word("no_diagnosis", lang))), markets, lang),
        override_rates=override_rates(out, lang),
        fairness=fairness,
        history=history,
        clusters=clusters,
        counts=counts,
        peildatum=pd.Timestamp(caseload.peildatum) if caseload.peildatum is not None else None,
        lang=lang,
        decided_by=decide_by,
        cutoffs=cutoffs if decide_by == "model" else {"method": "rules", "c_below": np.nan, "a_from": np.nan},
        cutoff_table=cut_table,
        overrides_log=ov_log,
    )


_REASSESS = {lang: _word("reassess", lang) for lang in ("nl", "en")}
"""The code of the "reassess" segment column per language (read by caseload.refresh.findings)."""


def _current_assessments(f: pd.DataFrame, peildatum, max_age_months: float, lang: str
                         ) -> tuple[np.ndarray, pd.Series, np.ndarray]:
    """Which clients have a usable assessment, who must be reassessed, and the assessment's age.

    Usable: made within the client's current spell (on or after its start) and at
    most ``max_age_months`` before the peildatum. Otherwise the client gets no group
    but "herbeoordelen" (re-assess) with a reason naming the age or the spell.

    Returns
    -------
    (bool array, Series of str or None, float array)
        ``has`` (usable), the reassess reason per client (None when not), and the
        age of the latest assessment in months (NaN without one).
    """
    has = f["has_assessment"].to_numpy(bool).copy()
    n = len(f)
    reasons = pd.Series([None] * n, index=f.index, dtype=object)
    if "assessed_on" not in f or peildatum is None:
        return has, reasons, np.full(n, np.nan)
    peil = pd.Timestamp(peildatum)
    when = pd.to_datetime(f["assessed_on"])
    age = ((peil - when).dt.days / 30.4375).to_numpy("float64")
    dur = pd.to_numeric(f["duration_months"], errors="coerce").to_numpy("float64") \
        if "duration_months" in f else np.full(n, np.nan)
    start_days = np.round(dur * 30.4375)
    before_spell = has & np.isfinite(start_days) & ((peil - when).dt.days.to_numpy("float64") > start_days)
    too_old = has & (age > max_age_months)
    for i in np.flatnonzero(before_spell | too_old):
        if before_spell[i]:
            reasons.iloc[i] = _word("reassess_before_spell", lang)
        else:
            reasons.iloc[i] = _word("reassess_too_old", lang, age=age[i], limit=max_age_months)
    has &= ~(before_spell | too_old)
    return has, reasons, np.where(f["has_assessment"].to_numpy(bool), age, np.nan)


def _model_with_cutoffs(model: SegmentModel, cfg: dict, p: np.ndarray) -> tuple[SegmentModel, dict]:
    """The model with the cut-offs of the configured method (a copy when they change)."""
    import copy

    method = cfg.get("cutoffs")
    if isinstance(method, str):
        lo, hi = resolve_cutoffs(p, method, _get(cfg, "b_capacity", 1500), _get(cfg, "a_from", 0.66),
                                 tuple(_get(cfg, "quantiles", (0.6, 0.9))))
        model = copy.copy(model)
        model.cutoffs = (lo, hi)
    info = {"method": method if isinstance(method, str) else "fixed",
            "c_below": float(model.cutoffs[0]), "a_from": float(model.cutoffs[1])}
    if method == "capacity":
        info["b_capacity"] = int(_get(cfg, "b_capacity", 1500))
    if method == "quantile":
        info["quantiles"] = [float(q) for q in _get(cfg, "quantiles", (0.6, 0.9))]
    return model, info


def _rule_columns(rules: list[dict], rule_barriers) -> list[str]:
    """The assessment columns the rule conditions refer to (by name)."""
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", " ".join(str(r.get("when", "")) for r in rules)))
    if names & {"n_barriers", "any_barrier"}:
        names |= set(rule_barriers)
    return [c for c in ("ladder_step", "werkfit", *BARRIERS, *COMPETENCES, "age", "duration_months")
            if c in names]


def _segment_history(history: pd.DataFrame, rules, rule_barriers, model, decide_by, lang) -> pd.DataFrame:
    # The frame was made for this run only, so the columns are added in place: a copy
    # of two million history rows would cost a second and a gigabyte at 500,000 clients.
    h = history
    h["segment_rules"] = apply_rules(h, rules, rule_barriers, lang)["segment"].astype("object")
    if model is not None:
        h["p_work_6m"] = model.predict_proba(h)[:, 1]
        h["segment_model"] = model.segments_from_p(h["p_work_6m"].to_numpy())
    h["segment"] = h["segment_model"] if decide_by == "model" else h["segment_rules"]
    h["age_band"] = _age_band_for(h, lang)
    return h


def fit_segment_model(caseload: Caseload, config=None, lang: str = "nl") -> tuple[SegmentModel, dict]:
    """Fit the statistical model on history with a time-based hold-out, evaluate it.

    The model is fitted on assessments before the split date and evaluated on
    those on or after it (``segment.holdout_from``, default: the latest 25%).
    The hold-out metrics and a fairness summary are stored on the model
    (``metrics_``, ``fairness_summary_``) and go into its card when saved.

    The fairness report is computed on the data ``segment.fairness_data`` names:
    ``"crossfit"`` (default) every assessment with a closed window, scored out-of-fold by
    five fits of the same specification with folds grouped by dossier
    (:mod:`caseload.segment.crossfit`), segments from the deployed model's
    cut-offs, intervals cluster-robust by the fold group (dossiers joined by a
    shared client); ``"holdout"`` the hold-out scored by the deployed model
    (a quarter of the data: at 20,000 clients too little to find an odds ratio
    of 1.5, see docs/segmentation-fairness.md; five fits fewer). The report's
    ``attrs["data"]`` and the card say which.

    Returns
    -------
    (SegmentModel, dict)
        The fitted model and ``{"metrics", "calibration", "confusion",
        "fairness", "coefficients", "split_date", "cutoff_table", "holdout",
        "fairness_data", "fairness_frame"}`` (``holdout``: the hold-out frame with
        ``p_work_6m`` and ``segment``; ``fairness_frame``: the frame the fairness
        report was computed on, the hold-out or the cross-fitted history).
    """
    cfg = _settings(config)
    fairness_data = _get(cfg, "fairness_data", "crossfit")
    if fairness_data not in ("holdout", "crossfit"):
        raise ConfigError(f"unknown fairness_data {fairness_data!r}.", column="segment.fairness_data",
                          fix='Use "holdout" or "crossfit".')
    frame = training_frame(caseload, _get(cfg, "horizon_months", 6))
    train, test = time_split(frame, cfg.get("holdout_from"), _get(cfg, "test_fraction", 0.25))
    method = _get(cfg, "cutoffs", (0.25, 0.66))
    model = SegmentModel(method=_get(cfg, "model_method", "logistic"),
                         cutoffs=(0.25, _get(cfg, "a_from", 0.66)) if isinstance(method, str) else tuple(method),
                         features=cfg.get("features"), proxy_features=_get(cfg, "proxy_features", []),
                         calibration=_get(cfg, "calibration", "auto"),
                         random_state=_get(cfg, "random_state", 0))
    model.fit(train)
    model.training_["counts"] = frame.attrs.get("counts", {})
    if isinstance(method, str):
        # Capacity and quantile cut-offs come from the current caseload's chances.
        cur = _client_frame(caseload, _get(cfg, "only_open", True), _client_codes(caseload))
        cur = cur[cur["has_assessment"].to_numpy()]
        model, _ = _model_with_cutoffs(model, cfg, model.predict_proba(cur)[:, 1] if len(cur) else np.array([]))
    ev = evaluate(model, test, lang)
    h = test.copy()
    h["p_work_6m"] = model.predict_proba(h)[:, 1]
    h["segment"] = model.segments_from_p(h["p_work_6m"].to_numpy())
    h["age_band"] = _age_band_for(h, lang)
    info = {"method": method if isinstance(method, str) else "fixed", "c_below": float(model.cutoffs[0]),
            "a_from": float(model.cutoffs[1])}
    if method == "capacity":
        info["b_capacity"] = int(_get(cfg, "b_capacity", 1500))
    cut_table = cutoff_table(h, info, lang=lang)
    model.metric_intervals_ = metric_intervals(h[LABEL].to_numpy(), h["p_work_6m"].to_numpy(),
                                               h["true_p_work_6m"].to_numpy() if "true_p_work_6m" in h else None)
    model.cutoff_method_ = info
    model.cutoff_table_ = cut_table
    fh, cluster = h, "dossier_id"
    if fairness_data == "crossfit":
        fh = frame.copy()
        fh["dossier_group"] = crossfit_groups(fh)
        p_oof, fh["crossfit_fold"] = crossfit_predict(model, fh, fh["dossier_group"].to_numpy(),
                                                      random_state=_get(cfg, "random_state", 0))
        fh["p_work_6m"] = p_oof
        fh["segment"] = model.segments_from_p(p_oof)
        fh["age_band"] = _age_band_for(fh, lang)
        cluster = "dossier_group"
    fair = fairness_report(fh, groups=_get(cfg, "fairness_groups", list(FAIRNESS_GROUPS)),
                           ratio=_get(cfg, "fairness_ratio", 1.25), min_n=_get(cfg, "fairness_min_n", 20),
                           lang=lang, cluster=cluster)
    fair.attrs["data"] = fairness_data
    fair.attrs["n_data"] = int(len(fh))
    split = test["assessed_on"].min()
    model.metrics_ = {**{k: (round(v, 4) if isinstance(v, float) else v) for k, v in ev["metrics"].items()},
                      "holdout_from": split.date().isoformat(),
                      "holdout_period": [split.date().isoformat(), test["assessed_on"].max().date().isoformat()]}
    model.fairness_summary_ = fairness_summary(fair)
    coefs = None
    if model.method == "logistic":
        model.attach_covariance(train)
        coefs = model.coef_table(lang)
    return model, {**ev, "fairness": fair, "coefficients": coefs, "split_date": split,
                   "cutoff_table": cut_table, "holdout": h, "fairness_data": fairness_data,
                   "fairness_frame": fh}
