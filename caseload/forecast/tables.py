"""The forecast tables that ``caseload forecast`` and the batch refresh publish.

:func:`forecast_tables` is pure: bundled tables and an optional extract in,
DataFrames out. Every table carries ``method``, ``parameters`` (JSON) and
``peildatum`` columns, so a table pasted into a report keeps its provenance.
Writing them (CSV + one XLSX) is left to the CLI and the refresh job.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from caseload.errors import CaseloadError
from caseload.forecast.checks import check_published_table, load_published_table, published_long
from caseload.forecast.pipeline import GROUPS, project_candidates, transition_matrix
from caseload.forecast.scenarios import Scenario, apply_scenarios, flow_rates, scenarios_from_config
from caseload.forecast.series import forecast_series, load_cbs_bijstand_series, stock_series
from caseload.forecast.sheltered import load_national_sheltered_work, project_sheltered_work
from caseload.forecast.stockflow import StockFlowModel, yearly_target_group_counts
from caseload.settings import ForecastSettings

__all__ = ["ForecastSettings", "forecast_tables", "target_group_table", "sheltered_work_table", "current_candidates",
           "monthly_stock", "caseload_scenario_table"]




def _stamp(df: pd.DataFrame, method: str, params: dict, peildatum) -> pd.DataFrame:
    out = df.copy()
    out["method"] = method
    out["parameters"] = json.dumps(params, sort_keys=True, default=str)
    out["peildatum"] = pd.Timestamp(peildatum).date() if peildatum is not None else None
    return out


def target_group_table(published: pd.DataFrame | None = None, until: int = 2025,
                       constrain_structural: bool = True, origin_year: int | None = None) -> pd.DataFrame:
    """Stock-flow fit of the new target groups to a published table, with projection.

    Parameters
    ----------
    published : DataFrame, optional
        Wide published table; default the bundled Stadskanaal/Veendam table.
    until : int, default 2025
        Last projected year.
    constrain_structural, origin_year
        As in :class:`~caseload.forecast.StockFlowModel`.

    Returns
    -------
    DataFrame
        ``municipality, year, published, fitted, residual, inflow, exit_rate,
        structural_implied, structural_published``; years after the table have
        ``published`` missing.
    """
    published = load_published_table() if published is None else published
    yearly, struct = published_long(published, "nieuwe_doelgroepen", "stock")
    model = StockFlowModel(constrain_structural=constrain_structural, origin_year=origin_year)
    model.fit(yearly, structural=struct)
    years = range(int(yearly["year"].min()), max(until, int(yearly["year"].max())) + 1)
    pred = model.predict(years).rename(columns={"stock": "fitted"})
    out = pred.merge(yearly.rename(columns={"stock": "published"}), on=["municipality", "year"], how="left")
    out["residual"] = out["published"] - out["fitted"]
    p = model.params_[["inflow", "exit_rate", "structural_implied", "structural_published"]]
    return out.merge(p, left_on="municipality", right_index=True)[
        ["municipality", "year", "published", "fitted", "residual", "inflow", "exit_rate",
         "structural_implied", "structural_published"]]


def sheltered_work_table(published: pd.DataFrame | None = None, national: pd.DataFrame | None = None,
                         base_year: int = 2018) -> pd.DataFrame:
    """Sheltered-work places: the method of the source recomputed beside the published numbers.

    Returns
    -------
    DataFrame
        ``municipality, year, places, published, difference, share, national_target,
        national_status, basis``.
    """
    published = load_published_table() if published is None else published
    national = load_national_sheltered_work() if national is None else national
    mun, _ = published_long(published, "beschut_werk", "places")
    nat = national[~national.get("structural", pd.Series(False, index=national.index)).astype(bool)]
    known = mun[mun["year"] <= base_year]
    out = project_sheltered_work(nat[["year", "target"]], known, base_year=base_year)
    out = out.merge(mun.rename(columns={"places": "published"}), on=["municipality", "year"], how="left")
    out["difference"] = out["places"] - out["published"]
    if "status" in nat.columns:
        out = out.merge(nat[["year", "status"]].astype({"year": int}).rename(
            columns={"status": "national_status"}), on="year", how="left")
    return out


def monthly_stock(spells: pd.DataFrame, peildatum=None, by: str = "municipality") -> pd.DataFrame:
    """Persons on benefit at the end of each month per municipality, long form.

    Counts with :func:`caseload.flows.monthly_flows` (month-end rule: started on or
    before the last day, not ended on or before it) up to the peildatum's month.

    Returns
    -------
    DataFrame
        ``unique_id, ds, y``.
    """
    from caseload.flows import monthly_flows

    end = None if peildatum is None else pd.Period(pd.Timestamp(peildatum), freq="M")
    return stock_series(monthly_flows(spells, by=(by,), end=end), id_col=by)


def caseload_scenario_table(spells: pd.DataFrame, forecast: pd.DataFrame, scenarios: list[Scenario],
                            peildatum=None, by: str = "municipality") -> pd.DataFrame:
    """The caseload forecast per municipality under each scenario, beside the base.

    Parameters
    ----------
    spells : DataFrame
        Canonical spells.
    forecast : DataFrame
        :func:`~caseload.forecast.forecast_series` output for the municipalities.
    scenarios : list of Scenario
    peildatum : date-like, optional

    Returns
    -------
    DataFrame
        :func:`~caseload.forecast.scenarios.apply_scenarios` output (its
        ``difference`` named ``scenario_difference``) with the series' mean
        ``monthly_inflow`` and ``monthly_exit_pct`` (exit rate per month in percent) used.
    """
    from caseload.flows import monthly_flows

    end = None if peildatum is None else pd.Period(pd.Timestamp(peildatum), freq="M")
    flows = monthly_flows(spells, by=(by,), end=end)
    rates = flow_rates(flows, id_col=by)
    history = stock_series(flows, id_col=by)
    tab = apply_scenarios(forecast, history, rates, scenarios)
    tab = tab.merge(rates[["unique_id", "inflow", "exit_rate"]], on="unique_id", how="left")
    tab["exit_rate"] = 100 * tab["exit_rate"]
    return tab.rename(columns={"difference": "scenario_difference", "inflow": "monthly_inflow",
                               "exit_rate": "monthly_exit_pct"})


def current_candidates(assessments: pd.DataFrame, spells: pd.DataFrame, clients: pd.DataFrame | None,
                       peildatum, segment: str = "caseworker_segment",
                       pmc: str = "caseworker_profile") -> pd.DataFrame:
    """Clients on benefit at the peildatum with their latest group and PMC.

    Returns
    -------
    DataFrame
        ``segment, pmc[, municipality]`` one row per client (no client id).
    """
    peil = pd.Timestamp(peildatum)
    for col in (segment, pmc):
        if col not in assessments.columns:
            raise CaseloadError(f"assessments lack the column '{col}'.", column=col,
                                fix="Set [forecast] segment_column / pmc_column to existing columns.")
    # Integer client codes and row positions instead of sorting and grouping the
    # whole assessments table on string ids (seconds at 500,000 clients).
    a_code, ids = pd.factorize(assessments["client_id"])
    when = assessments["assessed_on"].to_numpy("datetime64[ns]")
    rows = np.flatnonzero((when <= np.datetime64(peil)) & (a_code >= 0))
    order = np.lexsort((when[rows], a_code[rows]))  # per client by date; ties: table order
    rows = rows[order]
    last = np.r_[a_code[rows][1:] != a_code[rows][:-1], True]
    latest = rows[last]  # the latest assessment per client on or before the peildatum
    start, end = spells["start_date"].to_numpy("datetime64[ns]"), spells["end_date"].to_numpy("datetime64[ns]")
    is_open = (start <= np.datetime64(peil)) & (np.isnat(end) | (end > np.datetime64(peil)))
    s_code = pd.Index(ids).get_indexer(spells["client_id"])
    open_rows = np.flatnonzero(is_open & (s_code >= 0))
    # The municipality of the client's first open spell (in table order).
    first_open = np.full(len(ids), -1, dtype="int64")
    opened, at = np.unique(s_code[open_rows], return_index=True)
    first_open[opened] = open_rows[at]
    spell = first_open[a_code[latest]]
    latest, spell = latest[spell >= 0], spell[spell >= 0]
    latest_sorted = np.argsort(when[latest], kind="stable")  # by date, as before
    latest, spell = latest[latest_sorted], spell[latest_sorted]
    out = pd.DataFrame({"segment": assessments[segment].take(latest).astype("string").to_numpy(),
                        "pmc": assessments[pmc].take(latest).astype("string").to_numpy(),
                        "municipality": spells["municipality"].array.take(spell).to_numpy()})
    return out[out["segment"].isin(GROUPS) & out["pmc"].notna()].reset_index(drop=True)


def forecast_tables(caseload=None, config=None, current: pd.DataFrame | None = None
                    ) -> dict[str, pd.DataFrame]:
    """Every forecast table: new target groups, sheltered work, checks, caseload, candidates.

    Parameters
    ----------
    caseload : Caseload, optional
        An extract (``caseload.read_extract``). Without it only the tables from
        bundled sources are made (published Stadskanaal/Veendam table, CBS series).
    config : ForecastSettings, optional
        Settings of the ``[forecast]`` section: :class:`ForecastSettings` or any object
        with its attributes (``caseload.config.ForecastConfig``, or a whole config with
        a ``forecast`` attribute); defaults when absent.
    current : DataFrame, optional
        The current caseload with ``segment``, ``pmc`` (and ``municipality``),
        e.g. ``caseload.segment(cs).clients``. Default: the latest assessment's
        ``segment_column`` and ``pmc_column`` of clients on benefit.

    Returns
    -------
    dict of DataFrame
        ``nieuwe_doelgroepen``, ``beschut_werk``, ``controle_bron``,
        ``caseload_prognose`` and, with an extract, ``nieuwe_doelgroepen_extract``
        (when clients are flagged), ``kandidaten`` and, with ``[forecast.scenarios]``,
        ``caseload_scenarios`` (base and scenarios per municipality). Each has ``method``,
        ``parameters`` and ``peildatum`` columns.
    """
    cfg = getattr(config, "forecast", config)
    cfg = cfg if cfg is not None else ForecastSettings()
    levels = tuple(cfg.levels)
    peil = None if caseload is None else caseload.peildatum
    out: dict[str, pd.DataFrame] = {}
    src_peil = pd.Timestamp("2017-05-31")  # date of the published source table

    tg = target_group_table(until=cfg.project_until, constrain_structural=cfg.constrain_structural,
                            origin_year=cfg.origin_year)
    out["nieuwe_doelgroepen"] = _stamp(
        tg, "voorraad-stroommodel S(t) = S(t-1)(1 - e) + I, kleinste kwadraten"
        + (", I = e x structureel niveau" if cfg.constrain_structural else ""),
        {"constrain_structural": cfg.constrain_structural, "origin_year": cfg.origin_year}, src_peil)

    sw = sheltered_work_table(base_year=cfg.sheltered_base_year)
    out["beschut_werk"] = _stamp(
        sw, f"taakstelling SZW t/m {cfg.sheltered_base_year}, daarna aandeel {cfg.sheltered_base_year} "
        "x landelijke taakstelling, half naar boven afgerond",
        {"base_year": cfg.sheltered_base_year}, src_peil)

    out["controle_bron"] = _stamp(check_published_table(load_published_table()),
                                  "controle totalen, volgorde jaren, negatieve en ontbrekende aantallen",
                                  {}, src_peil)

    series = []
    if cfg.include_cbs:
        series.append(load_cbs_bijstand_series())
    if caseload is not None and len(caseload.spells):
        stock = monthly_stock(caseload.spells, peildatum=peil)
        # Only the last years: the ETS model is local, older history adds little but time.
        keep = stock["ds"] >= stock["ds"].max() - pd.DateOffset(months=cfg.history_months - 1)
        series.append(stock[keep])
    if series:
        method = getattr(cfg, "method", "autoets")
        fc = forecast_series(pd.concat(series, ignore_index=True), horizon=cfg.horizon,
                             season_length=cfg.season_length, level=levels, model=cfg.ets_model,
                             method=method)
        fc_method = str(fc["method"].iloc[0]) if len(fc) else ""
        fc = fc.drop(columns="method")
        fc_peil = peil if peil is not None else load_cbs_bijstand_series()["ds"].max()
        out["caseload_prognose"] = _stamp(
            fc, f"{fc_method}; NL = CBS 37789ksz x 1000 uitkeringen",
            {"horizon": cfg.horizon, "season_length": cfg.season_length, "levels": list(levels),
             "model_space": cfg.ets_model, "history_months": cfg.history_months, "method": method},
            fc_peil)
        scen = scenarios_from_config(getattr(cfg, "scenarios", None))
        if scen and caseload is not None and len(caseload.spells):
            out["caseload_scenarios"] = _stamp(
                caseload_scenario_table(caseload.spells, fc, scen, peildatum=peil),
                "scenario's op de prognose: verschil D(t) = D(t-1)(1 - e(1+y)) - y e F(t-1) + x I "
                "(+ eenmalige verschuiving), I en e = gemiddelde maandinstroom en uitstroomkans "
                "over de laatste 12 maanden",
                {s.name: s.describe() for s in scen}, fc_peil)

    if caseload is not None:
        clients = caseload.clients
        if "new_target_group" in clients.columns and clients["new_target_group"].fillna(False).any():
            yearly = yearly_target_group_counts(clients, caseload.spells, peil)
            yearly = yearly[yearly["year"] >= yearly["year"].max() - 9]
            ok = yearly.groupby("municipality")["stock"].transform(lambda s: (s > 0).sum() >= 3)
            if ok.any():
                m = StockFlowModel(method="flows").fit(yearly[ok])
                tab = m.residuals_.merge(m.params_[["inflow", "exit_rate", "structural_implied"]],
                                         left_on="municipality", right_index=True)
                out["nieuwe_doelgroepen_extract"] = _stamp(
                    tab, "voorraad-stroommodel op jaarstanden 31 december uit het extract; uitstroomkans = "
                    "uitstroom / (stand begin jaar + halve instroom)",
                    {"method": "flows", "years": [int(yearly['year'].min()), int(yearly['year'].max())]},
                    peil)
        ass = caseload.assessments
        if len(ass) and cfg.segment_column in ass.columns and ass[cfg.segment_column].notna().any():
            P = transition_matrix(ass, caseload.spells, segment=cfg.segment_column, peildatum=peil)
            if current is not None:
                keep = [c for c in ("segment", "pmc", "municipality") if c in current.columns]
                cur = current.loc[current["segment"].isin(GROUPS), keep].dropna(subset=["pmc"])
                cur = cur.astype({"segment": "string", "pmc": "string"})
            else:
                cur = current_candidates(ass, caseload.spells, clients, peil, segment=cfg.segment_column,
                                         pmc=cfg.pmc_column)
            proj = project_candidates(cur, P, quarters=cfg.candidate_quarters, level=levels, start=peil)
            params = {"quarters": cfg.candidate_quarters, "segment_column": cfg.segment_column,
                      "pmc_column": "segmentatie (pmc)" if current is not None else cfg.pmc_column,
                      "transitions": P.round(4).to_dict(orient="index"),
                      "n_transitions": P.attrs["n_transitions"]}
            out["kandidaten"] = _stamp(proj, "Markov-keten per kwartaal over A, B, C, werk en overige "
                                       "uitstroom; overgangen geschat uit opeenvolgende diagnoses",
                                       params, peil)
    return out
