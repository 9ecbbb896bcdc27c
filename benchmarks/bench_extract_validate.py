"""Benchmark: the batch run's validate step before and after the loader simplification (issue 15).

The validate step of ``caseload refresh`` is ``read_extract`` on the configured
files (``caseload/refresh/steps.py``). Issue 15 allows it to become at most 15%
slower than before the simplification that removed the hashing child
processes (``_hmac_worker``/``IdHasher``), the pseudonym memo, the lazy arrays
and the polars fast path. "Before" is commit ``BEFORE_COMMIT``, the parent of
that simplification; it is checked out into a temporary git worktree and
imported through ``PYTHONPATH`` by the same interpreter, so both sides run with
the same libraries.

The extract is the 500,000-client synthetic one (``caseload synth --clients
500000``, about 5 million period rows; made into ``benchmarks/data/gws_500k/``
when missing, or taken from ``$CASELOAD_BENCH_DATA``). Each run is a fresh
process that imports caseload and loads the config, then times only the
``read_extract`` call: wall time (``perf_counter``) and CPU time (user + system
of the process and of its waited-for children, ``resource.getrusage``; the old
loader's hashing children are closed, and so waited for, inside the call).

The machine is shared and noisy (2 cores), so runs are interleaved in pairs,
the order alternating (before-after, after-before, ...), and every pair's
ratio is kept, not only the means. ``ratio = after / before``; the criterion is
``mean CPU ratio <= 1.15`` (CPU time is less disturbed by other jobs than wall
time; both are reported).

Usage: ``python benchmarks/run.py extract_validate`` (``$BENCH_PAIRS``, default 3;
``$CASELOAD_BEFORE_TREE`` to reuse a checked-out before tree).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
BEFORE_COMMIT = "2791bb2"
DATA = Path(os.environ.get("CASELOAD_BENCH_DATA", HERE / "data" / "gws_500k"))
FILES = ("uitkeringen.csv", "clienten.csv", "diagnoses.csv", "activiteiten.csv")
ENV = {**os.environ, "CASELOAD_PSEUDONYM_KEY": "benchmark-key-not-secret", "MPLBACKEND": "Agg"}
LIMIT = 1.15

# One validate step in a fresh process; prints one JSON line.
_DRIVER = """
import json, resource, sys, time
from pathlib import Path
import caseload
from caseload import read_extract
from caseload.config import load_config
root = Path(sys.argv[2]).resolve()
assert Path(caseload.__file__).resolve().is_relative_to(root), (caseload.__file__, root)
cfg = load_config(sys.argv[1])
files = [cfg.resolve(f) for f in cfg.extract.files]
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
c0, t0 = cpu(), time.perf_counter()
cl = read_extract(files, mapping=cfg.extract.mapping, peildatum=cfg.extract.peildatum, config=cfg)
wall, used = time.perf_counter() - t0, cpu() - c0
rep = cl.report
print(json.dumps({"wall_seconds": round(wall, 2), "cpu_seconds": round(used, 2),
                  "rows_loaded": int(rep["rows_loaded"].sum()),
                  "rows_rejected": int(rep["rows_rejected"].sum()),
                  "spells": len(cl.spells), "clients": int(cl.spells["client_id"].nunique()),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def _config(folder: Path) -> Path:
    files = ", ".join(f'"{(DATA / n).as_posix()}"' for n in FILES)
    cfg = folder / "caseload.toml"
    cfg.write_text(f'[extract]\nfiles = [{files}]\nmapping = "gws"\npeildatum = "2025-12-31"\n',
                   encoding="utf-8")
    return cfg


def _run(tree: Path, cfg: Path, cwd: Path) -> dict:
    env = {**ENV, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", _DRIVER, str(cfg), str(tree)], env=env, cwd=cwd,
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"validate step under {tree} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def main() -> dict:
    pairs = int(os.environ.get("BENCH_PAIRS", "3"))
    if not (DATA / FILES[0]).is_file():
        subprocess.run([str(Path(sys.executable).parent / "caseload"), "synth", "--clients", "500000",
                        "--out", str(DATA)], env=ENV, cwd=ROOT, check=True, capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="bench_validate_"))
    given = os.environ.get("CASELOAD_BEFORE_TREE")
    before = Path(given) if given else work / "before"
    try:
        if not given:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before),
                            BEFORE_COMMIT], check=True, capture_output=True)
        cfg = _config(work)
        runs: list[dict] = []
        for i in range(pairs):
            order = ("before", "after") if i % 2 == 0 else ("after", "before")
            pair = {"order": "-".join(order), "load_average_1min": round(os.getloadavg()[0], 2)}
            for side in order:
                pair[side] = _run(before if side == "before" else ROOT, cfg, work)
            for key in ("wall_seconds", "cpu_seconds"):
                pair[f"ratio_{key.split('_')[0]}"] = round(pair["after"][key] / pair["before"][key], 3)
            print(json.dumps(pair), flush=True)
            runs.append(pair)
    finally:
        if not given:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    out: dict = {"before_commit": BEFORE_COMMIT, "data": str(DATA), "machine_cpus": os.cpu_count(),
                 "pairs": runs}
    for key in ("wall", "cpu"):
        ratios = [p[f"ratio_{key}"] for p in runs]
        out[f"mean_{key}_seconds_before"] = round(_mean([p["before"][f"{key}_seconds"] for p in runs]), 2)
        out[f"mean_{key}_seconds_after"] = round(_mean([p["after"][f"{key}_seconds"] for p in runs]), 2)
        out[f"mean_ratio_{key}"] = round(_mean(ratios), 3)
        out[f"ratio_{key}_range"] = [min(ratios), max(ratios)]
    same = ("rows_loaded", "rows_rejected", "spells", "clients")
    out["same_counts"] = all(p["before"][k] == p["after"][k] for p in runs for k in same)
    out["limit_ratio"] = LIMIT
    out["passed"] = bool(out["same_counts"] and out["mean_ratio_cpu"] <= LIMIT)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
