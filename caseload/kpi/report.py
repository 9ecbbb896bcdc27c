"""All KPI and capacity results of one extract.

:func:`kpi_results` and :func:`capacity_results` compute every table from a
:class:`~caseload.schema.Caseload` and the ``[kpi]`` / ``[capacity]`` settings
(pure: no files). Publishing them (Dutch headers, disclosure control, figures) is
the report layer's work: :func:`caseload.refresh.sections.kpi.add_kpi_to_publication`
and :func:`~caseload.refresh.sections.kpi.add_capacity_to_publication`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from caseload.durations.tables import DEFAULT_AGE_RULE
from caseload.errors import CaseloadError
from caseload.kpi import benchmark as bm
from caseload.kpi import monitoring as mon
from caseload.kpi import outflow as of
from caseload.schema import Caseload
from caseload.schema.labels import label_table, pick_label, report_text
from caseload.settings import CapacitySettings, KpiSettings

__all__ = ["KpiResults", "KpiSettings", "CapacitySettings", "kpi_results", "capacity_results", "KPI_LABELS"]


def _settings(config, section: str, default):
    """The ``section`` settings of a whole config, or ``config`` itself, or the defaults."""
    out = getattr(config, section, config)
    return out if out is not None else default


def _language(config, lang: str | None) -> str:
    return lang or getattr(getattr(config, "report", None), "language", None) or "nl"


def _age_rule(config, age_rule: str | None) -> str:
    return age_rule or getattr(getattr(config, "durations", None), "age_rule", None) or DEFAULT_AGE_RULE

KPI_LABELS: dict[str, tuple[str, str]] = label_table("headers.kpi")
"""Column headers of the KPI and capacity tables (Dutch, English)."""

_NOTES = label_table("report.kpi")  # notes of the results


@dataclass
class KpiResults:
    """The KPI tables of one extract (code column names; see :data:`KPI_LABELS`)."""

    peildatum: pd.Timestamp
    outflow: pd.DataFrame
    durability: pd.DataFrame
    revolving_door: pd.DataFrame
    spells_per_client: pd.DataFrame
    monitoring: dict[str, pd.DataFrame] = field(default_factory=dict)
    benchmark: pd.DataFrame | None = None
    peers: pd.DataFrame | None = None
    cohort: tuple[pd.Timestamp, pd.Timestamp] | None = None
    by: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _default_cohort(peil: pd.Timestamp, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    # Two inflow years that end N months before the peildatum: every spell is followed N months.
    end = peil - pd.DateOffset(months=months)
    return end - pd.DateOffset(years=2) + pd.Timedelta(days=1), end


def kpi_results(cs: Caseload, config=None, *, sheltered_targets: pd.DataFrame | None = None,
                lang: str | None = None, age_rule: str | None = None) -> KpiResults:
    """Every KPI table of an extract under the ``[kpi]`` settings.

    Parameters
    ----------
    cs : Caseload
        From :func:`caseload.read_extract` or :func:`caseload.synth.generate`.
    config : KpiSettings, optional
        ``[kpi]`` settings: :class:`KpiSettings`, any object with its attributes
        (``caseload.config.KpiConfig``) or a whole config with a ``kpi`` attribute;
        default all defaults.
    sheltered_targets : DataFrame, optional
        ``year, target`` for the sheltered-places table.
    lang : {"nl", "en"}, optional
        Language of the monitoring tables; default ``[report] language`` of a whole
        config, else Dutch.
    age_rule : str, optional
        How ages are computed (``[durations] age_rule``); default that of a whole
        config, else ``"birth_date"``.
    """
    k = _settings(config, "kpi", KpiSettings())
    lang = _language(config, lang)
    age_rule = _age_rule(config, age_rule)
    peil = pd.Timestamp(cs.peildatum) if cs.peildatum is not None else of._peildatum(None, cs.spells)
    start = pd.Timestamp(k.inflow_start) if k.inflow_start else None
    end = pd.Timestamp(k.inflow_end) if k.inflow_end else None
    if start is None or end is None:
        d_start, d_end = _default_cohort(peil, k.months)
        start, end = start or d_start, end or d_end
    notes = []
    has_assess = len(cs.assessments) > 0 and cs.assessments["caseworker_segment"].notna().any()
    segments = list(k.segments) or None
    if segments and not has_assess:
        notes.append(pick_label(_NOTES["no_segments"], lang, segments=", ".join(segments)))
        segments = None
    cohort = of.select_cohort(cs.spells, inflow_start=start, inflow_end=end,
                              assessments=cs.assessments if has_assess else None, segments=segments)
    by = [c for c in k.by if c in cohort.columns]
    if cohort.empty:
        raise CaseloadError(f"no spells started between {start.date()} and {end.date()}"
                            + (f" in segments {', '.join(segments)}" if segments else "") + ".",
                            fix="Set [kpi] inflow_start / inflow_end to a period in the extract, or segments = [].")
    outflow = of.outflow_to_work(cohort, peildatum=peil, months=k.months, target=k.target, by=by or None,
                                 alpha=k.alpha)
    if len(by) and len(outflow) > 1:
        total = of.outflow_to_work(cohort, peildatum=peil, months=k.months, target=k.target, alpha=k.alpha)
        for c in by:
            total[c] = report_text("total", lang)
        outflow = pd.concat([outflow, total[outflow.columns]], ignore_index=True)
    spells = cs.spells
    dur = of.durability(spells, peildatum=peil, windows=k.durability_windows, alpha=k.alpha)
    rev = of.revolving_door(spells, peildatum=peil, months=k.revolving_months, exits=k.revolving_exits,
                            alpha=k.alpha)
    spc = of.spells_per_client(spells)
    monitoring = {}
    acts = cs.activities
    if len(acts):
        year = k.monitoring_year or peil.year
        p0, p1 = f"{year}-01-01", min(pd.Timestamp(f"{year}-12-31"), peil)
        period = {"period_start": p0, "period_end": p1, "peildatum": peil, "lang": lang}
        active = acts[(acts["start_date"] <= p1) & (acts["end_date"].isna() | (acts["end_date"] >= p0))]
        monitoring = {
            "deelnemers": mon.participants_per_activity(acts, **period),
            "samenstelling": mon.composition(cs.clients, client_ids=active["client_id"].unique(), peildatum=peil,
                                           age_rule=age_rule, lang=lang),
            "uitstroomrichting": mon.outflow_by_destination(acts, **period),
            "uitstroom_sector": mon.outflow_by_sector(acts, **period),
            "uitval": mon.dropout(acts, **period),
            "uitval_redenen": mon.dropout_reasons(acts, **period),
            "duur_activiteiten": mon.activity_durations(acts, peildatum=peil, lang=lang),
            "duur_trajecten": mon.trajectory_durations(acts, peildatum=peil, gap_days=k.trajectory_gap_days,
                                                       lang=lang),
            "beschut_werk": mon.sheltered_places(acts, sheltered_targets, peildatum=peil, lang=lang),
        }
    bench = peers = None
    muni = k.benchmark_municipality
    if muni is None and "municipality" in spells and spells["municipality"].notna().any():
        muni = str(spells["municipality"].value_counts().index[0])
    if muni == "onbekend":  # caseload.extract.UNKNOWN_MUNICIPALITY: no column, nothing set
        notes.append(pick_label(_NOTES["unknown_municipality"], lang))
    elif muni is not None:
        cbs = bm.load_cbs_municipalities(k.benchmark_age_group)
        if (cbs["municipality"] == muni).any():
            kw = {"year": k.benchmark_year, "band": tuple(k.benchmark_band), "method": k.benchmark_method}
            bench = bm.benchmark_municipality(cbs, muni, lang=lang, **kw)
            peers = bm.peer_values(cbs, muni, **kw)
        else:
            notes.append(pick_label(_NOTES["not_in_cbs"], lang, municipality=muni))
    return KpiResults(peildatum=peil, outflow=outflow, durability=dur, revolving_door=rev,
                      spells_per_client=spc, monitoring=monitoring, benchmark=bench, peers=peers,
                      cohort=(start, end), by=by, notes=notes)


def capacity_results(*, n_clients: float | None = None, cs: Caseload | None = None, config=None,
                     lang: str | None = None, age_rule: str | None = None) -> dict:
    """FTE by the norm and by the contact scheme under the ``[capacity]`` settings.

    Parameters
    ----------
    n_clients : float, optional
        Clients in a trajectory; split over the contact groups with
        :func:`caseload.capacity.losser_mix`. Default the 174 of Losser.
    cs : Caseload, optional
        Count the groups from the extract instead: clients with an open spell at
        the peildatum (age from birth year, chances from the latest ladder step).
    config : CapacitySettings, optional
        ``[capacity]`` settings: :class:`CapacitySettings`, any object with its
        attributes or a whole config with a ``capacity`` attribute.
    lang, age_rule : str, optional
        As in :func:`kpi_results`.

    Returns
    -------
    dict
        ``norm`` (dict of :func:`fte_from_norm`), ``contacts`` (table of
        :func:`fte_from_contacts`), ``scheme`` (table), ``clients_by_group``.
    """
    from caseload import capacity as cap

    c = _settings(config, "capacity", CapacitySettings())
    lang = _language(config, lang)
    age_rule = _age_rule(config, age_rule)
    scheme = cap.ContactScheme.from_table(c.scheme) if c.scheme else cap.LOSSER_SCHEME
    if cs is not None:
        peil = pd.Timestamp(cs.peildatum)
        sp = cs.spells
        open_ids = sp.loc[(sp["start_date"] <= peil) & (sp["end_date"].isna() | (sp["end_date"] > peil)),
                          "client_id"].unique()
        groups = cap.clients_by_contact_group(cs.clients, cs.assessments, peildatum=peil, client_ids=open_ids,
                                              chance_steps=tuple(c.chance_steps),
                                              age_rule=age_rule)
        n = sum(v for k, v in groups.items() if k != "sollicitatietraining")
    else:
        n = 174 if n_clients is None else n_clients
        groups = cap.losser_mix(n)
    if set(groups) - {g.code for g in scheme.groups}:
        raise CaseloadError("the [capacity] scheme does not have the Losser group codes needed to count "
                            "clients per group.", fix="Use the codes tot27, 27-44_kansen, 27-44_geen_kansen, "
                            "45plus_kansen, 45plus_geen_kansen, sollicitatietraining, or scheme = [].")
    norm = cap.fte_from_norm(n, c.clients_per_fte)
    contacts = cap.fte_from_contacts(groups, scheme, minutes_per_contact=c.minutes_per_contact,
                                     productive_hours_per_fte=c.productive_hours_per_fte, lang=lang)
    return {"norm": norm, "contacts": contacts, "scheme": scheme.to_frame(lang), "clients_by_group": groups,
            "from_extract": cs is not None}


