"""Kaplan-Meier + log-rank + Cox on 10^6 subjects: cartkit against lifelines, in the same run.

Data: n subjects, two groups and one continuous covariate, exponential event times
(hazard ratio 1.5 for the group, exp(0.2) per unit of the covariate), uniform
censoring, times rounded up to whole days (so there are many ties, as in real
follow-up data). Reported: seconds for cartkit and lifelines and the ratio
lifelines / cartkit (> 1: cartkit faster), plus the largest difference between
their answers (survival curve, log-rank statistic, Cox coefficients) as a check.
cartkit's Cox is its own Newton-Raphson fit (Efron ties, R's coxph), lifelines' CoxPHFitter uses Efron too.

    python benchmarks/bench_survival.py [n]      # default n = 1_000_000

lifelines is not a cartkit dependency: install it beside cartkit for this run only (e.g. a venv with
``--system-site-packages`` and ``pip install lifelines``). The lifelines version and the load average
before and after the run are written with the numbers (the machine is shared: absolute times vary).
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np


def _timed(fn):
    best, out = float("inf"), None
    for _ in range(2):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def main(n: int) -> None:
    import lifelines
    import pandas as pd
    from lifelines.statistics import logrank_test

    from cartkit.survival import cox, kaplan_meier, logrank

    warnings.filterwarnings("ignore")
    load_before = os.getloadavg()
    rng = np.random.default_rng(2026)
    group = rng.integers(0, 2, n)
    x = rng.normal(size=n)
    t_event = np.ceil(rng.exponential(365 / (1.5**group * np.exp(0.2 * x))))
    t_censor = np.ceil(rng.uniform(30, 1500, n))
    time_ = np.minimum(t_event, t_censor)
    event = (t_event <= t_censor).astype(int)
    frame = pd.DataFrame({"t": time_, "e": event, "g": group, "x": x})
    kaplan_meier(time_[:100], event[:100])  # imports
    rows = []

    km, a = _timed(lambda: kaplan_meier(time_, event))
    lkm, b = _timed(lambda: lifelines.KaplanMeierFitter().fit(time_, event))
    ours = km.table["survival"].to_numpy()
    theirs = lkm.survival_function_.iloc[1:, 0].to_numpy() if lkm.survival_function_.index[0] == 0 else \
        lkm.survival_function_.iloc[:, 0].to_numpy()
    rows.append({"step": "kaplan_meier", "cartkit_s": a, "lifelines_s": b,
                 "max_abs_diff": float(np.max(np.abs(ours - theirs[-ours.size:])))})

    lr, a = _timed(lambda: logrank(time_, event, group))
    llr, b = _timed(lambda: logrank_test(time_[group == 0], time_[group == 1], event[group == 0], event[group == 1]))
    rows.append({"step": "logrank", "cartkit_s": a, "lifelines_s": b,
                 "max_abs_diff": abs(lr.statistic - float(llr.test_statistic))})

    cm, a = _timed(lambda: cox(frame, "t", "e", ["g", "x"]))
    lc, b = _timed(lambda: lifelines.CoxPHFitter().fit(frame, "t", "e"))
    rows.append({"step": "cox (efron)", "cartkit_s": a, "lifelines_s": b,
                 "max_abs_diff": float(np.max(np.abs(cm.coef - lc.params_[["g", "x"]].to_numpy())))})

    for r in rows:
        r["ratio_lifelines_over_cartkit"] = r["lifelines_s"] / r["cartkit_s"]
        print({k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
    total_ours = sum(r["cartkit_s"] for r in rows)
    total_theirs = sum(r["lifelines_s"] for r in rows)
    print(f"n = {n:,}: all three {total_ours:.2f} s cartkit vs {total_theirs:.2f} s lifelines "
          f"(ratio {total_theirs / total_ours:.2f})")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_survival.json").write_text(json.dumps({
        "n": n, "lifelines": lifelines.__version__, "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()), "rows": rows}, indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
