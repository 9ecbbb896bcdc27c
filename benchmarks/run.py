"""Run every benchmark (benchmarks/bench_*.py) and collect their results.

Each ``bench_<name>.py`` has a ``main() -> dict`` that measures a ratio against a
named alternative in the same run and returns its figures; they are written to
``benchmarks/results/<name>.json``. Not run by the tests: speed on a shared
2-core machine is noisy, so targets are ratios, not absolute times.

Usage: ``python benchmarks/run.py [name ...]``
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(names: list[str]) -> int:
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    paths = sorted(HERE.glob("bench_*.py"))
    if names:
        paths = [p for p in paths if p.stem.removeprefix("bench_") in names]
    failed = 0
    for path in paths:
        name = path.stem.removeprefix("bench_")
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        result = _load(path).main()
        result["_wall_seconds_total"] = round(time.perf_counter() - t0, 2)
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(json.dumps(result, indent=2, default=str), flush=True)
        if result.get("passed") is False:
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
