"""Regenerate tests/r_reference_cox.json: Cox models run through R's ``coxph`` (R 4.2, survival 3.5.3).

Not a test (needs R): ``python tests/make_r_reference_cox.py`` (it puts ../src on the import path when run
as a script, for the seed study's models; importing this module changes nothing). Each case holds its data,
the exact R call and what R returned (``format(v, digits = 17)``): coefficients, standard errors
(``sqrt(diag(vcov(f)))``), ``f$loglik``, ``f$wald.test``, ``summary(f)$logtest[1]``, ``f$score``, ``f$n``,
``f$nevent``, ``f$iter`` and whether ``coxph`` warned (a coefficient that may be infinite, no convergence).
tests/test_survival_cox_against_r.py fits the same data with ``cartkit.survival.cox`` and compares to 1e-6;
it does not need R.

Data sets (numpy default_rng(500 + i)):

* whole-day times with heavy ties (up to 9 events on one day), 1-3 covariates (continuous, 0/1, a
  3-level factor as two 0/1 columns), Efron and Breslow;
* 2-4 strata, one of them without events, Efron and Breslow;
* counting-process rows from ``split_at`` (a 0/1 time-dependent covariate switching on whole days, so
  that starts coincide with other rows' event days: R's (start, stop] risk sets), with a fixed covariate
  and with strata;
* delayed entry (left truncation: start > 0 on one row per subject);
* no convergence (``iter.max = 1``: R warns "Ran out of iterations and did not converge");
* monotone likelihood (no event in one group: R warns "coefficient may be infinite" and stops where the
  log-likelihood converges);
* the seed study's own models (examples/seed-study): every call of ``cox`` made by ``cartkit run``'s
  analysis, recorded with its data (the two-group hazard ratios, the multi-group comparisons and the
  time-dependent HSCT score tests, where R is run with ``iter.max = 0`` and only ``f$score`` is compared).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "r_reference_cox.json"


def _rvec(a) -> str:
    return "c(" + ", ".join(repr(float(v)) for v in np.asarray(a, dtype=float)) + ")"


def _case(cid: str, data: dict, covariates: list[str], ties: str = "efron", strata: str | None = None,
          entry: str | None = None, note: str = "") -> dict:
    return dict(id=cid, data={k: np.asarray(v, dtype=float).tolist() for k, v in data.items()},
                covariates=covariates, ties=ties, strata=strata, entry=entry, note=note, score_only=False,
                iter_max=None)


def _r_call(case: dict) -> str:
    surv = f"Surv({case['entry']}, stop, event)" if case["entry"] else "Surv(stop, event)"
    rhs = " + ".join([*case["covariates"], *([f"strata({case['strata']})"] if case["strata"] else [])])
    # the score test alone (no finite maximum): R's fit with no iterations still gives f$score
    control = ", control = coxph.control(iter.max = 0)" if case["score_only"] else ""
    if case["iter_max"] is not None:
        control = f", control = coxph.control(iter.max = {case['iter_max']})"
    return f"coxph({surv} ~ {rhs}, data = d, ties = \"{case['ties']}\"{control})"


def synthetic_cases() -> list[dict]:
    from cartkit.survival.time_dependent import split_at

    cases = []
    for i in range(4):  # heavy ties, 1-3 covariates
        rng = np.random.default_rng(500 + i)
        n = [25, 40, 80, 150][i]
        x1 = np.round(rng.normal(0, 1, n), 2)
        x2 = (rng.random(n) < 0.4).astype(float)
        level = rng.integers(0, 3, n)
        hazard = np.exp(0.5 * x1 - 0.7 * x2 + 0.3 * level)
        stop = np.ceil(rng.exponential(8 / hazard) / [1, 2, 3, 4][i])  # whole days, many ties
        event = (rng.random(n) < 0.7).astype(float)
        data = dict(stop=stop, event=event, x1=x1, x2=x2, l1=(level == 1), l2=(level == 2))
        covs = [["x1"], ["x1", "x2"], ["x1", "x2", "l1", "l2"], ["x2", "l1", "l2"]][i]
        for ties in ("efron", "breslow"):
            cases.append(_case(f"ties{i}_{ties}", data, covs, ties))
    for i in range(3):  # strata
        rng = np.random.default_rng(510 + i)
        n = [30, 60, 120][i]
        s = rng.integers(0, [2, 3, 4][i], n)
        x1 = np.round(rng.normal(0, 1, n), 1)
        x2 = (rng.random(n) < 0.5).astype(float)
        stop = np.ceil(rng.exponential(6 * (1 + s) / np.exp(0.4 * x1 + 0.5 * x2)))
        event = (rng.random(n) < 0.65).astype(float)
        if i == 2:
            event[s == 3] = 0  # a stratum without events
        data = dict(stop=stop, event=event, x1=x1, x2=x2, s=s)
        for ties in ("efron", "breslow"):
            cases.append(_case(f"strata{i}_{ties}", data, ["x1", "x2"], ties, strata="s"))
    for i in range(3):  # time-dependent splits on whole days
        rng = np.random.default_rng(520 + i)
        n = [30, 60, 100][i]
        time = np.ceil(rng.exponential(20, n)) + 1
        event = (rng.random(n) < 0.6).astype(float)
        switch = np.where(rng.random(n) < 0.5, np.ceil(rng.uniform(0, 25, n)), np.nan)
        rows = split_at(time, event, switch)
        age = np.round(rng.normal(55, 10, n), 0)[rows["id"].to_numpy()]
        s = rng.integers(0, 2, n)[rows["id"].to_numpy()]
        data = dict(start=rows["start"], stop=rows["stop"], event=rows["event"], hsct=rows["hsct"], age=age, s=s)
        cases.append(_case(f"td{i}", data, ["hsct"], entry="start"))
        cases.append(_case(f"td{i}_age", data, ["hsct", "age"], entry="start"))
        cases.append(_case(f"td{i}_strata_breslow", data, ["hsct", "age"], "breslow", strata="s", entry="start"))
    rng = np.random.default_rng(530)  # delayed entry
    n = 50
    start = np.ceil(rng.uniform(0, 5, n))
    stop = start + np.ceil(rng.exponential(10, n))
    x1 = np.round(rng.normal(0, 1, n), 2)
    cases.append(_case("entry", dict(start=start, stop=stop, event=(rng.random(n) < 0.7), x1=x1), ["x1"],
                       entry="start"))
    rng = np.random.default_rng(540)  # monotone likelihood: no event in group 1
    n = 30
    g = (np.arange(n) % 2).astype(float)
    stop = np.ceil(rng.exponential(10, n))
    event = np.where(g == 1, 0.0, (rng.random(n) < 0.8).astype(float))
    x1 = np.round(rng.normal(0, 1, n), 2)
    stopped = _case("ties3_iter_max_1", cases[6]["data"], cases[6]["covariates"],
                    note="iter.max = 1: R warns 'Ran out of iterations and did not converge'")
    stopped["iter_max"] = 1
    cases.append(stopped)
    cases.append(_case("monotone", dict(stop=stop, event=event, g=g, x1=x1), ["g", "x1"],
                       note="no event in g = 1: R warns the coefficient may be infinite"))
    return cases


def seed_cases() -> list[dict]:
    """Every ``cox`` call of the seed study's analysis, with the rows it used."""
    import cartkit.survival as survival_package
    import cartkit.survival.hazard_ratio  # noqa: F401 - registers the module
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.study.load import load_study

    cox_module = sys.modules["cartkit.survival.cox"]  # the package's names ``cox``, ``hazard_ratio`` are functions
    hazard_ratio_module = sys.modules["cartkit.survival.hazard_ratio"]
    original = cox_module.cox
    calls = []

    def recording(data, duration, event, covariates, level=0.95, strata=None, entry=None, ties="efron",
                  _score_only=False):
        columns = [duration, event, *covariates, *([entry] if entry else [])]
        frame = {c: cox_module._column(data, c) for c in columns}
        strata_t = (strata,) if isinstance(strata, str) else tuple(strata or ())
        if strata_t:
            frame["s"] = cox_module._strata_codes(data, strata_t)[0].astype(float)
        calls.append((frame, duration, event, list(covariates), "s" if strata_t else None, entry, _score_only))
        return original(data, duration, event, covariates, level=level, strata=strata, entry=entry, ties=ties,
                        _score_only=_score_only)

    cox_module.cox = survival_package.cox = hazard_ratio_module.cox = recording
    try:
        study = load_study(HERE.parent / "examples" / "seed-study")
        analyse(study, derive(study))
    finally:
        cox_module.cox = survival_package.cox = hazard_ratio_module.cox = original
    cases, seen = [], set()
    for frame, duration, event, covs, strata, entry, score_only in calls:
        renamed = {"stop": frame[duration], "event": frame[event]}
        names = []
        for j, c in enumerate(covs):
            renamed[f"x{j + 1}"] = frame[c]
            names.append(f"x{j + 1}")
        if entry:
            renamed["start"] = frame[entry]
        if strata:
            renamed["s"] = frame["s"]
        key = json.dumps([score_only, {k: np.asarray(v, dtype=float).tolist() for k, v in renamed.items()}],
                         sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        case = _case(f"seed{len(cases)}", renamed, names, strata="s" if strata else None,
                     entry="start" if entry else None,
                     note=f"seed study: {'cox_score_test' if score_only else 'cox'}(..., {covs})")
        case["score_only"] = bool(score_only)
        cases.append(case)
    return cases


def main() -> None:
    cases = synthetic_cases() + seed_cases()
    lines = ["suppressMessages(library(survival))"]
    for case in cases:
        cols = ", ".join(f"{k} = {_rvec(v)}" for k, v in case["data"].items())
        case["r_call"] = _r_call(case)
        lines.append(
            f'd <- data.frame({cols}); w <- 0; '
            f'f <- withCallingHandlers({case["r_call"]}, warning = function(m) {{w <<- 1; invokeRestart("muffleWarning")}}); '
            f'v <- c(coef(f), sqrt(diag(vcov(f))), f$loglik, f$wald.test, summary(f)$logtest[1], f$score, f$n, '
            f'f$nevent, f$iter, w); cat("{case["id"]}", format(unname(v), digits = 17), "\\n")')
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cox.R"
        script.write_text("\n".join(lines) + "\n")
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, check=True).stdout
    values = {}
    for line in out.splitlines():
        cid, *rest = line.split()
        values[cid] = [float(v) for v in rest]
    for case in cases:
        v, k = values[case["id"]], len(case["covariates"])
        case["r_value"] = dict(coef=v[:k], se=v[k:2 * k], loglik=v[2 * k:2 * k + 2], wald=v[2 * k + 2],
                               lr=v[2 * k + 3], score=v[2 * k + 4], n=int(v[2 * k + 5]), nevent=int(v[2 * k + 6]),
                               iter=int(v[2 * k + 7]), warned=bool(v[2 * k + 8]))
    OUT.write_text(json.dumps(dict(r_version="R 4.2 / survival 3.5.3", cases=cases), indent=1) + "\n")
    print(f"{len(cases)} cases written to {OUT}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent / "src"))
    main()
