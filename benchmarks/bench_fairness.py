"""Measurement (issue 14): does the fairness flag find an injected disparity, and only then?

For each of ``--seeds`` seeds (default 10) a synthetic extract of ``--clients``
clients (default 20,000) is generated without a disparity and with each disparity
of ``--disparity`` (default ``sex=V:1.5`` and
``migration_background=buiten_europa:1.5``: the odds of exit to work within six
months multiplied by 1.5 for that level, shown by no feature). On each extract the
logistic segmentation model is fitted with a time-based hold-out
(:func:`caseload.segment.fit_segment_model`, AMS cut-offs) and the fairness report
is made on all history scored out-of-fold (``--fairness-data crossfit``, the
default: five fits of the same specification, folds grouped by dossier) or on
the hold-out only (``--fairness-data holdout``). Recorded per run:

- per attribute: the flags of :func:`caseload.segment.fairness_ratios` (raw flag,
  unexplained flag, and the Mantel-Haenszel odds ratio within probability bands
  with its interval);
- the hold-out AUC of the model and of the generator's true probability (the gap);
- the A/B/C shares;
- the unexplained flags without Holm's correction over the report's tests
  (``fairness_report(adjust=None)``), and those of an *oracle*: the same data
  scored with the generator's true chance without the disparity
  (``true_p_work_6m_base``) instead of the model. The oracle has no misfit, so its
  flags without a disparity are the test's own false alarms and its flags with one
  are the power the flag can reach on these data with a perfect model.

The model opts in to ``barrier_language`` (a proxy feature): the generator gives
the language barrier a real effect that is concentrated in the non-European group,
so a model without it under-predicts that group even without an injected disparity
(run once more with ``--default-features`` to see that). The counts

- "fires with disparity": seeds where the disparity attribute has an unexplained
  flag (``flag_unexplained``, any metric);
- "fires without": seeds without disparity where that attribute has one; and
  seeds where *any* attribute has one

go to ``benchmarks/results/fairness.json`` (``fairness_holdout.json``: the same with
``--fairness-data holdout``). Runtime on the 2-core development machine: 15.5 s
per extract with cross-fitting (40 extracts: 619 s), 2.9 s on the hold-out.

Usage::

    PYTHONPATH=. python benchmarks/bench_fairness.py [--seeds 10] [--clients 20000] [--fairness-data holdout]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results" / "fairness.json"


def run_one(seed: int, n_clients: int, disparity: str | None, default_features: bool,
            ratio: float = 1.25, fairness_data: str = "crossfit") -> dict:
    from caseload.segment import (
        DEFAULT_FEATURES,
        fairness_ratios,
        fairness_report,
        fit_segment_model,
    )
    from caseload.synth import generate

    t0 = time.perf_counter()
    cl = generate(n_clients=n_clients, random_state=seed, disparity=disparity)
    cfg = {} if default_features else {"features": [*DEFAULT_FEATURES, "barrier_language", "new_target_group"],
                                       "proxy_features": ["barrier_language"]}
    cfg["fairness_ratio"] = ratio
    cfg["fairness_data"] = fairness_data
    t1 = time.perf_counter()
    model, rep = fit_segment_model(cl, cfg)
    fit_seconds = time.perf_counter() - t1
    r = fairness_ratios(rep["fairness"])
    # The same report with the generator's true chance as the outcome (expected counts,
    # no sampling noise, no clusters): is there a real within-band difference?
    h = rep["fairness_frame"]  # the hold-out, or all history scored out-of-fold
    cluster = rep["fairness"].attrs["cluster"]
    truth = fairness_ratios(fairness_report(h.assign(exit_work_6m=h["true_p_work_6m"]), cluster=None, ratio=ratio))
    truth = truth[truth["metric"] == "band_odds"].set_index("group")["ratio"]
    # The same hold-out report with every row independent (no dossier clusters), to
    # show what the cluster-robust intervals change.
    naive = fairness_ratios(fairness_report(h, cluster=None, ratio=ratio))
    naive = naive.groupby("group")["flag_unexplained"].any()
    # The same report without Holm's correction over the ~15 tests (each test at alpha).
    unadj = fairness_ratios(fairness_report(h, ratio=ratio, adjust=None, cluster=cluster))
    unadj = unadj.groupby("group")["flag_unexplained"].any()
    # An oracle model: the generator's true chance without the disparity as the
    # prediction (segments from the same cut-offs). It has no misfit, so its flags
    # without a disparity are the test's own false alarms, and with one it shows
    # the power the flag can have at all on these data.
    lo_c, hi_c = model.cutoffs
    po = h["true_p_work_6m_base"].to_numpy("float64")
    ho = h.assign(p_work_6m=po, segment=np.where(po >= hi_c, "A", np.where(po < lo_c, "C", "B")))
    orc = fairness_ratios(fairness_report(ho, ratio=ratio, cluster=cluster))
    orc_band = orc[orc["metric"] == "band_odds"].set_index("group")["ratio"]
    orc = orc.groupby("group")["flag_unexplained"].any()
    m = model.metrics_
    per_group = {}
    for g, sub in r.groupby("group", sort=False):
        band = sub[sub["metric"] == "band_odds"]
        per_group[g] = {
            "flag": bool(sub["flag"].any()),
            "flag_unexplained": bool(sub["flag_unexplained"].any()),
            "unexplained_metrics": sub.loc[sub["flag_unexplained"], "metric"].tolist(),
            "band_odds": None if band.empty else round(float(band["ratio"].iloc[0]), 4),
            "band_odds_ci": None if band.empty else [round(float(band["ratio_lo"].iloc[0]), 4),
                                                     round(float(band["ratio_hi"].iloc[0]), 4)],
            "band_odds_levels": None if band.empty else [band["level_high"].iloc[0], band["level_low"].iloc[0]],
            "band_odds_truth": round(float(truth[g]), 4) if g in truth.index else None,
            "flag_unexplained_unclustered": bool(naive.get(g, False)),
            "flag_unexplained_unadjusted": bool(unadj.get(g, False)),
            "oracle_flag_unexplained": bool(orc.get(g, False)),
            "oracle_band_odds": round(float(orc_band[g]), 4) if g in orc_band.index else None,
        }
    implied = _implied(h, disparity) if disparity else None
    return {
        "seed": seed, "disparity": disparity, "n_holdout": m["n"], "n_fairness": int(len(h)), "implied": implied,
        "fit_seconds": round(fit_seconds, 1),
        "auc_model": m["roc_auc"], "auc_true": m.get("roc_auc_true"),
        "shares": {"A": m["share_A"], "B": m["share_B"], "C": m["share_C"]},
        "groups": per_group, "seconds": round(time.perf_counter() - t0, 1),
    }


def _implied(h, disparity: str) -> dict:
    """What the disparity does to the error rates, from the generator's true chances.

    On the hold-out, with the model's segments: the expected "gemiste kansen"
    (sum p [C] / sum p) and "onterecht A" (sum (1-p) [A] / sum (1-p)) of the
    disparity level and of everyone else, with the true chance with the
    disparity (``true_p_work_6m``) and without it (``true_p_work_6m_base``); and
    the true odds ratio between them averaged over the level's rows. This is the
    effect size the flag has to find, free of sampling noise in the outcome.
    """
    from caseload.synth import parse_disparity

    d = parse_disparity(disparity)
    col = h[d["column"]]
    lv = (col.astype("boolean").fillna(False) if isinstance(d["value"], bool) else col == d["value"]).to_numpy(bool)
    in_c = (h["segment"] == "C").to_numpy()
    in_a = (h["segment"] == "A").to_numpy()
    out = {"n_level": int(lv.sum()), "n_rest": int((~lv).sum())}
    for key, name in (("true_p_work_6m", "with"), ("true_p_work_6m_base", "without")):
        p = h[key].to_numpy("float64")
        miss = [float((p * in_c)[m].sum() / p[m].sum()) for m in (lv, ~lv)]
        wrong = [float(((1 - p) * in_a)[m].sum() / (1 - p)[m].sum()) for m in (lv, ~lv)]
        out[name] = {"missed_level": round(miss[0], 4), "missed_rest": round(miss[1], 4),
                     "missed_ratio": round(miss[1] / miss[0], 4) if miss[0] > 0 else None,
                     "wrong_A_level": round(wrong[0], 4), "wrong_A_rest": round(wrong[1], 4)}
    p, b = h["true_p_work_6m"].to_numpy("float64")[lv], h["true_p_work_6m_base"].to_numpy("float64")[lv]
    ok = (b > 0) & (b < 1)
    out["true_or_level"] = round(float(np.exp(np.mean(np.log(p[ok] / (1 - p[ok]) * (1 - b[ok]) / b[ok])))), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=20_000)
    ap.add_argument("--disparity", action="append",
                    help="column=value:odds_ratio (repeat); default sex=V:1.5, "
                         "migration_background=buiten_europa:1.5 and statushouder=ja:1.5")
    ap.add_argument("--ratio", type=float, default=1.25,
                    help="Flag threshold of the pairwise ratios ([segment] fairness_ratio; default 1.25).")
    ap.add_argument("--default-features", action="store_true",
                    help="Fit the model on the default features (no barrier_language).")
    ap.add_argument("--fairness-data", choices=("holdout", "crossfit"), default="crossfit",
                    help="Data of the fairness report ([segment] fairness_data): all history scored "
                         "out-of-fold (5 folds grouped by dossier; default), or the model's hold-out.")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    disparities = args.disparity or ["sex=V:1.5", "migration_background=buiten_europa:1.5",
                                     "statushouder=ja:1.5"]
    from caseload.synth import parse_disparity

    t0 = time.perf_counter()
    runs = []
    for seed in range(args.seeds):
        for dis in [None, *disparities]:
            r = run_one(seed, args.clients, dis, args.default_features, args.ratio, args.fairness_data)
            runs.append(r)
            print(f"seed {seed} {dis or 'none'}: AUC model {r['auc_model']:.4f} true {r['auc_true']:.4f}; "
                  + ", ".join(f"{g} {'U' if v['flag_unexplained'] else '-'} {v['band_odds']}"
                              for g, v in r["groups"].items()), flush=True)
    label = {"sex": "sex", "migration_background": "migration_background", "statushouder": "statushouder"}
    summary = {}
    none_runs = [r for r in runs if r["disparity"] is None]
    for dis in disparities:
        col = label.get(parse_disparity(dis)["column"], parse_disparity(dis)["column"])
        with_runs = [r for r in runs if r["disparity"] == dis]
        summary[dis] = {
            "attribute": col,
            "fires_with_disparity": sum(r["groups"].get(col, {}).get("flag_unexplained", False)
                                        for r in with_runs),
            "fires_without_disparity": sum(r["groups"].get(col, {}).get("flag_unexplained", False)
                                           for r in none_runs),
            "seeds": len(with_runs),
            "fires_with_disparity_unclustered": sum(r["groups"].get(col, {}).get("flag_unexplained_unclustered",
                                                                                 False) for r in with_runs),
            "fires_without_disparity_unclustered": sum(r["groups"].get(col, {}).get(
                "flag_unexplained_unclustered", False) for r in none_runs),
            "fires_with_disparity_unadjusted": sum(r["groups"].get(col, {}).get("flag_unexplained_unadjusted",
                                                                                False) for r in with_runs),
            "fires_without_disparity_unadjusted": sum(r["groups"].get(col, {}).get(
                "flag_unexplained_unadjusted", False) for r in none_runs),
            "oracle_fires_with_disparity": sum(r["groups"].get(col, {}).get("oracle_flag_unexplained", False)
                                               for r in with_runs),
            "band_odds_truth_with": [r["groups"].get(col, {}).get("band_odds_truth") for r in with_runs],
            "band_odds_with": [r["groups"].get(col, {}).get("band_odds") for r in with_runs],
            "band_odds_without": [r["groups"].get(col, {}).get("band_odds") for r in none_runs],
        }
    any_flag = [sorted(g for g, v in r["groups"].items() if v["flag_unexplained"]) for r in none_runs]
    any_unadj = [sorted(g for g, v in r["groups"].items() if v["flag_unexplained_unadjusted"]) for r in none_runs]
    any_oracle = [sorted(g for g, v in r["groups"].items() if v["oracle_flag_unexplained"]) for r in none_runs]
    any_naive = [sorted(g for g, v in r["groups"].items() if v["flag_unexplained_unclustered"]) for r in none_runs]
    auc_m = np.array([r["auc_model"] for r in runs])
    auc_t = np.array([r["auc_true"] for r in runs])
    out = {
        "what": "fairness flag over seeds with and without an injected disparity (issue 14)",
        "clients": args.clients, "seeds": args.seeds, "default_features": args.default_features,
        "ratio_threshold": args.ratio, "fairness_data": args.fairness_data, "summary": summary,
        "without_disparity_any_attribute_unexplained": {
            "seeds_with_any": sum(bool(a) for a in any_flag), "attributes_per_seed": any_flag,
            "seeds_with_any_unclustered": sum(bool(a) for a in any_naive),
            "seeds_with_any_unadjusted": sum(bool(a) for a in any_unadj), "attributes_per_seed_unadjusted": any_unadj,
            "seeds_with_any_oracle": sum(bool(a) for a in any_oracle), "attributes_per_seed_oracle": any_oracle},
        "auc": {"model_mean": round(float(auc_m.mean()), 4), "true_mean": round(float(auc_t.mean()), 4),
                "gap_mean": round(float((auc_t - auc_m).mean()), 4),
                "gap_min": round(float((auc_t - auc_m).min()), 4),
                "gap_max": round(float((auc_t - auc_m).max()), 4)},
        "shares_mean": {s: round(float(np.mean([r["shares"][s] for r in runs])), 4) for s in "ABC"},
        "runs": runs,
        "seconds": round(time.perf_counter() - t0, 1),
        "seconds_per_extract_mean": round(float(np.mean([r["seconds"] for r in runs])), 1),
        "fit_seconds_mean": round(float(np.mean([r["fit_seconds"] for r in runs])), 1),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: out[k] for k in ("summary", "without_disparity_any_attribute_unexplained", "auc",
                                          "shares_mean", "seconds", "seconds_per_extract_mean",
                                          "fit_seconds_mean")}, indent=2))


if __name__ == "__main__":
    main()
