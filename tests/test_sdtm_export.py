"""cartkit sdtm export: the seed as SDTM, and back: seed -> export -> import -> the same study (docs/sdtm.md).

What cannot survive SDTM is named here exactly: the study's free-text description and reference
(SDTM's TS carries the title and the data cutoff only), the published.toml beside the seed (the
paper's numbers, not study data) and the analysis plan, which travels beside SDTM (``--plan``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cartkit.interop.sdtm_export import export_sdtm
from cartkit.interop.sdtm_import import import_sdtm
from cartkit.report.output_folder import OutputFolderError
from cartkit.study.load import load_study
from cartkit.study.problems import errors
from cartkit.study.schema import TABLES
from cartkit.study.validate import validate_study

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
DOMAINS = {"TS", "DM", "SUPPDM", "MH", "SUPPMH", "EX", "SUPPEX", "LB", "VS", "PC", "AE", "SUPPAE", "CM", "PR", "QS",
           "FA", "RS", "DS", "DD", "CE", "SS"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdtm") / "seed-sdtm"
    result = export_sdtm(SEED, out)
    assert set(result.datasets) == DOMAINS and result.notes == []
    return out


@pytest.fixture(scope="module")
def reimported(exported, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("back") / "seed-back"
    result = import_sdtm(exported / "xpt", out, plan=SEED / "study.toml")
    assert errors(result.problems) == [] and result.problems == []
    return out


def _table(study, name: str) -> pl.DataFrame:
    t = TABLES[name]
    frame = getattr(study, name)
    cols = [c.name for c in t.columns if c.name in frame.columns]
    key = [k for k in t.key if k in cols]
    return frame.select(cols).sort(key, nulls_last=True)


def test_seed_round_trip_gives_the_same_study_table_by_table(reimported):
    assert errors(validate_study(reimported)) == []
    seed, back = load_study(SEED), load_study(reimported)
    for name in TABLES:
        assert_frame_equal(_table(seed, name), _table(back, name), check_dtypes=True)
    # the study metadata: title and data cutoff travel in TS; description and reference do not
    assert back.meta.title == seed.meta.title and back.meta.data_cutoff == seed.meta.data_cutoff
    assert back.meta.reference in ("", None) and seed.meta.reference
    assert back.plan == seed.plan  # the plan came beside SDTM (--plan), verbatim


def test_dataset_json_folder_imports_to_the_same_study(exported, reimported, tmp_path):
    out = tmp_path / "from-json"
    import_sdtm(exported / "json", out, plan=SEED / "study.toml")
    for name in ("patients", "infusions", "measurements", "adverse_events", "events", "assessments", "support",
                 "neuro"):
        assert (out / f"{name}.csv").read_bytes() == (reimported / f"{name}.csv").read_bytes(), name


def test_export_files_are_sdtm_xpt_v5_and_dataset_json(exported):
    import pyreadstat

    index = json.loads((exported / "datasets.json").read_text())
    for entry in index["datasets"]:
        df, meta = pyreadstat.read_xport(str(exported / entry["files"][0]))
        assert len(df) == entry["records"]
        assert all(len(c) <= 8 for c in df.columns) and all(len(lab) <= 40 for lab in meta.column_labels)
        doc = json.loads((exported / entry["files"][1]).read_text())
        assert doc["datasetJSONVersion"] == "1.1.0" and doc["records"] == entry["records"]
        assert [c["name"] for c in doc["columns"]] == list(df.columns)
    dm, _ = pyreadstat.read_xport(str(exported / "xpt" / "dm.xpt"))
    p1 = dm[dm["USUBJID"] == "P1"].iloc[0]
    assert (p1["RFSTDTC"], p1["AGE"], p1["SEX"]) == ("2017-08-28", 56.0, "M")
    lb, _ = pyreadstat.read_xport(str(exported / "xpt" / "lb.xpt"))
    # P1's neutrophils 7 days before the CD22 infusion: study day counted from the first infusion (no day 0),
    # and LBRFTDTC naming the infusion (episode 2) the value belongs to
    row = lb[(lb["USUBJID"] == "P1") & (lb["LBTESTCD"] == "NEUT") & (lb["LBDTC"] == "2019-07-31")].iloc[0]
    assert (row["LBRFTDTC"], row["LBDY"], row["LBSTRESU"]) == ("2019-08-05", 703.0, "10^9/L")
    suppae, _ = pyreadstat.read_xport(str(exported / "xpt" / "suppae.xpt"))
    assert set(suppae["QVAL"]) == {"CTCAE V4.03", "ASTCT 2019"} and set(suppae["QNAM"]) == {"AETOXGRS"}
    ce, _ = pyreadstat.read_xport(str(exported / "xpt" / "ce.xpt"))
    assert sorted(set(ce["CEDECOD"])) == ["DISEASE PROGRESSION", "DISEASE RELAPSE"]


def test_export_folder_rule_never_deletes_foreign_files(tmp_path):
    out = tmp_path / "sdtm"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="not empty"):
        export_sdtm(SEED, out)
    assert (out / "notes.txt").read_text() == "mine"
    fresh = tmp_path / "fresh"
    export_sdtm(SEED, fresh)
    export_sdtm(SEED, fresh)  # an unchanged earlier export is replaced whole
    (fresh / "xpt" / "extra.csv").write_text("x")
    with pytest.raises(OutputFolderError, match="did not write"):
        export_sdtm(SEED, fresh)
    assert (fresh / "xpt" / "extra.csv").exists()


def test_reimport_replaces_only_a_study_it_wrote(exported, tmp_path):
    out = tmp_path / "study"
    import_sdtm(exported / "xpt", out)
    import_sdtm(exported / "xpt", out)  # its own earlier import: replaced
    (out / "my-notes.txt").write_text("keep")
    from cartkit.study.problems import StudyError

    with pytest.raises(StudyError, match="did not write"):
        import_sdtm(exported / "xpt", out)
    assert (out / "my-notes.txt").read_text() == "keep"


@pytest.mark.slow
def test_seed_round_trip_gives_the_same_report_numbers(reimported):
    from cartkit.analysis import analyse
    from cartkit.derive import derive

    def results(folder):
        study = load_study(folder)
        return analyse(study, derive(study))

    seed, back = results(SEED), results(reimported)
    # the reproduction appendix compares with the paper's published.toml, which is not study data
    assert set(seed.tables) == set(back.tables)
    not_sdtm = {"cross_reference", "reproduction"}
    assert {k for k, v in back.tables.items() if v is None} - {k for k, v in seed.tables.items() if v is None} \
        == not_sdtm
    for name, table in seed.tables.items():
        other = back.tables[name]
        if name in not_sdtm or table is None:
            continue
        if name == "methods":  # the provenance line names the input files, which differ
            keep = ~pl.col("text").str.starts_with("Analysed with cartkit")
            table, other = table.filter(keep), other.filter(keep)
        if name == "study":
            table, other = table.drop("reference"), other.drop("reference")
        assert_frame_equal(table, other, check_row_order=False, rel_tol=1e-9, abs_tol=1e-12)


def test_cli_sdtm_export_and_import(tmp_path):
    from typer.testing import CliRunner

    from cartkit.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["sdtm", "export", str(SEED), str(tmp_path / "sdtm")])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and (tmp_path / "sdtm" / "xpt" / "dm.xpt").exists()
    res = runner.invoke(app, ["sdtm", "import", str(tmp_path / "sdtm" / "xpt"), str(tmp_path / "study"),
                              "--rs-basis", "ct", "--plan", str(SEED / "study.toml")])
    assert res.exit_code == 0, res.output
    assert errors(validate_study(tmp_path / "study")) == []
    res = runner.invoke(app, ["sdtm", "import", str(tmp_path / "sdtm" / "xpt"), str(tmp_path / "s2"),
                              "--rs-basis", "mri"])
    assert res.exit_code == 1 and "--rs-basis mri" in res.output
    shutil.rmtree(tmp_path / "sdtm")


def test_compressed_dataset_json_dsjc_and_ndjson_read_like_json(exported, reimported, tmp_path):
    import zlib

    folder = tmp_path / "dsjc"
    folder.mkdir()
    for i, path in enumerate(sorted((exported / "json").glob("*.json"))):
        doc = json.loads(path.read_text())
        if i % 2:  # NDJSON (metadata line, then one line per row), zlib-compressed
            head = {k: v for k, v in doc.items() if k != "rows"}
            text = "\n".join([json.dumps(head), *(json.dumps(r) for r in doc["rows"])])
        else:
            text = json.dumps(doc)
        (folder / f"{path.stem}.dsjc").write_bytes(zlib.compress(text.encode()))
    out = tmp_path / "study"
    import_sdtm(folder, out, plan=SEED / "study.toml")
    for name in ("patients", "measurements", "adverse_events", "events", "assessments", "support", "neuro"):
        assert (out / f"{name}.csv").read_bytes() == (reimported / f"{name}.csv").read_bytes(), name
    (folder / "lb.dsjc").write_bytes(b"not compressed")
    from cartkit.study.problems import StudyError

    with pytest.raises(StudyError, match="lb.dsjc.*not a compressed Dataset-JSON"):
        import_sdtm(folder, tmp_path / "bad")


@pytest.mark.parametrize("design", ["randomised", "sequential"])
def test_simulated_study_round_trip(design, tmp_path):
    """A randomised trial (arms, never-infused patients with their reasons, randomisation and
    leukapheresis dates, per-protocol flags, SPD, deaths after a last contact) and a sequential one
    survive export and import table by table. The losses: ``measurements.blq`` false and empty are
    the same in SDTM (only a value below the LLOQ is marked, by --STRESC "<LLOQ")."""
    from cartkit.simulate import simulate_study

    study = simulate_study(tmp_path / "sim", patients=24, seed=5, format="csv", design=design)
    exported = export_sdtm(study, tmp_path / "sdtm")
    result = import_sdtm(tmp_path / "sdtm" / "xpt", tmp_path / "back", plan=study / "study.toml")
    assert errors(result.problems) == []
    assert errors(validate_study(tmp_path / "back")) == []
    seed, back = load_study(study), load_study(tmp_path / "back")
    assert exported.notes == []
    assert seed.infections.height > 0  # simulate/late_toxicity.py writes them: AE records of category INFECTION
    for name in TABLES:
        a, b = _table(seed, name), _table(back, name)
        if name == "measurements":
            a, b = (t.with_columns(pl.col("blq").fill_null(False)) for t in (a, b))
        assert_frame_equal(a, b, check_dtypes=True)
    if design == "randomised":
        assert seed.patients["never_infused_reason"].drop_nulls().len() > 0
        assert seed.patients["arm"].drop_nulls().n_unique() == 2


def _richer_seed(folder: Path) -> Path:
    """The seed with what it lacks: lesions, an SPD, FiO2 and a platelet transfusion, a CAPD score, an MRD,
    a new-therapy event, an arm and a dose level."""
    shutil.copytree(SEED, folder)
    pl.DataFrame({"patient_id": ["P1", "P1", "P1"], "episode": [1, 1, 1], "day": [-7, 30, -7],
                  "lesion_id": ["L1", "L1", "L2"], "ldi_mm": [30.0, 25.0, 18.5], "sdi_mm": [20.0, 15.0, 12.0]}
                 ).write_csv(folder / "lesions.csv")
    sup = pl.read_csv(folder / "support.csv", infer_schema=False)
    sup = sup.with_columns(fio2_pct=pl.when(pl.col("kind") == "oxygen").then(pl.lit("40")))
    extra = pl.DataFrame({"patient_id": ["P8"], "episode": ["1"], "day": ["7"], "kind": ["platelet_transfusion"],
                          "agent": ["platelets"], "dose": ["2.0"], "dose_unit": ["units"]})
    pl.concat([sup.drop("date"), extra], how="diagonal").write_csv(folder / "support.csv")
    neuro = pl.read_csv(folder / "neuro.csv", infer_schema=False)
    neuro.with_columns(capd_score=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("3"))).write_csv(
        folder / "neuro.csv")
    a = pl.read_csv(folder / "assessments.csv", infer_schema=False)
    a = a.with_columns(
        mrd_pct=pl.when((pl.col("patient_id") == "P9") & (pl.col("day") == "14")).then(pl.lit("0.01")),
        spd_mm2=pl.when((pl.col("patient_id") == "P1") & (pl.col("day") == "30")).then(pl.lit("1250.5")))
    a.write_csv(folder / "assessments.csv")
    ev = pl.read_csv(folder / "events.csv", infer_schema=False)
    pl.concat([ev, pl.DataFrame({"patient_id": ["P1"], "kind": ["new_therapy"], "episode": ["1"], "day": ["120"],
                                 "date": [None], "detail": ["R-GemOx"]})], how="diagonal").write_csv(folder / "events.csv")
    inf = pl.read_csv(folder / "infusions.csv", infer_schema=False)
    inf.with_columns(dose_level=pl.lit("DL1"), bridging_therapy=pl.lit("none")).write_csv(folder / "infusions.csv")
    pat = pl.read_csv(folder / "patients.csv", infer_schema=False)
    pat.with_columns(arm=pl.lit("CD19 then CD22 CAR-T")).write_csv(folder / "patients.csv")
    (folder / "published.toml").unlink()
    return folder


def test_lesions_spd_oxygen_capd_mrd_and_new_therapy_survive_the_round_trip(tmp_path):
    study = _richer_seed(tmp_path / "rich")
    assert errors(validate_study(study)) == []
    result = export_sdtm(study, tmp_path / "sdtm")
    assert {"TU", "TR", "SUPPPR", "SS"} <= set(result.datasets)
    import_sdtm(tmp_path / "sdtm" / "xpt", tmp_path / "back", plan=study / "study.toml")
    seed, back = load_study(study), load_study(tmp_path / "back")
    assert back.lesions.height == 3 and back.neuro["capd_score"].drop_nulls().to_list() == [3]
    for name in TABLES:
        assert_frame_equal(_table(seed, name), _table(back, name), check_dtypes=True)


def _edit_json(path: Path, row: int, **values) -> None:
    """Set variables of data row ``row`` (1-based) of a Dataset-JSON file."""
    doc = json.loads(path.read_text())
    names = [c["name"] for c in doc["columns"]]
    for var, value in values.items():
        doc["rows"][row - 1][names.index(var)] = value
    path.write_text(json.dumps(doc))


def _row_of(path: Path, **where) -> int:
    doc = json.loads(path.read_text())
    names = [c["name"] for c in doc["columns"]]
    for i, r in enumerate(doc["rows"], start=1):
        if all(r[names.index(k)] == v for k, v in where.items()):
            return i
    raise AssertionError(where)


def test_bad_sdtm_in_every_domain_gives_located_problems(exported, tmp_path):
    """Each problem names the SDTM dataset, the data row and the variable; errors stop the import and
    nothing is written; warnings are listed with the study written."""
    from cartkit.study.problems import StudyError

    sdtm = tmp_path / "sdtm"
    shutil.copytree(exported / "json", sdtm)
    for p in sdtm.glob("*.metadata.json"):
        p.unlink()
    _edit_json(sdtm / "vs.json", 10, USUBJID="")  # a missing USUBJID
    ex_row = _row_of(sdtm / "ex.json", USUBJID="P2", EXSEQ=2)
    _edit_json(sdtm / "ex.json", ex_row, EXSTDTC="2020-06", EXSTDY=None)  # an EX row with no date
    lb_row = _row_of(sdtm / "lb.json", USUBJID="P3", LBTESTCD="HGB")
    _edit_json(sdtm / "lb.json", lb_row, LBSTRESU="furlongs")  # an unknown unit
    _edit_json(sdtm / "ae.json", 5, USUBJID="P99")  # an AE for a subject not in DM
    _edit_json(sdtm / "cm.json", 3, USUBJID="")  # CM row with no subject
    _edit_json(sdtm / "pr.json", 2, USUBJID="P77")  # PR row for a subject not in DM
    _edit_json(sdtm / "mh.json", 4, MHDECOD="HODGKIN LYMPHOMA", MHTERM="HODGKIN LYMPHOMA")  # unknown diagnosis
    rs_row = _row_of(sdtm / "rs.json", USUBJID="P9", RSTESTCD="OVRLRESP", RSSTRESC="CR")
    _edit_json(sdtm / "rs.json", rs_row, RSSTRESC="MAYBE")  # not a response code
    with pytest.raises(StudyError) as info:
        import_sdtm(sdtm, tmp_path / "study")
    found = {(p.file, p.row, p.column) for p in errors(info.value.problems)}
    assert found == {
        ("vs.json", 10, "USUBJID"),
        ("ex.json", ex_row, "EXSTDTC"),
        ("lb.json", lb_row, "LBSTRESU"),
        ("ae.json", 5, "USUBJID"),
        ("cm.json", 3, "USUBJID"),
        ("pr.json", 2, "USUBJID"),
        ("mh.json", 4, "MHDECOD"),
        ("rs.json", rs_row, "RSSTRESC"),
    }
    assert not (tmp_path / "study").exists()
    by_column = {p.column: p for p in errors(info.value.problems)}
    assert by_column["LBSTRESU"].value == "furlongs" and by_column["MHDECOD"].value == "HODGKIN LYMPHOMA"


def test_doubtful_sdtm_rows_are_located_warnings(exported, tmp_path):
    sdtm = tmp_path / "sdtm"
    shutil.copytree(exported / "json", sdtm)
    qs_row = _row_of(sdtm / "qs.json", USUBJID="P1", QSSEQ=1)
    _edit_json(sdtm / "qs.json", qs_row, QSSTRESN=14, QSORRES="14", QSSTRESC="14")  # ICE is 0-10
    _edit_json(sdtm / "suppae.json", 1, QVAL="CTCAE V2")  # an unknown grading system: named on its AE record
    fa_row = _row_of(sdtm / "fa.json", USUBJID="P2", FATESTCD="LOC")
    _edit_json(sdtm / "fa.json", fa_row, FASTRESC="DROWSY")
    result = import_sdtm(sdtm, tmp_path / "study", plan=SEED / "study.toml")
    found = {(p.file, p.row, p.column) for p in result.problems}
    assert found == {("qs.json", qs_row, "QSSTRESN"), ("ae.json", 1, "AETOXGRS"), ("fa.json", fa_row, "FASTRESC")}


def test_sdtm_define_xml_is_valid_define_21_tabulation(exported):
    import xml.etree.ElementTree as ET

    from cartkit.interop.adam_define import schema_problems

    text = (exported / "define.xml").read_text(encoding="utf-8")
    assert schema_problems(text) == []
    odm, dfn = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"
    root = ET.fromstring(text)
    groups = {g.get("Name"): g for g in root.iter(f"{odm}ItemGroupDef")}
    assert set(groups) == DOMAINS
    assert {g.get("Purpose") for g in groups.values()} == {"Tabulation"}
    classes = {n: g.find(f"{dfn}Class").get("Name") for n, g in groups.items()}
    assert (classes["DM"], classes["EX"], classes["AE"], classes["LB"], classes["FA"], classes["SUPPAE"],
            classes["TS"]) == ("SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS", "FINDINGS ABOUT",
                               "RELATIONSHIP", "TRIAL DESIGN")
    for name, g in groups.items():
        href = g.find(f"{dfn}leaf").get("{http://www.w3.org/1999/xlink}href")
        assert href == f"xpt/{name.lower()}.xpt" and (exported / href).exists()
    std = next(root.iter(f"{dfn}Standard"))
    assert (std.get("Name"), std.get("Version")) == ("SDTMIG", "3.3")


def test_every_analyte_has_an_sdtm_test_code():
    """Every measurements analyte is written to LB, VS or PC (interop/sdtm_codes.py) and read back by its code:
    an analyte added to the vocabulary without one would be left out of the SDTM export (with a note)."""
    from cartkit.interop import sdtm_codes as C
    from cartkit.interop.sdtm_import import LB_ANALYTES, PC_ANALYTES, VS_ANALYTES
    from cartkit.study.vocabulary import ANALYTES

    written = {**{a: v[0] for a, v in C.LB_TESTS.items()}, **{a: v[0] for a, v in C.VS_TESTS.items()},
               **{a: v[0] for a, v in C.PC_ANALYTES.items()}}
    assert set(ANALYTES) <= set(written)
    read = {**LB_ANALYTES, **VS_ANALYTES, **PC_ANALYTES}
    for analyte, code in written.items():  # M-protein: one code, the specimen tells serum from urine
        assert read[code] == analyte or C.LB_SPECIMENS.get(analyte) == "URINE", analyte



def test_simulated_cll_study_round_trip(tmp_path):
    """A simulated CLL study (iwCLL 2018 assessments: nodes, spleen, liver, B symptoms, marrow, nodules, Richter
    transformation; RSCAT IWCLL 2018, RSMETHOD IWCLL RESPONSE ASSESSMENT) survives export and import table by table
    (measurements.blq false and empty are one in SDTM)."""
    from cartkit.simulate import simulate_study

    study = simulate_study(tmp_path / "sim", patients=24, seed=3, format="csv", disease="CLL")
    assert export_sdtm(study, tmp_path / "sdtm").notes == []
    result = import_sdtm(tmp_path / "sdtm" / "xpt", tmp_path / "back", plan=study / "study.toml")
    assert errors(result.problems) == []
    a, b = load_study(study), load_study(tmp_path / "back")
    assert a.assessments.height > 0 and a.assessments["spleen_cm"].drop_nulls().len() > 0
    for name in TABLES:
        x, y = _table(a, name), _table(b, name)
        if name == "measurements":
            x, y = (t.with_columns(pl.col("blq").fill_null(False)) for t in (x, y))
        assert_frame_equal(x, y, check_dtypes=True)
