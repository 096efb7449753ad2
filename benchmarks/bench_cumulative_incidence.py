"""Cumulative incidence (Aalen-Johansen + cmprsk's variance + Gray's test) against Kaplan-Meier, same data, one run.

Data: n subjects in two groups, exponential times for the cause of interest (hazard ratio 1.5 for the
second group) and a competing cause, uniform censoring, all rounded up to whole days (many ties, as in
real follow-up). Reported: seconds for ``cartkit.survival.cumulative_incidence`` (one curve per group
and Gray's test), for the same curves without the test, and for ``cartkit.survival.kaplan_meier`` of
the pooled data (the plain baseline: one vectorised pass over the same rows); the ratios
cumulative_incidence / kaplan_meier (best of 3 each). Also ``split_at`` + ``simon_makuch`` for a
time-dependent HSCT in 30% of the subjects, as a ratio to the same KM.

    python benchmarks/bench_cumulative_incidence.py [n]      # default n = 100_000
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def _timed(fn, repeat: int = 3):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def main(n: int) -> None:
    from cartkit.survival import cumulative_incidence, kaplan_meier, simon_makuch, split_at

    rng = np.random.default_rng(2026)
    group = rng.integers(0, 2, n)
    t1 = np.ceil(rng.exponential(500 / 1.5**group))
    t2 = np.ceil(rng.exponential(800, n))
    tc = np.ceil(rng.uniform(30, 1500, n))
    time_ = np.minimum(np.minimum(t1, t2), tc)
    status = np.where(time_ == tc, 0, np.where(time_ == t1, 1, 2))
    event = (status > 0).astype(int)
    kaplan_meier(time_[:100], event[:100])  # imports
    cumulative_incidence(time_[:100], status[:100], group=group[:100])

    km, t_km = _timed(lambda: kaplan_meier(time_, event))
    ci, t_ci = _timed(lambda: cumulative_incidence(time_, status, group=group))
    one, t_one = _timed(lambda: cumulative_incidence(time_, status))
    hsct = np.where(rng.random(n) < 0.3, np.ceil(rng.uniform(20, 400, n)), np.nan)  # a time-dependent HSCT
    follow = np.maximum(time_, 1.0)
    split, t_split = _timed(lambda: split_at(follow, event, hsct))
    _, t_sm = _timed(lambda: simon_makuch(split["start"], split["stop"], split["event"], split["hsct"]))
    rows = {
        "n": n,
        "distinct_times": int(km.table.height),
        "kaplan_meier_s": t_km,
        "cumulative_incidence_2_groups_with_gray_s": t_ci,
        "cumulative_incidence_1_group_s": t_one,
        "ratio_2_groups_gray_over_km": t_ci / t_km,
        "ratio_1_group_over_km": t_one / t_km,
        "gray_statistic": ci.test.statistic,
        "split_at_s": t_split,
        "split_rows": int(split.height),
        "simon_makuch_s": t_sm,
        "ratio_split_plus_simon_makuch_over_km": (t_split + t_sm) / t_km,
    }
    for k, v in rows.items():
        print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_cumulative_incidence.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
