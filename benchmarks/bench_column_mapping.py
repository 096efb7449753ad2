"""The cost of a centre's own layout (docs/column-mapping.md): ``load_study`` of a study written with
the centre's headers, codes and IL-6 one column per day, read through study.toml's ``[columns]``,
``[values]`` and ``[wide]``, against ``load_study`` of the same study in cartkit's own layout.

Both folders load to the same tables (tests/test_study_column_mapping.py checks that for the seed).
Runs in one process, the two loads alternating (so that both see the same machine load), and reports
the median of each and their ratio, for the seed study and for a simulated study.

    python benchmarks/bench_column_mapping.py [--patients 5000] [--repeats 7]

Writes benchmarks/results/column_mapping.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "examples" / "seed-study"

MAPPINGS = """
[columns.patients]
patient_id = "Patient No."
age = "Age (years)"
sex = "Sex"

[columns.infusions]
patient_id = "Patient No."
episode = "Infusion"

[values.sex]
M = "male"
W = "female"

[wide.measurements]
file = "il6.csv"
patient_id = "Patient"
episode = "Infusion no."
columns = [{ pattern = "IL6_d{day}", analyte = "il6", unit = "pg/mL" }]
"""


def centre_copy(plain: Path, out: Path) -> Path:
    """``plain`` (a study in CSV files) rewritten in a centre's layout, with the mappings to read it."""
    shutil.copytree(plain, out)

    def read(name: str) -> pl.DataFrame:
        return pl.read_csv(out / f"{name}.csv", infer_schema=False)

    patients = read("patients").with_columns(pl.col("sex").replace({"male": "M", "female": "W"}))
    patients.rename({"patient_id": "Patient No.", "age": "Age (years)", "sex": "Sex"}).write_csv(out / "patients.csv")
    read("infusions").rename({"patient_id": "Patient No.", "episode": "Infusion"}).write_csv(out / "infusions.csv")
    m = read("measurements")
    il6 = m.filter(pl.col("analyte") == "il6")
    if "time" in il6.columns and il6["time"].is_not_null().any():
        raise SystemExit("IL-6 measured twice a day: not one column per day")
    wide = il6.pivot(on="day", index=["patient_id", "episode"], values="value")
    wide = wide.rename({c: f"IL6_d{c}" for c in wide.columns if c not in ("patient_id", "episode")})
    wide.rename({"patient_id": "Patient", "episode": "Infusion no."}).write_csv(out / "il6.csv")
    m.filter(pl.col("analyte") != "il6").write_csv(out / "measurements.csv")
    with (out / "study.toml").open("a", encoding="utf-8") as fh:
        fh.write(MAPPINGS)
    return out


def _time(folder: Path) -> float:
    import cartkit

    start = time.perf_counter()
    cartkit.load_study(folder)
    return time.perf_counter() - start


def compare(plain: Path, centre: Path, repeats: int) -> dict:
    _time(plain), _time(centre)  # warm: imports, file cache
    own, mapped = [], []
    for _ in range(repeats):
        own.append(_time(plain))
        mapped.append(_time(centre))
    a, b = statistics.median(own), statistics.median(mapped)
    return {"own_layout_s": round(a, 4), "centre_layout_s": round(b, 4), "ratio": round(b / a, 3),
            "il6_columns": len(pl.read_csv(centre / "il6.csv", n_rows=0).columns) - 2}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from cartkit.simulate import simulate_study

    result = {}
    with tempfile.TemporaryDirectory(prefix="cartkit-mapping-") as tmp:
        tmp = Path(tmp)
        result["seed"] = compare(SEED, centre_copy(SEED, tmp / "seed-centre"), args.repeats)
        plain = simulate_study(tmp / "sim", patients=args.patients, seed=1, format="csv")
        result["simulated"] = {"patients": args.patients,
                               **compare(plain, centre_copy(plain, tmp / "sim-centre"), max(3, args.repeats // 2))}
    out = ROOT / "benchmarks" / "results" / "column_mapping.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
