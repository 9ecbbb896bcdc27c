"""The stock on the peildatum and its composition (pure functions)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from caseload.schema import CLIENTS, Caseload, age_band

__all__ = ["stock_on", "stock_composition", "age_rule_method"]


def stock_on(caseload: Caseload, peildatum=None, age_rule: str | None = None) -> pd.DataFrame:
    """Clients with a benefit running on the peildatum, with their characteristics.

    The stock rule is that of :func:`caseload.flows.stock_at` (started on or
    before the peildatum, no end or an end after it); a client counts once even
    with two spells open on the day. Age is the age on the peildatum by
    ``age_rule``. The client's ladder step is that of the latest assessment on
    or before the peildatum.

    Parameters
    ----------
    caseload : Caseload
    peildatum : date-like, optional
        Default ``caseload.peildatum``.
    age_rule : {"birth_date", "mid_year", "calendar_year"}, optional
        How the age is computed (:func:`caseload.durations.age_at`); default
        that of ``[durations] age_rule`` (``"birth_date"``). Stored in
        ``attrs["age_rule"]``; :func:`age_rule_method` gives the sentence for a
        method text.

    Returns
    -------
    DataFrame
        One row per client in the stock: the ``clients`` columns plus ``age``,
        ``age_band`` (Losser bands), ``benefit`` and ``ladder_step`` (nullable).
    """
    from caseload.durations.tables import DEFAULT_AGE_RULE, age_at, check_age_rule
    from caseload.flows import stock_at

    rule = check_age_rule(age_rule or DEFAULT_AGE_RULE)
    peil = pd.Timestamp(peildatum if peildatum is not None else caseload.peildatum)
    running = (stock_at(caseload.spells, peil)[["client_id", "benefit", "start_date"]]
               .sort_values(["client_id", "start_date"], kind="stable")
               .drop_duplicates("client_id", keep="first"))
    cols = [c for c in CLIENTS.names if c in caseload.clients.columns and c != "peildatum"]
    stock = running[["client_id", "benefit"]].merge(caseload.clients[cols], on="client_id",
                                                     how="left", validate="one_to_one")
    stock["age"] = pd.array(age_at(caseload.clients, peil, stock["client_id"], rule=rule), dtype="Float64")
    stock["age_band"] = age_band(stock["age"].to_numpy(dtype="float64", na_value=np.nan))
    ass = caseload.assessments
    if len(ass):
        last = (ass.loc[ass["assessed_on"] <= peil, ["client_id", "assessed_on", "ladder_step"]]
                .sort_values(["client_id", "assessed_on"], kind="stable")
                .drop_duplicates("client_id", keep="last"))
        stock = stock.merge(last[["client_id", "ladder_step"]], on="client_id", how="left")
    else:
        stock["ladder_step"] = pd.array([pd.NA] * len(stock), dtype="Int64")
    stock = stock.reset_index(drop=True)
    stock.attrs["age_rule"] = rule
    return stock


def age_rule_method(stock: pd.DataFrame, lang: str = "nl") -> str:
    """The age rule of a :func:`stock_on` table as one phrase for a method text."""
    from caseload.durations.tables import DEFAULT_AGE_RULE, age_rule_text

    return age_rule_text(stock.attrs.get("age_rule", DEFAULT_AGE_RULE), lang)


def stock_composition(stock: pd.DataFrame, by: str, codes=None, lang: str = "nl",
                      label: str | None = None) -> pd.DataFrame:
    """Count and share of the stock by one characteristic.

    Parameters
    ----------
    stock : DataFrame
        From :func:`stock_on`.
    by : str
        Column to group by (``age_band``, ``sex``, ``household``, ``ladder_step``...).
    codes : CodeList, optional
        Gives the row order and the labels; codes not in the data get a count of 0.
    lang : {"nl", "en"}
    label : str, optional
        Header of the group column (default the column's label in the schema).

    Returns
    -------
    DataFrame
        The group label, ``aantal`` (count) and ``percentage`` (of the whole
        stock), one row per code in code-list order, a row "Niet vastgelegd"
        for missing values (or ages outside the bands) when there are any, and a
        total row "Totaal".

    Examples
    --------
    >>> from caseload.schema import SEX
    >>> s = pd.DataFrame({"sex": ["M", "V", "V", None]})
    >>> stock_composition(s, "sex", SEX)
              Geslacht  aantal  percentage
    0              Man       1        25.0
    1            Vrouw       2        50.0
    2         Onbekend       0         0.0
    3  Niet vastgelegd       1        25.0
    4           Totaal       4       100.0
    """
    col = stock[by]
    if isinstance(col.dtype, pd.CategoricalDtype):
        keys = [str(k) for k in col.cat.categories]
        values = col.astype("string")
    else:
        values = col.astype("string")
        keys = list(codes) if codes is not None else sorted(values.dropna().unique().tolist())
    counts = values.value_counts(dropna=True)
    n = counts.reindex(keys, fill_value=0).astype("int64").to_numpy()
    names = [codes.label(k, lang) if codes is not None else str(k) for k in keys]
    unknown = int(len(values) - n.sum())
    if unknown:
        names.append(_NOT_RECORDED[lang])
        n = np.append(n, unknown)
    total = int(n.sum())
    if label is None:
        label = (CLIENTS[by].label_nl if lang == "nl" else CLIENTS[by].label_en) \
            if by in CLIENTS.columns else by
    names.append(_TOTAL[lang])
    n = np.append(n, total)
    pct = 100.0 * n / total if total else np.full(len(n), np.nan)
    return pd.DataFrame({label: names, "aantal": n, "percentage": pct})


_TOTAL = {"nl": "Totaal", "en": "Total"}
_NOT_RECORDED = {"nl": "Niet vastgelegd", "en": "Not recorded"}


