"""Exact rank tests with ties (shift algorithm) against the normal approximation and against enumeration.

Data (same run, numpy default_rng(13)): two groups of n values rounded from normal draws (sd 3, so
about 20 distinct values and heavy ties); paired: n differences of such values (ties and zeros).
For n = 20, 50 and 200 per group it times

* ``mann_whitney(x, y, exact=True)`` and ``wilcoxon_signed_rank(x, y, exact=True)`` (exact conditional
  distribution given the ties; cartkit.stats.exact_ranks),
* the same functions with ``exact=False`` (normal approximation: ranking plus one normal tail): the
  plain baseline, reported as the ratio exact / normal in the same run,

and, where enumeration is feasible, plain enumeration of the permutation distribution (every m-subset
for the rank sum, every sign pattern for the signed rank, vectorised with numpy): n = 10 per group for
the rank sum (184,756 subsets), n = 20 pairs for the signed rank (1,048,576 sign patterns). Medians of
``REPEATS`` timings (one timing at n = 200). Writes benchmarks/results/exact_ranks.json.

    PYTHONPATH=src python benchmarks/bench_exact_ranks.py
"""

from __future__ import annotations

import itertools
import json
import platform
import time
from pathlib import Path

import numpy as np

from cartkit.stats import mann_whitney, wilcoxon_signed_rank
from cartkit.stats.ranks import average_ranks

OUT = Path(__file__).with_name("results") / "exact_ranks.json"
SIZES = (20, 50, 200)
REPEATS = 5


def _time(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), value


def _data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.round(rng.normal(0, 3, n))
    y = np.round(rng.normal(1, 3, n))
    yp = np.round(x + rng.normal(-0.5, 3, n))
    return x, y, yp


def enumerate_rank_sum(x: np.ndarray, y: np.ndarray) -> float:
    r = average_ranks(np.concatenate([x, y]))
    m = x.size
    mean = m * r.sum() / r.size
    observed = abs(r[:m].sum() - mean)
    sums = np.array([r[list(s)].sum() for s in itertools.combinations(range(r.size), m)])
    return float(np.mean(np.abs(sums - mean) >= observed - 1e-9))


def enumerate_signed_rank(x: np.ndarray, y: np.ndarray) -> float:
    d = x - y
    d = d[d != 0]
    r = average_ranks(np.abs(d))
    signs = ((np.arange(2 ** r.size)[:, None] >> np.arange(r.size)) & 1).astype(float)
    v = signs @ r
    centre = r.sum() / 2
    observed = abs(r[d > 0].sum() - centre)
    return float(np.mean(np.abs(v - centre) >= observed - 1e-9))


def main() -> None:
    rng = np.random.default_rng(13)
    rows = []
    for n in SIZES:
        x, y, yp = _data(n, rng)
        reps = 1 if n >= 200 else REPEATS
        t_mw, r_mw = _time(lambda x=x, y=y: mann_whitney(x, y, exact=True), reps)
        t_mw_n, r_mw_n = _time(lambda x=x, y=y: mann_whitney(x, y, exact=False), REPEATS)
        t_sr, r_sr = _time(lambda x=x, yp=yp: wilcoxon_signed_rank(x, yp, exact=True), reps)
        t_sr_n, r_sr_n = _time(lambda x=x, yp=yp: wilcoxon_signed_rank(x, yp, exact=False), REPEATS)
        rows.append({
            "n_per_group": n, "distinct_values": int(np.unique(np.concatenate([x, y])).size),
            "zero_differences": int(np.sum(x == yp)),
            "rank_sum": {"exact_s": t_mw, "normal_s": t_mw_n, "ratio_exact_over_normal": t_mw / t_mw_n,
                         "p_exact": r_mw.pvalue, "p_normal": r_mw_n.pvalue},
            "signed_rank": {"exact_s": t_sr, "normal_s": t_sr_n, "ratio_exact_over_normal": t_sr / t_sr_n,
                            "p_exact": r_sr.pvalue, "p_normal": r_sr_n.pvalue},
        })
        print(f"n = {n}: rank sum exact {t_mw:.4f} s vs normal {t_mw_n:.5f} s ({t_mw / t_mw_n:.0f}x); "
              f"signed rank exact {t_sr:.4f} s vs normal {t_sr_n:.5f} s ({t_sr / t_sr_n:.0f}x)", flush=True)

    # enumeration where it is feasible
    x, y, _ = _data(10, np.random.default_rng(14))
    t_enum, p_enum = _time(lambda: enumerate_rank_sum(x, y), 1)
    t_shift, r_shift = _time(lambda: mann_whitney(x, y, exact=True), REPEATS)
    x20, _, yp20 = _data(20, np.random.default_rng(15))
    t_enum_sr, p_enum_sr = _time(lambda: enumerate_signed_rank(x20, yp20), 1)
    t_shift_sr, r_shift_sr = _time(lambda: wilcoxon_signed_rank(x20, yp20, exact=True), REPEATS)
    enumeration = {
        "rank_sum_n10_per_group": {"enumeration_s": t_enum, "shift_s": t_shift, "ratio_enumeration_over_shift":
                                   t_enum / t_shift, "p_enumeration": p_enum, "p_shift": r_shift.pvalue},
        "signed_rank_n20_pairs": {"enumeration_s": t_enum_sr, "shift_s": t_shift_sr,
                                  "ratio_enumeration_over_shift": t_enum_sr / t_shift_sr,
                                  "p_enumeration": p_enum_sr, "p_shift": r_shift_sr.pvalue},
    }
    print(f"enumeration: rank sum n = 10 {t_enum:.2f} s vs shift {t_shift:.4f} s ({t_enum / t_shift:.0f}x); "
          f"signed rank n = 20 {t_enum_sr:.2f} s vs shift {t_shift_sr:.4f} s ({t_enum_sr / t_shift_sr:.0f}x)")
    assert abs(p_enum - r_shift.pvalue) < 1e-9 and abs(p_enum_sr - r_shift_sr.pvalue) < 1e-9
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                               "sizes": rows, "enumeration": enumeration}, indent=1) + "\n")
    print(f"-> {OUT}")


if __name__ == "__main__":
    main()
