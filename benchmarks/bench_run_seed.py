"""Time `cartkit run` on the bundled seed study, cold (a fresh interpreter), figures in-process.

Target (issue 16, target 1): under 2.5 s wall on 2 cores and at most 3.5x the baseline of
starting Python and importing polars, numpy and matplotlib.pyplot, the libraries the report
cannot do without. The ratio is what counts: the baseline and the run are timed in the same
round, one after the other, and each round gives one ratio; the result is the median over
the rounds (the machine is shared, so absolute times move by 2x between runs).

Each round also runs the pipeline once in-process with the stages timed (imports, load,
derive, analyse, report), to say where the time goes, and times `cartkit --help` (the CLI's
imports must stay lazy).

    python benchmarks/bench_run_seed.py [--repeat 3]

Writes benchmarks/results/run_seed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 2.5
TARGET_RATIO = 3.5

STAGES = r"""
import json, sys, time
t0 = time.perf_counter()
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.report.write import write_report
from cartkit.study.load import load_study
t1 = time.perf_counter(); study = load_study("examples/seed-study")
t2 = time.perf_counter(); derived = derive(study)
t3 = time.perf_counter(); results = analyse(study, derived)
t4 = time.perf_counter(); write_report(results, sys.argv[1])
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "derive": t3 - t2, "analyse": t4 - t3, "report": t5 - t4}))
"""


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), "MPLBACKEND": "Agg"}


def _wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=_env())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cartkit-bench-"))
    rounds = []
    try:
        for i in range(args.repeat):
            baseline = _wall([sys.executable, "-c", "import polars, numpy, matplotlib.pyplot"])
            run = _wall([sys.executable, "-m", "cartkit.cli", "run", "examples/seed-study",
                         "--out", str(tmp / f"report-{i}")])
            help_ = _wall([sys.executable, "-m", "cartkit.cli", "--help"])
            staged = subprocess.run([sys.executable, "-c", STAGES, str(tmp / f"staged-{i}")], check=True,
                                    capture_output=True, text=True, cwd=ROOT, env=_env())
            stages = json.loads(staged.stdout.strip().splitlines()[-1])
            rounds.append({"baseline_import_seconds": round(baseline, 3), "cartkit_run_seed_seconds": round(run, 3),
                           "run_over_baseline_ratio": round(run / baseline, 2),
                           "cartkit_help_seconds": round(help_, 3),
                           "stages_seconds": {k: round(v, 3) for k, v in stages.items()}})
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    run_s, ratio = med("cartkit_run_seed_seconds"), med("run_over_baseline_ratio")
    result = {
        "target": f"seed report cold, in-process figures: < {TARGET_SECONDS} s wall and <= {TARGET_RATIO}x baseline",
        "cartkit_run_seed_seconds_median": run_s,
        "baseline_import_seconds_median": med("baseline_import_seconds"),
        "run_over_baseline_ratio_median": ratio,
        "cartkit_help_seconds_median": med("cartkit_help_seconds"),
        "stages_seconds_median": {k: round(statistics.median(r["stages_seconds"][k] for r in rounds), 3)
                                  for k in rounds[0]["stages_seconds"]},
        "seconds_target_met": run_s < TARGET_SECONDS,
        "ratio_target_met": ratio <= TARGET_RATIO,
        "rounds": rounds,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "run_seed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))


if __name__ == "__main__":
    main()
