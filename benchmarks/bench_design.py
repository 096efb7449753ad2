"""Simon two-stage search: cartkit's vectorised search against a plain Python triple loop, one run.

Baseline (same run): for every total n, stage-1 size n1, boundary r1 and final boundary r, the
rejection probabilities under p0 and p1 as plain binomial sums (``math.comb``), keeping the smallest
EN(p0) per n, as Simon (1989) describes the search. Both give the same minimax and optimal designs
(checked here); the ratio baseline / cartkit is reported for small nmax (the loop grows as nmax^4
binomial sums and becomes minutes beyond nmax ~ 40), and cartkit alone for the designs of the
clinfun reference grid with nmax = 150 (CPU seconds of this process, since the machine is shared).

    python benchmarks/bench_design.py
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from cartkit.design import simon_two_stage


def plain_search(p0: float, p1: float, alpha: float, beta: float, nmax: int):
    def pmf(x, n, p):
        return math.comb(n, x) * p**x * (1 - p) ** (n - x)

    def promising(r1, n1, r, n, p):
        n2 = n - n1
        total = 0.0
        for x1 in range(r1 + 1, n1 + 1):
            total += pmf(x1, n1, p) * sum(pmf(x2, n2, p) for x2 in range(max(0, r + 1 - x1), n2 + 1))
        return total

    best = {}
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            for r1 in range(0, n1):
                pet = sum(pmf(x, n1, p0) for x in range(r1 + 1))
                en = n1 + (1 - pet) * (n - n1)
                if n in best and en >= best[n][0]:
                    continue  # cannot improve this n (the loop's only shortcut)
                for r in range(r1 + n - n1, r1 - 1, -1):  # downwards, as clinfun
                    if promising(r1, n1, r, n, p0) < alpha and 1 - promising(r1, n1, r, n, p1) < beta:
                        best[n] = (en, (r1, n1, r, n))
                        break
    minimax = best[min(best)][1]
    optimal = min(best.values(), key=lambda v: v[0])[1]
    return minimax, optimal


def _timed(fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    simon_two_stage(0.2, 0.4)  # imports and first-call set-up outside the timings
    results = {"against_plain_loop": [], "nmax_150": []}
    for p0, p1, nmax in ((0.1, 0.4, 20), (0.2, 0.5, 30), (0.2, 0.45, 40)):
        (mm_plain, opt_plain), plain_wall, plain_cpu = _timed(plain_search, p0, p1, 0.05, 0.2, nmax)
        mm, wall_mm, cpu_mm = _timed(simon_two_stage, p0, p1, 0.05, 0.2, "minimax", nmax)
        opt, wall_opt, cpu_opt = _timed(simon_two_stage, p0, p1, 0.05, 0.2, "optimal", nmax)
        agree = (mm.r1, mm.n1, mm.r, mm.n) == mm_plain and (opt.r1, opt.n1, opt.r, opt.n) == opt_plain
        row = {"p0": p0, "p1": p1, "nmax": nmax, "plain_cpu_s": round(plain_cpu, 3),
               "cartkit_cpu_s": round(cpu_opt, 4), "ratio": round(plain_cpu / max(cpu_opt, 1e-6), 1),
               "agree": agree, "optimal": [opt.r1, opt.n1, opt.r, opt.n]}
        results["against_plain_loop"].append(row)
        print(row)
    reference = json.loads((Path(__file__).parents[1] / "tests" / "reference_design.json").read_text())
    cpu_times = []
    for case in reference["simon"]:
        _, wall, cpu = _timed(simon_two_stage, case["p0"], case["p1"], case["alpha"], case["beta"], "admissible", 150)
        cpu_times.append((cpu, wall, case["p0"], case["p1"], case["alpha"], case["beta"]))
    cpu_times.sort()
    median = cpu_times[len(cpu_times) // 2]
    results["nmax_150"] = {
        "designs": len(cpu_times),
        "median_cpu_s": round(median[0], 3),
        "max_cpu_s": round(cpu_times[-1][0], 3),
        "slowest": {"p0": cpu_times[-1][2], "p1": cpu_times[-1][3], "alpha": cpu_times[-1][4],
                    "beta": cpu_times[-1][5], "wall_s": round(cpu_times[-1][1], 3)},
    }
    print(results["nmax_150"])
    out = Path(__file__).with_name("results") / "design.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
