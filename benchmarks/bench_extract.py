"""Speed of ``caseload.read_extract`` against polars on a 5-million-row gws extract.

The file: the ``gws`` layout (one row per payment period, ``;``-separated,
decimal comma, three ``dd-mm-jjjj`` date columns), 500,000 clients, written by
``caseload.synth.write_extract`` when available, else by :func:`write_quick_gws`
(a vectorised writer of the same layout). Generated once into
``benchmarks/data/`` (gitignored).

Contenders, each in its own subprocess so memory does not mix:

* ``polars``: ``polars.read_csv`` plus ``str.to_date("%d-%m-%Y")`` of the three
  date columns (reading only; no validation, no spells, no pseudonyms);
* ``caseload``: ``caseload.read_extract`` (read, validate every row, consolidate
  periods into spells, derive clients, pseudonymise), with the time of its
  phases (``read_raw``: the Arrow read into codes and distinct values;
  ``load_gws``: keyed hashes, checks, consolidation, tables).

Besides wall time each contender reports its CPU time (user + system).
``cpu_floor_ratio`` is caseload's CPU time spread perfectly over all cores,
divided by polars' wall time: the best ratio this machine allows for the work
the load does. A third run (``without_hashes``, diagnostic only) replaces the
keyed hashes by a placeholder, to show how much of the time the pseudonyms take.

polars runs before and after caseload; the ratio uses the mean of its two times.

The former target (caseload at most 1.5 x polars) is retired (issue 15): it
needed a compiled batch HMAC, the load hashes in-process in plain Python now.
The ratio is reported for information; the limit that holds is the batch run's
validate step (``benchmarks/bench_refresh.py``).
Peak memory is the RSS high-water mark of each subprocess
(``resource.getrusage(RUSAGE_SELF).ru_maxrss`` reported by the child itself;
tracemalloc does not see Arrow's allocations).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DATA = HERE / "data"
N_CLIENTS = 500_000
TARGET_ROWS = 5_000_000
PEILDATUM = "2025-12-31"


def write_quick_gws(path: Path, n_rows: int = TARGET_ROWS, n_clients: int = N_CLIENTS, seed: int = 0) -> Path:
    """Write a gws period file quickly (monthly periods of consecutive spells per client)."""
    import polars as pl

    rng = np.random.default_rng(seed)
    per_client = rng.multinomial(n_rows - n_clients, np.full(n_clients, 1 / n_clients)) + 1
    client = np.repeat(np.arange(n_clients), per_client)
    k = np.arange(n_rows) - np.repeat(np.cumsum(per_client) - per_client, per_client)  # period number
    peil = np.datetime64(PEILDATUM)
    first_month = (peil.astype("datetime64[M]") - per_client - rng.integers(0, 60, n_clients)).astype(
        "datetime64[M]")
    # a second spell after a gap for a quarter of the clients: split their periods in two
    split = np.where(rng.random(n_clients) < 0.25, per_client // 2, 0)
    gap = rng.integers(3, 24, n_clients)
    month = first_month[client] + k + np.where((split[client] > 0) & (k >= split[client]), gap[client], 0)
    p_start = month.astype("datetime64[D]")
    p_end = (month + 1).astype("datetime64[D]") - 1
    orig = np.where((split[client] > 0) & (k >= split[client]),
                    (first_month + split + gap).astype("datetime64[D]")[client],
                    first_month.astype("datetime64[D]")[client] - rng.integers(0, 400, n_clients)[client])
    last = (k == per_client[client] - 1) | ((split[client] > 0) & (k == split[client] - 1))
    is_open = (k == per_client[client] - 1) & (rng.random(n_rows) < 0.5)
    reasons = np.array(["Aanvaarding werk", "Inkomsten uit arbeid boven de norm", "Verhuizing naar andere gemeente",
                        "Samenwonen/huwelijk", "Overige redenen"])
    end_text = np.where(last & ~is_open, reasons[rng.integers(0, len(reasons), n_rows)], "")
    households = np.array(["Alleenstaande", "Alleenstaande ouder", "Gehuwd/samenwonend zonder kinderen",
                           "Gehuwd/samenwonend met kinderen"])
    gm = np.array(["GM0168", "GM0037", "GM0047"])
    numbers = (rng.permutation(9_000_000)[:n_clients] + 1_000_000).astype(str)
    df = pl.DataFrame({
        "Dossiernr": (client + 7_000_000).astype(str),
        "Clientnummer": numbers[client],
        "geboortejaar": (1950 + rng.integers(0, 55, n_clients))[client],
        "geslacht": np.array(["M", "V"])[rng.integers(0, 2, n_clients)][client],
        "Type": "aanvrager",
        "Gemeentecode": gm[rng.integers(0, 3, n_clients)][client],
        "Regeling": "PW",
        "Startdatum periodiek algemeen": p_start,
        "Einddatum periodiek algemeen": np.where(is_open, np.datetime64("NaT"), p_end),
        "Oorspronkelijke begindatum uitkeringsdossier": orig,
        "Omschrijving leefvorm": households[rng.integers(0, 4, n_clients)][client],
        "Oorzaak bijstandsafhankelijkheid": np.array(["11", "12", "31", "40"])[rng.integers(0, 4, n_clients)][client],
        "Omschrijving oorzaak bijstandsafhankelijkheid": "",
        "Omschrijving einde bijstandsafhankelijkheid": end_text,
        "Bedrag periodiek": np.round(900 + 600 * rng.random(n_clients), 2)[client],
    })
    date_cols = ["Startdatum periodiek algemeen", "Einddatum periodiek algemeen",
                 "Oorspronkelijke begindatum uitkeringsdossier"]
    df = df.with_columns(
        [pl.col(c).cast(pl.Date).dt.strftime("%d-%m-%Y").fill_null("") for c in date_cols]
        + [pl.col("Bedrag periodiek").cast(pl.Utf8).str.replace(".", ",", literal=True)]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_csv(path, separator=";")
    return path


def write_synth_gws(path: Path, n_clients: int = N_CLIENTS, batch: int = 50_000) -> Path:
    """The gws period file of ``caseload.synth`` for ``n_clients`` clients, made in batches.

    One ``generate`` call for 500,000 clients needs about 9 GB; batches of 50,000
    (``random_state`` = batch number) keep it near 1 GB. Client and dossier
    numbers get the batch number as prefix so batches never share a client.
    """
    import tempfile

    import polars as pl

    from caseload import synth

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out, tempfile.TemporaryDirectory(dir=path.parent) as work:
        for b in range(n_clients // batch):
            cs = synth.generate(n_clients=batch, random_state=b)
            files = synth.write_extract(cs, Path(work) / str(b), layout="gws", encoding="utf-8")
            df = pl.read_csv(files["spells"], separator=";", infer_schema=False)
            df = df.with_columns(
                (pl.lit(f"{b + 1}") + pl.col("Clientnummer")).alias("Clientnummer"),
                (pl.lit(f"{b + 1}") + pl.col("Dossiernr")).alias("Dossiernr"),
            )
            df.write_csv(out, separator=";", include_header=(b == 0))
            del cs, df
    tmp.replace(path)
    return path


def make_data() -> tuple[Path, str]:
    """The benchmark file (generated once) and which writer made it."""
    path = DATA / "gws_5m.csv"
    marker = DATA / "gws_5m.writer"
    if path.is_file() and marker.is_file():
        return path, marker.read_text().strip()
    try:
        write_synth_gws(path)
        writer = "caseload.synth (10 batches of 50,000 clients)"
    except ImportError as exc:  # synth not installed: the quick writer of the same layout
        print(f"caseload.synth not usable ({exc!r}); using the quick writer", flush=True)
        write_quick_gws(path)
        writer = "quick"
    marker.write_text(writer)
    return path, writer


_POLARS = """
import resource, sys, time
import polars as pl
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c0 = cpu()
t0 = time.perf_counter()
df = pl.read_csv(sys.argv[1], separator=";")
cols = ["Startdatum periodiek algemeen", "Einddatum periodiek algemeen",
        "Oorspronkelijke begindatum uitkeringsdossier"]
df = df.with_columns([pl.col(c).str.to_date("%d-%m-%Y", strict=False) for c in cols])
t1 = time.perf_counter()
print({"seconds": t1 - t0, "cpu_seconds": cpu() - c0,
       "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": df.height})
"""

_CASELOAD = """
import resource, sys, time
import caseload as cl
import caseload.extract as ex
phases = {}
def _timed(mod, name, label):
    orig = getattr(mod, name)
    def wrapper(*a, **k):
        t = time.perf_counter(); r = orig(*a, **k)
        phases[label] = phases.get(label, 0.0) + time.perf_counter() - t; return r
    setattr(mod, name, wrapper)
for name in ("read_raw", "prepare_gws", "load_gws", "conform"):
    _timed(ex, name, name)
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
if sys.argv[3:] == ["no-hashes"]:  # diagnostic: pseudonyms are the numbers themselves, no HMACs
    import pandas as pd
    import caseload.privacy as pv
    pv.pseudonymize = lambda values, key, domain="client": pd.Series(values, dtype="string")
read_extract = cl.read_extract  # imports the loader (polars, pyarrow) outside the timing, as for polars
c0 = cpu(resource.RUSAGE_SELF)
t0 = time.perf_counter()
cs = read_extract(sys.argv[1], peildatum=sys.argv[2])
t1 = time.perf_counter()
r = cs.report.iloc[0]
print({"seconds": t1 - t0, "cpu_seconds": cpu(resource.RUSAGE_SELF) - c0,
       "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
       "rows": int(r.rows_read), "rows_loaded": int(r.rows_loaded), "rows_rejected": int(r.rows_rejected),
       "spells": len(cs.spells), "clients": len(cs.clients), "phases": phases})
"""


def _run(code: str, *args: str) -> dict:
    env = {**os.environ, "CASELOAD_PSEUDONYM_KEY": "benchmark-key-not-secret"}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    import ast

    return ast.literal_eval(proc.stdout.strip().splitlines()[-1])


def main() -> dict:
    t0 = time.perf_counter()
    path, writer = make_data()
    gen_seconds = time.perf_counter() - t0
    load_before = os.getloadavg()[0]
    # polars before and after caseload: the machine is shared, so the load can change during the
    # run; the ratio is taken against the mean of the two polars times
    polars = _run(_POLARS, str(path))
    ours = _run(_CASELOAD, str(path), PEILDATUM)
    no_hashes = _run(_CASELOAD, str(path), PEILDATUM, "no-hashes")
    polars_after = _run(_POLARS, str(path))
    load_after = os.getloadavg()[0]
    polars_seconds = (polars["seconds"] + polars_after["seconds"]) / 2
    ratio = ours["seconds"] / polars_seconds
    return {
        "file": path.name,
        "writer": writer,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "rows": ours["rows"],
        "generate_seconds": round(gen_seconds, 1),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "polars_seconds": round(polars_seconds, 2),
        "polars_seconds_before_after": [round(polars["seconds"], 2), round(polars_after["seconds"], 2)],
        "polars_peak_rss_mb": round(max(polars["rss_mb"], polars_after["rss_mb"])),
        "caseload_seconds": round(ours["seconds"], 2),
        "caseload_peak_rss_mb": round(ours["rss_mb"]),
        "caseload_rows_loaded": ours["rows_loaded"],
        "caseload_rows_rejected": ours["rows_rejected"],
        "caseload_spells": ours["spells"],
        "caseload_clients": ours["clients"],
        "caseload_phase_seconds": {k: round(v, 2) for k, v in ours["phases"].items()},
        "polars_cpu_seconds": round((polars["cpu_seconds"] + polars_after["cpu_seconds"]) / 2, 2),
        "caseload_cpu_seconds": round(ours["cpu_seconds"], 2),
        # the best ratio the CPU time of the load allows on this machine's cores, however well spread
        "cpu_floor_ratio": round(ours["cpu_seconds"] / (os.cpu_count() or 1) / polars_seconds, 3),
        # diagnostic, not the target: the same load with the keyed hashes left out
        "without_hashes_seconds": round(no_hashes["seconds"], 2),
        "without_hashes_cpu_seconds": round(no_hashes["cpu_seconds"], 2),
        "without_hashes_ratio": round(no_hashes["seconds"] / polars_seconds, 3),
        "ratio": round(ratio, 3),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
