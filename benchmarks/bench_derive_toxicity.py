"""Benchmark: vectorised CRS + haematological derivation vs a plain pandas groupby-apply.

    python benchmarks/bench_derive_toxicity.py                 # 100,000 episodes (default)
    python benchmarks/bench_derive_toxicity.py --episodes 20000 --baseline-episodes 2000

Generates a synthetic long study with numpy (vital signs days 0-13, supportive care,
blood counts days 0-28, baseline labs on day -5), runs ``derive_crs`` and
``derive_hematologic`` (Polars, whole tables) on all of it, and a plain pandas
``groupby(...).apply`` implementation of the same CRS (ASTCT 2019) and worst-CTCAE-grade
rules on a subset (per-group Python is too slow to run on 100,000 episodes within a few
minutes). The ratio is measured on the same subset (both implementations on the same
rows) and also reported per episode against the full Polars run. The two
implementations are checked to agree on the subset. Results go to
benchmarks/results/derive_toxicity.json.
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

from cartkit.derive.toxicity import derive_crs, derive_hematologic
from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.schema import TABLES

DTYPES = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "date": pl.Date}
RESULTS = Path(__file__).parent / "results" / "derive_toxicity.json"


def _full(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Give a generated frame every schema column (nulls), in the loaded Study's dtypes."""
    cols = []
    for c in TABLES[name].columns:
        dtype = DTYPES[c.dtype]
        cols.append(
            pl.col(c.name).cast(dtype) if c.name in frame.columns else pl.lit(None, dtype=dtype).alias(c.name)
        )
    return frame.select(cols)


def synthetic_study(n: int, seed: int = 20261124) -> Study:
    rng = np.random.default_rng(seed)
    pid = np.array([f"S{i:06d}" for i in range(n)])
    infusions = pl.DataFrame(
        {"patient_id": pid, "episode": np.ones(n, dtype=np.int64), "product": "CD19 CAR-T", "target": "CD19"}
    )
    # vital signs, days 0-13: a CRS episode in ~70% of patients with fever days and some hypotension
    vd = np.arange(14)
    p_rep = np.repeat(pid, vd.size)
    d_rep = np.tile(vd, n)
    onset = np.repeat(rng.integers(0, 8, n), vd.size)
    length = np.repeat(rng.integers(0, 6, n), vd.size)
    crs = (d_rep >= onset) & (d_rep < onset + length)
    temp = np.where(crs, rng.normal(38.8, 0.6, p_rep.size), rng.normal(36.9, 0.4, p_rep.size)).round(1)
    sbp = np.where(
        crs & (rng.random(p_rep.size) < 0.3), rng.normal(82, 6, p_rep.size), rng.normal(120, 12, p_rep.size)
    ).round(0)
    vitals = pl.DataFrame(
        {
            "patient_id": np.concatenate([p_rep, p_rep]),
            "day": np.concatenate([d_rep, d_rep]),
            "analyte": np.repeat(["temperature", "sbp"], p_rep.size),
            "value": np.concatenate([temp, sbp]),
            "unit": np.repeat(["C", "mmHg"], p_rep.size),
        }
    )
    # blood counts every other day 0-28, baseline labs on day -5
    cd = np.arange(0, 29, 2)
    pc, dc = np.repeat(pid, cd.size), np.tile(cd, n)
    depth = np.repeat(rng.lognormal(-1.0, 1.0, n), cd.size)
    recov = np.repeat(rng.integers(6, 30, n), cd.size)
    anc = np.where(dc < recov, depth * 0.3, 1.5 + rng.random(pc.size)).round(2)
    plt_ = np.where(dc < recov, rng.uniform(8, 90, pc.size), rng.uniform(90, 250, pc.size)).round(0)
    hb = rng.uniform(65, 130, pc.size).round(0)
    counts = pl.DataFrame(
        {
            "patient_id": np.concatenate([pc, pc, pc]),
            "day": np.concatenate([dc, dc, dc]),
            "analyte": np.repeat(["anc", "platelets", "hemoglobin"], pc.size),
            "value": np.concatenate([anc, plt_, hb]),
            "unit": np.repeat(["10^9/L", "10^9/L", "g/L"], pc.size),
        }
    )
    base_an = ["platelets", "anc", "hemoglobin", "crp", "ferritin", "ldh", "creatinine"]
    base_val = np.column_stack(
        [
            rng.uniform(40, 300, n),
            rng.uniform(0.3, 5, n),
            rng.uniform(70, 140, n),
            rng.uniform(1, 80, n),
            rng.uniform(100, 4000, n),
            rng.uniform(150, 600, n),
            rng.uniform(50, 150, n),
        ]
    ).round(2)
    base = pl.DataFrame(
        {
            "patient_id": np.repeat(pid, len(base_an)),
            "day": -5,
            "analyte": np.tile(base_an, n),
            "value": base_val.ravel(),
            "unit": "",
        }
    )
    measurements = pl.concat([vitals, counts, base], how="vertical_relaxed").with_columns(
        episode=pl.lit(1, dtype=pl.Int64)
    )
    # support: vasopressors, vasopressin, oxygen, tocilizumab on CRS days
    crs_idx = np.flatnonzero(crs)
    pick = crs_idx[rng.random(crs_idx.size) < 0.25]
    kinds = rng.choice(
        ["vasopressor", "vasopressin", "oxygen", "tocilizumab"], pick.size, p=[0.3, 0.1, 0.4, 0.2]
    )
    agent = np.where(
        kinds == "vasopressor",
        rng.choice(["norepinephrine", "phenylephrine"], pick.size),
        np.where(
            kinds == "vasopressin", "vasopressin", np.where(kinds == "tocilizumab", "tocilizumab", "oxygen")
        ),
    )
    support = (
        pl.DataFrame(
            {
                "patient_id": p_rep[pick],
                "episode": 1,
                "day": d_rep[pick],
                "kind": kinds,
                "agent": agent,
                "o2_device": np.where(
                    kinds == "oxygen", rng.choice(["nasal_cannula", "facemask", "bipap"], pick.size), ""
                ),
                "o2_flow_l_min": np.where(kinds == "oxygen", rng.choice([2.0, 6.0, 8.0], pick.size), np.nan),
            }
        )
        .with_columns(pl.col("o2_flow_l_min").fill_nan(None), pl.col("o2_device").replace("", None))
        .unique(["patient_id", "episode", "day", "kind", "agent"])
    )
    tables = {name: _full(name, pl.DataFrame()) for name in TABLES}
    tables["infusions"] = _full("infusions", infusions)
    tables["measurements"] = _full("measurements", measurements)
    tables["support"] = _full("support", support)
    return Study(Path("."), StudyMeta("synthetic"), Plan(), tables)


def subset(study: Study, patients: list[str]) -> Study:
    keep = pl.Series(patients)
    tables = {
        k: (v.filter(pl.col("patient_id").is_in(keep.implode())) if "patient_id" in v.columns else v)
        for k, v in study.tables.items()
    }
    return Study(study.path, study.meta, study.plan, tables)


# ---------------------------------------------------------------- plain pandas baseline

HYPOT = {"none": 0, "fluids": 2, "vasopressor": 3, "vasopressors": 4}
HYPOX = {"none": 0, "low_flow": 2, "high_flow": 3, "positive_pressure": 4}
DEVICE = {
    "nasal_cannula": "low_flow",
    "blow_by": "low_flow",
    "high_flow_nasal_cannula": "high_flow",
    "facemask": "high_flow",
    "non_rebreather": "high_flow",
    "venturi": "high_flow",
    "cpap": "positive_pressure",
    "bipap": "positive_pressure",
    "mechanical_ventilation": "positive_pressure",
}
CTCAE = {
    "anc": [(0.5, 4), (1.0, 3), (1.5, 2)],
    "platelets": [(25, 4), (50, 3), (75, 2)],
    "hemoglobin": [(80, 3), (100, 2)],
}


def _crs_one(g: pd.DataFrame) -> int | None:
    """ASTCT 2019 maximum grade of one episode, row by row (what a plain implementation does)."""
    if not g["has_vitals"].any():
        return None
    best, treated_seen, fever_seen = 0, False, False
    for _, r in g.sort_values("day").iterrows():
        fever = bool(r["temperature"] >= 38.0) if not pd.isna(r["temperature"]) else False
        fever_seen |= fever
        treated_seen |= bool(r["masking"])
        pressors = r["pressors"]
        if pressors >= 2:
            hyp = "vasopressors"
        elif pressors == 1 or r["vasopressin"]:
            hyp = "vasopressor"
        elif not pd.isna(r["sbp"]) and r["sbp"] < 90:
            hyp = "fluids"
        else:
            hyp = "none"
        ox = r["hypoxia"]
        if not (fever or (treated_seen and fever_seen)):
            continue
        best = max(best, 1, HYPOT[hyp], HYPOX[ox])
    return best


def _haem_one(g: pd.DataFrame) -> pd.Series:
    out = {}
    for analyte, rules in CTCAE.items():
        worst = None
        for v in g.loc[g["analyte"] == analyte, "value"]:
            grade = None
            for thr, gr in rules:
                if v < thr:
                    grade = gr
                    break
            if grade is not None:
                worst = grade if worst is None else max(worst, grade)
        out[analyte] = worst
    return pd.Series(out)


def pandas_baseline(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    m = study.tables["measurements"].to_pandas()
    s = study.tables["support"].to_pandas()
    v = m[m["analyte"].isin(["temperature", "sbp"])].pivot_table(
        index=["patient_id", "episode", "day"], columns="analyte", values="value", aggfunc={"value": "max"}
    )
    v = v.reset_index()
    s["is_vp"] = (s["kind"] == "vasopressor") & (s["agent"] != "vasopressin")
    s["ox"] = s["o2_device"].map(DEVICE).fillna("none")
    s.loc[(s["o2_device"] == "nasal_cannula") & (s["o2_flow_l_min"] > 6), "ox"] = "high_flow"
    rank = {k: i for i, k in enumerate(HYPOX)}
    s["ox_rank"] = s["ox"].map(rank)
    sd = (
        s.groupby(["patient_id", "episode", "day"])
        .apply(
            lambda g: pd.Series(
                {
                    "pressors": g.loc[g["is_vp"], "agent"].nunique(),
                    "vasopressin": bool((g["kind"] == "vasopressin").any()),
                    "masking": bool(g["kind"].isin(["tocilizumab", "steroid", "antipyretic"]).any()),
                    "hypoxia": list(HYPOX)[int(g["ox_rank"].max())],
                }
            ),
            include_groups=False,
        )
        .reset_index()
    )
    days = v.merge(sd, on=["patient_id", "episode", "day"], how="outer")
    days["pressors"] = days["pressors"].fillna(0)
    days["vasopressin"] = days["vasopressin"].astype("boolean").fillna(False).astype(bool)
    days["masking"] = days["masking"].astype("boolean").fillna(False).astype(bool)
    days["hypoxia"] = days["hypoxia"].fillna("none")
    days["has_vitals"] = days["temperature"].notna() | days["sbp"].notna()
    crs = days.groupby(["patient_id", "episode"]).apply(_crs_one, include_groups=False).rename("crs_max")
    counts = m[m["analyte"].isin(list(CTCAE)) & m["day"].between(0, 28)]
    haem = counts.groupby(["patient_id", "episode"]).apply(_haem_one, include_groups=False)
    return crs.reset_index(), haem.reset_index()


def run_polars(study: Study) -> tuple[pl.DataFrame, pl.DataFrame]:
    return derive_crs(study), derive_hematologic(study)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=100_000)
    ap.add_argument(
        "--baseline-episodes",
        type=int,
        default=5_000,
        help="episodes the pandas groupby-apply baseline runs on (same rows for both)",
    )
    args = ap.parse_args()

    t = time.perf_counter()
    study = synthetic_study(args.episodes)
    gen_s = time.perf_counter() - t
    n_rows = study.tables["measurements"].height + study.tables["support"].height

    t = time.perf_counter()
    crs_all, hem_all = run_polars(study)
    polars_full_s = time.perf_counter() - t

    nb = min(args.baseline_episodes, args.episodes)
    small = subset(study, study.tables["infusions"]["patient_id"].head(nb).to_list())
    t = time.perf_counter()
    crs_small, hem_small = run_polars(small)
    polars_small_s = time.perf_counter() - t
    t = time.perf_counter()
    crs_pd, hem_pd = pandas_baseline(small)
    pandas_small_s = time.perf_counter() - t

    # the two implementations must agree on the subset
    joined = crs_small.join(
        pl.from_pandas(crs_pd).cast({"crs_max": pl.Int64}), on=["patient_id", "episode"], suffix="_pd"
    )
    crs_agree = bool((joined["crs_max"] == joined["crs_max_pd"]).all())
    hw = hem_small.pivot("analyte", index=["patient_id", "episode"], values="worst_grade")
    hp = pl.from_pandas(hem_pd)
    cmp = hw.join(hp, on=["patient_id", "episode"], suffix="_pd")
    hem_agree = all(
        cmp.select((pl.col(a).fill_null(0) == pl.col(f"{a}_pd").cast(pl.Int64).fill_null(0)).all()).item()
        for a in CTCAE
    )

    result = {
        "benchmark": "derive CRS (ASTCT 2019) + haematological CTCAE grades",
        "episodes": args.episodes,
        "input_rows": n_rows,
        "generate_seconds": round(gen_s, 3),
        "polars_seconds": round(polars_full_s, 3),
        "baseline_episodes": nb,
        "polars_seconds_on_baseline_subset": round(polars_small_s, 3),
        "pandas_groupby_apply_seconds_on_baseline_subset": round(pandas_small_s, 3),
        "ratio_same_rows": round(pandas_small_s / polars_small_s, 1),
        "ratio_per_episode_vs_full_polars_run": round(
            (pandas_small_s / nb) / (polars_full_s / args.episodes), 1
        ),
        "implementations_agree": crs_agree and hem_agree,
        "crs_max_distribution": dict(
            sorted((str(k), v) for k, v in crs_all.group_by("crs_max").len().iter_rows())
        ),
        "hematologic_rows": hem_all.height,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "pandas": pd.__version__,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
