"""NCA over a 100,000-patient simulated study: whole-table NCA vs pandas groupby-apply.

Simulates a long table (numpy only): per patient 6-10 samples on days drawn
from a CAR-T schedule (0, 1, 4, 7, 10, 14, 21, 28, 42, 56, 90), values from
the Stein 2019 curve with log-normal between-patient variability and
residual error, ~5% BLQ. Then times, in the same run:

* ``cartkit.kinetics.nca_table`` over the whole table (Polars + numpy
  segment operations), and
* the plain baseline: ``pandas.DataFrame.groupby(...).apply`` calling the
  one-profile ``cartkit.kinetics.nca`` per patient. The baseline runs on a
  random subsample of patients (``--baseline-patients``, default 5,000)
  and its time is scaled per patient to the full study (it is linear in
  the number of groups), so a default run finishes in about a minute.

It checks both give the same numbers on the subsample, writes
benchmarks/results/nca.json (both times, the ratio, sizes) and prints it.

    python benchmarks/bench_nca.py [--patients 100000] [--baseline-patients 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from cartkit.kinetics import nca, nca_table
from cartkit.kinetics.model import SteinParameters, stein_curve

ROOT = Path(__file__).resolve().parents[1]
SCHEDULE = np.array([0, 1, 4, 7, 10, 14, 21, 28, 42, 56, 90], dtype=float)
COLUMNS = ["cmax", "tmax", "clast", "tlast", "auc_last", "auc_partial", "lambda_z", "half_life", "r2_adj"]


def simulate(n_patients: int, seed: int = 1) -> pl.DataFrame:
    """Long table patient_id, day, value, blq with 6-10 samples per patient (no per-patient loop)."""
    rng = np.random.default_rng(seed)
    n_samples = rng.integers(6, 11, n_patients)
    # choose n_samples of the 11 schedule days per patient: rank random keys, keep the smallest ranks
    keys = rng.random((n_patients, SCHEDULE.size))
    ranks = keys.argsort(axis=1).argsort(axis=1)
    chosen = ranks < n_samples[:, None]
    pid = np.repeat(np.arange(n_patients), SCHEDULE.size).reshape(n_patients, -1)[chosen]
    day = np.broadcast_to(SCHEDULE, (n_patients, SCHEDULE.size))[chosen]
    typical = SteinParameters()
    # between-subject variances on the log scale (Stein 2019 Table 2; criteria.md section 10)
    omega = {"cmax": 2.4, "tmax": 0.38, "foldx": 0.65, "alpha": 0.91, "beta": 0.8, "fb": 0.86}
    indiv = {name: getattr(typical, name) * np.exp(rng.normal(0, np.sqrt(w), n_patients))
             for name, w in omega.items()}
    indiv["fb"] = np.minimum(indiv["fb"], 0.5)
    indiv["foldx"] = np.maximum(indiv["foldx"], 2.0)
    value = stein_curve(day, *(indiv[name][pid] for name in ("cmax", "tmax", "foldx", "alpha", "beta", "fb")))
    value = value * np.exp(rng.normal(0, 0.56, value.size))  # residual error 0.56 (log scale)
    blq = value < 5.0  # LLOQ-like threshold: ~ a few % of samples
    value = np.where(blq, np.nan, value)
    return pl.DataFrame({"patient_id": pid.astype(np.int64), "day": day, "value": value, "blq": blq})


def run_vectorised(df: pl.DataFrame) -> pl.DataFrame:
    return nca_table(df, by=["patient_id"], blq="blq")


def run_baseline(pdf: pd.DataFrame) -> pd.DataFrame:
    def one(g: pd.DataFrame) -> pd.Series:
        r = nca(g["day"].to_numpy(), g["value"].to_numpy(), blq=g["blq"].to_numpy())
        return pd.Series({c: getattr(r, c) for c in COLUMNS})

    return pdf.groupby("patient_id")[["day", "value", "blq"]].apply(one)


def best_of(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--baseline-patients", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    df = simulate(args.patients)
    t_vec, table = best_of(lambda: run_vectorised(df), args.repeat)

    rng = np.random.default_rng(7)
    n_base = min(args.baseline_patients, args.patients)
    subset = rng.choice(args.patients, n_base, replace=False)
    pdf = df.filter(pl.col("patient_id").is_in(subset.tolist())).to_pandas()
    t_base_sub, base = best_of(lambda: run_baseline(pdf), 1)
    t_base = t_base_sub * args.patients / n_base

    # same numbers on the subsample
    mine = table.filter(pl.col("patient_id").is_in(subset.tolist())).sort("patient_id").to_pandas().set_index("patient_id")
    for col in COLUMNS:
        np.testing.assert_allclose(mine[col].astype(float).to_numpy(), base[col].to_numpy(), rtol=1e-12,
                                   equal_nan=True, err_msg=col)

    result = {
        "benchmark": "NCA (Cmax, Tmax, Clast, Tlast, AUClast, AUC0-28, lambda_z, half-life) per patient",
        "patients": args.patients,
        "rows": df.height,
        "vectorised_seconds": round(t_vec, 4),
        "vectorised_method": "cartkit.kinetics.nca_table (Polars + numpy segment operations), best of "
                             f"{args.repeat}",
        "baseline_seconds": round(t_base, 3),
        "baseline_method": f"pandas groupby-apply of cartkit.kinetics.nca on {n_base} random patients, "
                           f"{round(t_base_sub, 3)} s, scaled per patient to {args.patients}",
        "ratio": round(t_base / t_vec, 1),
        "agree": True,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    out = ROOT / "benchmarks" / "results" / "nca.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
