"""Benchmark: `caseload refresh` on the sample and on the national-size synthetic extract.

Targets (issue 7): on ``data/sample/`` under 15 s; on 500,000 clients (about 5
million period rows, ``benchmarks/data/gws_500k/``) under 60 s with peak memory
under 4 GB, on a 2-core machine.

Named alternative for the ratio: running the analysis commands one by one on the
same extract (``caseload validate``, ``segment``, ``durations``, ``kpi``,
``capacity``), which is what an analyst does without the batch run; each reads
and validates the extract again. ``ratio = refresh wall time / sum of the
separate commands``; below 1 means the batch run is cheaper. The alternative is
measured on the sample only: on the big extract each command would read 800 MB
again (about 30 s each), and the brief allows at most two big runs.

The big run prints each step's time and peak memory as it finishes and is
stopped when its resident memory passes ``MEMORY_GUARD_MB`` (the machine is
shared by several jobs); the result then names the step it was in.

Every run is a subprocess under ``/usr/bin/time`` so wall time and peak RSS are
those of the command itself (imports included), as a user would see them. CPU
time (user + system) is recorded too: on a machine shared with other jobs the
wall time of a mostly single-threaded run approaches its CPU time only when a
core is free; the load average at the start is recorded for that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
BIG = HERE / "data" / "gws_500k"
SAMPLE = ROOT / "data" / "sample" / "caseload.toml"
CASELOAD = Path(sys.executable).parent / "caseload"
ENV = {**os.environ, "CASELOAD_PSEUDONYM_KEY": "benchmark-key-not-secret", "MPLBACKEND": "Agg"}


def _measure(args: list[str], ok=(0,)) -> dict:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one command."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", tf.name, *args], env=ENV,
                              cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        last = tf.read().strip().splitlines()[-1].split()
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-2000:]}")
    return {"wall_seconds": round(wall, 2), "cpu_seconds": round(float(last[1]) + float(last[2]), 2),
            "peak_rss_mb": round(int(last[3]) / 1024)}


#: The big run is stopped when its resident memory passes this (the machine is shared).
MEMORY_GUARD_MB = 4600

# The refresh, in a child process, printing each step's time and peak RSS as it finishes
# (the CLI prints its summary only at the end, which a killed run never reaches).
_DRIVER = """
import json, resource, sys, time
import caseload.refresh as rf
def wrap(step):
    def run(ctx):
        t = time.perf_counter()
        rows = step.run(ctx)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"step": step.name, "seconds": round(time.perf_counter() - t, 2),
                          "rows": int(rows), "peak_rss_mb": round(rss)}), flush=True)
        return rows
    return rf.Step(step.name, step.title_nl, step.title_en, run)
rf.STEPS[:] = [wrap(s) for s in rf.STEPS]
res = rf.refresh(sys.argv[1])
print(json.dumps({"step": "write", "seconds": res.report.manifest["timings"]["write_seconds"]}),
      flush=True)
"""


def _measure_steps(cfg: Path, limit_mb: int) -> dict:
    """Run the refresh with per-step output; stop it when RSS passes ``limit_mb``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(cfg)], env=ENV, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_kb, killed = 0, False
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            rss = next((int(line.split()[1]) for line in status.read_text().splitlines()
                        if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError):
            rss = 0
        peak_kb = max(peak_kb, rss)
        if rss > limit_mb * 1024:
            proc.kill()
            killed = True
            break
        time.sleep(0.25)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    steps = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    done = {s["step"] for s in steps}
    import caseload.refresh as rf

    running = next((s.name for s in rf.STEPS if s.name not in done), "write")
    return {"wall_seconds": round(wall, 2), "peak_rss_mb": round(peak_kb / 1024),
            "completed": proc.returncode == 0 and not killed, "steps": steps,
            "stopped_in_step": running if killed or proc.returncode else None,
            "stopped_because": (f"resident memory above {limit_mb} MB" if killed else
                                (stderr[-1500:] if proc.returncode else None))}


def _big_config(folder: Path) -> Path:
    files = ", ".join(f'"{(BIG / n).as_posix()}"' for n in
                      ("uitkeringen.csv", "clienten.csv", "diagnoses.csv", "activiteiten.csv"))
    cfg = folder / "caseload.toml"
    cfg.write_text(f'[extract]\nfiles = [{files}]\nmapping = "gws"\npeildatum = "2025-12-31"\n\n'
                   f'[report]\nout_dir = "reports"\nsource = "Synthetisch landelijk bestand"\n',
                   encoding="utf-8")
    return cfg


def main() -> dict:
    out: dict = {"machine_cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    work = Path(tempfile.mkdtemp(prefix="bench_refresh_", dir=HERE / "data"))
    try:
        # --- sample: the batch run and the named alternative (commands one by one)
        out["sample_refresh"] = _measure([str(CASELOAD), "refresh", "--config", str(SAMPLE),
                                          "--out", str(work / "sample")])
        files = [str(SAMPLE.parent / f) for f in
                 ("uitkeringen.csv", "clienten.csv", "diagnoses.csv", "activiteiten.csv")]
        separate = {}
        # validate exits with 1 when rows were rejected (the sample has bad rows on purpose).
        separate["validate"] = _measure([str(CASELOAD), "validate", *files, "--config", str(SAMPLE)],
                                        ok=(0, 1))
        for name in ("segment", "durations", "kpi"):
            separate[name] = _measure([str(CASELOAD), name, "--config", str(SAMPLE),
                                       "--out", str(work / "sep" / name)])
        separate["capacity"] = _measure([str(CASELOAD), "capacity", *files[:3], "--config",
                                         str(SAMPLE), "--out", str(work / "sep" / "capacity")])
        out["sample_separate_commands"] = separate
        sep_total = sum(v["wall_seconds"] for v in separate.values())
        out["sample_separate_total_seconds"] = round(sep_total, 2)
        out["ratio_sample_refresh_vs_separate"] = round(
            out["sample_refresh"]["wall_seconds"] / sep_total, 3)

        # --- national size
        if not (BIG / "uitkeringen.csv").is_file():
            t0 = time.perf_counter()
            subprocess.run([str(CASELOAD), "synth", "--clients", "500000", "--out", str(BIG)],
                           env=ENV, cwd=ROOT, check=True, capture_output=True)
            out["synth_seconds"] = round(time.perf_counter() - t0, 1)
        cfg = _big_config(work)
        out["big_refresh"] = _measure_steps(cfg, limit_mb=MEMORY_GUARD_MB)
        manifest_path = work / "reports" / "manifest.json"
        if manifest_path.is_file():
            manifest = json.loads(manifest_path.read_text())
            out["big_write_seconds"] = manifest["timings"]["write_seconds"]
            out["big_input_mb"] = round(sum(i["bytes"] for i in manifest["inputs"]) / 1e6, 1)
        reference = HERE / "results" / "extract.json"
        if reference.is_file():
            # Reading the same extract alone (benchmarks/results/extract.json, same machine).
            out["big_read_only_seconds_from_extract_bench"] = json.loads(
                reference.read_text()).get("caseload_seconds")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out["targets"] = {"sample_seconds": 15, "big_seconds": 60, "big_peak_rss_mb": 4096}
    big = out["big_refresh"]
    out["passed"] = bool(out["sample_refresh"]["wall_seconds"] < 15 and big["completed"]
                         and big["wall_seconds"] < 60 and big["peak_rss_mb"] < 4096)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
