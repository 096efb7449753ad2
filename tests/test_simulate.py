"""The synthetic cohort generator: valid, deterministic, and internally consistent.

Consistency checks re-derive grades and responses in the test itself from
the clinical rules (ASTCT 2019 CRS and ICANS, CTCAE v5.0 counts, NCCN B-ALL
CR/CRi, Lugano 2014 PET), independently of cartkit's graders, and compare
them with the recorded values the simulator writes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.report.output_folder import SIMULATE_MANIFEST
from cartkit.simulate import simulate_study
from cartkit.study.schema import TABLES
from cartkit.study.vocabulary import VOCABULARIES

CUTOFF = dt.date(2025, 12, 31)
KEYS = ["patient_id", "episode"]


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    return simulate_study(tmp_path_factory.mktemp("sim") / "s400", patients=400, seed=11)


@pytest.fixture(scope="module")
def raw(study_dir) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(study_dir / f"{name}.parquet") for name in TABLES}


@pytest.fixture(scope="module")
def study(study_dir):
    return cartkit.load_study(study_dir)


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize(
    ("patients", "seed", "fmt", "unit_variety"),
    [
        (1, 0, "csv", False),
        (1, 2, "parquet", False),
        (13, 1, "csv", False),
        (13, 4, "parquet", True),
        (200, 7, "parquet", False),
        (200, 8, "csv", True),
    ],
)
def test_load_study_accepts_simulated_study(tmp_path, patients, seed, fmt, unit_variety):
    out = simulate_study(tmp_path / "s", patients=patients, seed=seed, format=fmt, unit_variety=unit_variety)
    s = cartkit.load_study(out)
    assert s.patients.height == patients
    assert s.meta.id == f"simulated-{patients}-seed-{seed}"
    assert s.meta.data_cutoff == CUTOFF
    assert set(s.infusions["product"]) == set(s.plan.products)
    assert set(s.patients["diagnosis"]) == set(s.plan.diseases)
    expected = [f"{t}.{fmt}" for t in TABLES] + ["study.toml", SIMULATE_MANIFEST]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)
    if unit_variety and patients >= 200:
        assert any("converted" in note for note in s.notes)


def test_unit_variety_round_trips_to_the_canonical_values(tmp_path):
    plain = cartkit.load_study(simulate_study(tmp_path / "a", patients=60, seed=3, format="csv"))
    varied = cartkit.load_study(
        simulate_study(tmp_path / "b", patients=60, seed=3, format="csv", unit_variety=True)
    )
    a, b = plain.measurements, varied.measurements
    assert (b["unit_original"] != b["unit"]).sum() > 20
    exact = ["anc", "alc", "wbc", "platelets", "hemoglobin", "temperature"]
    cols = ["patient_id", "episode", "analyte", "day", "value", "unit"]
    sel = pl.col("analyte").is_in(exact)
    assert a.filter(sel).select(cols).equals(b.filter(sel).select(cols))


def test_columns_dtypes_vocabularies_and_ranges_follow_the_schema(raw):
    dtypes = {"str": pl.String, "int": pl.Int64, "float": pl.Float64, "bool": pl.Boolean, "date": pl.Date}
    for name, table in TABLES.items():
        df = raw[name]
        assert df.columns == list(table.column_names), name
        for col in table.columns:
            s = df[col.name]
            assert s.dtype == dtypes[col.dtype], (name, col.name)
            if col.required:
                assert s.null_count() == 0, (name, col.name)
            if col.vocabulary and s.len():
                canonical = set(VOCABULARIES[col.vocabulary].values())
                assert set(s.drop_nulls().unique()) <= canonical, (name, col.name)
            if col.min is not None and s.drop_nulls().len():
                assert s.drop_nulls().min() >= col.min, (name, col.name)
            if col.max is not None and s.drop_nulls().len():
                assert s.drop_nulls().max() <= col.max, (name, col.name)
        if df.height:
            assert df.select(table.key).n_unique() == df.height, f"duplicate keys in {name}"
    m = raw["measurements"]
    assert (m["value"].is_null() == m["blq"]).all()
    pct = m.filter(pl.col("unit") == "%")["value"].drop_nulls()
    assert pct.max() <= 100


def _all(df: pl.DataFrame, expr: pl.Expr) -> bool:
    return bool(df.select(expr.all()).item())


def test_no_orphans_and_dates_match_days(raw):
    patients = raw["patients"].select("patient_id")
    episodes = raw["infusions"].select(*KEYS, "infusion_date")
    assert raw["infusions"].join(patients, on="patient_id", how="anti").height == 0
    assert raw["events"].join(patients, on="patient_id", how="anti").height == 0
    for name in ("measurements", "support", "neuro", "assessments", "adverse_events"):
        df = raw[name]
        assert df.join(episodes, on=KEYS, how="anti").height == 0, name
        if "date" in df.columns:
            j = df.join(episodes, on=KEYS)
            assert _all(j, pl.col("date") == pl.col("infusion_date") + pl.duration(days=pl.col("day"))), name
    ev = raw["events"].join(episodes, on=KEYS)
    assert _all(ev, pl.col("date") == pl.col("infusion_date") + pl.duration(days=pl.col("day")))


# --------------------------------------------------------------------------- events in order


def _dated_rows(raw) -> pl.DataFrame:
    rows = [raw[n].select("patient_id", "date") for n in ("measurements", "support", "neuro", "assessments")]
    rows.append(raw["infusions"].select("patient_id", pl.col("infusion_date").alias("date")))
    rows.append(raw["events"].select("patient_id", "date"))
    return pl.concat(rows)


def test_events_are_in_order(raw):
    inf = raw["infusions"].pivot(on="episode", index="patient_id", values="infusion_date")
    two = inf.filter(pl.col("2").is_not_null())
    assert two.height > 0
    assert (two["2"] > two["1"]).all()
    # a second infusion follows a progression or relapse after the first
    ev = raw["events"]
    fail = ev.filter(pl.col("kind").is_in(["progression", "relapse"]), pl.col("episode") == 1)
    j = two.join(
        fail.group_by("patient_id").agg(pl.col("date").min().alias("fail")), on="patient_id", how="left"
    )
    assert j["fail"].null_count() == 0
    assert (j["fail"] < j["2"]).all()
    # nothing after death, nothing after the cut-off, last contact is the last date
    dated = _dated_rows(raw)
    death = ev.filter(pl.col("kind") == "death").select("patient_id", pl.col("date").alias("death"))
    assert dated.join(death, on="patient_id").filter(pl.col("date") > pl.col("death")).height == 0
    assert dated["date"].max() <= CUTOFF
    last = ev.filter(pl.col("kind") == "last_contact").select("patient_id", pl.col("date").alias("last"))
    assert last.height == raw["patients"].height
    assert dated.join(last, on="patient_id").filter(pl.col("date") > pl.col("last")).height == 0
    both = death.join(last, on="patient_id")
    assert (both["death"] == both["last"]).all()
    # adverse events start and end within follow-up
    ae = raw["adverse_events"].join(raw["infusions"].select(*KEYS, "infusion_date"), on=KEYS)
    ae = ae.join(last, on="patient_id")
    for col in ("onset_day", "resolution_day"):
        d = ae.filter(pl.col(col).is_not_null())
        assert _all(d, pl.col("infusion_date") + pl.duration(days=pl.col(col)) <= pl.col("last"))
    done = ae.filter(pl.col("resolution_day").is_not_null())
    assert (done["resolution_day"] > done["onset_day"]).all()


def test_censoring_at_the_cutoff_happens(raw):
    last = raw["events"].filter(pl.col("kind") == "last_contact")
    alive = last.join(raw["events"].filter(pl.col("kind") == "death"), on="patient_id", how="anti")
    assert alive.height > 0
    # most survivors are followed to the cut-off; a few were lost to follow-up before it
    assert (alive["date"] == CUTOFF).mean() > 0.8


# --------------------------------------------------------------------------- determinism


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_same_bytes(tmp_path, fmt):
    a = simulate_study(tmp_path / "a", patients=120, seed=5, format=fmt, unit_variety=True)
    b = simulate_study(tmp_path / "b", patients=120, seed=5, format=fmt, unit_variety=True)
    c = simulate_study(tmp_path / "c", patients=120, seed=6, format=fmt, unit_variety=True)
    assert _bytes(a) == _bytes(b)
    assert _bytes(a)[f"measurements.{fmt}"] != _bytes(c)[f"measurements.{fmt}"]


def test_chunked_writing_gives_the_same_tables(tmp_path, monkeypatch):
    from cartkit.simulate import folder

    whole = simulate_study(tmp_path / "whole", patients=90, seed=2)
    monkeypatch.setattr(folder, "CHUNK_PATIENTS", 25)
    pieces = simulate_study(tmp_path / "pieces", patients=90, seed=2)
    for name in TABLES:
        assert pl.read_parquet(whole / f"{name}.parquet").equals(pl.read_parquet(pieces / f"{name}.parquet"))


# --------------------------------------------------------------------------- realistic distributions


def test_both_diseases_and_two_products(raw):
    share_all = (raw["patients"]["diagnosis"] == "B-ALL").mean()
    assert 0.35 < share_all < 0.55  # ~45% B-ALL
    inf = raw["infusions"]
    assert set(inf.filter(pl.col("episode") == 1)["product"]) == {"CD19 CAR-T"}
    assert set(inf.filter(pl.col("episode") == 2)["product"]) == {"CD22 CAR-T"}
    assert 0.1 < (inf["episode"] == 2).sum() / raw["patients"].height < 0.5


def test_crs_grades_have_a_realistic_spread(raw):
    crs = raw["adverse_events"].filter(pl.col("term") == "cytokine release syndrome")
    assert crs.height == raw["infusions"].height  # recorded for every episode, grade 0 included
    assert set(crs["grading_system"]) == {"astct2019"}
    counts = crs["grade"].value_counts()
    assert set(range(5)) <= set(counts["grade"])
    any_crs = (crs["grade"] >= 1).mean()
    severe = (crs["grade"] >= 3).mean()
    assert 0.5 < any_crs < 0.95
    assert 0.03 < severe < 0.3


def test_stein_kinetics_peak_and_timing(raw):
    k = (
        raw["measurements"]
        .filter(pl.col("analyte") == "car_dna")
        .join(raw["infusions"].select(*KEYS, "product"), on=KEYS)
    )
    peaks = k.group_by(*KEYS, "product").agg(
        pl.col("value").max().alias("peak"),
        pl.col("day").sort_by(pl.col("value").fill_null(0), descending=True).first().alias("tmax"),
    )
    med = peaks.group_by("product").agg(pl.col("peak").median(), pl.col("tmax").median()).sort("product")
    # Stein 2019 typical Cmax 24,000 copies/ug; sampled peaks with residual error scatter around it
    assert 8_000 < med["peak"][0] < 60_000
    # CD22 expands later than CD19 (seed Results)
    assert med["tmax"][1] >= med["tmax"][0]
    assert k.filter(pl.col("day") == 0)["blq"].mean() > 0.5  # day 0 mostly below 50 copies/ug


def test_cytokines_rise_with_expansion_and_crs(raw):
    il6 = raw["measurements"].filter(pl.col("analyte") == "il6")
    peak = il6.group_by(KEYS).agg(pl.col("value").max().alias("peak"), pl.col("value").first().alias("day0"))
    crs = raw["adverse_events"].filter(pl.col("term") == "cytokine release syndrome").select(*KEYS, "grade")
    j = peak.join(crs, on=KEYS)
    assert (j["peak"] > j["day0"]).mean() > 0.9
    severe = j.filter(pl.col("grade") >= 3)["peak"].median()
    none = j.filter(pl.col("grade") == 0)["peak"].median()
    assert severe > 3 * none


# --------------------------------------------------------------------------- recorded grades agree with the records


def _astct_crs(raw) -> pl.DataFrame:
    """ASTCT 2019 CRS grade per episode, from temperature and supportive care (docs/criteria.md, "CRS: ASTCT 2019")."""
    temp = (
        raw["measurements"]
        .filter(pl.col("analyte") == "temperature")
        .select(*KEYS, "day", (pl.col("value") >= 38.0).alias("fever"))
    )
    sup = raw["support"]
    pressors = (
        sup.filter(pl.col("kind") == "vasopressor").group_by(*KEYS, "day").agg(pl.len().alias("n_pressors"))
    )
    fluids = sup.filter(pl.col("kind") == "fluids").select(*KEYS, "day", pl.lit(True).alias("fluids"))
    sbp = (
        raw["measurements"]
        .filter(pl.col("analyte") == "sbp")
        .select(*KEYS, "day", pl.col("value").alias("sbp"))
    )
    oxygen = sup.filter(pl.col("kind") == "oxygen").select(
        *KEYS,
        "day",
        pl.when(pl.col("o2_device").is_in(["cpap", "bipap", "mechanical_ventilation"]))
        .then(4)
        .when(pl.col("o2_device").is_in(["facemask", "non_rebreather", "venturi"]))
        .then(3)
        .when((pl.col("o2_device") == "high_flow_nasal_cannula") & (pl.col("o2_flow_l_min") > 6))
        .then(3)
        .when(pl.col("o2_device").is_in(["nasal_cannula", "blow_by"]))
        .then(2)
        .otherwise(None)
        .alias("hypoxia"),
    )
    day = (
        temp.join(pressors, on=[*KEYS, "day"], how="left")
        .join(fluids, on=[*KEYS, "day"], how="left")
        .join(sbp, on=[*KEYS, "day"], how="left")
        .join(oxygen, on=[*KEYS, "day"], how="left")
        .with_columns(
            pl.when(pl.col("n_pressors") >= 2)
            .then(4)
            .when(pl.col("n_pressors") == 1)
            .then(3)
            .when(pl.col("fluids") & (pl.col("sbp") < 90))
            .then(2)
            .otherwise(0)
            .alias("hypotension"),
        )
        .with_columns(
            pl.when(pl.col("fever"))
            .then(pl.max_horizontal(pl.lit(1), "hypotension", pl.col("hypoxia").fill_null(0)))
            .otherwise(0)
            .alias("grade")
        )
    )
    return day.group_by(KEYS).agg(pl.col("grade").max().alias("derived"))


def test_recorded_crs_grade_follows_astct_from_vitals_and_support(raw):
    derived = _astct_crs(raw)
    crs = raw["adverse_events"].filter(pl.col("term") == "cytokine release syndrome").select(*KEYS, "grade")
    j = crs.join(derived, on=KEYS, how="left")
    alive = j.filter(pl.col("grade") < 5)
    assert alive["derived"].null_count() == 0
    assert (alive["grade"] == alive["derived"]).all()
    # grade 5: grade 4 physiology, then death from CRS
    fatal = j.filter(pl.col("grade") == 5)
    deaths = raw["events"].filter(pl.col("kind") == "death", pl.col("detail") == "cytokine release syndrome")
    assert fatal.height == deaths.height
    assert (fatal["derived"] == 4).all()


def test_recorded_icans_grade_follows_astct_domains(raw):
    n = raw["neuro"]
    day = n.with_columns(
        pl.max_horizontal(
            pl.when(pl.col("consciousness") == "unarousable")
            .then(4)
            .when(pl.col("ice_score") <= 2)
            .then(3)
            .when(pl.col("ice_score") <= 6)
            .then(2)
            .when(pl.col("ice_score") <= 9)
            .then(1)
            .otherwise(0),
            pl.col("consciousness").replace_strict(
                {
                    "normal": 0,
                    "awakens_spontaneously": 1,
                    "awakens_to_voice": 2,
                    "awakens_to_touch": 3,
                    "unarousable": 4,
                }
            ),
            pl.col("seizure").replace_strict({"none": 0, "resolving": 3, "prolonged": 4}),
            pl.col("motor").replace_strict({"none": 0, "deep_focal_weakness": 4}),
            pl.col("raised_icp").replace_strict({"none": 0, "focal_edema": 3, "diffuse_edema": 4}),
        ).alias("g")
    )
    derived = day.group_by(KEYS).agg(pl.col("g").max().alias("derived"))
    icans = raw["adverse_events"].filter(pl.col("term") == "icans").select(*KEYS, "grade")
    j = icans.join(derived, on=KEYS)
    assert j.height == icans.height
    assert (j["grade"] == j["derived"]).all()
    assert set(j["grade"]) >= {0, 1, 2, 3}


# CTCAE v5.0 cut-offs (10^9/L; haemoglobin g/L) with the simulator's stated LLNs
# (ANC 1.8, WBC 4.0, ALC 1.0, platelets 150, Hb 130 men / 120 women).
CTCAE5 = {
    "neutrophil count decreased": ("anc", [1.5, 1.0, 0.5]),
    "platelet count decreased": ("platelets", [75, 50, 25]),
    "white blood cell decreased": ("wbc", [3.0, 2.0, 1.0]),
    "lymphocyte count decreased": ("alc", [0.8, 0.5, 0.2]),
    "anemia": ("hemoglobin", [100, 80]),
}
LLN = {"anc": 1.8, "platelets": 150, "wbc": 4.0, "alc": 1.0}


def test_recorded_cytopenia_grades_follow_ctcae5_from_counts(raw):
    m = (
        raw["measurements"]
        .filter(pl.col("day") >= 0)
        .join(raw["patients"].select("patient_id", "sex"), on="patient_id")
    )
    ae = raw["adverse_events"]
    for term, (analyte, cuts) in CTCAE5.items():
        v = m.filter(pl.col("analyte") == analyte)
        lln = (
            pl.when(pl.col("sex") == "male").then(130.0).otherwise(120.0)
            if analyte == "hemoglobin"
            else pl.lit(LLN[analyte])
        )
        grade = (pl.col("value") < lln).cast(pl.Int64)
        for c in cuts:
            grade = grade + (pl.col("value") < c).cast(pl.Int64)
        derived = v.group_by(KEYS).agg(grade.max().alias("derived"))
        rec = ae.filter(pl.col("term") == term)
        assert set(rec["grading_system"]) == {"ctcae5.0"}
        j = derived.join(rec.select(*KEYS, "grade"), on=KEYS, how="left").with_columns(
            pl.col("grade").fill_null(0)
        )
        assert (j["grade"] == j["derived"]).all(), term


def test_b_all_response_follows_marrow_and_counts(raw):
    a = raw["assessments"].filter(pl.col("method") == "marrow", pl.col("response").is_not_null())
    assert set(a["response"]) == {"CR", "CRi", "NR"}
    remission = a.filter(pl.col("response") != "NR")
    assert (remission["marrow_blasts_pct"] < 5).all()
    assert not remission["circulating_blasts"].any()
    full = (remission["anc"] >= 1.0) & (remission["platelets"] >= 100)
    assert ((remission["response"] == "CR") == full).all()
    assert (a.filter(pl.col("response") == "NR")["marrow_blasts_pct"] >= 5).all()
    # the assessment's counts are the day-28 blood counts
    counts = raw["measurements"].filter(pl.col("analyte") == "anc", pl.col("day") == 28)
    j = a.join(counts.select(*KEYS, pl.col("value").alias("anc28")), on=KEYS)
    assert (j["anc"] == j["anc28"]).all()


def test_lymphoma_pet_follows_lugano(raw):
    a = raw["assessments"].filter(pl.col("method") == "pet_ct", pl.col("response").is_not_null())
    assert set(a["day"]) == {30, 90}
    cr = a.filter(pl.col("response") == "CR")
    assert (cr["deauville"] <= 3).all() and not cr["new_lesions"].any()
    pr = a.filter(pl.col("response") == "PR")
    assert (pr["deauville"] >= 4).all() and (pr["uptake_vs_baseline"] == "decreased").all()
    sd = a.filter(pl.col("response") == "SD")
    assert (sd["deauville"] >= 4).all() and (sd["uptake_vs_baseline"] == "unchanged").all()
    pd_ = a.filter(pl.col("response") == "PD")
    assert ((pd_["uptake_vs_baseline"] == "increased") | pd_["new_lesions"]).all()
    # every PD at an assessment is also a progression event on that day
    ev = raw["events"].filter(pl.col("kind") == "progression").select(*KEYS, "day")
    assert pd_.select(*KEYS, "day").join(ev, on=[*KEYS, "day"], how="anti").height == 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patients": 0}, "patients"),
        ({"patients": 2.5}, "patients"),
        ({"patients": 5, "seed": -1}, "seed"),
        ({"patients": 5, "format": "xlsx"}, "format"),
    ],
)
def test_bad_arguments_raise_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_study(tmp_path / "x", **kwargs)


def test_never_mixes_formats_in_one_folder_and_reports_progress(tmp_path):
    calls = []
    simulate_study(tmp_path / "s", patients=5, seed=1, format="csv", progress=lambda *a: calls.append(a))
    n = len(TABLES)  # one file per table of the schema
    assert calls[-1] == ("events", n, n) and len(calls) == n
    simulate_study(tmp_path / "s", patients=5, seed=2, format="csv")  # an earlier simulated study: replaced
    # replaced whole in the other format: one version of each table (docs/output.md)
    simulate_study(tmp_path / "s", patients=5, seed=1, format="parquet")
    assert not list((tmp_path / "s").glob("*.csv")) and len(list((tmp_path / "s").glob("*.parquet"))) == n
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "patients.csv").write_text("patient_id\nP1\n")
    with pytest.raises(ValueError, match="not a study simulated by cartkit"):
        simulate_study(tmp_path / "mine", patients=5, seed=1, format="parquet")
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["patients.csv"]
