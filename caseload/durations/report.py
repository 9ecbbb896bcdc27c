"""All duration results of one extract in one call: what the CLI, notebook and refresh publish.

:func:`analyse_durations` runs every estimator of :mod:`caseload.durations` with
the ``[durations]`` settings and returns a :class:`DurationAnalysis` holding the
fitted estimators, the publishable tables (aggregates only, no identifiers) and
a method to draw the figures. It touches no files.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from caseload.durations.cohorts import cohort_method, cohort_tables
from caseload.durations.competing import AalenJohansen
from caseload.durations.cox import CoxResult, cox_regression
from caseload.durations.kaplan_meier import KaplanMeier
from caseload.durations.tables import (
    DAYS_PER_YEAR,
    DEFAULT_AGE_RULE,
    age_rule_text,
    elapsed_duration_table,
    observation_start,
    spell_durations,
)
from caseload.errors import CaseloadError
from caseload.schema import HOUSEHOLD, SEX, inflow_reasons, report_text

__all__ = ["analyse_durations", "DurationAnalysis", "add_durations_to_publication"]

_PER_YEAR = {"years": 1.0, "months": 12.0, "days": DAYS_PER_YEAR}


@dataclass
class DurationAnalysis:
    """Results of :func:`analyse_durations`.

    Attributes
    ----------
    durations : DataFrame
        One row per spell (:func:`spell_durations`); holds pseudonyms, never publish.
    km : KaplanMeier
        By age band at spell start.
    aj : AalenJohansen
        Exit to work versus other exits, by age band.
    cox : CoxResult or None
        None when the model could not be fitted (reason in ``notes``).
    tables : dict of DataFrame
        Publishable tables by name.
    window_start : Timestamp or None
    peildatum : Timestamp
    time_unit : str
    notes : list of str
    age_rule : str
        How ages were computed (``[durations] age_rule``).
    """

    durations: pd.DataFrame
    km: KaplanMeier
    aj: AalenJohansen
    cox: CoxResult | None
    tables: dict[str, pd.DataFrame]
    window_start: pd.Timestamp | None
    peildatum: pd.Timestamp
    time_unit: str
    plot_time: float
    lang: str = "nl"
    notes: list[str] = field(default_factory=list)
    age_rule: str = DEFAULT_AGE_RULE
    age_bands: list[tuple[int, int]] = field(default_factory=lambda: [(15, 26), (27, 44), (45, 64)])

    def figures(self, source: str | None = None, min_cell: int = 5) -> dict:
        """The four standard figures plus one cohort figure per grouping, by name."""
        from caseload.figures.durations import (
            cohort_figure,
            cumulative_incidence_figure,
            elapsed_table_figure,
            km_figure,
        )

        lang = self.lang
        out = {
            "elapsed_table": elapsed_table_figure(self.tables["elapsed_table"], source=source,
                                                  peildatum=self.peildatum, lang=lang),
            "km_age_band": km_figure(self.km, source=source, peildatum=self.peildatum, lang=lang,
                                     time_unit=self.time_unit, max_time=self.plot_time),
            "cumulative_incidence": cumulative_incidence_figure(
                self.aj, source=source, peildatum=self.peildatum, lang=lang, time_unit=self.time_unit,
                max_time=self.plot_time),
        }
        for name, table in self.tables.items():
            if name.startswith("cohort_"):
                by = name.removeprefix("cohort_")
                out[name] = cohort_figure(table, by_label=None if by == "inflow_year" else _BY_LABEL.get(
                    by, {}).get(lang, by), min_n=min_cell, source=source, peildatum=self.peildatum, lang=lang)
        return out


_BY_LABEL = {
    "inflow_reason": {"nl": "instroomreden", "en": "inflow reason"},
    "household": {"nl": "leefvorm", "en": "household"},
    "sex": {"nl": "geslacht", "en": "sex"},
    "age_class": {"nl": "leeftijdsklasse", "en": "age class"},
    "age_class_sex": {"nl": "leeftijdsklasse en geslacht", "en": "age class and sex"},
}


def _group_sort_key(part: str, by: str):
    """Order of a group code: numbers numerically (codes, years), age classes by their first age."""
    import re

    m = re.match(r"\s*[<>]?\s*(\d+)", part)
    if by in ("inflow_reason", "inflow_year", "age_class") and m:
        return (0, int(m.group(1)) - (1 if part.strip().startswith("<") else 0), part)
    return (1, 0, part)


def _group_label(part: str, by: str, lang: str) -> str:
    if by == "household":
        return HOUSEHOLD.label(part, lang)
    if by == "sex":
        return SEX.label(part, lang)
    if by == "inflow_reason":
        reasons = inflow_reasons()
        return f"{part} {reasons.label(part, lang)}" if part in reasons else part
    if by == "age_class":
        return f"{part} {'jaar' if lang == 'nl' else 'years'}"
    return part


def _label_groups(curves: pd.DataFrame, by: list[str], lang: str) -> pd.DataFrame:
    """Cohort curves with the groups by their labels, in a meaningful order.

    Codes become labels (households, sex, inflow reasons with their code); groups are
    ordered numerically (inflow years, reason codes) or by age (age classes), not as text.
    """
    if curves.empty:
        return curves
    codes = curves["group"].astype(str)
    parts = codes.str.split(" / ")
    key = parts.map(lambda ps: tuple(_group_sort_key(p, b) for p, b in zip(ps, by, strict=False)))
    order = sorted(set(zip(key, codes, strict=True)))
    rank = {code: i for i, (_, code) in enumerate(order)}
    labels = parts.map(lambda ps: ", ".join(_group_label(p, b, lang) for p, b in zip(ps, by, strict=False)))
    out = curves.assign(group=labels.astype("string"), _rank=codes.map(rank))
    return (out.sort_values(["_rank", "years_since_start"], kind="mergesort")
            .drop(columns="_rank").reset_index(drop=True))


def _grid(horizon: float, per_year: float) -> np.ndarray:
    step = 1.0 if per_year == 1.0 else (3.0 if per_year == 12.0 else 91.0)
    return np.arange(0.0, horizon * per_year + step / 2, step)


def analyse_durations(spells: pd.DataFrame, clients: pd.DataFrame, peildatum, config=None, *,
                      lang: str = "nl", min_cell: int = 5) -> DurationAnalysis:
    """Every duration result of one extract.

    Parameters
    ----------
    spells, clients : DataFrame
        Canonical tables.
    peildatum : date-like
    config : DurationsConfig, optional
        ``[durations]`` settings (defaults when omitted).
    lang : {"nl", "en"}
    min_cell : int
        Cohort shares based on fewer benefits are blanked (NaN) in the tables.

    Returns
    -------
    DurationAnalysis
    """
    from caseload.config import DurationsConfig

    cfg = config or DurationsConfig()
    peil = pd.Timestamp(peildatum)
    notes: list[str] = []
    if cfg.window_start in (None, "", "none"):
        window = None
    elif cfg.window_start == "auto":
        window = observation_start(spells)
    else:
        window = pd.Timestamp(cfg.window_start)
    bands = [tuple(b) for b in cfg.age_bands]
    d = spell_durations(spells, clients, peil, window_start=window, bands=bands, age_rule=cfg.age_rule)
    per_year = _PER_YEAR[cfg.time_unit]
    d["duration"] = d["duration_years"] * per_year
    d["entry"] = d["entry_years"] * per_year
    # only the columns the estimators use: a copy of the whole spell frame costs hundreds of MB
    # at national size
    wanted = ["duration", "exited", "entry", "event", "age_band", *cfg.cox_covariates,
              *([cfg.cox_strata] if cfg.cox_strata else [])]
    usable = d.loc[d["age_band"].notna().to_numpy(), [c for c in dict.fromkeys(wanted) if c in d.columns]]
    if len(usable) < len(d):
        notes.append(report_text("outside_bands", lang, n=len(d) - len(usable)))
    km = KaplanMeier(alpha=cfg.alpha, conf_type=cfg.conf_type).fit(
        usable["duration"], usable["exited"], entry=usable["entry"], by=usable["age_band"])
    aj = AalenJohansen(alpha=cfg.alpha, conf_type=cfg.conf_type, variance=cfg.aj_variance).fit(
        usable["duration"], usable["event"], entry=usable["entry"], by=usable["age_band"])
    level = f"{1 - cfg.alpha:g}"
    group_col = "Leeftijd bij instroom" if lang == "nl" else "Age at inflow"

    horizon = cfg.horizon_years * per_year
    summary = km.summary.rename(columns={f"lower_{level}": f"median_lower_{level}", f"upper_{level}": f"median_upper_{level}"})
    summary = summary.join(km.restricted_mean(horizon).add_prefix("rmst_").drop(columns="rmst_horizon"))
    summary.insert(0, "horizon", horizon)
    summary = summary.rename(columns={"rmst_rmst": "restricted_mean"}).reset_index().rename(
        columns={"group": group_col})

    grid = _grid(cfg.plot_years, per_year)
    sf = km.predict(grid)
    # the interval curves are step functions: evaluate them at the grid directly
    lo, hi = km._wide(grid, 2), km._wide(grid, 3)
    at_risk = km.at_risk_counts(np.where(grid > 0, grid, np.nextafter(0.0, 1.0)))
    curve_rows = []
    for label in km.labels_:
        curve_rows.append(pd.DataFrame({group_col: str(label), "time": grid, "survival": sf[label].to_numpy(),
                                        f"lower_{level}": lo[label].to_numpy(), f"upper_{level}": hi[label].to_numpy(),
                                        "at_risk": at_risk.loc[label].to_numpy()}))
    km_curve = pd.concat(curve_rows, ignore_index=True)
    cif = aj.at(grid).rename(columns={"group": group_col, "lower": f"lower_{level}", "upper": f"upper_{level}"})
    cif[group_col] = cif[group_col].astype(str)

    cox = None
    try:
        strata = cfg.cox_strata or None
        if strata and usable[strata].nunique() < 2:
            strata = None
        cols = list(dict.fromkeys(["duration", "exited", "entry", *cfg.cox_covariates, *([strata] if strata else [])]))
        cox_data = usable[[c for c in cols if c in usable.columns]]
        if "age_band" in cox_data.columns:
            cox_data = cox_data.assign(age_band=cox_data["age_band"].astype(str))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cox = cox_regression(cox_data, "duration", "exited", cfg.cox_covariates, entry_col="entry",
                                 strata=strata, alpha=cfg.alpha, max_rows=cfg.cox_max_rows,
                                 random_state=cfg.random_state)
        if cox.sampled:
            big = (lambda x: f"{x:,}".replace(",", ".")) if lang == "nl" else (lambda x: f"{x:,}")
            notes.append(report_text("cox_sampled", lang, n=big(cox.n), total=big(cox.n_complete),
                                     seed=cfg.random_state))
    except (CaseloadError, np.linalg.LinAlgError, ValueError) as exc:
        notes.append(report_text("cox_failed", lang, error=exc))

    tables = {
        "elapsed_table": elapsed_duration_table(spells, clients, peil, bands=bands, lang=lang,
                                                age_rule=cfg.age_rule),
        "km_summary": summary,
        "km_curve": km_curve,
        "cumulative_incidence": cif,
    }
    if cox is not None:
        tables["cox"] = cox.summary.reset_index()
    groupings = list(cfg.cohort_groupings)
    cohort = cohort_tables(spells, clients, peil, groupings, max_years=cfg.cohort_max_years,
                           age_classes=[tuple(c) for c in cfg.cohort_age_classes], window_start=window,
                           age_rule=cfg.age_rule, lang=lang)
    for by, curves in zip(groupings, cohort, strict=True):
        name = "_".join([by] if isinstance(by, str) else by)
        curves["share_active"] = curves["share_active"].where(curves["n"] >= min_cell)
        tables[f"cohort_{name}"] = _label_groups(curves, [by] if isinstance(by, str) else list(by), lang)
    return DurationAnalysis(durations=d, km=km, aj=aj, cox=cox, tables=tables, window_start=window,
                            peildatum=peil, time_unit=cfg.time_unit, plot_time=cfg.plot_years * per_year,
                            lang=lang, notes=notes, age_rule=cfg.age_rule, age_bands=bands)


def add_durations_to_publication(pub, analysis: DurationAnalysis, *, min_cell: int | None = None) -> list[str]:
    """Add the duration tables and figures to a :class:`caseload.publish.Publication`.

    Returns the names added. Counts below the publication's threshold are
    suppressed by the publisher; estimates resting on a suppressed count are
    blanked with it (``derived``).
    """
    lang = analysis.lang
    min_cell = pub.min_cell if min_cell is None else min_cell

    def w(nl: str, en: str) -> str:
        return nl if lang == "nl" else en

    t = analysis.tables
    lvl = f"{1 - analysis.km.alpha:g}"
    unit = {"years": w("jaren", "years"), "months": w("maanden", "months"), "days": w("dagen", "days")}[
        analysis.time_unit]
    window = (w(f"Uitkeringen die voor {analysis.window_start:%d-%m-%Y} begonnen tellen mee vanaf die datum "
                "(late instap, links afgekapt).",
                f"Spells that started before {analysis.window_start:%d-%m-%Y} count from that date on "
                "(delayed entry, left truncation).") if analysis.window_start is not None else "")
    added = []
    sec = w("Duur in de uitkering", "Duration on benefit")

    el = t["elapsed_table"]
    band, share, dur, count = el.columns[:4]
    age = age_rule_text(analysis.age_rule, lang)
    km_ci = {"log-log": "log(-log)", "log": "log"}[analysis.km.conf_type]
    aj_ci = {"log-log": "log(-log)", "log": "log"}[analysis.aj.conf_type]
    aj_var = {"delta": w("delta-methode", "delta method"),
              "jackknife": w("infinitesimale jackknife", "infinitesimal jackknife")}[analysis.aj.variance]
    outside = int(el.attrs.get("outside_bands", 0))
    lo_age, hi_age = int(analysis.age_bands[0][0]), int(analysis.age_bands[-1][1])
    outside_txt = (str(outside) if outside == 0 or outside >= min_cell
                   else w(f"minder dan {min_cell}", f"fewer than {min_cell}"))
    el_method = w(f"Bestand op de peildatum; {age}, op de peildatum; verstreken duur = "
                  "(peildatum - begindatum) / 365,25. Overschat de duur: lange uitkeringen zijn "
                  "oververtegenwoordigd in een bestand. Telt lopende uitkeringen van personen van "
                  f"{lo_age} tot en met {hi_age} jaar; {outside_txt} lopende uitkering(en) van jongere of "
                  "oudere personen of zonder geboortejaar tellen niet mee. Daarom is het totaal kleiner "
                  "dan het bestand in de tabellen naar geslacht, leefvorm en groep A/B/C (cliënten van "
                  "alle leeftijden, elk één keer geteld).",
                  f"Stock on the reference date; {age}, on the reference date; elapsed "
                  "duration = (reference date - start) / 365.25. Over-states duration: long spells are "
                  f"over-represented in a stock. Counts running benefits of persons aged {lo_age} to "
                  f"{hi_age}; {outside_txt} running benefit(s) of younger or older persons or without "
                  "a birth year are left out. The total is therefore smaller than the stock in the "
                  "tables by sex, household and group A/B/C (clients of all ages, each counted once).")
    pub.add_table("duur_losser_tabel", el, title=w("Verband leeftijd en duur in de uitkering (verstreken duur)",
                                                   "Age and duration on benefit (elapsed duration)"),
                  method=el_method, counts=[count], percentages={share: int(el[count].iloc[-1])},
                  derived={dur: count},
                  row_total=el[band].iloc[-1], decimals=3, section=sec)
    added.append("duur_losser_tabel")

    km_method = w(f"Kaplan-Meier per leeftijdsklasse bij instroom, duur in {unit}; lopende uitkeringen "
                  f"gecensureerd op de peildatum. {window} Mediaan met Brookmeyer-Crowley-interval, "
                  f"beperkt gemiddelde tot {t['km_summary']['horizon'].iloc[0]:g} {unit}; {lvl}-intervallen "
                  f"({km_ci}). Leeftijd bij instroom: {age}.",
                  f"Kaplan-Meier by age band at inflow, duration in {unit}; open spells censored at the "
                  f"reference date. {window} Median with Brookmeyer-Crowley interval, restricted mean up to "
                  f"{t['km_summary']['horizon'].iloc[0]:g} {unit}; {lvl} intervals ({km_ci}). "
                  f"Age at inflow: {age}.")
    # events + censored = n per band: a wide table whose row total is n
    s = t["km_summary"].drop(columns="entered_late")
    est_cols = [c for c in s.columns if c.startswith(("median", "restricted", "rmst_"))]
    pub.add_table("duur_kaplan_meier", s, title=w("Duur in de uitkering: mediaan en beperkt gemiddelde",
                                                  "Duration on benefit: median and restricted mean"),
                  method=km_method, counts=["events", "censored", "n"], col_total="n",
                  derived={c: "n" for c in est_cols}, decimals=3, section=sec,
                  labels={"horizon": w(f"Tijdshorizon ({unit})", f"Time horizon ({unit})"),
                          "median": w(f"Mediane duur ({unit})", f"Median duration ({unit})"),
                          "restricted_mean": w(f"Gemiddelde duur binnen de tijdshorizon ({unit})",
                                               f"Mean duration within the horizon ({unit})")})
    curve = t["km_curve"]
    time_label = {"time": w(f"Duur sinds instroom ({unit})", f"Time since inflow ({unit})")}
    group_col = curve.columns[0]
    pub.add_table("duur_kaplan_meier_curve", curve, title=w("Aandeel nog in de uitkering", "Share still on benefit"),
                  method=km_method, counts=["at_risk"],
                  derived={c: "at_risk" for c in curve.columns if c.startswith(("survival", "lower", "upper"))},
                  layout="long", by=[], secondary=False, decimals=4, section=sec, labels=time_label,
                  wide=(["time"], group_col, "survival"))
    added += ["duur_kaplan_meier", "duur_kaplan_meier_curve"]
    cif_method = w(f"Cumulatieve incidentie (Aalen-Johansen) van uitstroom naar werk (werk, werk deels) en "
                   f"overige uitstroom als concurrerende uitkomsten, duur in {unit}. {window} "
                   f"Variantie: {aj_var}; interval {aj_ci}. Leeftijd bij instroom: {age}.",
                   f"Cumulative incidence (Aalen-Johansen) of exit to work (full or partial) and other exits as "
                   f"competing outcomes, duration in {unit}. {window} Variance: {aj_var}; {aj_ci} interval. "
                   f"Age at inflow: {age}.")
    cif = t["cumulative_incidence"]
    pub.add_table("duur_uitstroom_werk", cif,
                  title=w("Uitstroom naar werk en overige uitstroom", "Exit to work and other exits"),
                  method=cif_method, decimals=4, section=sec, labels=time_label,
                  wide=([cif.columns[0], "cause"], "time", "estimate"),
                  suppression_note=w("Geschatte kansen, geen aantallen.", "Estimated probabilities, no counts."))
    added.append("duur_uitstroom_werk")
    if "cox" in t:
        cox = analysis.cox
        sample = ""
        if cox is not None and cox.sampled:
            sample = w(f" Geschat op een aselecte steekproef van {cox.n:,} van de {cox.n_complete:,} uitkeringen "
                       "(cox_max_rows); standaardfouten en intervallen zijn die van de steekproef.".replace(",", "."),
                       f" Fitted on a simple random sample of {cox.n:,} of the {cox.n_complete:,} spells "
                       "(cox_max_rows); standard errors and intervals are those of the sample.")
        pub.add_table("duur_cox", t["cox"], title=w("Cox-regressie: hazard ratio's voor uitstroom",
                                                    "Cox regression: hazard ratios of exit"),
                      method=w(f"Cox proportionele hazards (statsmodels PHReg, Breslow), late instap (risicoset "
                               f"als Kaplan-Meier en R coxph), strata per gemeente; hazard ratio > 1 = sneller uit "
                               f"de uitkering. Leeftijd bij instroom: {age}.{sample} {window}",
                               f"Cox proportional hazards (statsmodels PHReg, Breslow), delayed entry (risk sets as "
                               f"Kaplan-Meier and R coxph), strata by municipality; hazard ratio > 1 = leaves "
                               f"benefit sooner. Age at inflow: {age}.{sample} {window}"),
                      decimals=4, section=sec,
                      suppression_note=w("Modelcoëfficiënten, geen aantallen.", "Model coefficients, no counts."))
        added.append("duur_cox")
    figs = analysis.figures(source=pub.source, min_cell=min_cell)
    fig_titles = {
        "elapsed_table": ("duur_losser_figuur", w("Verband leeftijd en duur in de uitkering",
                                                   "Age and duration on benefit"), el_method),
        "km_age_band": ("duur_kaplan_meier", w("Nog in de uitkering naar leeftijd bij instroom",
                                               "Still on benefit by age at inflow"), km_method),
        "cumulative_incidence": ("duur_uitstroom_werk", w("Uitstroom naar werk en overige uitstroom",
                                                          "Exit to work and other exits"), cif_method),
    }
    coh_method = cohort_method(analysis.age_rule, lang)
    titles = {}
    for name, fig in figs.items():
        if name in fig_titles:
            stem, title, method = fig_titles[name]
        else:
            stem, title, method = f"duur_{name}", fig.texts[0].get_text() if fig.texts else name, coh_method
            if fig._suptitle is not None:
                title = fig._suptitle.get_text()
        titles[name] = title
        pub.add_figure(stem, fig, title=title, method=method, section=sec)
        added.append(stem)
    for name, table in t.items():
        if name.startswith("cohort_"):
            by = name.removeprefix("cohort_")
            # The figure's title: the table is the figure's table (one heading in the report).
            title = titles.get(name) or w("Actieve uitkeringen per aantal jaren na start",
                                          "Benefits still active by years since start") + \
                f" ({_BY_LABEL.get(by, {}).get(lang, by)})"
            group = {"nl": "Instroomjaar", "en": "Inflow year"} if by == "inflow_year" else None
            pub.add_table(f"duur_{name}", table, title=title, method=coh_method, counts=["n"],
                          derived={"share_active": "n"}, layout="long", by=[], secondary=False, decimals=4,
                          section=sec,
                          labels={"group": group[lang] if group else _BY_LABEL.get(by, {}).get(
                              lang, by).capitalize()},
                          wide=(["group"], "years_since_start", "share_active"))
            added.append(f"duur_{name}")
    pub.notes.extend(analysis.notes)
    return added
