"""Loading and validating a large study against a plain Parquet read, in one run.

Simulates a study (default 100,000 patients, Parquet), then times
``cartkit.load_study`` (its pass, ``check_study``: read + every validation rule + unit conversion +
day/date derivation) against ``polars.read_parquet`` of the same files, and
records the peak memory of the load (ru_maxrss of a child process). The two are run in fresh
processes, alternating, for ``--rounds`` rounds; the medians are the result (the machine is shared,
so a single round says little).

    python benchmarks/bench_load.py [--patients 100000] [--rounds 3] [--study DIR]

Writes benchmarks/results/load.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import resource, sys, time, json
from pathlib import Path
import polars as pl
what, folder = sys.argv[1], Path(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
problems = None
if what == "cartkit":
    # load_study is check_study plus raising StudyError on an error: the same work, timed whether or
    # not the simulated data hold an error (the problems are counted in the result)
    from cartkit.study.validate import check_study
    study, found = check_study(folder)
    rows = sum(t.height for t in study.tables.values())
    problems = [p.rule.split(":")[0] for p in found if p.severity == "error"]
else:
    rows = sum(pl.read_parquet(p).height for p in sorted(folder.glob("*.parquet")))
elapsed = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": elapsed, "rows": rows, "cpu_seconds": usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "errors": problems}))
"""


def _run(what: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, what, str(folder)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The median of each measure over the rounds (time and memory each on their own)."""
    import statistics

    return {key: statistics.median(r[key] for r in runs) for key in ("seconds", "rows", "cpu_seconds", "peak_mib")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the medians are kept")
    parser.add_argument("--study", type=Path, default=None,
                        help="an existing simulated study of --patients patients (else one is simulated)")
    args = parser.parse_args()
    from cartkit.simulate import simulate_study

    with tempfile.TemporaryDirectory(prefix="cartkit-load-") as tmp:
        folder = args.study or simulate_study(Path(tmp) / "study", patients=args.patients, seed=1,
                                              format="parquet")
        rounds = [(_run("plain", folder), _run("cartkit", folder)) for _ in range(args.rounds)]
    plain = _median([p for p, _ in rounds])
    cartkit = _median([c for _, c in rounds])
    errors = rounds[0][1]["errors"]
    result = {
        "patients": args.patients,
        "rounds": args.rounds,
        # errors the load found in the simulated study (none expected; each is the first words of its rule)
        "errors_in_study": {rule: errors.count(rule) for rule in sorted(set(errors))},
        "round_cpu_ratios": [round(c["cpu_seconds"] / p["cpu_seconds"], 1) for p, c in rounds],
        "round_time_ratios": [round(c["seconds"] / p["seconds"], 1) for p, c in rounds],
        "rows": cartkit["rows"],
        "load_study_seconds": round(cartkit["seconds"], 2),
        "read_parquet_seconds": round(plain["seconds"], 2),
        "time_ratio": round(cartkit["seconds"] / plain["seconds"], 1),
        # CPU time (user + system, all threads) of each child: less sensitive to the other work on
        # the shared machine than the wall time
        "load_study_cpu_seconds": round(cartkit["cpu_seconds"], 2),
        "read_parquet_cpu_seconds": round(plain["cpu_seconds"], 2),
        "cpu_ratio": round(cartkit["cpu_seconds"] / plain["cpu_seconds"], 1),
        "load_average": round(__import__("os").getloadavg()[0], 1),
        "load_study_peak_mib": round(cartkit["peak_mib"]),
        "read_parquet_peak_mib": round(plain["peak_mib"]),
        "memory_ratio": round(cartkit["peak_mib"] / plain["peak_mib"], 1),
    }
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
