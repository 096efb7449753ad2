"""Time and memory to simulate a 100,000-patient study as Parquet.

    python benchmarks/bench_simulate.py [--patients 100000] [--seed 0]

Each measurement runs in a fresh child process so that ``ru_maxrss`` is the
peak of that run alone. The baseline, measured in the same run, is a plain
write of a Parquet file holding as many rows as the simulated measurements
table (random numbers, no modelling), so the ratio says how much the
clinical simulation costs over just producing and writing that much data.
Results go to benchmarks/results/simulate.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "simulate.json"

_SIMULATE = """
import resource, sys, time, json
from pathlib import Path
from cartkit.simulate import simulate_study
t = time.perf_counter()
out = simulate_study(sys.argv[1], patients=int(sys.argv[2]), seed=int(sys.argv[3]), format="parquet")
seconds = time.perf_counter() - t
import pyarrow.parquet as pq
rows = {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(Path(out).glob("*.parquet"))}
size = sum(p.stat().st_size for p in Path(out).iterdir())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_kib": peak, "rows": rows, "bytes": size}))
"""

_BASELINE = """
import resource, sys, time, json
import numpy as np, polars as pl
t = time.perf_counter()
n = int(sys.argv[2])
rng = np.random.default_rng(0)
chunk = 2_000_000
import pyarrow.parquet as pq
writer = None
for start in range(0, n, chunk):
    k = min(chunk, n - start)
    df = pl.DataFrame({
        "patient_id": pl.Series(rng.integers(0, 100_000, k)).cast(pl.String),
        "episode": rng.integers(1, 3, k),
        "day": rng.integers(-5, 29, k),
        "analyte": pl.Series(["il6", "anc", "temperature"]).gather(rng.integers(0, 3, k)),
        "value": rng.random(k),
    })
    table = df.to_arrow()
    if writer is None:
        writer = pq.ParquetWriter(sys.argv[1], table.schema, compression="zstd")
    writer.write_table(table)
writer.close()
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sim = _run(_SIMULATE, str(Path(tmp) / "study"), str(args.patients), str(args.seed))
        n_rows = sim["rows"]["measurements"]
        base = _run(_BASELINE, str(Path(tmp) / "baseline.parquet"), str(n_rows))
    result = {
        "benchmark": "simulate_study, Parquet",
        "patients": args.patients,
        "seed": args.seed,
        "seconds": round(sim["seconds"], 2),
        "peak_rss_mib": round(sim["peak_rss_kib"] / 1024, 1),
        "rows": sim["rows"],
        "total_rows": sum(sim["rows"].values()),
        "study_bytes": sim["bytes"],
        "baseline": {
            "what": "write random rows of 5 columns, as many as the measurements table, to Parquet",
            "rows": n_rows,
            "seconds": round(base["seconds"], 2),
            "peak_rss_mib": round(base["peak_rss_kib"] / 1024, 1),
        },
        "ratio_time_vs_baseline": round(sim["seconds"] / base["seconds"], 2),
        "ratio_memory_vs_baseline": round(sim["peak_rss_kib"] / base["peak_rss_kib"], 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "benchmark_process_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark finished in {time.perf_counter() - start:.1f} s", file=sys.stderr)
