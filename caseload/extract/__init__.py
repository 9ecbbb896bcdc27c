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

from pathlib import Path

import numpy as np
import pandas as pd

from caseload.errors import ExtractError
from caseload.extract.canonical import CanonicalFile, load_canonical
from caseload.extract.files import RawFile, read_raw
from caseload.extract.gws import GwsFile, LoadOptions, consolidate_spells, load_gws, prepare_gws
from caseload.extract.mapping import (
    END_REASON_TEXTS,
    GWS_FIELDS,
    HOUSEHOLD_TEXTS,
    MAPPINGS,
    detect_layout,
)
from caseload.extract.overrides import read_overrides
from caseload.extract.parse import parse_date_text
from caseload.extract.rejections import REASONS, REJECTED_COLUMNS, empty_rejected
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
    "parse_date_text",
    "validation_summary",
    "read_mapping",
    "write_rejected",
]

REPORT_COLUMNS = ["file", "table", "rows_read", "rows_loaded", "rows_rejected", "format", "encoding",
                  "delimiter"]


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
        latest start date, such as 31-12-9999, are ignored).
    config : Config, optional
        A :class:`caseload.config.Config` (``[extract]``: municipality,
        gap_days, end_reasons, households; ``[privacy]``: key_file).

    Returns
    -------
    Caseload
        Canonical tables with keyed pseudonyms as ids; ``rejected`` has one row
        per rejected input row (``file, row, column, value, reason, message,
        fix``; ``value`` masked where it could be a personal number) and
        ``report`` one row per file with ``rows_read == rows_loaded + rows_rejected``.

    Raises
    ------
    ExtractError
        When a whole file cannot be used: not found, empty, not a spreadsheet,
        unreadable encoding, a required column missing (the message names the
        closest column in the file), or no municipality known.

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
    mapping = ex.mapping if mapping is None else mapping
    opts = LoadOptions(
        gap_days=ex.gap_days,
        municipality=ex.municipality,
        end_reasons=dict(getattr(ex, "end_reasons", {}) or {}),
        households=dict(getattr(ex, "households", {}) or {}),
    )
    key_file = privacy_cfg.key_file
    key = privacy.load_key(resolve(key_file) if key_file is not None else None)

    # a large extract: client and dossier numbers are hashed in a second process, started before
    # the files are read so that its start-up overlaps the reading (privacy.pseudonyms.IdHasher)
    size = sum(p.stat().st_size for p in files if p.is_file())
    hasher = privacy.IdHasher(key) if size >= HASH_PROCESS_BYTES else None
    try:
        return _read_and_load(files, mapping, peildatum, ex, opts, key, hasher)
    finally:
        if hasher is not None:
            hasher.close()


def _read_and_load(files, mapping, peildatum, ex, opts, key, hasher) -> Caseload:
    prepared = []
    for path in files:
        raw = read_raw(path)
        layout = detect_layout(raw.headers, mapping, path)
        prepared.append(prepare_gws(raw, layout) if layout.kind == "gws" else CanonicalFile(raw, layout))

    peil = peildatum if peildatum is not None else ex.peildatum
    if peil is not None:
        peil_days = _peildatum_days(peil)
    else:
        latest = [d for d in (p.latest_date() for p in prepared) if d is not None]
        if not latest:
            raise ExtractError("no valid date in the files, so the peildatum cannot be derived.",
                               file=files[0], fix="Pass peildatum=... or set [extract] peildatum.")
        peil_days = max(latest)
    peil_ts = pd.Timestamp(np.datetime64(peil_days, "D"))

    return _load_all(prepared, peil_days, peil_ts, opts, key, hasher)


#: From this many bytes of extract files on, client and dossier numbers are hashed in a second process.
HASH_PROCESS_BYTES = 32 * 2**20


def _load_all(prepared, peil_days, peil_ts, opts, key, hasher) -> Caseload:
    from caseload import privacy

    tables: dict[str, list[pd.DataFrame]] = {"clients": [], "spells": [], "assessments": [],
                                             "activities": []}
    gws_clients: list[pd.DataFrame] = []
    rejected, report = [], []
    id_columns = {f.layout.columns.get(c) for f in prepared
                  for c in ("client_id", "dossier_id", "spell_id", "activity_id")} - {None}
    # client and dossier numbers are hashed once per load, however many files name them; the
    # period files (most rows, hashed in child processes when large) go first
    memo = privacy.PseudonymMemo(key, hasher)
    loaded = {}
    for i in sorted(range(len(prepared)), key=lambda i: not isinstance(prepared[i], GwsFile)):
        p = prepared[i]
        if isinstance(p, GwsFile):
            loaded[i] = load_gws(p, peil_days, opts, memo, key, memo)
        else:
            loaded[i] = load_canonical(p, peil_days, opts, memo, key)
    for i, p in enumerate(prepared):
        raw = p.raw
        if isinstance(p, GwsFile):
            spells, clients, chk = loaded.pop(i)
            tables["spells"].append(spells)
            gws_clients.append(clients)
        else:
            df, chk = loaded.pop(i)
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
        n_rej = len(rej)
        report.append({
            "file": str(raw.path), "table": p.layout.table, "rows_read": raw.rows_read,
            "rows_loaded": raw.rows_read - n_rej, "rows_rejected": n_rej, "format": raw.format,
            "encoding": raw.encoding, "delimiter": raw.delimiter,
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
        {"rows_read": "int64", "rows_loaded": "int64", "rows_rejected": "int64"})
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
        ``file, table, rows_read, rows_loaded, rows_rejected, top_reasons``
        (``top_reasons`` like ``"bad_date 12, unknown_code 3"``).
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
    return rep


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

    neutralise_frame(rejected).to_csv(tmp, sep=";", index=False, encoding="utf-8-sig")
    tmp.replace(path)
    return path
