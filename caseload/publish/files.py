"""Deterministic CSV and XLSX files of the published tables."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
from datetime import date as _date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from caseload.publish.items import Publication, PublishError, TableItem, _tx
from caseload.publish.safe import neutralise_frame, protect_workbook

# Excel's fixed limit on sheet names; Excel also forbids these characters in them.
_SHEET_MAX = 31
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
# A fixed zip time stamp (the zip format cannot store dates before 1980).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- writers


def file_sha256(path: Path | str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (extracts can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


# Code columns whose integers are years, codes or ranks: never a thousands separator.
_PLAIN_COLUMNS = frozenset({"year", "inflow_year", "birth_year", "jaar", "row", "code", "profile",
                            "ladder_step", "quarter", "rank", "months", "years_since_start"})
_PLAIN_LABELS = frozenset({"jaar", "year", "instroomjaar", "inflow year", "rij", "row"})
# Columns that hold shares (fractions 0-1 in the API): shown as percentages.
_SHARE_COLUMNS = frozenset({"survival", "share_active", "estimate", "naive_share", "share", "target"})
# Columns whose values are codes of a code list: shown by their labels.
_CODE_COLUMNS = ("household", "end_reason", "inflow_reason", "sex", "segment")
_MUNICIPALITY_COLUMNS = frozenset({"municipality", "series", "gemeente"})
_GM_CODE = re.compile(r"GM\d{4}")


def _code_list(column: str):
    from caseload import schema

    if column == "inflow_reason":
        return schema.inflow_reasons()
    return {"household": schema.HOUSEHOLD, "end_reason": schema.END_REASON, "sex": schema.SEX,
            "segment": schema.SEGMENT}.get(column)


def _share_columns(item: TableItem, table: pd.DataFrame) -> set[str]:
    """The float columns of ``table`` that are shares 0-1 (shown as percentages)."""
    cols = set()
    candidates = {c for c in item.percentages} | (_SHARE_COLUMNS & set(map(str, table.columns)))
    if candidates and "hazard_ratio" not in table.columns:
        candidates |= {c for c in table.columns
                       if re.fullmatch(r"(lower|upper)_\d+(\.\d+)?", str(c))}
    for c in candidates:
        if c not in table.columns or not pd.api.types.is_numeric_dtype(table[c]):
            continue
        vals = table[c].to_numpy(dtype="float64", na_value=np.nan)
        finite = vals[np.isfinite(vals)]
        if item.scale == 100 or (item.scale is None and len(finite) and np.nanmax(np.abs(finite)) > 1):
            continue
        cols.add(c)
    return cols


def _display_frame(item: TableItem, table: pd.DataFrame, lang: str = "nl",
                   municipality_names: Mapping[str, str] | None = None
                   ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Round floats, label codes, name municipalities, rename headers: the table as published.

    Returns the table and the decimals of each float column (by published
    header). Float columns that hold only whole numbers become integers; shares
    (fractions 0-1) become percentages with one decimal; municipality codes
    become names (:func:`caseload.schema.municipality_name`); codes of a code
    list become their labels; headers without a label of the table's own come
    from the catalogue :func:`caseload.schema.report_label`. Dates stay dates.

    ``attrs`` of the result: ``plain`` (integer columns never written with a
    thousands separator: years, codes), ``dates`` (date columns) and ``percent``
    (columns shown as percentages), all by published header.
    """
    from caseload.schema import municipality_name, report_label, report_value

    out = table.copy()
    decimals: dict[str, int] = {}
    shares = _share_columns(item, table)
    headers = {c: str(item.labels[c]) if c in item.labels else report_label(str(c), lang)
               for c in out.columns}
    for c in list(shares):
        if "%" not in headers[c]:
            headers[c] = f"{headers[c]} (%)"
    plain, dates = [], []
    for c in out.columns:
        s = out[c]
        key = str(c)
        if c in shares:
            out[c] = (s.astype("float64") * 100).round(1)
            decimals[headers[c]] = 1
        elif pd.api.types.is_float_dtype(s):
            d = item.decimals.get(c, 2) if isinstance(item.decimals, Mapping) else item.decimals
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            finite = vals[np.isfinite(vals)]
            if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
                out[c] = pd.array(np.where(np.isfinite(vals), vals, 0).astype("int64"),
                                  dtype="Int64")
                out.loc[~np.isfinite(vals), c] = pd.NA
            else:
                out[c] = s.round(d)
                decimals[headers[c]] = int(d)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
            dates.append(headers[c])
        elif pd.api.types.is_timedelta64_dtype(s):
            out[c] = s.dt.days
        elif pd.api.types.is_bool_dtype(s):
            out[c] = s.map(lambda v: "" if pd.isna(v) else report_value("_bool", bool(v), lang)
                           ).astype("string")
        elif s.dtype == object and s.notna().any() and all(
                isinstance(v, (pd.Timestamp, _date)) for v in s.dropna()):
            out[c] = pd.to_datetime(s)
            dates.append(headers[c])
        else:
            if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
                s = s.astype("string")
            if pd.api.types.is_string_dtype(s):
                s = s.astype("string")
                codes = _code_list(key)
                values = s.dropna()
                if len(values) and values.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all():
                    out[c] = pd.to_datetime(s)  # ISO dates written as text: dates
                    dates.append(headers[c])
                    continue
                if key in _MUNICIPALITY_COLUMNS or headers[c] in ("Gemeente", "Municipality"):
                    s = s.map(lambda v: municipality_name(v, municipality_names)
                              if isinstance(v, str) and _GM_CODE.fullmatch(v) else v)
                elif codes is not None:
                    s = s.map(lambda v, cl=codes: cl.label(v, lang) if isinstance(v, str) and v in cl else v)
                elif key == "covariate":
                    s = s.map(lambda v: _covariate_label(v, lang) if isinstance(v, str) else v)
                else:
                    s = s.map(lambda v, k=key: report_value(k, v, lang) if isinstance(v, str) else v)
                out[c] = s.astype("string")
        if (pd.api.types.is_integer_dtype(out[c]) and
                (key in _PLAIN_COLUMNS or key.endswith("_year") or headers[c].lower() in _PLAIN_LABELS)):
            plain.append(headers[c])
    out.columns = [headers[c] for c in out.columns]
    if out.columns.duplicated().any():
        raise PublishError(f"table {item.name!r}: duplicate column headers after labelling.",
                           fix="Give every column its own label.")
    out.attrs = {"plain": plain, "dates": dates, "headers": {str(c): headers[c] for c in table.columns},
                 "percent": [headers[c] for c in table.columns if c in shares]}
    return out, decimals


def _covariate_label(v: str, lang: str) -> str:
    """``age_band=27-44 jaar`` -> ``Leeftijd bij instroom: 27-44 jaar`` (Cox covariates)."""
    from caseload.schema import CLIENTS, SPELLS, label_table, report_label

    name, _, level = v.partition("=")
    names = label_table("headers.covariate")
    if name in names:
        head = names[name][0 if lang == "nl" else 1]
    elif name in SPELLS.columns or name in CLIENTS.columns:
        col = SPELLS[name] if name in SPELLS.columns else CLIENTS[name]
        head = (col.label_nl if lang == "nl" else col.label_en) or name
        codes = _code_list(name)
        if codes is not None and level in codes:
            level = codes.label(level, lang)
    else:
        head = report_label(name, lang)
    return f"{head}: {level}" if level else head


#: CSV formats: separator, decimal mark, encoding, date format.
CSV_FORMATS = {
    "excel-nl": (";", ",", "utf-8-sig", "%d-%m-%Y"),
    "plain": (",", ".", "utf-8", "%Y-%m-%d"),
}


def _write_csv(df: pd.DataFrame, path: Path, decimals: dict[str, int], fmt: str = "excel-nl") -> None:
    """One published table as CSV: ``excel-nl`` (``;``, decimal comma, BOM) or ``plain``."""
    if fmt not in CSV_FORMATS:
        raise PublishError(f"unknown CSV format {fmt!r}.", fix='Use [report] csv = "excel-nl" or "plain".')
    sep, mark, encoding, date_fmt = CSV_FORMATS[fmt]
    out = df.copy()
    for c, d in decimals.items():
        # Fixed decimals per column, empty for missing: the same bytes on every run.
        out[c] = [("" if not np.isfinite(v) else f"{v:.{d}f}".replace(".", mark))
                  for v in out[c].to_numpy(dtype="float64", na_value=np.nan)]
    for c in df.attrs.get("dates", []):
        out[c] = pd.to_datetime(out[c]).dt.strftime(date_fmt).fillna("")
    neutralise_frame(out).to_csv(path, index=False, sep=sep, encoding=encoding,
                                 # CRLF as RFC 4180 and Excel: a CR inside a text cell is then quoted
                                 lineterminator="\r\n")


def _sheet_names(names: list[str]) -> list[str]:
    """Unique Excel sheet names of at most 31 characters."""
    out: list[str] = []
    for n in names:
        base = _SHEET_BAD.sub("_", n)[:_SHEET_MAX]
        cand, i = base, 2
        while cand.lower() in {o.lower() for o in out} or cand.lower() == "toelichting":
            suffix = f"~{i}"
            cand = base[: _SHEET_MAX - len(suffix)] + suffix
            i += 1
        out.append(cand)
    return out


def _xlsx_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _write_sheet(ws, df: pd.DataFrame, decimals: dict[str, int]) -> None:
    from openpyxl.styles import Alignment, Font

    ws.append([str(c) for c in df.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in df.itertuples(index=False, name=None):
        ws.append([_xlsx_value(v) for v in row])
    for i, c in enumerate(df.columns):
        if str(c) in df.attrs.get("dates", []):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                cell.number_format = "dd-mm-yyyy"
            continue
        if str(c) not in decimals:
            continue
        d = decimals[str(c)]
        fmt = "0" if d == 0 else "0." + "0" * d
        for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell.number_format = fmt
    for i, c in enumerate(df.columns):
        width = max([len(str(c))] + [len(str(v)) for v in df.iloc[:200, i].tolist()])
        ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"


def _normalise_zip(data: bytes, peildatum: pd.Timestamp) -> bytes:
    """Rewrite an xlsx (a zip) with fixed entry time stamps and document dates.

    openpyxl stamps ``docProps/core.xml`` and every zip entry with the time of
    saving; fixing both to the peildatum makes two runs byte-identical.
    """
    stamp = peildatum.strftime("%Y-%m-%dT00:00:00Z")
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                              lambda m: m.group(1) + stamp + m.group(3), text)
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return buf.getvalue()


def _write_workbook(path: Path, pub: Publication, frames: list[tuple[TableItem, pd.DataFrame]],
                    decimals: dict[str, dict[str, int]], notes: pd.DataFrame) -> list[str]:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    names = _sheet_names([item.name for item, _ in frames])
    info = wb.create_sheet(_tx("explanation", pub.lang))
    info.append([pub.title])
    info["A1"].font = Font(bold=True, size=13)
    info.append([f"{_tx('source', pub.lang)}: {pub.source}"])
    info.append([f"{_tx('peildatum', pub.lang)}: {pub.peildatum.strftime('%d-%m-%Y')}"])
    for line in pub.notes:
        info.append([line])
    for name, href in pub.related_reports:
        info.append([f"{_tx('related_reports', pub.lang)}: {name} ({href})"])
    info.append([])
    start = info.max_row + 1
    _write_sheet(info, notes, {})
    # _write_sheet bolds row 1 and freezes below it; here the header sits lower.
    info.freeze_panes = None
    for cell in info[start]:
        cell.font = Font(bold=True)
    for cell in info[1]:
        cell.font = Font(bold=True, size=13)
    for row in info.iter_rows(min_row=start + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for sheet, (item, df) in zip(names, frames, strict=True):
        ws = wb.create_sheet(sheet)
        _write_sheet(ws, df, decimals[item.name])
    wb.properties.creator = "caseload"
    wb.properties.title = pub.title
    created = pub.peildatum.to_pydatetime().replace(tzinfo=None)
    wb.properties.created = created
    wb.properties.modified = created
    protect_workbook(wb)
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(_normalise_zip(buf.getvalue(), pub.peildatum))
    return names


