"""Degenerate edits of a simulated study folder, for the pipeline property tests.

``simulated_study(folder, patients, seed, edits)`` writes a study with ``cartkit.simulate`` and
applies each named edit to its tables and ``study.toml``. Every edit keeps the study valid by the
schema (the property test only asks anything of studies that ``validate`` finds clean):

* ``one_patient``     - only the first patient;
* ``one_product``     - only each patient's first (CD19 CAR-T) infusion;
* ``one_disease``     - only the patients of the first patient's diagnosis;
* ``identical_peaks`` - every CAR-T % value the same (every patient peaks on the same value);
* ``identical_values``- every CAR-T, CAR DNA and cytokine value the same;
* ``no_kinetics``     - no CAR-T, CAR DNA or cytokine measurements;
* ``no_events``       - an events table with its header only;
* ``all_censored``    - no death, progression or relapse: every patient censored;
* ``no_recorded_crs`` - no recorded CRS or ICANS grades (the derived ones are analysed);
* ``each_episode``    - ``plan.survival.from_product`` unset (time zero: the first infusion);
* ``from_cd22``       - time zero at the CD22 CAR-T infusion;
* ``default_plan``    - the plan's grading and statistics keys removed (their defaults apply);
* ``no_assessments``  - no response assessments (no response is known);
* ``no_adverse_events`` - no adverse events recorded (every grade derived or undetermined);
* ``one_sample``      - one CAR-T, CAR DNA and cytokine sample per episode (day 7 or the first);
* ``all_blq``         - every CAR-T and CAR DNA value below the limit of quantification;
* ``no_counts``       - no blood counts (haematological grades undetermined);
* ``hsct_everyone``   - every patient transplanted 20 days after the first infusion;
* ``death_at_last_contact`` - every patient alive at the last contact dies on that day (no one censored
  for OS but at a death).

Identifiers stay plain (``SIM-0001``): ``$`` in text drawn in figures is the mathtext question,
tested elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from cartkit.simulate import simulate_study
from cartkit.simulate.folder import study_toml

EDITS = ("one_patient", "one_product", "one_disease", "identical_peaks", "identical_values", "no_kinetics",
         "no_events", "all_censored", "no_recorded_crs", "each_episode", "from_cd22", "default_plan",
         "no_assessments", "no_adverse_events", "one_sample", "all_blq", "no_counts", "hsct_everyone",
         "death_at_last_contact")
COUNTS = ("anc", "alc", "wbc", "hemoglobin", "platelets")
TABLE_FILES = ("patients", "infusions", "measurements", "support", "neuro", "assessments", "lesions",
               "adverse_events", "infections", "events")
KINETIC_ANALYTES = ("car_t_pct_cd3", "car_dna", "il6", "il2r", "il8", "tnfa")
DATA_CUTOFF_LINE = re.compile(r"^data_cutoff = (\S+)$", re.M)


def _read(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", infer_schema=False)


def _write(folder: Path, name: str, df: pl.DataFrame) -> None:
    df.write_csv(folder / f"{name}.csv")


def simulated_study(folder: Path, patients: int, seed: int, edits: tuple[str, ...] = (),
                    unit_variety: bool = False) -> Path:
    """A simulated study in CSV files with ``edits`` applied (see the module docs)."""
    out = simulate_study(folder, patients=patients, seed=seed, format="csv", unit_variety=unit_variety)
    tables = {name: _read(out, name) for name in TABLE_FILES}
    episode_tables = [n for n in TABLE_FILES if n not in ("patients", "events")]

    def keep_patients(ids: list[str]) -> None:
        for name in TABLE_FILES:
            tables[name] = tables[name].filter(pl.col("patient_id").is_in(ids))

    if "one_patient" in edits:
        keep_patients(tables["patients"]["patient_id"].head(1).to_list())
    if "one_disease" in edits:
        first = tables["patients"]["diagnosis"][0]
        keep_patients(tables["patients"].filter(pl.col("diagnosis") == first)["patient_id"].to_list())
    if "one_product" in edits:
        for name in episode_tables:
            tables[name] = tables[name].filter(pl.col("episode") == "1")
        # events after the second infusion keep their date; their episode and day are left to be derived
        later = pl.col("episode").is_not_null() & (pl.col("episode") != "1")
        tables["events"] = tables["events"].with_columns(
            pl.when(later).then(None).otherwise(pl.col(c)).alias(c) for c in ("episode", "day"))
    m = tables["measurements"]
    kinetic = pl.col("analyte").is_in(list(KINETIC_ANALYTES))
    if "identical_peaks" in edits:
        car_t = pl.col("analyte") == "car_t_pct_cd3"
        m = m.with_columns(pl.when(car_t).then(pl.lit("5.0")).otherwise(pl.col("value")).alias("value"),
                           pl.when(car_t).then(pl.lit("false")).otherwise(pl.col("blq")).alias("blq"))
    if "identical_values" in edits:
        m = m.with_columns(pl.when(kinetic).then(pl.lit("1.0")).otherwise(pl.col("value")).alias("value"),
                           pl.when(kinetic).then(pl.lit("false")).otherwise(pl.col("blq")).alias("blq"))
    if "one_sample" in edits:
        day = pl.col("day").cast(pl.Int64)
        pick = pl.when((day == 7).any().over("patient_id", "episode", "analyte")).then(day == 7).otherwise(
            day == day.min().over("patient_id", "episode", "analyte"))
        m = m.filter(~kinetic | pick)
    if "all_blq" in edits:
        cells = pl.col("analyte").is_in(["car_t_pct_cd3", "car_dna"])
        m = m.with_columns(pl.when(cells).then(None).otherwise(pl.col("value")).alias("value"),
                           pl.when(cells).then(pl.lit("true")).otherwise(pl.col("blq")).alias("blq"))
    if "no_counts" in edits:
        m = m.filter(~pl.col("analyte").is_in(list(COUNTS)))
    if "no_kinetics" in edits:
        m = m.filter(~kinetic)
    tables["measurements"] = m
    if "no_assessments" in edits:
        tables["assessments"] = tables["assessments"].head(0)
        tables["lesions"] = tables["lesions"].head(0)
    if "no_adverse_events" in edits:
        tables["adverse_events"] = tables["adverse_events"].head(0)
    if "no_events" in edits:
        tables["events"] = tables["events"].head(0)
    if "all_censored" in edits:
        tables["events"] = tables["events"].filter(~pl.col("kind").is_in(["death", "progression", "relapse"]))
    first = (tables["infusions"].with_columns(pl.col("infusion_date").str.to_date())
             .group_by("patient_id").agg(pl.col("infusion_date").min()))
    if "hsct_everyone" in edits:
        ev = tables["events"].filter(pl.col("kind") != "hsct")
        added = first.select(
            "patient_id", pl.lit("hsct").alias("kind"), pl.lit(None, dtype=pl.String).alias("episode"),
            pl.lit(None, dtype=pl.String).alias("day"),
            (pl.col("infusion_date") + pl.duration(days=20)).cast(pl.String).alias("date"),
            pl.lit("allogeneic").alias("detail"))
        tables["events"] = pl.concat([ev, added.select(ev.columns)])
    if "death_at_last_contact" in edits:
        ev = tables["events"]
        alive = (pl.col("kind") == "last_contact") & ~(pl.col("kind") == "death").any().over("patient_id")
        tables["events"] = ev.with_columns(pl.when(alive).then(pl.lit("death")).otherwise(pl.col("kind")).alias("kind"))
    if "no_recorded_crs" in edits:
        tables["adverse_events"] = tables["adverse_events"].filter(
            ~pl.col("term").is_in(["cytokine release syndrome", "icans"]))
    for name, df in tables.items():
        _write(out, name, df)

    # study.toml: the plan names the products and diseases left
    text = (out / "study.toml").read_text(encoding="utf-8")
    cutoff = DATA_CUTOFF_LINE.search(text).group(1)
    products = [p for p in ("CD19 CAR-T", "CD22 CAR-T") if p in set(tables["infusions"]["product"])]
    diseases = [d for d in ("DLBCL", "B-ALL") if d in set(tables["patients"]["diagnosis"])]
    import datetime as dt

    text = study_toml(patients, seed, dt.date.fromisoformat(cutoff), products, diseases)
    if "each_episode" in edits:
        text = text.replace('from_product = "CD19 CAR-T"\n', "")
    elif "from_cd22" in edits and "CD22 CAR-T" in products:
        text = text.replace('from_product = "CD19 CAR-T"', 'from_product = "CD22 CAR-T"')
    if "default_plan" in edits:
        text = re.sub(r"^(crs_system|icans_system|ctcae_version|quantile_method) = .*\n", "", text, flags=re.M)
    (out / "study.toml").write_text(text, encoding="utf-8")
    return out


SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-study"
PLAN_KEY_LINE = r"^{key} = .*$"


def seed_copy(folder: Path, *, drop_terms: tuple[str, ...] = (), plan: dict[str, str] | None = None) -> Path:
    """A copy of examples/seed-study in ``folder``: adverse events of ``drop_terms`` removed, and each
    ``[plan]`` key of ``plan`` set (``{"crs_system": '"lee2014"'}``: the value as TOML text)."""
    import shutil

    out = folder / "seed-copy"
    shutil.copytree(SEED, out)
    if drop_terms:
        ae = _read(out, "adverse_events")
        _write(out, "adverse_events", ae.filter(~pl.col("term").is_in(list(drop_terms))))
    text = (out / "study.toml").read_text(encoding="utf-8")
    for key, value in (plan or {}).items():
        line = re.compile(PLAN_KEY_LINE.format(key=re.escape(key)), re.M)
        assert line.search(text), f"seed study.toml has no {key} line"
        text = line.sub(f"{key} = {value}", text, count=1)
    (out / "study.toml").write_text(text, encoding="utf-8")
    return out
