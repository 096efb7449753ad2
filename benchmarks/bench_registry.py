"""A registry in patient shards: `cartkit simulate --shards` then `cartkit run`, time and peak memory.

    python benchmarks/bench_registry.py --patients 100000 [--shard-patients 20000] [--keep DIR]

Simulates a sharded study (the same number of patients per shard at every size, so that the
memory a shard needs does not grow with the registry), then runs `cartkit run` on it in a fresh
process under `/usr/bin/time -v` and records the wall time and the peak resident memory (the
"Maximum resident set size" it reports; `resource.getrusage` of the child where /usr/bin/time is
missing). Each size is one entry of benchmarks/results/registry.json, so the sizes can be run
apart (the 10^6 run takes long); the time ratio to the 100,000-patient entry is computed when both
are there (issue 16, target 3: at most 12x, and a peak under 8 GiB).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "registry.json"
CLI = [sys.executable, "-c", "from cartkit.cli import app; app()"]


def parse_time_v(text: str) -> dict:
    """Wall and CPU seconds and peak RSS (MiB) from the report of ``/usr/bin/time -v``."""
    def field(label: str) -> str:
        return re.search(rf"{re.escape(label)}: (\S+)", text).group(1)

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return {"seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
            "peak_mib": round(int(field("Maximum resident set size (kbytes)")) / 1024),
            "peak_from": "/usr/bin/time -v"}


def _timed(args: list[str]) -> dict:
    """Wall and CPU seconds and peak RSS (MiB) of a child process, and the load average at its end."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    start = time.perf_counter()
    if time_bin:
        out = subprocess.run([time_bin, "-v", *args], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"failed: {' '.join(args)}\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        return {**parse_time_v(out.stderr), "load_average": round(os.getloadavg()[0], 1)}
    subprocess.run(args, env=env, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": round(seconds, 1), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mib": round(usage.ru_maxrss / 1024), "peak_from": "resource.getrusage(RUSAGE_CHILDREN)",
            "load_average": round(os.getloadavg()[0], 1)}


def _commit() -> str | None:
    """The commit measured (and "+changes" when the work tree differs from it), for the record."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (" +changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--shard-patients", type=int, default=20_000)
    parser.add_argument("--keep", type=Path, default=None, help="simulate into (or reuse) this folder")
    args = parser.parse_args()
    code = _commit()  # before the run: the code it runs
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    shards = max(1, -(-args.patients // args.shard_patients))
    with tempfile.TemporaryDirectory(prefix="cartkit-registry-") as tmp:
        study = args.keep or Path(tmp) / "study"
        simulated = None
        if not (study / "study.toml").is_file():
            simulated = _timed([*CLI, "simulate", str(study), "--patients", str(args.patients), "--seed", "1",
                                "--shards", str(shards)])
        run = _timed([*CLI, "run", str(study), "--out", str(Path(tmp) / "report")])
        rows = None
        try:
            import polars as pl

            rows = sum(pl.scan_parquet(p).select(pl.len()).collect().item()
                       for p in study.glob("shards/*/*.parquet"))
        except Exception:  # noqa: BLE001 - the row count is for the record only
            pass
    entry = {"patients": args.patients, "shards": shards, "rows": rows, "code": code,
             "measured": started, "simulate": simulated, "run": run,
             "load_average": round(os.getloadavg()[0], 1)}
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[str(args.patients)] = entry
    small, large = results.get("100000"), results.get("1000000")
    if small and large and small.get("run") and large.get("run"):
        wall = round(large["run"]["seconds"] / small["run"]["seconds"], 1)
        cpu = round(large["run"]["cpu_seconds"] / small["run"]["cpu_seconds"], 1)
        under = large["run"]["peak_mib"] < 8 * 1024
        results["time_ratio_1e6_to_1e5"] = wall
        results["cpu_ratio_1e6_to_1e5"] = cpu
        results["peak_1e6_under_8_gib"] = under
        # written from the two entries, so that it cannot go stale when one of them is re-run
        results["verdict"] = (
            f"target 3 {'met' if under and wall <= 12 else 'not met'}: 10^6 ({large['code']}, {large['measured']}) "
            f"{large['run']['seconds']:.1f} s wall, {large['run']['cpu_seconds']:.1f} s CPU, peak "
            f"{large['run']['peak_mib']:,} MiB ({large['run']['peak_from']}; 8 GiB = 8,192 MiB); 10^5 "
            f"({small['code']}, {small['measured']}) {small['run']['seconds']:.1f} s, "
            f"{small['run']['peak_mib']:,} MiB: {wall}x wall, {cpu}x CPU (target 12x)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main()
