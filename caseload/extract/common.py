"""What the gws and canonical loaders share: load options, code lookups and table building."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from caseload.extract.files import RawColumn
from caseload.extract.mapping import lookup_key
from caseload.extract.parse import INVALID

__all__ = ["LoadOptions", "UNKNOWN_MUNICIPALITY", "MIN_AGE", "MAX_AGE", "map_uniques", "map_codes",
           "municipality_lookup", "string_array", "spell_ids", "first_seen_order", "format_days"]

MIN_AGE, MAX_AGE = 15, 110

#: The municipality of an extract without a municipality column or setting.
UNKNOWN_MUNICIPALITY = "onbekend"


@dataclass
class LoadOptions:
    """Settings of one load (from :class:`caseload.config.ExtractConfig` and :func:`read_extract`)."""

    gap_days: int = 1
    municipality: str | None = None
    end_reasons: dict[str, str] = field(default_factory=dict)
    households: dict[str, str] = field(default_factory=dict)
    inflow_reasons: dict[str, str] = field(default_factory=dict)
    groups: list[str] | None = None


def map_uniques(col: RawColumn, lookup: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct value (and a last entry for empty cells): index into the returned code values
    (-1 empty, -2 unknown). Values are matched by :func:`caseload.extract.mapping.lookup_key`."""
    mapped = [lookup.get(lookup_key(u)) for u in col.uniques]
    values = sorted({m for m in mapped if m is not None})
    pos = {v: i for i, v in enumerate(values)}
    per_unique = np.array([pos[m] if m is not None else -2 for m in mapped] + [-1], dtype=np.int32)
    return per_unique, np.asarray(values, dtype=object)


def map_codes(col: RawColumn, lookup: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: index into the returned code values (-1 empty, -2 unknown)."""
    per_unique, values = map_uniques(col, lookup)
    return per_unique[col.codes], values


_GM = re.compile(r"^(?:GM)?\s*(\d{1,4})$", re.IGNORECASE)


def municipality_lookup(uniques: np.ndarray) -> dict[str, str]:
    """CBS codes written as ``GM0168``, ``gm 168`` or ``168`` -> ``GM0168``; ``onbekend`` stays unknown."""
    out = {lookup_key(UNKNOWN_MUNICIPALITY): UNKNOWN_MUNICIPALITY}
    for u in uniques:
        m = _GM.match(str(u).strip())
        if m:
            out[lookup_key(u)] = f"GM{int(m[1]):04d}"
    return out


def first_seen_order(codes: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ``codes`` (0 to ``n_values - 1``; -1 missing) in the order of first appearance.

    Returns the new codes and ``order``: value ``order[k]`` gets code ``k``
    (``values[order]`` are the values in their new order). Spells and clients
    come out in the order their client first appears in the file.
    """
    seen = pd.unique(codes)
    seen = seen[seen >= 0]
    unseen = np.ones(n_values, dtype=bool)
    unseen[seen] = False
    order = np.concatenate([seen, np.flatnonzero(unseen)]).astype(np.int64)
    rank = np.empty(n_values + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1
    return rank[codes], order


def _text_array(values) -> pa.Array:
    """``values`` as an Arrow string array."""
    if isinstance(values, pa.Array) and values.type == pa.string():
        return values
    try:
        vals = pa.array(values, type=pa.string())
        if vals.null_count == 0:
            return vals
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    return pa.array([str(v) for v in values], type=pa.string())


def string_array(codes: np.ndarray, values) -> pd.api.extensions.ExtensionArray:
    """A pandas string array from codes into ``values`` (code < 0: missing)."""
    codes = np.asarray(codes, dtype=np.int32)
    mask = codes < 0
    vals = _text_array(values)
    if not len(vals):
        vals = pa.array([""], type=pa.string())
        codes = np.zeros_like(codes)
    arr = pa.DictionaryArray.from_arrays(pa.array(np.where(mask, 0, codes), mask=mask), vals)
    return pd.arrays.ArrowStringArray(arr.cast(pa.string()))


def spell_ids(client_codes: np.ndarray, client_pseudonyms, start_days: np.ndarray):
    """Spell ids ``<client pseudonym>-<yyyymmdd of the start>``: unique per spell, stable across extracts."""
    import polars as pl

    codes = pl.Series(np.asarray(client_codes, dtype=np.int32))
    names = pl.Series(_text_array(client_pseudonyms))
    day = pl.Series(np.asarray(start_days, dtype=np.int64)).cast(pl.Int32).cast(pl.Date)
    ids = pl.select(pl.concat_str([pl.lit(names).gather(codes), pl.lit(day).dt.strftime("%Y%m%d")],
                                  separator="-")).to_series()
    return pd.arrays.ArrowStringArray(ids.to_arrow().cast(pa.string()))


def format_days(days: np.ndarray) -> np.ndarray:
    """Day numbers as ``dd-mm-jjjj`` text ('' for a missing or unreadable date)."""
    out = np.full(len(days), "", dtype=object)
    ok = days > INVALID
    if ok.any():
        out[ok] = pd.to_datetime(days[ok].astype("datetime64[D]")).strftime("%d-%m-%Y").to_numpy()
    return out
