"""Benchmark: generate and write 500,000 clients (about 5 million period rows).

The files go to ``benchmarks/data/gws_500k/``; the extract benchmark reads
``benchmarks/data/gws_500k/uitkeringen.csv``. There is no named alternative for
a generator; passed = 4-6 million period rows written in under 300 s.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE / "data" / "gws_500k"
N_CLIENTS = 500_000


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def main() -> dict:
    from caseload.synth import generate, write_extract

    t0 = time.perf_counter()
    cl = generate(n_clients=N_CLIENTS, random_state=0)
    t_gen = time.perf_counter() - t0
    t1 = time.perf_counter()
    paths = write_extract(cl, OUT, layout="gws")
    t_write = time.perf_counter() - t1
    with open(paths["spells"], "rb") as fh:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    wall = t_gen + t_write
    return {
        "clients": len(cl.clients),
        "spells": len(cl.spells),
        "assessments": len(cl.assessments),
        "activities": len(cl.activities),
        "period_rows": rows,
        "uitkeringen_mb": round(paths["spells"].stat().st_size / 1e6, 1),
        "generate_seconds": round(t_gen, 1),
        "write_seconds": round(t_write, 1),
        "wall_seconds": round(wall, 1),
        "rows_per_second": round(rows / wall),
        "peak_rss_mb": round(_peak_rss_mb()),
        "out": str(OUT.relative_to(HERE.parent)),
        "passed": bool(4_000_000 <= rows <= 6_000_000 and wall < 300),
    }


if __name__ == "__main__":
    print(main())
