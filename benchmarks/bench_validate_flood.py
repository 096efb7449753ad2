"""`cartkit validate` on a flood of problems: the seed study with 200,000 duplicated measurement rows.

Times ``cartkit validate STUDY --problems-csv FILE`` (a fresh process: start-up, every validation rule,
grouping, the printed summary and the full list written as CSV) against a plain baseline in the same
run: a fresh process that imports polars and reads every CSV of the same folder. Records the size of
what validate printed (it must stay a short grouped summary, not one line per problem).

    python benchmarks/bench_validate_flood.py [--duplicates 200000]

Writes benchmarks/results/validate_flood.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-study"

_PLAIN = """
import sys
from pathlib import Path
import polars as pl
rows = sum(pl.read_csv(p, infer_schema=False).height for p in sorted(Path(sys.argv[1]).glob("*.csv")))
print(rows)
"""


def _timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "160"}
    start = time.perf_counter()
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duplicates", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cartkit-flood-") as tmp:
        folder = Path(tmp) / "study"
        shutil.copytree(SEED, folder)
        lines = (SEED / "measurements.csv").read_text().splitlines()
        body = lines[1:]
        extra = [body[i % len(body)] for i in range(args.duplicates)]
        (folder / "measurements.csv").write_text("\n".join([*lines, *extra]) + "\n")
        problems_csv = Path(tmp) / "problems.csv"
        plain_s, _ = _timed([sys.executable, "-c", _PLAIN, str(folder)])
        validate_s, out = _timed([sys.executable, "-m", "cartkit.cli", "validate", str(folder),
                                  "--problems-csv", str(problems_csv)])
        printed = out.stdout + out.stderr
        result = {
            "duplicated_rows": args.duplicates,
            "exit_code": out.returncode,
            "validate_seconds": round(validate_s, 2),
            "plain_read_seconds": round(plain_s, 2),
            "time_ratio": round(validate_s / plain_s, 1),
            "printed_lines": len(printed.splitlines()),
            "printed_bytes": len(printed.encode()),
            "problems_csv_lines": len(problems_csv.read_text().splitlines()),
        }
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "validate_flood.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
