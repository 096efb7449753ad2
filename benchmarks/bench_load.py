"""Loading and validating a large study against a plain Parquet read, in one run.

Simulates a study (default 100,000 patients, Parquet), then times
``cartkit.load_study`` (read + every validation rule + unit conversion +
day/date derivation) against ``polars.read_parquet`` of the same files, and
records the peak memory of the load (ru_maxrss of a child process).

    python benchmarks/bench_load.py [--patients 100000]

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
start = time.perf_counter()
if what == "cartkit":
    import cartkit
    study = cartkit.load_study(folder)
    rows = sum(t.height for t in study.tables.values())
else:
    rows = sum(pl.read_parquet(p).height for p in sorted(folder.glob("*.parquet")))
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rows": rows,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(what: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, what, str(folder)], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    args = parser.parse_args()
    from cartkit.simulate import simulate_study

    with tempfile.TemporaryDirectory(prefix="cartkit-load-") as tmp:
        folder = simulate_study(Path(tmp) / "study", patients=args.patients, seed=1, format="parquet")
        plain = _run("plain", folder)
        cartkit = _run("cartkit", folder)
    result = {
        "patients": args.patients,
        "rows": cartkit["rows"],
        "load_study_seconds": round(cartkit["seconds"], 2),
        "read_parquet_seconds": round(plain["seconds"], 2),
        "time_ratio": round(cartkit["seconds"] / plain["seconds"], 1),
        "load_study_peak_mib": round(cartkit["peak_mib"]),
        "read_parquet_peak_mib": round(plain["peak_mib"]),
        "memory_ratio": round(cartkit["peak_mib"] / plain["peak_mib"], 1),
    }
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
