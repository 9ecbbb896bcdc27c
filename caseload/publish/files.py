"""Deterministic CSV and XLSX files of the published tables."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Mapping
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


def _display_frame(item: TableItem, table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Round floats, format dates, rename headers: the table as published.

    Returns the table and the decimals of each float column (by published
    header). Float columns that hold only whole numbers become integers.
    """
    out = table.copy()
    decimals: dict[str, int] = {}
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s):
            d = item.decimals.get(c, 2) if isinstance(item.decimals, Mapping) else item.decimals
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            finite = vals[np.isfinite(vals)]
            if len(finite) and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
                out[c] = pd.array(np.where(np.isfinite(vals), vals, 0).astype("int64"),
                                  dtype="Int64")
                out.loc[~np.isfinite(vals), c] = pd.NA
            else:
                out[c] = s.round(d)
                decimals[str(item.labels.get(c, c))] = int(d)
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d")
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype("string")
        elif pd.api.types.is_timedelta64_dtype(s):
            out[c] = s.dt.days
    out.columns = [str(item.labels.get(c, c)) for c in out.columns]
    if out.columns.duplicated().any():
        raise PublishError(f"table {item.name!r}: duplicate column headers after labelling.",
                           fix="Give every column its own label.")
    return out, decimals


def _write_csv(df: pd.DataFrame, path: Path, decimals: dict[str, int]) -> None:
    out = df.copy()
    for c, d in decimals.items():
        # Fixed decimals per column, empty for missing: the same bytes on every run.
        out[c] = [("" if not np.isfinite(v) else f"{v:.{d}f}")
                  for v in out[c].to_numpy(dtype="float64", na_value=np.nan)]
    neutralise_frame(out).to_csv(path, index=False, encoding="utf-8", lineterminator="\n",
                                 date_format="%Y-%m-%d")


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


