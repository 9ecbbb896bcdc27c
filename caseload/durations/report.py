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

from caseload.durations.cohorts import cohort_tables
from caseload.durations.competing import AalenJohansen
from caseload.durations.cox import CoxResult, cox_regression
from caseload.durations.kaplan_meier import KaplanMeier
from caseload.durations.tables import (
    DAYS_PER_YEAR,
    DEFAULT_AGE_RULE,
    elapsed_duration_table,
    observation_start,
    spell_durations,
)
from caseload.errors import CaseloadError
from caseload.schema import (
    HOUSEHOLD,
    SEX,
    fmt_number,
    inflow_reasons,
    label_table,
    pick_label,
    report_text,
)
from caseload.settings import DurationSettings

__all__ = ["analyse_durations", "DurationAnalysis", "DurationSettings", "BY_LABEL"]





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
                out[name] = cohort_figure(table, by_label=None if by == "inflow_year" else BY_LABEL.get(
                    by, {}).get(lang, by), min_n=min_cell, source=source, peildatum=self.peildatum, lang=lang)
        return out


BY_LABEL = {by: {"nl": nl, "en": en} for by, (nl, en) in label_table("report.durations.by").items()}


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
        return f"{part} {pick_label(label_table('report.durations')['years_suffix'], lang)}"
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
    config : DurationSettings, optional
        ``[durations]`` settings: :class:`DurationSettings` or any object with its
        attributes, such as ``caseload.config.DurationsConfig`` (defaults when omitted).
    lang : {"nl", "en"}
    min_cell : int
        Cohort shares based on fewer benefits are blanked (NaN) in the tables.

    Returns
    -------
    DurationAnalysis
    """
    cfg = config if config is not None else DurationSettings()
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
    group_col = pick_label(label_table("report.durations")["age_at_inflow"], lang)

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
            notes.append(report_text("cox_sampled", lang, n=fmt_number(cox.n, 0, lang),
                                     total=fmt_number(cox.n_complete, 0, lang),
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


