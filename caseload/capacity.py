"""Coach capacity: FTE from a clients-per-FTE norm or from a contact scheme.

Losser (Losser, plan and report Participatiewet 2015/2016) planned its trajectory coaches in two ways:

- a **norm**: 174 clients in a trajectory / 60 clients per FTE = 2,9 FTE;
- a **contact scheme** by age group x chance of work: under 27 and 27-44 with
  chances at least every two weeks; 27-44 without chances every 3 months; 45+ with
  chances within a year "in overleg" (by arrangement); 45+ without chances twice a
  year; participants in job-application training weekly for 10 weeks.

The scheme gives contacts per client per year. Turning contacts into FTE needs two
numbers the source does not give: the time per contact (including preparation,
reporting, travel and the coach's other client-related work) and the productive
hours of one FTE per year. :func:`calibrate_minutes` solves for the time per
contact that makes a scheme reproduce a known FTE; the defaults here are the
result for Losser (see :data:`LOSSER_MIX` and the README), so the two methods
agree on the source's own example.

Which numbers come from where
-----------------------------
From the source (Losser 2015/2016): 174 clients, 60 per FTE, 2,9 FTE; the contact
frequencies of every group except "45+ with chances"; the age distribution of the
stock (figure 1: 9,8% / 39,6% / 50,6%); 159 of 409 clients expecting ladder step 5
or 6 (figure 2). Assumptions (ours, change them in ``[capacity]``): "in overleg" =
monthly (12 contacts a year); "under 27" means all clients under 27 (with or
without chances); clients expecting step 5-6 are the ones "with chances"; 1,300
productive hours per FTE per year; the resulting 124 minutes per contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.schema.labels import pick_label, report_text

__all__ = [
    "ContactGroup",
    "ContactScheme",
    "LOSSER_SCHEME",
    "LOSSER_MIX",
    "DEFAULT_PRODUCTIVE_HOURS",
    "DEFAULT_MINUTES_PER_CONTACT",
    "fte_from_norm",
    "fte_from_contacts",
    "calibrate_minutes",
    "losser_mix",
    "clients_by_contact_group",
]

DEFAULT_PRODUCTIVE_HOURS = 1300.0
"""Productive hours of one FTE per year (assumption: 1,836 paid hours less leave,
holidays, sickness, training and team work)."""

DEFAULT_MINUTES_PER_CONTACT = 124.0
"""Minutes per contact including preparation, reporting and other client work.

Not from the source: it is :func:`calibrate_minutes` on :data:`LOSSER_MIX` with
the Losser scheme, 1,300 productive hours and 2,9 FTE (123,8 minutes), rounded to
whole minutes."""


@dataclass(frozen=True)
class ContactGroup:
    """One row of a contact scheme.

    Parameters
    ----------
    code : str
        Short code used in ``clients_by_group``.
    label_nl, label_en : str
        Labels for tables and figures.
    contacts_per_year : float
        Contacts per client per year (for a course: per participant).
    minutes_per_contact : float, optional
        Overrides the scheme's general minutes per contact for this group.
    source : str
        Where the frequency comes from ("Losser 2016" or "aanname").
    """

    code: str
    label_nl: str
    label_en: str
    contacts_per_year: float
    minutes_per_contact: float | None = None
    source: str = ""


class ContactScheme:
    """A contact scheme: contact groups with contacts per year (and optional minutes).

    Parameters
    ----------
    groups : list of ContactGroup

    Examples
    --------
    >>> LOSSER_SCHEME.contacts_per_year()["27-44_kansen"]
    26
    """

    def __init__(self, groups: list[ContactGroup]):
        codes = [g.code for g in groups]
        if len(set(codes)) != len(codes):
            raise CaseloadError("contact scheme has duplicate group codes.", value=codes,
                                fix="Give every group a unique code.")
        for g in groups:
            if not g.contacts_per_year >= 0:
                raise CaseloadError(f"contacts_per_year of group {g.code!r} must be >= 0.",
                                    value=g.contacts_per_year, fix="Use a non-negative number.")
        self.groups = list(groups)

    @classmethod
    def from_table(cls, table: pd.DataFrame | list[dict]) -> ContactScheme:
        """A scheme from a table with ``code``, ``contacts_per_year`` and optional
        ``label_nl``, ``label_en``, ``minutes_per_contact``, ``source`` (e.g. the config)."""
        rows = table.to_dict("records") if isinstance(table, pd.DataFrame) else list(table)
        groups = []
        for i, r in enumerate(rows, start=1):
            if "code" not in r or "contacts_per_year" not in r:
                raise CaseloadError("contact scheme row lacks 'code' or 'contacts_per_year'.", row=i,
                                    fix="Give every group code = '...' and contacts_per_year = number.")
            m = r.get("minutes_per_contact")
            groups.append(ContactGroup(
                code=str(r["code"]), label_nl=str(r.get("label_nl") or r["code"]),
                label_en=str(r.get("label_en") or r.get("label_nl") or r["code"]),
                contacts_per_year=float(r["contacts_per_year"]),
                minutes_per_contact=None if m is None or pd.isna(m) else float(m),
                source=str(r.get("source") or "")))
        return cls(groups)

    def to_frame(self, lang: str = "nl") -> pd.DataFrame:
        """The scheme as a table."""
        return pd.DataFrame({
            "code": [g.code for g in self.groups],
            "label": [pick_label((g.label_nl, g.label_en), lang) for g in self.groups],
            "contacts_per_year": [g.contacts_per_year for g in self.groups],
            "minutes_per_contact": [g.minutes_per_contact for g in self.groups],
            "source": [g.source for g in self.groups],
        })

    def contacts_per_year(self) -> dict[str, float]:
        return {g.code: g.contacts_per_year for g in self.groups}

    def __repr__(self) -> str:
        inner = ", ".join(f"{g.code}={g.contacts_per_year:g}/yr" for g in self.groups)
        return f"ContactScheme({inner})"


_SRC = "Losser 2016"
LOSSER_SCHEME = ContactScheme([
    ContactGroup("tot27", "Jonger dan 27 jaar", "Under 27", 26, source=f"{_SRC}: minstens eens per twee weken"),
    ContactGroup("27-44_kansen", "27-44 jaar, met kansen op werk", "27-44, with chances of work", 26,
                 source=f"{_SRC}: minstens eens per twee weken"),
    ContactGroup("27-44_geen_kansen", "27-44 jaar, zonder kansen op werk", "27-44, without chances of work", 4,
                 source=f"{_SRC}: eens per drie maanden"),
    ContactGroup("45plus_kansen", "45 jaar en ouder, kansen binnen een jaar",
                 "45 and over, chances within a year", 12,
                 source="aanname: 'in overleg' gelezen als maandelijks"),
    ContactGroup("45plus_geen_kansen", "45 jaar en ouder, zonder kansen op werk",
                 "45 and over, without chances of work", 2, source=f"{_SRC}: twee keer per jaar"),
    ContactGroup("sollicitatietraining", "Deelnemer sollicitatietraining", "Job-application training participant",
                 10, source=f"{_SRC}: wekelijks gedurende 10 weken (bovenop de groep)"),
])
"""The Losser contact scheme (Losser, plan and report Participatiewet 2015/2016), with "in overleg" read as monthly."""


def losser_mix(n_clients: float = 174, *, age_shares=(0.098, 0.396, 0.506),
               chance_share: float = 159 / 409) -> dict[str, float]:
    """Split a trajectory caseload over the Losser contact groups.

    Age shares are the Losser stock (Losser, plan and report Participatiewet 2015/2016: 9,8% under 27, 39,6%
    27-44, 50,6% 45-64); the share "with chances" is the share expecting ladder
    step 5 or 6 (figure 2: 117 + 42 of 409). Fractional clients are kept so the
    expected workload is exact.
    """
    young, mid, old = (n_clients * s for s in age_shares)
    return {
        "tot27": young,
        "27-44_kansen": mid * chance_share,
        "27-44_geen_kansen": mid * (1 - chance_share),
        "45plus_kansen": old * chance_share,
        "45plus_geen_kansen": old * (1 - chance_share),
        "sollicitatietraining": 0.0,
    }


LOSSER_MIX = losser_mix()
"""The 174 Losser trajectory clients split by :func:`losser_mix`."""


def fte_from_norm(n_clients: float, clients_per_fte: float = 60, *, decimals: int = 1) -> dict[str, float]:
    """FTE needed for a caseload under a clients-per-FTE norm.

    Parameters
    ----------
    n_clients : float
        Clients in a trajectory.
    clients_per_fte : float, default 60
        The norm (Losser: 60 per FTE).
    decimals : int, default 1
        Rounding of ``fte_rounded`` (the source reports one decimal).

    Returns
    -------
    dict
        ``n_clients``, ``clients_per_fte``, ``fte`` (exact) and ``fte_rounded``.

    Examples
    --------
    >>> fte_from_norm(174)["fte_rounded"]
    2.9
    """
    if not clients_per_fte > 0:
        raise CaseloadError("clients_per_fte must be positive.", value=clients_per_fte,
                            fix="Use the norm of clients per full-time coach, e.g. 60.")
    if n_clients < 0:
        raise CaseloadError("n_clients must be >= 0.", value=n_clients, fix="Count the clients in a trajectory.")
    fte = n_clients / clients_per_fte
    return {"n_clients": n_clients, "clients_per_fte": clients_per_fte, "fte": fte,
            "fte_rounded": round(fte, decimals)}


def _check_groups(clients_by_group: Mapping[str, float], scheme: ContactScheme) -> None:
    codes = {g.code for g in scheme.groups}
    unknown = [k for k in clients_by_group if k not in codes]
    if unknown:
        raise CaseloadError(f"group(s) {', '.join(map(str, unknown))} not in the contact scheme.",
                            value=unknown[0], fix=f"Use the scheme's codes: {', '.join(sorted(codes))}.")
    neg = [k for k, v in clients_by_group.items() if v < 0]
    if neg:
        raise CaseloadError(f"negative number of clients for group {neg[0]!r}.", value=clients_by_group[neg[0]],
                            fix="Give counts >= 0.")


def fte_from_contacts(clients_by_group: Mapping[str, float], scheme: ContactScheme = LOSSER_SCHEME, *,
                      minutes_per_contact: float = DEFAULT_MINUTES_PER_CONTACT,
                      productive_hours_per_fte: float = DEFAULT_PRODUCTIVE_HOURS,
                      lang: str = "nl") -> pd.DataFrame:
    """Hours and FTE per contact group from a contact scheme.

    hours_g = clients_g x contacts_per_year_g x minutes_g / 60 and
    fte_g = hours_g / productive_hours_per_fte, with minutes_g the group's own
    minutes per contact or else ``minutes_per_contact``.

    Parameters
    ----------
    clients_by_group : dict
        Scheme code -> number of clients (may be fractional for an expected mix).
    scheme : ContactScheme, default LOSSER_SCHEME
    minutes_per_contact : float, default 124
        Minutes per contact including preparation and reporting (see
        :data:`DEFAULT_MINUTES_PER_CONTACT`).
    productive_hours_per_fte : float, default 1300
    lang : {"nl", "en"}

    Returns
    -------
    DataFrame
        One row per group and a total row: code, label, clients, contacts_per_year,
        minutes_per_contact, contacts, hours, fte. ``attrs["fte"]`` is the total.

    Examples
    --------
    >>> tab = fte_from_contacts(LOSSER_MIX)
    >>> round(tab.attrs["fte"], 1)
    2.9
    """
    _check_groups(clients_by_group, scheme)
    if not productive_hours_per_fte > 0 or not minutes_per_contact > 0:
        raise CaseloadError("productive hours per FTE and minutes per contact must be positive.",
                            value=(productive_hours_per_fte, minutes_per_contact),
                            fix="Set [capacity] productive_hours_per_fte and minutes_per_contact.")
    rows = []
    for g in scheme.groups:
        n = float(clients_by_group.get(g.code, 0.0))
        minutes = g.minutes_per_contact if g.minutes_per_contact is not None else minutes_per_contact
        contacts = n * g.contacts_per_year
        hours = contacts * minutes / 60
        rows.append({"code": g.code, "label": pick_label((g.label_nl, g.label_en), lang), "clients": n,
                     "contacts_per_year": g.contacts_per_year, "minutes_per_contact": minutes,
                     "contacts": contacts, "hours": hours, "fte": hours / productive_hours_per_fte})
    out = pd.DataFrame(rows)
    total = {"code": "totaal", "label": report_text("total", lang),
             "clients": out.loc[out["code"] != "sollicitatietraining", "clients"].sum(),
             "contacts_per_year": np.nan, "minutes_per_contact": np.nan,
             "contacts": out["contacts"].sum(), "hours": out["hours"].sum(), "fte": out["fte"].sum()}
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out.attrs.update(fte=float(total["fte"]), hours=float(total["hours"]),
                     minutes_per_contact=minutes_per_contact,
                     productive_hours_per_fte=productive_hours_per_fte)
    return out


def calibrate_minutes(clients_by_group: Mapping[str, float], target_fte: float,
                      scheme: ContactScheme = LOSSER_SCHEME, *,
                      productive_hours_per_fte: float = DEFAULT_PRODUCTIVE_HOURS) -> float:
    """Minutes per contact that make the scheme need ``target_fte`` for this caseload.

    Solves target_fte x productive_hours x 60 = sum_g clients_g x contacts_g x m
    for m (groups with their own minutes keep them).

    Examples
    --------
    >>> round(calibrate_minutes(LOSSER_MIX, 2.9), 1)
    123.8
    """
    _check_groups(clients_by_group, scheme)
    fixed_min = 0.0
    free_contacts = 0.0
    for g in scheme.groups:
        c = float(clients_by_group.get(g.code, 0.0)) * g.contacts_per_year
        if g.minutes_per_contact is None:
            free_contacts += c
        else:
            fixed_min += c * g.minutes_per_contact
    left = target_fte * productive_hours_per_fte * 60 - fixed_min
    if free_contacts <= 0 or left <= 0:
        raise CaseloadError("cannot calibrate: no contacts without their own minutes, or the target FTE is "
                            "already used by groups with fixed minutes.", value=target_fte,
                            fix="Check the caseload per group and the target FTE.")
    return left / free_contacts


def clients_by_contact_group(clients: pd.DataFrame, assessments: pd.DataFrame | None = None, *,
                             peildatum=None, client_ids=None, chance_steps=(5, 6),
                             training_ids=None, age_rule: str = "birth_date") -> dict[str, int]:
    """Count clients per Losser contact group from canonical tables.

    Age at the peildatum by ``age_rule`` (see :func:`caseload.durations.age_at`;
    under 27, 27-44, 45+); "with chances"
    when the client's latest assessment on or before the peildatum has a ladder
    step in ``chance_steps`` (default 5-6, the steps of (partly) paid work);
    clients without an assessment count as without chances.

    Parameters
    ----------
    clients, assessments : DataFrame
        Canonical tables.
    client_ids : list, optional
        The trajectory caseload; default all clients.
    training_ids : list, optional
        Clients in job-application training (counted in that group too).
    """
    from caseload.kpi.outflow import _peildatum

    peil = _peildatum(peildatum, clients)
    c = clients if client_ids is None else clients[clients["client_id"].isin(list(client_ids))]
    c = c.drop_duplicates("client_id")
    from caseload.durations.tables import age_at

    age = pd.Series(age_at(c, peil, c["client_id"].to_numpy(), rule=age_rule), index=c.index)
    chance = pd.Series(False, index=c.index)
    if assessments is not None and len(assessments):
        # only the three columns: sorting the whole table costs seconds at national size
        a = assessments.loc[assessments["assessed_on"] <= peil, ["client_id", "assessed_on", "ladder_step"]]
        a = a.sort_values("assessed_on")
        last = a.groupby("client_id")["ladder_step"].last()
        chance = c["client_id"].map(last).isin(list(chance_steps)).fillna(False).astype(bool)
    young = age < 27
    mid = (age >= 27) & (age < 45)
    old = age >= 45
    out = {
        "tot27": int(young.sum()),
        "27-44_kansen": int((mid & chance).sum()),
        "27-44_geen_kansen": int((mid & ~chance).sum()),
        "45plus_kansen": int((old & chance).sum()),
        "45plus_geen_kansen": int((old & ~chance).sum()),
        "sollicitatietraining": 0 if training_ids is None else int(c["client_id"].isin(list(training_ids)).sum()),
    }
    return out
