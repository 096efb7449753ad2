"""cartkit adam export: the seed study's ADaM datasets, read back with pyreadstat, give the report's numbers.

* ADAE: CRS grades counted by product and diagnosis are the seed paper's Table 2 (published.toml).
* ADTTE: Kaplan-Meier estimates at the landmark and log-rank P computed from ADTTE with
  cartkit.survival equal the report's survival table (analysis.survival_analysis, what Results
  prints) for every endpoint and HSCT rule, and R's survfit/survdiff on the same rows (numbers below).
* Every dataset: names <= 8, labels <= 40, text lengths from the data; Dataset-JSON v1.1 holds the
  same rows; the folder is guarded by its manifest like every cartkit output folder.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

pyreadstat = pytest.importorskip("pyreadstat")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"
PRODUCTS = {"cd19": "CD19 CAR-T", "cd22": "CD22 CAR-T"}
DIAGNOSES = {"dlbcl": "DLBCL", "all": "B-ALL"}

# R 4.x, survival package, on the seed's ADTTE rows (AVAL days, event = 1 - CNSR, groups AGRPVAL):
#   survdiff(Surv(AVAL, 1 - CNSR) ~ AGRPVAL)  -> P = 1 - pchisq(chisq, 1)
#   summary(survfit(Surv(AVAL, 1 - CNSR) ~ AGRPVAL), times = 180)$surv  (B-ALL, DLBCL)
R_REFERENCE = {
    "OS": (0.0540143307, 0.2083333333, 0.6666666667),
    "OSNC": (0.1248194472, 0.3333333333, 0.6857142857),
    "OSXH": (0.0582085329, 0.2000000000, 0.6666666667),
    "PFS": (0.0688869855, 0.2500000000, 0.6857142857),
    "PFSNC": (0.1056688544, 0.3333333333, 0.7142857143),
    "PFSXH": (0.0582085329, 0.2000000000, 0.6666666667),
}


def _read(folder: Path, name: str) -> tuple[pl.DataFrame, object]:
    frame, meta = pyreadstat.read_xport(str(folder / f"{name}.xpt"))
    return pl.from_pandas(frame), meta


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    if not SEED.exists():
        pytest.skip("examples/seed-study is not in this checkout")
    from cartkit.interop.adam_export import export_adam

    out = tmp_path_factory.mktemp("adam") / "adam"
    export_adam(SEED, out)
    return out


def test_crs_grades_by_product_from_adae_are_table2(exported):
    published = tomllib.loads((SEED / "published.toml").read_text(encoding="utf-8"))
    by = {n["key"]: n["value"] for n in published["number"]}
    adae, _ = _read(exported, "adae")
    adsl, _ = _read(exported, "adsl")
    crs = adae.filter(pl.col("AEDECOD") == "cytokine release syndrome").join(
        adsl.select("USUBJID", "DIAGNOS"), on="USUBJID")
    checked = 0
    for g in range(0, 5):
        for pkey, product in PRODUCTS.items():
            for dkey, diag in DIAGNOSES.items():
                key = f"table2.crs_grade{g}.{pkey}.{dkey}.n"
                if key not in by:
                    continue
                cell = crs.filter((pl.col("TRTA") == product) & (pl.col("DIAGNOS") == diag))
                if g == 0:  # no CRS row with a grade >= 1: the patients of that group less those with CRS
                    n = adsl.filter(pl.col("DIAGNOS") == diag).height
                    got = n - cell.filter(pl.col("ATOXGRN") >= 1)["USUBJID"].n_unique()
                else:
                    got = cell.filter(pl.col("ATOXGRN") == g)["USUBJID"].n_unique()
                assert got == by[key], key
                checked += 1
    assert checked >= 16
    # the grading system each CRS grade is analysed under is the one the study records
    assert set(crs.filter(pl.col("ATOXGRN") >= 1)["AGRSYS"]) == {"ctcae4.03"}


def test_adae_keeps_recorded_and_derived_crs_grades_and_onset(exported):
    from cartkit.derive import derive
    from cartkit.study.load import load_study

    derived = derive(load_study(SEED))
    adae, _ = _read(exported, "adae")
    crs = adae.filter(pl.col("AEDECOD") == "cytokine release syndrome")
    grades = derived.derived_grades.filter(pl.col("toxicity") == "CRS")
    for system, column in (("ctcae4.03", "DTOXGRN"), ("astct2019", "ASTCTGRN")):
        want = grades.filter((pl.col("system") == system) & (pl.col("grade") >= 1)).select(
            pl.col("patient_id").alias("USUBJID"), pl.col("episode").cast(pl.Float64).alias("APERIOD"),
            pl.col("grade").cast(pl.Float64).alias(column))
        got = crs.filter(pl.col(column) >= 1).select("USUBJID", "APERIOD", column)
        assert want.height > 0
        assert got.sort("USUBJID", "APERIOD").equals(want.sort("USUBJID", "APERIOD")), system
    # the seed's CRS is recorded under CTCAE v4.03: DTOXGRN is derived under the same system
    assert set(crs.filter(pl.col("DTOXGRN").is_not_nan())["DGRSYS"]) == {"ctcae4.03"}
    # CDISC relative days: onset day 0 (the infusion) is ASTDY 1, day 3 is ASTDY 4
    rec = crs.filter(pl.col("AETERM") != "")
    assert rec.height > 0 and (rec["ASTDY"] >= 1).all()
    assert (rec["TRTEMFL"] == "Y").all()


def _km_at(time: np.ndarray, event: np.ndarray, at: float) -> float:
    from cartkit.survival import kaplan_meier

    return float(kaplan_meier(time, event).survival_at(at))


def test_adtte_gives_the_reports_km_estimates_and_logrank_p(exported):
    from cartkit.analysis.survival_analysis import survival_analysis
    from cartkit.derive import derive
    from cartkit.study.load import load_study
    from cartkit.survival import logrank

    study = load_study(SEED)
    derived = derive(study)
    plan = study.plan.survival
    _, _, report = survival_analysis(derived.tte, plan.group_by, plan.endpoints, plan.landmark_day, plan.time_unit)
    adtte, _ = _read(exported, "adtte")
    assert set(adtte["PARAMCD"]) == set(R_REFERENCE)
    for code, (r_p, r_all, r_dlbcl) in R_REFERENCE.items():
        rows = adtte.filter(pl.col("PARAMCD") == code)
        rule = rows["HSCTRULE"].unique().to_list()
        assert len(rule) == 1
        endpoint = code[:3] if code.startswith("PFS") else code[:2]
        t = rows["AVAL"].to_numpy()
        e = (rows["CNSR"] == 0).to_numpy()
        g = rows["AGRPVAL"].to_numpy()
        p = float(logrank(t, e, g).pvalue)
        km = {grp: _km_at(t[g == grp], e[g == grp], plan.landmark_day) for grp in ("B-ALL", "DLBCL")}
        line = report.filter((pl.col("endpoint") == endpoint) & (pl.col("censoring") == rule[0]))
        assert line.height == 1, code
        assert p == pytest.approx(line["pvalue"][0], abs=1e-12), code
        assert km["B-ALL"] == pytest.approx(line["landmark_B-ALL"][0], abs=1e-12), code
        assert km["DLBCL"] == pytest.approx(line["landmark_DLBCL"][0], abs=1e-12), code
        assert rows.height == line["n"][0] and int(e.sum()) == line["events"][0]
        assert p == pytest.approx(r_p, abs=1e-6) and km["B-ALL"] == pytest.approx(r_all, abs=1e-6)
        assert km["DLBCL"] == pytest.approx(r_dlbcl, abs=1e-6)
    # the primary HSCT rule of the plan has the bare endpoint names
    assert set(adtte.filter(pl.col("PARAMCD").is_in(["PFS", "OS"]))["HSCTRULE"]) == {"censor at HSCT"}


def test_adtte_traces_every_end_point_to_its_record(exported):
    adtte, _ = _read(exported, "adtte")
    events = pl.read_csv(SEED / "events.csv", try_parse_dates=True)
    infusions = pl.read_csv(SEED / "infusions.csv", try_parse_dates=True)
    assert adtte["SRCDOM"].is_in(["EVENTS", "INFUSIONS", "ADSL"]).all()
    for row in adtte.iter_rows(named=True):
        seq = int(row["SRCSEQ"]) - 1 if row["SRCSEQ"] == row["SRCSEQ"] else None
        if row["SRCDOM"] == "EVENTS":
            rec = events.row(seq, named=True)
            assert rec["patient_id"] == row["USUBJID"]
            assert str(rec["date"]) == str(row["ADT"]), row
            kind = rec["kind"]
            if row["CNSR"] == 0:
                assert kind in ("progression", "relapse", "death")
            assert row["EVNTDESC"].split(" (")[0].replace(" ", "_").lower() in (kind, "hsct") or kind in \
                row["EVNTDESC"].replace(" ", "_")
        elif row["SRCDOM"] == "INFUSIONS":
            rec = infusions.row(seq, named=True)
            assert rec["patient_id"] == row["USUBJID"] and str(rec["infusion_date"]) == str(row["ADT"])
            assert row["CNSR"] == 1
        else:
            assert row["SRCVAR"] == "DCUTDT" and row["CNSR"] == 1
    # death events are traced to death rows
    deaths = adtte.filter((pl.col("CNSR") == 0) & pl.col("PARAMCD").str.starts_with("OS"))
    assert deaths.height > 0
    for row in deaths.iter_rows(named=True):
        assert events.row(int(row["SRCSEQ"]) - 1, named=True)["kind"] == "death"


def test_xpt_names_labels_lengths_and_dataset_json_agree(exported):
    index = json.loads((exported / "datasets.json").read_text(encoding="utf-8"))
    names = [d["name"] for d in index["datasets"]]
    assert {"ADSL", "ADAE", "ADTTE"} <= set(names)
    for name in names:
        base = name.lower()
        frame, meta = _read(exported, base)
        assert meta.table_name == name
        assert all(len(c) <= 8 and c == c.upper() for c in meta.column_names)
        assert all(label and len(label) <= 40 for label in meta.column_labels)
        doc = json.loads((exported / f"{base}.json").read_text(encoding="utf-8"))
        for key in ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID", "records", "name",
                    "label", "columns", "rows"):
            assert key in doc, (name, key)
        assert doc["datasetJSONVersion"] == "1.1.0" and doc["itemGroupOID"] == f"IG.{name}"
        assert doc["records"] == frame.height == len(doc["rows"])
        assert [c["name"] for c in doc["columns"]] == meta.column_names
        md = json.loads((exported / f"{base}.metadata.json").read_text(encoding="utf-8"))
        assert [v["name"] for v in md["variables"]] == meta.column_names
        for col, var in zip(doc["columns"], md["variables"], strict=True):
            assert col["label"] == var["label"] == meta.column_names_to_labels[col["name"]]
            assert var["origin"] in ("collected", "derived", "assigned") and var["source"]
            if col["dataType"] == "string":
                width = meta.variable_storage_width[col["name"]]
                longest = max([len(str(v).encode()) for v in frame[col["name"]].to_list() if v is not None] + [1])
                assert col["length"] == var["length"] == width == longest, (name, col["name"])
            if col["dataType"] == "date":
                assert col["targetDataType"] == "integer"
                assert meta.original_variable_types[col["name"]] == "DATE9."
        # the same values in both files (dates as ISO text in Dataset-JSON)
        for i, col in enumerate(doc["columns"]):
            xpt = frame[col["name"]].to_list()
            js = [r[i] for r in doc["rows"]]
            if col["dataType"] == "date":
                xpt = [None if v is None else str(v)[:10] for v in xpt]
            elif col["dataType"] in ("integer", "double"):
                xpt = [None if v != v else v for v in xpt]
            assert xpt == js, (name, col["name"])


def test_folder_rules_refuse_a_foreign_folder_and_replace_an_earlier_export(exported, tmp_path):
    from cartkit.interop.adam_export import export_adam
    from cartkit.report.output_folder import OutputFolderError

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="not an ADaM export by cartkit"):
        export_adam(SEED, foreign)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]

    again = tmp_path / "again"
    shutil.copytree(exported, again)
    export_adam(SEED, again)  # an unchanged earlier export is replaced
    assert (again / "adsl.xpt").exists()
    (again / "extra.csv").write_text("x", encoding="utf-8")
    with pytest.raises(OutputFolderError, match="extra.csv"):
        export_adam(SEED, again)
    assert (again / "extra.csv").exists()
    with pytest.raises(OutputFolderError, match="study folder"):
        export_adam(SEED, SEED / "adam")


def test_cli_adam_export_bad_study_is_a_located_problem_and_writes_nothing(tmp_path, copy_seed):
    from typer.testing import CliRunner

    from cartkit.cli import app

    study = tmp_path / "study"
    copy_seed(study)
    lines = (study / "patients.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",male,", ",robot,", 1)
    (study / "patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "adam"
    result = CliRunner().invoke(app, ["adam", "export", str(study), str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "patients.csv" in result.output and "robot" in result.output and "sex" in result.output
    assert not out.exists()
    good = CliRunner().invoke(app, ["adam", "export", str(SEED), str(out)])
    assert good.exit_code == 0, good.output
    assert "ADSL 13" in good.output and (out / ".cartkit-adam.json").exists()


def test_adlb_ctcae_grades_equal_the_derived_grades(exported):
    from cartkit.derive.toxicity import LINEAGES, derive_hematotox_scores, hematologic_grades_long
    from cartkit.grading.ctcae import ctcae_grade
    from cartkit.interop.adam_adlb import lab_paramcd
    from cartkit.study.load import load_study

    study = load_study(SEED)
    version = study.plan.ctcae_version
    adlb, meta = _read(exported, "adlb")
    assert meta.table_name == "ADLB"
    code = lab_paramcd()
    graded = adlb.filter(pl.col("ATOXDSCL") != "")
    # the seed has WBC, neutrophil, platelet and haemoglobin counts (no lymphocytes)
    assert set(graded["PARAMCD"]) == {"WBC", "NEUT", "PLAT", "HGB"}
    assert set(graded["ATOXSYS"]) == {f"ctcae{version}"} and (adlb["ATOXGRH"] == "").all()
    # every row: the scalar grader (cartkit.grading.ctcae.ctcae_grade) on the row's value, unit and LLN
    term_of = {code[a]: t for a, t in LINEAGES.items()}
    for row in graded.iter_rows(named=True):
        lln = row["ANRLO"] if row["ANRLO"] == row["ANRLO"] else None
        want = ctcae_grade(term_of[row["PARAMCD"]], row["AVAL"], row["AVALU"], version, lln=lln)
        assert row["ATOXGRL"] == ("" if want is None else str(want)), row
    # the worst grade of each episode's counts in days 0-28 is the derive stage's
    derived = hematologic_grades_long(study, version, lln=study.plan.lln).filter(pl.col("worst_grade").is_not_null())
    window = graded.filter(pl.col("ADYINF").is_between(0, 28) & (pl.col("ATOXGRL") != "")).group_by(
        "USUBJID", "APERIOD", "PARAMCD").agg(pl.col("ATOXGRL").cast(pl.Int64).max().alias("worst"))
    want = derived.select(pl.col("patient_id").alias("USUBJID"), pl.col("episode").cast(pl.Float64).alias("APERIOD"),
                          pl.col("analyte").replace_strict(code).alias("PARAMCD"), "worst_grade")
    both = want.join(window, on=["USUBJID", "APERIOD", "PARAMCD"], how="left")
    assert both.height >= 100
    assert (both["worst"] == both["worst_grade"]).all()
    # ICAHT, T-ICAHT, CAR-HEMATOTOX and EASIX per episode
    scores = derive_hematotox_scores(study)
    for col, paramcd in (("icaht_grade", "ICAHTGR"), ("ticaht_grade", "TICAHTGR"), ("car_hematotox", "HEMATOTX"),
                         ("easix", "EASIX")):
        got = adlb.filter(pl.col("PARAMCD") == paramcd).select(
            pl.col("USUBJID").alias("patient_id"), pl.col("APERIOD").cast(pl.Int64).alias("episode"), "AVAL")
        joined = scores.filter(pl.col(col).is_not_null()).join(got, on=["patient_id", "episode"], how="left")
        assert joined.height == got.height > 0
        assert np.allclose(joined["AVAL"].to_numpy(), joined[col].cast(pl.Float64).to_numpy(), rtol=0, atol=1e-12)
        assert (adlb.filter(pl.col("PARAMCD") == paramcd)["PARAMTYP"] == "DERIVED").all()


def test_adrs_holds_recorded_and_derived_responses_and_the_best_response(exported):
    adrs, _ = _read(exported, "adrs")
    published = tomllib.loads((SEED / "published.toml").read_text(encoding="utf-8"))
    by = {n["key"]: n["value"] for n in published["number"]}
    adsl, _ = _read(exported, "adsl")
    bor = adrs.filter((pl.col("PARAMCD") == "BOR") & (pl.col("TRTA") == "CD22 CAR-T")).join(
        adsl.select("USUBJID", "DIAGNOS"), on="USUBJID")
    dlbcl = bor.filter(pl.col("DIAGNOS") == "DLBCL")
    # the paper: after CD22 CAR-T, 4 of 7 DLBCL patients in CR, ORR (CR + PR) 6 of 7
    assert dlbcl.filter(pl.col("AVALC") == "CR").height == by["response.cd22.dlbcl.cr.n"] == 4
    assert dlbcl.filter(pl.col("AVALC").is_in(["CR", "PR"])).height == by["response.cd22.dlbcl.orr.n"] == 6
    ovr = adrs.filter(pl.col("PARAMCD") == "OVR")
    # P1's CD19 PET-CT on day 30: recorded SD, derived NMR (Deauville) under Lugano 2014; ADY 31 (CDISC)
    p1 = ovr.filter((pl.col("USUBJID") == "P1") & (pl.col("APERIOD") == 1) & (pl.col("ADYINF") == 30))
    assert p1.select("AVALC", "RECRESP", "DERRESP", "ASRC", "RSMETHOD", "ADY").row(0) == \
        ("SD", "SD", "NMR", "recorded", "pet_ct", 31.0)
    assert set(adrs.join(adsl.select("USUBJID", "DIAGNOS"), on="USUBJID").filter(pl.col("DIAGNOS") == "B-ALL")
               ["RSCRIT"].str.slice(0, 6)) == {"B-ALL "}
    assert set(adrs.join(adsl.select("USUBJID", "DIAGNOS"), on="USUBJID").filter(pl.col("DIAGNOS") == "DLBCL")
               ["RSCRIT"].str.slice(0, 11)) == {"Lugano 2014"}


def test_adpc_and_adpp_hold_the_profiles_and_nca_parameters(exported):
    adpc, _ = _read(exported, "adpc")
    adpp, _ = _read(exported, "adpp")
    # examples/seed-study/measurements.csv: P1 episode 1, CAR-T % of CD3+ 3.05 on day 7 (its peak)
    row = adpc.filter((pl.col("USUBJID") == "P1") & (pl.col("APERIOD") == 1) & (pl.col("PARAMCD") == "CARTPCT")
                      & (pl.col("ARELTM") == 7))
    assert row["AVAL"].to_list() == [3.05] and row["ADY"].to_list() == [8.0]
    p1 = adpp.filter((pl.col("USUBJID") == "P1") & (pl.col("APERIOD") == 1) & (pl.col("PARCAT1") == "CARTPCT"))
    got = dict(zip(p1["PARAMCD"].to_list(), p1["AVAL"].to_list(), strict=True))
    assert got["CMAX"] == 3.05 and got["TMAX"] == 7.0
    assert set(got) == {"CMAX", "TMAX", "CLST", "TLST", "AUCLST", "AUCINT", "LAMZ", "LAMZHL", "R2ADJ"}
    # AUCLST by linear trapezoids up and log trapezoids down from P1's six samples (hand computation)
    prof = adpc.filter((pl.col("USUBJID") == "P1") & (pl.col("APERIOD") == 1) & (pl.col("PARAMCD") == "CARTPCT")
                       & pl.col("ARELTM").is_between(0, 28)).sort("ARELTM")
    t, c = prof["ARELTM"].to_numpy(), prof["AVAL"].to_numpy()
    auc = 0.0
    for i in range(len(t) - 1):
        dt_, c1, c2 = t[i + 1] - t[i], c[i], c[i + 1]
        auc += dt_ * (c1 - c2) / np.log(c1 / c2) if c2 < c1 and c2 > 0 else dt_ * (c1 + c2) / 2
    assert got["AUCLST"] == pytest.approx(auc, abs=1e-6)
    aucint = p1.filter(pl.col("PARAMCD") == "AUCINT")
    assert aucint.select("PPSTINT", "PPENINT").row(0) == ("P0D", "P28D")
    assert got["LAMZHL"] == pytest.approx(np.log(2) / got["LAMZ"], rel=1e-12)


def test_adsl_population_flags_follow_the_plan_and_vein_to_vein_time(tmp_path, copy_seed):
    from cartkit.interop.adam_export import export_adam

    study = tmp_path / "study"
    copy_seed(study)
    toml = (study / "study.toml").read_text(encoding="utf-8")
    toml = toml.replace("[plan.response_days]", '''[[plan.population]]
name = "enrolled"
rule = "enrolled"
primary = true

[[plan.population]]
name = "CD22 infused"
label = "Infused with CD22 CAR-T"
rule = "infused with product"
product = "CD22 CAR-T"

[plan.response_days]''')
    (study / "study.toml").write_text(toml, encoding="utf-8")
    p = pl.read_csv(study / "patients.csv", infer_schema_length=None)
    inf = pl.read_csv(study / "infusions.csv", try_parse_dates=True)
    first = inf.filter(pl.col("episode") == 1).select("patient_id", "infusion_date")
    # leukapheresis 21 days before P1's first infusion, 30 before P2's; none for the others
    leuk = first.filter(pl.col("patient_id").is_in(["P1", "P2"])).select(
        "patient_id", leukapheresis_date=pl.col("infusion_date") - pl.duration(days=pl.when(
            pl.col("patient_id") == "P1").then(21).otherwise(30)))
    p = p.join(leuk, on="patient_id", how="left")
    p.write_csv(study / "patients.csv")
    # P13 never had the CD22 infusion: drop its episode 2 (and what belongs to it)
    for name in ("infusions", "measurements", "adverse_events", "assessments", "support", "neuro"):
        f = pl.read_csv(study / f"{name}.csv", infer_schema_length=None)
        f.filter(~((pl.col("patient_id") == "P13") & (pl.col("episode") == 2))).write_csv(study / f"{name}.csv")
    ev = pl.read_csv(study / "events.csv", infer_schema_length=None)
    ev.filter(~((pl.col("patient_id") == "P13") & (pl.col("episode") == 2))).write_csv(study / "events.csv")
    out = tmp_path / "adam"
    export_adam(study, out)
    adsl, meta = _read(out, "adsl")
    assert {"ITTFL", "SAFFL", "ENROLLFL", "CD22INFL"} <= set(meta.column_names)
    assert (adsl["ENROLLFL"] == "Y").all() and (adsl["SAFFL"] == "Y").all()
    cd22 = dict(zip(adsl["USUBJID"].to_list(), adsl["CD22INFL"].to_list(), strict=True))
    assert cd22["P13"] == "" and cd22["P1"] == "Y" and sum(v == "Y" for v in cd22.values()) == 12
    assert meta.column_names_to_labels["CD22INFL"] == "Infused with CD22 CAR-T Population Flag"
    v2v = dict(zip(adsl["USUBJID"].to_list(), adsl["V2VDUR"].to_list(), strict=True))
    assert v2v["P1"] == 21 and v2v["P2"] == 30 and v2v["P3"] is None
    assert adsl.filter(pl.col("USUBJID") == "P13")["TRTSEQA"].to_list() == ["CD19 CAR-T"]


def test_text_longer_than_xpt_v5_holds_is_cut_there_only_and_said(tmp_path, copy_seed):
    from cartkit.interop.adam_export import export_adam

    study = tmp_path / "study"
    copy_seed(study)
    ev = pl.read_csv(study / "events.csv", infer_schema_length=None)
    long = "disease progression with " + "é" * 150 + " (autopsy)"  # 185 characters, 335 bytes of UTF-8
    ev = ev.with_columns(detail=pl.when((pl.col("patient_id") == "P10") & (pl.col("kind") == "death"))
                         .then(pl.lit(long)).otherwise(pl.col("detail")))
    ev.write_csv(study / "events.csv")
    out = tmp_path / "adam"
    result = export_adam(study, out)
    assert any("EVNTDESC" in n and "200 bytes" in n for n in result.notes)
    assert any("EVNTDESC" in n and "non-ASCII" in n for n in result.notes)
    adtte, meta = _read(out, "adtte")
    assert meta.variable_storage_width["EVNTDESC"] == 200
    desc = adtte.filter((pl.col("USUBJID") == "P10") & (pl.col("PARAMCD") == "OS"))["EVNTDESC"][0]
    assert len(desc.encode()) <= 200 and f"death ({long})".startswith(desc)
    doc = json.loads((out / "adtte.json").read_text(encoding="utf-8"))
    i = [c["name"] for c in doc["columns"]].index("EVNTDESC")
    assert f"death ({long})" in [r[i] for r in doc["rows"]]


def test_define_xml_is_valid_define_21_and_describes_every_variable(exported):
    import xml.etree.ElementTree as ET

    from cartkit.interop.adam_define import schema_problems

    text = (exported / "define.xml").read_text(encoding="utf-8")
    assert schema_problems(text) == []  # odmlib's Define-XML 2.1 schema (define2-1-0.xsd)
    # the check can fail: a wrong data type or define version is reported
    assert schema_problems(text.replace('DataType="text"', 'DataType="bogus"', 1))
    assert schema_problems(text.replace('def:DefineVersion="2.1.0"', 'def:DefineVersion="2.0"', 1))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    root = ET.fromstring(text)
    mdv = root.find("odm:Study/odm:MetaDataVersion", ns)
    assert mdv.get(f"{{{ns['def']}}}DefineVersion") == "2.1.0"
    groups = {g.get("Name"): g for g in mdv.findall("odm:ItemGroupDef", ns)}
    items = {i.get("OID"): i for i in mdv.findall("odm:ItemDef", ns)}
    methods = {m.get("OID") for m in mdv.findall("odm:MethodDef", ns)}
    index = json.loads((exported / "datasets.json").read_text(encoding="utf-8"))
    assert set(groups) == {d["name"] for d in index["datasets"]}
    assert groups["ADSL"].find("def:Class", ns).get("Name") == "SUBJECT LEVEL ANALYSIS DATASET"
    assert groups["ADTTE"].find("def:Class/def:SubClass", ns).get("Name") == "TIME-TO-EVENT"
    for name, group in groups.items():
        assert group.find("def:leaf", ns).get(f"{{{'http://www.w3.org/1999/xlink'}}}href") == f"{name.lower()}.xpt"
        md = json.loads((exported / f"{name.lower()}.metadata.json").read_text(encoding="utf-8"))
        refs = group.findall("odm:ItemRef", ns)
        assert [r.get("ItemOID") for r in refs] == [f"IT.{name}.{v['name']}" for v in md["variables"]]
        for ref, var in zip(refs, md["variables"], strict=True):
            item = items[ref.get("ItemOID")]
            assert item.find("odm:Description/odm:TranslatedText", ns).text == var["label"]
            assert item.find("def:Origin", ns).get("Type") == var["origin"].capitalize()
            if var["type"] == "text":
                assert int(item.get("Length")) == var["length"]
            if var["origin"] == "derived":
                assert ref.get("MethodOID") in methods
            if var["name"].endswith("FL") and var["type"] == "text":
                assert item.find("odm:CodeListRef", ns).get("CodeListOID") == "CL.Y"
    # PARAMCD codelists decode to PARAM: ADTTE's PFS is "Progression-Free Survival (days)"
    lists = {c.get("OID"): c for c in mdv.findall("odm:CodeList", ns)}
    tte = {i.get("CodedValue"): i.find("odm:Decode/odm:TranslatedText", ns).text
           for i in lists["CL.ADTTE.PARAMCD"].findall("odm:CodeListItem", ns)}
    assert tte["PFS"] == "Progression-Free Survival (days)" and set(tte) == set(R_REFERENCE)
    assert items["IT.ADTTE.PARAMCD"].find("odm:CodeListRef", ns).get("CodeListOID") == "CL.ADTTE.PARAMCD"


def test_define_xml_codelists_carry_their_nci_codes(exported):
    """The CDISC codelists in define.xml name their NCI Thesaurus codes (def:Alias nci:ExtCodeID):
    NY C66742 (Y C49488), SEX C66731 (M C20197, F C16576), AGEU C66781 (YEARS C29848), and the
    values in the data are terms of their codelist."""
    import xml.etree.ElementTree as ET

    import pyreadstat

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    root = ET.parse(exported / "define.xml").getroot()
    lists = {c.get("OID"): c for c in root.iter(f"{{{ns['odm']}}}CodeList")}

    def codes(oid):
        cl = lists[oid]
        return (cl.find("odm:Alias", ns).get("Name"),
                {e.get("CodedValue"): e.find("odm:Alias", ns).get("Name") for e in cl.findall("odm:EnumeratedItem", ns)})

    assert codes("CL.Y") == ("C66742", {"Y": "C49488"})
    assert codes("CL.SEX") == ("C66731", {"M": "C20197", "F": "C16576", "U": "C17998"})
    assert codes("CL.AGEU") == ("C66781", {"YEARS": "C29848"})
    items = {i.get("OID"): i for i in root.iter(f"{{{ns['odm']}}}ItemDef")}
    assert items["IT.ADSL.SEX"].find("odm:CodeListRef", ns).get("CodeListOID") == "CL.SEX"
    adsl, _ = pyreadstat.read_xport(str(exported / "adsl.xpt"))
    assert set(adsl["SEX"]) <= {"M", "F", "U"} and set(adsl["AGEU"]) == {"YEARS"}


def test_define_xml_value_level_metadata_per_paramcd(exported):
    """AVAL of each BDS dataset has value-level metadata: one ItemDef per PARAMCD in the data, chosen by a
    WhereClauseDef "PARAMCD EQ code" (Define-XML 2.1 section 5.3.6), its description naming the PARAM."""
    import xml.etree.ElementTree as ET

    import pyreadstat

    odm, dfn = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"
    root = ET.parse(exported / "define.xml").getroot()
    items = {i.get("OID"): i for i in root.iter(f"{odm}ItemDef")}
    wheres = {w.get("OID"): w for w in root.iter(f"{dfn}WhereClauseDef")}
    lists = {v.get("OID"): v for v in root.iter(f"{dfn}ValueListDef")}
    for name in ("ADLB", "ADTTE", "ADPP"):
        frame, _ = pyreadstat.read_xport(str(exported / f"{name.lower()}.xpt"))
        params = dict(zip(frame["PARAMCD"], frame["PARAM"], strict=True))
        aval = items[f"IT.{name}.AVAL"]
        assert aval.find(f"{dfn}ValueListRef").get("ValueListOID") == f"VL.{name}.AVAL"
        chosen = {}
        for ref in lists[f"VL.{name}.AVAL"].findall(f"{odm}ItemRef"):
            check = wheres[ref.find(f"{dfn}WhereClauseRef").get("WhereClauseOID")].find(f"{odm}RangeCheck")
            assert (check.get("Comparator"), check.get(f"{dfn}ItemOID")) == ("EQ", f"IT.{name}.PARAMCD")
            code = check.find(f"{odm}CheckValue").text
            text = items[ref.get("ItemOID")].find(f"{odm}Description/{odm}TranslatedText").text
            chosen[code] = text
        assert set(chosen) == set(params)
        assert all(params[c] in t and f"({c})" in t for c, t in chosen.items())


def test_adlb_grades_a_qualified_count_at_both_ends_of_its_interval(tmp_path, copy_seed):
    """ANC "<0.1" x10^9/L is CTCAE grade 4 whatever its value (grade 4 is < 0.5), "<0.6" is grade 3 or 4
    (empty), ">5" is above the LLN of 2.0 (grade 0): the grades the derive stage gives them
    (grading/censored.py), where admiral's AVAL-only grading leaves all three empty."""
    from cartkit.interop.adam_export import export_adam

    study = copy_seed(tmp_path / "study")
    m = pl.read_csv(study / "measurements.csv", infer_schema_length=None)
    anc = m.with_row_index("row").filter(pl.col("analyte") == "anc")["row"].to_list()
    text = {anc[0]: "<0.1", anc[1]: "<0.6", anc[2]: ">5"}
    m = m.with_row_index("row").with_columns(value=pl.col("row").replace_strict(
        text, default=pl.col("value").cast(pl.String), return_dtype=pl.String)).drop("row")
    m.write_csv(study / "measurements.csv")
    out = tmp_path / "adam"
    export_adam(study, out)
    adlb, _ = _read(out, "adlb")
    neut = adlb.filter((pl.col("PARAMCD") == "NEUT") & (pl.col("AVALC") != ""))
    got = dict(zip(neut["AVALC"].to_list(), neut["ATOXGRL"].to_list(), strict=True))
    assert got == {"<0.1": "4", "<0.6": "", ">5": "0"}
    assert neut["AVAL"].is_nan().all() or neut["AVAL"].is_null().all()
