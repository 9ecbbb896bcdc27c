"""Measurement (issue 14): A/B/C shares per cut-off method, and what each group delivers.

A synthetic extract of ``--clients`` clients (default 50,000, seed 7) is generated,
the logistic model is fitted with a time-based hold-out, and the current caseload is
segmented with

- fixed AMS cut-offs (C below 0.25, A from 0.66);
- capacity cut-offs (``cutoffs = "capacity"``, ``b_capacity`` 1,500: B is the 1,500
  clients with the highest chance below 0.66, as in Drechtsteden);
- quantile cut-offs (``cutoffs = "quantile"``, C below the 60th percentile of the
  chance, A from the 90th);
- the rules (for comparison).

Recorded per method: the cut-offs, the A/B/C shares of the open caseload and of the
history (assessments with a closed six-month window), and per group the observed
work rate and precision on history. Results go to ``benchmarks/results/cutoffs.json``.

Usage::

    PYTHONPATH=. python benchmarks/bench_cutoffs.py [--clients 50000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cutoffs.json"


def main() -> None:
    from caseload.segment import fit_segment_model, segment
    from caseload.synth import generate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--b-capacity", type=int, default=1500)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cl = generate(n_clients=args.clients, random_state=args.seed)
    model, rep = fit_segment_model(cl)
    methods = {
        "fixed (0.25, 0.66)": ({}, model),
        f"capacity (B = {args.b_capacity})": ({"cutoffs": "capacity", "b_capacity": args.b_capacity}, model),
        "quantile (0.6, 0.9)": ({"cutoffs": "quantile", "quantiles": (0.6, 0.9)}, model),
        "rules": ({"decide_by": "rules"}, model),
    }
    out = {"clients": args.clients, "seed": args.seed, "model": {k: model.metrics_[k] for k in
                                                                  ("roc_auc", "roc_auc_true", "n")},
           "methods": {}}
    for name, (cfg, m) in methods.items():
        r = segment(cl, cfg, model=m)
        c = r.clients
        seg = c["segment_computed"].astype("object")
        n_seg = int(seg.notna().sum())
        h = r.history["segment"].astype("object")
        t = r.cutoff_table
        out["methods"][name] = {
            "cutoffs": {k: (None if v != v else v) for k, v in (r.cutoffs or {}).items()},
            "open_caseload": {"n": n_seg, "reassess": int(c["reassess"].sum()),
                              **{s: round(float((seg == s).sum() / n_seg), 4) for s in "ABC"},
                              **{f"n_{s}": int((seg == s).sum()) for s in "ABC"}},
            "history": {"n": int(len(h)), **{s: round(float((h == s).mean()), 4) for s in "ABC"}},
            "per_group": t[["segment", "n", "work_rate", "work_rate_lo", "work_rate_hi", "precision"]]
            .round(4).astype(object).where(t.notna(), None).to_dict("records"),
        }
        print(name, json.dumps(out["methods"][name]["open_caseload"]), flush=True)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1)[:3000])


if __name__ == "__main__":
    main()
