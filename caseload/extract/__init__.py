"""Read benefit-caseload extracts into validated canonical tables.

:func:`read_extract` reads CSV (delimiter and encoding detected), XLSX and
Parquet files, maps their columns (presets ``gws`` and ``canonical``, or a user
mapping), validates every row, consolidates payment periods into spells,
replaces client, dossier and other numbers by keyed pseudonyms, and returns a
:class:`caseload.schema.Caseload` with the rejected rows and a per-file report.

Nothing is lost silently: for every file ``rows_read == rows_loaded +
rows_rejected``, and each rejected row names its file, row, column, (masked)
value, a reason code and what to do about it. A file that cannot be read at all
raises one :class:`caseload.errors.ExtractError` naming the file and the fix.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from caseload.errors import ExtractError
from caseload.extract.canonical import CanonicalFile, load_canonical
from caseload.extract.common import UNKNOWN_MUNICIPALITY, LoadOptions
from caseload.extract.files import RawFile, read_raw
from caseload.extract.gws import GwsFile, load_gws, prepare_gws
from caseload.extract.mapping import (
    END_REASON_TEXTS,
    GWS_FIELDS,
    HOUSEHOLD_TEXTS,
    MAPPINGS,
    detect_layout,
    known_headers,
)
from caseload.extract.overrides import read_overrides
from caseload.extract.parse import parse_date_text
from caseload.extract.rejections import REASONS, REJECTED_COLUMNS, empty_rejected
from caseload.extract.spells import consolidate_spells
from caseload.schema import ACTIVITIES, ASSESSMENTS, CLIENTS, SPELLS, Caseload, conform, empty_table

__all__ = [
    "read_overrides",
    "read_extract",
    "consolidate_spells",
    "MAPPINGS",
    "GWS_FIELDS",
    "END_REASON_TEXTS",
    "HOUSEHOLD_TEXTS",
    "REASONS",
    "REJECTED_COLUMNS",
    "REPORT_COLUMNS",
    "UNKNOWN_MUNICIPALITY",
    "parse_date_text",
    "validation_summary",
    "read_mapping",
    "write_rejected",
]

REPORT_COLUMNS = ["file", "table", "rows_read", "rows_loaded", "rows_rejected", "rows_excluded",
                  "rows_above_header", "invisible_removed", "unknown_columns", "format", "encoding", "delimiter"]
"""Columns of ``Caseload.report``: per file, ``rows_read == rows_loaded + rows_rejected + rows_excluded``
(``rows_excluded``: outside ``[extract] groups``); ``rows_above_header``: title rows skipped;
``invisible_removed``: cells from which a byte-order mark or zero-width character was removed;
``unknown_columns``: columns the loader does not use."""


def _as_paths(paths) -> list[Path]:
    if paths is None:
        return []
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _peildatum_days(value) -> int:
    ts = pd.Timestamp(value) if not isinstance(value, str) else None
    if isinstance(value, str):
        days = parse_date_text(value)
        if days < -(2**62):
            raise ExtractError(f"peildatum {value!r} is not a date.",
                               fix="Write the peildatum as jjjj-mm-dd or dd-mm-jjjj.")
        return int(days)
    return int(ts.to_datetime64().astype("datetime64[D]").astype(np.int64))


def _bad_line_rejections(raw: RawFile, mask_value) -> pd.DataFrame:
    if not raw.bad_rows:
        return empty_rejected()
    # a whole line holds the client number too: mask every number of 5 or more digits
    shown = [_mask_numbers(t, mask_value) for _, t, _ in raw.bad_rows]
    return pd.DataFrame({
        "file": str(raw.path), "row": [r for r, _, _ in raw.bad_rows], "column": "",
        "value": shown, "reason": "bad_line",
        "message": [p + "." for _, _, p in raw.bad_rows],
        "fix": "Check the line for a stray delimiter or quote in a text field and export again.",
    }).astype({"file": "string", "row": "Int64", "column": "string", "value": "string",
               "reason": "string", "message": "string", "fix": "string"})


def _mask_numbers(text: str, mask_value) -> str:
    import re

    return re.sub(r"\d{5,}", lambda m: mask_value(m.group(0)), text)


def read_extract(
    paths=None,
    mapping: str | dict[str, str] | None = None,
    peildatum=None,
    config=None,
    *,
    municipality: str | None = None,
    header_row: int | None = None,
    groups: list[str] | None = None,
) -> Caseload:
    """Read extract files into a validated :class:`~caseload.schema.Caseload`.

    Parameters
    ----------
    paths : path-like or list of path-like, optional
        CSV, XLSX or Parquet files. Default: ``config.extract.files``.
    mapping : {"gws", "canonical"} or dict, optional
        Column mapping preset, or ``{field: file column}`` (fields of
        :data:`GWS_FIELDS` or canonical column names). Default:
        ``config.extract.mapping`` (``"gws"``). Each file's table is detected
        from its header, so an extract may mix a gws period file with canonical
        assessment or activity files.
    peildatum : date-like, optional
        Reference date. Default: ``config.extract.peildatum``, else the latest
        start or end date in the files (end dates more than 31 days after the
        latest start date, such as 31-12-9999, are ignored). A peildatum more
        than 31 days after the latest date in the files gives a warning.
    config : Config, optional
        A :class:`caseload.config.Config` (``[extract]``: municipality,
        gap_days, end_reasons, households, inflow_reasons, header_row, groups,
        max_xlsx_mb; ``[privacy]``: key_file).
    municipality : str, optional
        CBS code (``"GM0168"``) for files without a municipality column; default
        ``config.extract.municipality``. Without either, such files load with
        the municipality ``"onbekend"`` (unknown) and one warning.
    header_row : int, optional
        Row number (1 = first) of the column names; default
        ``config.extract.header_row``, else found among the first 20 rows.
    groups : list of str, optional
        Keep only rows whose 'Kode groep' is one of these (``["02"]``); default
        ``config.extract.groups`` (all rows).

    Returns
    -------
    Caseload
        Canonical tables with keyed pseudonyms as ids; ``rejected`` has one row
        per rejected input row (``file, row, column, value, reason, message,
        fix``; ``value`` masked where it could be a personal number) and
        ``report`` one row per file with ``rows_read == rows_loaded +
        rows_rejected + rows_excluded``, the rows above the header
        (``rows_above_header``), the cells from which invisible characters were
        removed (``invisible_removed``) and the columns not used
        (``unknown_columns``).

    Raises
    ------
    ExtractError
        When a whole file cannot be used: not found, a folder, named twice,
        empty, not a spreadsheet, unreadable encoding, a column name used twice,
        an XLSX that unpacks to more than ``[extract] max_xlsx_mb``, or a
        required column missing (the message names the closest column in the file).

    Notes
    -----
    Period rows (gws) become spells by :func:`consolidate_spells`: rows of the
    same client with the same original start date form one benefit; a gap of
    more than ``gap_days`` days between periods starts a new spell. Each file is
    consolidated on its own; a spell found in several files (successive monthly
    extracts) is kept once, from the file listed last, and a client's attributes
    come from a canonical clients file if given, else from the last gws file.

    Examples
    --------
    >>> import caseload as cl
    >>> cs = cl.read_extract("data/sample/uitkeringen.csv")  # doctest: +SKIP
    >>> cs = cl.read_extract(["bijstand.xlsx"], mapping="gws", peildatum="2024-12-31",
    ...                      municipality="GM0168")  # doctest: +SKIP
    >>> cs.report  # doctest: +SKIP
    """
    from caseload import privacy
    from caseload.config import ExtractConfig, PrivacyConfig

    if config is not None:
        ex, privacy_cfg, resolve = config.extract, config.privacy, config.resolve
    else:
        # only the two sections the loader reads: a whole default Config also builds the
        # segmentation defaults, which import scipy (about a second)
        ex, privacy_cfg, resolve = ExtractConfig(), PrivacyConfig(), Path
    files = _as_paths(paths)
    if not files:
        files = [resolve(p) for p in ex.files]
    if not files:
        raise ExtractError("no extract files given.",
                           fix="Pass file paths, or list them in the config: [extract] files = [\"...\"].")
    seen: dict[Path, Path] = {}
    for f in files:
        same = seen.setdefault(f.resolve(), f)
        if same is not f:
            raise ExtractError(f"the file is named twice (also as '{same}'); its rows would count twice.",
                               file=f, fix="Name each extract file once.")
    mapping = ex.mapping if mapping is None else mapping
    opts = LoadOptions(
        gap_days=ex.gap_days,
        municipality=municipality if municipality is not None else ex.municipality,
        end_reasons=dict(ex.end_reasons),
        households=dict(ex.households),
        inflow_reasons=dict(ex.inflow_reasons),
        groups=list(groups) if groups is not None else ex.groups,
    )
    key_file = privacy_cfg.key_file
    key = privacy.load_key(resolve(key_file) if key_file is not None else None)
    header_row = header_row if header_row is not None else ex.header_row
    known = known_headers(mapping)
    prepared = []
    for path in files:
        raw = read_raw(path, known, header_row, ex.max_xlsx_mb)
        layout = detect_layout(raw.headers, mapping, path)
        prepared.append(prepare_gws(raw, layout, opts.groups) if layout.kind == "gws"
                        else CanonicalFile(raw, layout))

    latest = [d for d in (p.latest_date() for p in prepared) if d is not None]
    peil = peildatum if peildatum is not None else ex.peildatum
    if peil is not None:
        peil_days = _peildatum_days(peil)
        if latest and peil_days > max(latest) + 31:
            last = pd.Timestamp(np.datetime64(max(latest), "D"))
            warnings.warn(
                f"the peildatum {pd.Timestamp(np.datetime64(peil_days, 'D')):%d-%m-%Y} lies "
                f"{peil_days - max(latest)} days after the latest date in the extract ({last:%d-%m-%Y}); "
                "figures would draw flat lines into the months without data. Check the peildatum, or "
                "leave it out to use the latest date.", UserWarning, stacklevel=2)
    elif latest:
        peil_days = max(latest)
    else:
        raise ExtractError("no valid date in the files, so the peildatum cannot be derived.",
                           file=files[0], fix="Pass peildatum=... or set [extract] peildatum.")
    _warn_missing_columns(prepared, opts)

    def pseudonyms(values, domain):
        ps = privacy.pseudonymize(pd.Series(np.asarray(values, dtype=object), dtype=object), key, domain=domain)
        return ps.to_numpy(dtype=object)

    return _load_all(prepared, peil_days, opts, pseudonyms)


def _warn_missing_columns(prepared, opts: LoadOptions) -> None:
    """One warning each for an unknown municipality and for missing end reasons."""
    needs_municipality = [p.raw.path.name for p in prepared
                          if "municipality" not in p.layout.columns
                          and (isinstance(p, GwsFile) or "municipality" in p.table.columns)]
    if needs_municipality and opts.municipality is None:
        warnings.warn(
            f"{', '.join(needs_municipality)}: no municipality column and no municipality set; the "
            f"municipality is '{UNKNOWN_MUNICIPALITY}' (unknown), and analyses that need it (the "
            "comparison with similar municipalities) are left out. Pass municipality=\"GM....\" or set "
            "[extract] municipality = \"GM....\" (CBS code).", UserWarning, stacklevel=3)
    no_end = [p.raw.path.name for p in prepared if isinstance(p, GwsFile) and "end_reason" not in p.layout.columns]
    if no_end:
        warnings.warn(
            f"{', '.join(no_end)}: no column '{GWS_FIELDS['end_reason'][0]}'; ended benefits have no end "
            "reason, so outflow to work cannot be counted. Add the column to the export if the "
            "administration has it.", UserWarning, stacklevel=3)


def _load_all(prepared, peil_days, opts, pseudonyms) -> Caseload:
    from caseload import privacy

    peil_ts = pd.Timestamp(np.datetime64(peil_days, "D"))
    tables: dict[str, list[pd.DataFrame]] = {"clients": [], "spells": [], "assessments": [],
                                             "activities": []}
    gws_clients: list[pd.DataFrame] = []
    rejected, report = [], []
    id_columns = {f.layout.columns.get(c) for f in prepared
                  for c in ("client_id", "dossier_id", "spell_id", "activity_id")} - {None}
    for p in prepared:
        raw = p.raw
        if isinstance(p, GwsFile):
            spells, clients, chk = load_gws(p, peil_days, opts, pseudonyms)
            tables["spells"].append(spells)
            gws_clients.append(clients)
        else:
            df, chk = load_canonical(p, peil_days, opts, pseudonyms)
            tables[p.table.name].append(df)

        def raw_values(column, idx, raw=raw):
            col = raw.columns.get(column)
            return col.take(idx).values() if col is not None else np.full(len(idx), None, dtype=object)

        rej = chk.table(str(raw.path), raw.rows, raw_values, privacy.mask_value, id_columns)
        bad = _bad_line_rejections(raw, privacy.mask_value)
        if len(bad):
            rej = pd.concat([r for r in (rej, bad) if len(r)], ignore_index=True).sort_values(
                "row", kind="stable", ignore_index=True)
        rejected.append(rej)
        excluded = getattr(p, "rows_excluded", 0)
        used = set(p.layout.columns.values())
        report.append({
            "file": str(raw.path), "table": p.layout.table, "rows_read": raw.rows_read + excluded,
            "rows_loaded": raw.rows_read - len(rej), "rows_rejected": len(rej), "rows_excluded": excluded,
            "rows_above_header": raw.rows_skipped, "invisible_removed": raw.invisible,
            "unknown_columns": ", ".join(h for h in raw.headers if h not in used),
            "format": raw.format, "encoding": raw.encoding, "delimiter": raw.delimiter,
        })

    if gws_clients:
        # a client in several gws files: the attributes of the latest file listed win
        tables["clients"].extend(reversed(gws_clients))
    out = {}
    for name, schema in (("clients", CLIENTS), ("spells", SPELLS), ("assessments", ASSESSMENTS),
                         ("activities", ACTIVITIES)):
        parts = [t for t in tables[name] if len(t)]
        if parts:
            df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
            if name == "clients" and len(parts) > 1:
                df = df.drop_duplicates("client_id", keep="first").reset_index(drop=True)
            if name == "spells" and len(parts) > 1:
                # the same spell in several extracts (monthly files): the file listed last wins
                df = df.drop_duplicates("spell_id", keep="last").reset_index(drop=True)
            df["peildatum"] = peil_ts.to_datetime64().astype("datetime64[ns]")
            out[name] = conform(df, schema)
        else:
            out[name] = empty_table(schema)
    rej = pd.concat([r for r in rejected if len(r)] or [empty_rejected()], ignore_index=True)
    rep = pd.DataFrame(report, columns=REPORT_COLUMNS).astype(
        {c: "int64" for c in REPORT_COLUMNS if c.startswith(("rows_", "invisible"))})
    return Caseload(clients=out["clients"], spells=out["spells"], assessments=out["assessments"],
                    activities=out["activities"], peildatum=peil_ts, rejected=rej, report=rep)


def validation_summary(caseload: Caseload, top: int = 3) -> pd.DataFrame:
    """Per file: rows read, loaded and rejected, and the most frequent rejection reasons.

    Parameters
    ----------
    caseload : Caseload
        The result of :func:`read_extract`.
    top : int, default 3
        How many reasons to list per file.

    Returns
    -------
    DataFrame
        ``file, table, rows_read, rows_loaded, rows_rejected, top_reasons, notes``
        (``top_reasons`` like ``"bad_date 12, unknown_code 3"``; ``notes``: rows
        outside the groups, title rows skipped, cells cleaned of invisible
        characters, columns not used).
    """
    rep = caseload.report[["file", "table", "rows_read", "rows_loaded", "rows_rejected"]].copy()
    rej = caseload.rejected
    reasons = {}
    if len(rej):
        counts = rej.groupby(["file", "reason"], observed=True).size().reset_index(name="n")
        counts = counts.sort_values(["file", "n", "reason"], ascending=[True, False, True])
        for file, g in counts.groupby("file", sort=False):
            reasons[file] = ", ".join(f"{r} {n:,}" for r, n in zip(g["reason"][:top], g["n"][:top],
                                                                    strict=True))
    rep["top_reasons"] = rep["file"].map(reasons).fillna("")
    rep["notes"] = [_report_notes(r) for r in caseload.report.itertuples(index=False)]
    return rep


def _report_notes(r) -> str:
    """What else the file report says about one file, as one line ('' when nothing)."""
    notes = []
    if getattr(r, "rows_excluded", 0):
        notes.append(f"{r.rows_excluded:,} rows outside [extract] groups")
    if getattr(r, "rows_above_header", 0):
        notes.append(f"{r.rows_above_header} rows above the header skipped")
    if getattr(r, "invisible_removed", 0):
        notes.append(f"invisible characters removed from {r.invisible_removed:,} cells")
    if getattr(r, "unknown_columns", ""):
        notes.append(f"columns not used: {r.unknown_columns}")
    return "; ".join(notes)


def read_mapping(value: str | Path | None) -> str | dict[str, str] | None:
    """A ``--mapping`` option: a preset name, or a TOML file with ``field = "file column"`` pairs.

    The TOML file may hold the pairs at the top level, under ``[mapping]`` or
    under ``[extract.mapping]`` (so a whole ``caseload.toml`` works too).
    """
    import tomllib

    if value is None:
        return None
    if str(value) in MAPPINGS:
        return str(value)
    path = Path(value)
    if not path.is_file():
        raise ExtractError(f"mapping {str(value)!r} is neither a preset nor a file.",
                           fix=f"Use one of {sorted(MAPPINGS)} or the path of a TOML file with "
                               "field = \"column in your file\" lines.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ExtractError(f"the mapping file is not valid TOML ({exc}).", file=path,
                           fix="Write one line per column: field = \"column in your file\".") from exc
    table = data.get("extract", {}).get("mapping", data.get("mapping", data))
    if isinstance(table, str):
        return table
    bad = [k for k, v in table.items() if not isinstance(v, str)]
    if bad:
        raise ExtractError(f"the mapping file has non-text values for {bad}.", file=path,
                           fix="Write one line per column: field = \"column in your file\".")
    return dict(table)


def write_rejected(rejected: pd.DataFrame, path: str | Path) -> Path:
    """Write rejected rows to CSV (``;``-separated, UTF-8 with BOM so Excel opens it right).

    Every cell is checked with :func:`caseload.privacy.check_no_bsn` first: a
    value that looks like a BSN stops the write with a
    :class:`~caseload.privacy.PrivacyError`.
    """
    from caseload import privacy

    privacy.check_no_bsn(rejected, where=f"rejected rows for {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    from caseload.publish.safe import neutralise_frame  # no live formulas (OWASP)

    # CRLF line ends (RFC 4180, Excel): a CR or LF inside a text cell is then quoted, not a row break
    neutralise_frame(rejected).to_csv(tmp, sep=";", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    tmp.replace(path)
    return path
