"""Time `cartkit run` on the bundled seed study, start-up included.

The baseline in the same run is the bare interpreter start-up plus importing the
libraries the report cannot do without (polars, numpy, matplotlib): the ratio
says how much of the wall time is cartkit's own work. Also times `cartkit --help`
to keep the CLI's imports lazy.

    python benchmarks/bench_run_seed.py [--repeat 3]

Writes benchmarks/results/run_seed.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(cmd: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="cartkit-bench-"))
    try:
        run = _time([sys.executable, "-m", "cartkit.cli", "run", "examples/seed-study", "--out",
                     str(out / "report")], args.repeat)
        help_ = _time([sys.executable, "-m", "cartkit.cli", "--help"], args.repeat)
        baseline = _time([sys.executable, "-c", "import polars, numpy, matplotlib.pyplot"], args.repeat)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    result = {
        "cartkit_run_seed_seconds": round(run, 3),
        "cartkit_help_seconds": round(help_, 3),
        "baseline_import_seconds": round(baseline, 3),
        "run_over_baseline_ratio": round(run / baseline, 2),
        "help_over_baseline_ratio": round(help_ / baseline, 2),
        "repeat": args.repeat,
        "python": sys.version.split()[0],
    }
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "run_seed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
