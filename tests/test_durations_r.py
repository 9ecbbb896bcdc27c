"""caseload's survival estimators against R's ``survival`` package, run at test time.

Each test writes its data to a CSV file, runs ``tests/r/survival_reference.R``
with ``Rscript`` and compares. Marked ``r``; skipped when ``Rscript`` or the
``survival`` package is not installed (Debian/Ubuntu: ``apt-get install
r-base-core r-cran-survival``). Run only these: ``pytest -m r``.

The data are made to be hard on risk-set conventions: durations in whole days
(many tied exit times, exits tied across causes) and entry times placed exactly
on exit times (a window start on a day spells end), with a fractional variant
(days / 365.25, the general counting path) of the same data.

Tolerances: estimates 1e-12 (both sides compute the same products; measured
differences are below 4e-16), Cox coefficients and standard errors 1e-10
(both are Newton-Raphson solutions run to 1e-12 or finer; measured 5e-15).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from caseload.durations import AalenJohansen, KaplanMeier, cox_regression

pytestmark = pytest.mark.r

SCRIPT = Path(__file__).parent / "r" / "survival_reference.R"
HORIZON_DAYS = 120.0  # of the restricted mean
_HOW = "install R and its survival package: apt-get install r-base-core r-cran-survival"


@pytest.fixture(scope="module")
def rscript() -> str:
    exe = shutil.which("Rscript")
    if exe is None:
        pytest.skip(f"Rscript not found; {_HOW}")
    probe = subprocess.run([exe, "-e", "library(survival)"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"the R package 'survival' is not installed; {_HOW}")
    return exe


def _read_r(path: Path) -> pd.DataFrame:
    """A CSV written by the reference script; numbers parsed from their 17 digits."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in df.columns:
        text = df[col].str.strip()
        num = pd.to_numeric(text.replace({"NA": "nan"}), errors="coerce")
        df[col] = num if (num.notna() | (text == "NA")).all() else text
    return df


def run_r(rscript: str, data: pd.DataFrame, folder: Path, horizon: float) -> dict[str, pd.DataFrame]:
    """Run the reference script once on ``data``; its outputs by name (``km_log``, ``aj``, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "spells.csv"
    data.to_csv(src, index=False, float_format="%.17g")
    done = subprocess.run([rscript, "--vanilla", str(SCRIPT), str(src), str(folder), f"{horizon:.17g}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"R failed:\n{done.stderr}"
    return {p.stem: _read_r(p) for p in folder.glob("*.csv") if p.name != src.name}


def tied_spells(n: int = 1500, seed: int = 5) -> pd.DataFrame:
    """Whole-day durations with many ties, a third of the rows entering late, most of those
    exactly on an exit time; two competing causes; covariates and strata."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n)
    stratum = rng.choice(["GM1", "GM2"], n)
    x1 = rng.normal(size=n)
    x2 = rng.binomial(1, 0.4, n).astype(float)
    rate = 0.02 * np.exp(0.5 * x1 - 0.4 * x2 + 0.3 * (stratum == "GM2"))
    duration = np.ceil(rng.exponential(1 / rate)).clip(1, 200)
    exited = (rng.random(n) < 0.8) & (duration < 200)
    cause = np.where(~exited, None, np.where(rng.random(n) < 0.45, "werk", "overig"))
    exit_times = np.unique(duration[exited])
    entry = np.zeros(n)
    late = rng.random(n) < 0.35
    on_exit = rng.choice(exit_times, n)  # entries on exit times ...
    anywhere = np.floor(rng.uniform(0, duration))  # ... and a few anywhere before the exit
    entry[late] = np.where(rng.random(late.sum()) < 0.8, on_exit[late], anywhere[late])
    entry = np.where(entry < duration, entry, np.floor(duration / 2))
    w = rng.choice([0.5, 1.0, 2.5], n)  # case weights (AJ only)
    cause12 = np.where(exited, np.char.add("c", rng.integers(10, 22, n).astype(str)), None)  # 12 causes
    return pd.DataFrame({"entry": entry, "duration": duration, "event": exited.astype(int), "cause": cause,
                         "cause12": cause12, "group": group, "stratum": stratum, "x1": x1, "x2": x2, "w": w})


def _years(d: pd.DataFrame) -> pd.DataFrame:
    """The same data in years (fractional times: the general, sorting counting path)."""
    return d.assign(entry=d["entry"] / 365.25, duration=d["duration"] / 365.25)


@pytest.fixture(scope="module", params=["days", "years"])
def case(request, rscript, tmp_path_factory):
    """The test data (in days or in years) and R's estimates on it."""
    d = tied_spells()
    ties = (d["entry"] > 0) & d["entry"].isin(d.loc[d["event"] == 1, "duration"])
    assert ties.sum() > 300  # the point of the data: many entries on exit times
    horizon = HORIZON_DAYS
    if request.param == "years":
        d, horizon = _years(d), HORIZON_DAYS / 365.25
    return d, horizon, run_r(rscript, d, tmp_path_factory.mktemp(f"r_{request.param}"), horizon)


# ---------------------------------------------------------------- Kaplan-Meier


@pytest.mark.parametrize("conf_type", ["log-log", "log"])
def test_km_late_entry_equals_r_survfit(case, conf_type):
    d, horizon, r = case
    ref = r[f"km_{conf_type}"]
    km = KaplanMeier(conf_type=conf_type).fit(d["duration"], d["event"], entry=d["entry"], by=d["group"])
    ours = km.event_table_
    curve = ref[ref["part"] == "curve"].reset_index(drop=True)
    assert ours["group"].tolist() == curve["group"].tolist()
    assert_allclose(ours["time"], curve["time"], rtol=1e-15)
    assert_allclose(ours["at_risk"], curve["n_risk"], rtol=0)
    assert_allclose(ours["events"], curve["n_event"], rtol=0)
    assert_allclose(ours["survival"], curve["surv"], rtol=0, atol=1e-12)
    # R's std.err is that of log S (cumulative hazard scale); ours is Greenwood's SE of S
    assert_allclose(ours["std_err"] / ours["survival"], curve["std_err"], rtol=1e-12)
    assert_allclose(ours["lower_0.95"], curve["lower"], rtol=0, atol=1e-12)
    assert_allclose(ours["upper_0.95"], curve["upper"], rtol=0, atol=1e-12)
    med = ref[ref["part"] == "median"].set_index("group")
    assert_allclose(km.median_["median"], med["time"], rtol=1e-15)
    assert_allclose(km.median_["lower_0.95"], med["lower"], rtol=1e-15)
    assert_allclose(km.median_["upper_0.95"], med["upper"], rtol=1e-15)
    rmst = km.restricted_mean(horizon)
    assert_allclose(rmst["rmst"], med["surv"], rtol=1e-12)  # R's rmean and se(rmean)
    assert_allclose(rmst["std_err"], med["std_err"], rtol=1e-10)


# ---------------------------------------------------------------- Aalen-Johansen


@pytest.mark.parametrize("weighted", [False, True])
def test_aj_late_entry_equals_r_multistate_survfit(case, weighted):
    d, _, r = case
    ref = r["aj_weighted" if weighted else "aj"].sort_values(["cause", "group", "time"]).reset_index(drop=True)
    w = d["w"] if weighted else None
    ours = {}
    for variance in ("delta", "jackknife"):
        aj = AalenJohansen(conf_type="log", variance=variance).fit(d["duration"], d["cause"], entry=d["entry"],
                                                                   by=d["group"], weights=w)
        t = aj.cumulative_incidence_
        ours[variance] = t[t["time"] > 0].sort_values(["cause", "group", "time"]).reset_index(drop=True)
    ij = ours["jackknife"]
    assert ij[["cause", "group"]].astype(str).equals(ref[["cause", "group"]].astype(str))
    assert_allclose(ij["time"], ref["time"], rtol=1e-15)
    assert_allclose(ij["estimate"], ref["estimate"], rtol=0, atol=1e-12)
    # R's default variance is the infinitesimal jackknife (measured: 1.6e-16); its interval "log"
    assert_allclose(ij["std_err"], ref["std_err"], rtol=1e-10, atol=1e-14)
    has = ref["estimate"] > 0  # R gives NA where the estimate is 0; ours is [0, 0]
    assert_allclose(ij.loc[has, "lower_0.95"], ref.loc[has, "lower"], rtol=1e-10)
    assert_allclose(ij.loc[has, "upper_0.95"], ref.loc[has, "upper"], rtol=1e-10)
    # the delta method is a different estimator: close to R's, not equal (measured: within 2.1%). With
    # weights it treats them as frequencies (replicated rows), the jackknife as sampling weights.
    if not weighted:
        delta = ours["delta"]
        rel = (delta["std_err"] / ref["std_err"] - 1)[ref["std_err"] > 0].abs()
        assert 1e-4 < rel.max() < 0.1


def test_aj_twelve_causes_equals_r(case):
    d, _, r = case
    ref = r["aj12"].sort_values(["cause", "group", "time"]).reset_index(drop=True)
    aj = AalenJohansen(variance="jackknife").fit(d["duration"], d["cause12"], entry=d["entry"], by=d["group"])
    assert len(aj.causes_) == 12
    t = aj.cumulative_incidence_
    ours = t[t["time"] > 0].sort_values(["cause", "group", "time"]).reset_index(drop=True)
    assert ours[["cause", "group"]].astype(str).equals(ref[["cause", "group"]].astype(str))
    assert_allclose(ours["estimate"], ref["estimate"], rtol=0, atol=1e-12)
    assert_allclose(ours["std_err"], ref["std_err"], rtol=1e-10, atol=1e-14)


# ---------------------------------------------------------------- Cox


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("strata", [None, "stratum"])
def test_cox_late_entry_tied_to_exits_equals_r_coxph(case, ties, strata):
    d, _, r = case
    ref = r[f"cox_{ties}" + ("_strata" if strata else "")].set_index("covariate")
    res = cox_regression(d, "duration", "event", ["x1", "x2"], entry_col="entry", strata=strata, ties=ties)
    # measured: 5e-15 (coefficients), 4e-16 (standard errors); 2.8e-3 without the shared risk sets
    assert_allclose(res.summary["coef"], ref.loc[["x1", "x2"], "coef"], rtol=0, atol=1e-10)
    assert_allclose(res.summary["std_err"], ref.loc[["x1", "x2"], "std_err"], rtol=1e-10)
    assert_allclose(res.log_likelihood, ref["loglik"].iloc[0], rtol=1e-12)
