"""SDTM export and import of MedDRA-coded adverse events, infections, IEC-HS, MNT and cranial nerve
palsy, second primary malignancies, IgG and immunoglobulin replacement (docs/sdtm.md "MedDRA" and
"Infections, IEC-HS and late effects").

The seed with these added (the MedDRA codes are those of MedDRA's public SOC and PT listings, as in
tests/test_adverse_events_meddra.py) goes seed -> ``sdtm export`` -> ``sdtm import`` -> the same study,
table by table; the AE records are checked variable by variable against SDTMIG 3.3 AE (AEDECOD the PT,
AEPTCD, AEBODSYS/AEBDSYCD and AESOC/AESOCCD the primary SOC, AECAT for infections and malignancies,
SUPPAE for their qualifiers). pharmaversesdtm's AE (coded in MedDRA, data no one here wrote) goes
SDTM -> import -> export and keeps every subject's AEDECOD and AEBODSYS.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from late_effects_study import GEN, MYELOMA, SEED, late_effects_seed
from polars.testing import assert_frame_equal

from cartkit.interop.adam_define import schema_problems
from cartkit.interop.sdtm_export import export_sdtm
from cartkit.interop.sdtm_import import import_sdtm
from cartkit.study.load import load_study
from cartkit.study.problems import errors
from cartkit.study.schema import TABLES
from cartkit.study.validate import validate_study

ODM, DEF = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("late")
    study = late_effects_seed(base / "study")
    assert errors(validate_study(study)) == []
    result = export_sdtm(study, base / "sdtm")
    assert result.notes == []
    back = import_sdtm(base / "sdtm" / "xpt", base / "back", plan=study / "study.toml")
    assert errors(back.problems) == []
    return study, base / "sdtm", base / "back"


def _table(study, name: str) -> pl.DataFrame:
    t = TABLES[name]
    frame = getattr(study, name)
    cols = [c.name for c in t.columns if c.name in frame.columns]
    return frame.select(cols).sort([k for k in t.key if k in cols], nulls_last=True)


def test_coded_aes_infections_and_late_effects_round_trip_table_by_table(round_trip):
    study, _sdtm, back = round_trip
    assert errors(validate_study(back)) == []
    a, b = load_study(study), load_study(back)
    assert a.infections.height == 4 and a.adverse_events["meddra_pt"].drop_nulls().len() == 3
    for name in TABLES:
        assert_frame_equal(_table(a, name), _table(b, name), check_dtypes=True)
    spm = b.events.filter(pl.col("kind").is_in(["second_malignancy", "t_cell_malignancy"])).sort("patient_id")
    assert spm.select("patient_id", "kind", "detail").rows() == [
        ("P4", "second_malignancy", "myelodysplastic syndrome"), ("P7", "t_cell_malignancy", None)]


def test_ae_records_follow_sdtmig_33(round_trip):
    _study, sdtm, _back = round_trip
    ae = _dataset_json(sdtm / "json" / "ae.json")
    # a coded row: the reported term in AETERM, the PT and its code, the primary SOC in AEBODSYS and AESOC
    row = ae.filter((pl.col("USUBJID") == "P2") & (pl.col("AETERM") == "Temperature 39.2 C")).row(0, named=True)
    assert (row["AEDECOD"], row["AEPTCD"], row["AEBODSYS"], row["AEBDSYCD"], row["AESOC"], row["AESOCCD"]) == (
        "Pyrexia", 10037660, GEN, 10018065, GEN, 10018065)
    assert row["AECAT"] == "" and row["AETOXGR"] == "1"  # Dataset-JSON text: empty, not null
    # an uncoded row: the short-list term in AETERM and AEDECOD, no MedDRA code
    row = ae.filter((pl.col("USUBJID") == "P2") & (pl.col("AEDECOD") == "Anemia")).row(0, named=True)
    assert (row["AETERM"], row["AEPTCD"], row["AEBODSYS"]) == ("Anemia", None, "")
    inf = ae.filter(pl.col("AECAT") == "INFECTION").sort("USUBJID", "AESTDTC")
    assert inf.select("USUBJID", "AETERM", "AEDECOD", "AETOXGR", "AESTDTC").rows() == [
        ("P1", "Bacterial infection, bloodstream (Escherichia coli)", "Infection", "3", "2017-09-09"),
        ("P1", "Viral infection, respiratory (CMV)", "Infection", "2", "2017-10-12"),
        ("P4", "Fungal infection, respiratory", "Infection", "", "2017-12-03"),
        ("P9", "Other infection, skin soft tissue", "Infection", "1", inf.filter(pl.col("USUBJID") == "P9")
         ["AESTDTC"][0])]
    spm = ae.filter(pl.col("AECAT") == "SECOND PRIMARY MALIGNANCY").sort("USUBJID")
    assert spm.select("USUBJID", "AETERM", "AEDECOD", "AETOXGR").rows() == [
        ("P4", "myelodysplastic syndrome", "Second primary malignancy", ""),
        ("P7", "T-cell malignancy", "T-cell malignancy", "")]
    iec = ae.filter(pl.col("AEDECOD") == "IEC-HS")
    supp = _dataset_json(sdtm / "json" / "suppae.json")
    grading = supp.filter(pl.col("QNAM") == "AETOXGRS").join(
        iec.select("USUBJID", IDVARVAL=pl.col("AESEQ").cast(pl.String)), on=["USUBJID", "IDVARVAL"])
    assert grading["QVAL"].to_list() == ["ASTCT 2023"]  # IEC-HS graded by the ASTCT 2023 consensus (Hines 2023)
    p1 = inf.filter(pl.col("USUBJID") == "P1")["AESEQ"].cast(pl.String).to_list()
    quals = supp.filter(pl.col("IDVARVAL").is_in(p1) & (pl.col("USUBJID") == "P1") & (pl.col("QNAM") != "AETOXGRS"))
    assert sorted(quals.select("QNAM", "QVAL").rows()) == [
        ("INFORG", "CMV"), ("INFORG", "Escherichia coli"), ("INFORGCL", "BACTERIAL"), ("INFORGCL", "VIRAL"),
        ("INFSITE", "BLOODSTREAM"), ("INFSITE", "RESPIRATORY")]
    cm = _dataset_json(sdtm / "json" / "cm.json")
    assert cm.filter(pl.col("CMSCAT") == "IMMUNOGLOBULIN").select("CMTRT", "CMDOSE", "CMDOSU").rows() == [
        ("ivig", 0.4, "g/kg"), ("ivig", 0.4, "g/kg")]
    lb = _dataset_json(sdtm / "json" / "lb.json")
    assert lb.filter(pl.col("LBTESTCD") == "IGG").select("LBSTRESN", "LBSTRESU", "LBCAT").rows() == [
        (380.0, "mg/dL", "IMMUNOLOGY"), (295.0, "mg/dL", "IMMUNOLOGY")]


def _dataset_json(path: Path) -> pl.DataFrame:
    import json

    doc = json.loads(path.read_text(encoding="utf-8"))
    names = [c["name"] for c in doc["columns"]]
    return pl.DataFrame([dict(zip(names, r, strict=True)) for r in doc["rows"]], infer_schema_length=None)


def test_define_xml_names_meddra_as_an_external_dictionary_with_its_version(round_trip):
    _study, sdtm, _back = round_trip
    text = (sdtm / "define.xml").read_text(encoding="utf-8")
    assert schema_problems(text) == []
    root = ET.fromstring(text)
    lists = {c.get("OID"): c for c in root.iter(f"{ODM}CodeList")}
    for oid, data_type in (("CL.MEDDRA", "text"), ("CL.MEDDRA.INTEGER", "integer")):
        ext = lists[oid].find(f"{ODM}ExternalCodeList")
        assert (lists[oid].get("DataType"), ext.get("Dictionary"), ext.get("Version")) == (data_type, "MedDRA", "26.0")
    refs = {i.get("OID"): i.find(f"{ODM}CodeListRef") for i in root.iter(f"{ODM}ItemDef")}
    assert {v: refs[f"IT.AE.{v}"].get("CodeListOID") for v in ("AEBODSYS", "AESOC", "AEPTCD", "AEBDSYCD",
                                                                "AESOCCD")} == {
        "AEBODSYS": "CL.MEDDRA", "AESOC": "CL.MEDDRA", "AEPTCD": "CL.MEDDRA.INTEGER",
        "AEBDSYCD": "CL.MEDDRA.INTEGER", "AESOCCD": "CL.MEDDRA.INTEGER"}
    assert refs["IT.AE.AETERM"] is None
    # only some AE records are MedDRA-coded: AEDECOD names no MedDRA codelist, a comment counts them
    # (docs/sdtm.md "MedDRA"; tests/test_define_meddra_partly_coded.py)
    assert refs["IT.AE.AEDECOD"] is None
    ae = _dataset_json(sdtm / "json" / "ae.json")
    coded = ae["AEPTCD"].is_not_null().sum()
    item = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.AE.AEDECOD")
    comment = next(c for c in root.iter(f"{DEF}CommentDef") if c.get("OID") == item.get(f"{DEF}CommentOID"))
    assert 0 < coded < ae.height
    assert (f"MedDRA 26.0 preferred term on the {coded} of {ae.height} records coded in MedDRA"
            in "".join(comment.itertext()))


def test_uncoded_study_has_no_meddra_variables_or_codelist(tmp_path):
    export_sdtm(SEED, tmp_path / "sdtm")
    ae = _dataset_json(tmp_path / "sdtm" / "json" / "ae.json")
    assert not {"AEPTCD", "AEBODSYS", "AESOC", "AECAT"} & set(ae.columns)
    assert "ExternalCodeList" not in (tmp_path / "sdtm" / "define.xml").read_text(encoding="utf-8")


def test_coded_study_without_a_meddra_version_leaves_version_out(round_trip, tmp_path):
    study, _sdtm, _back = round_trip
    folder = tmp_path / "no-version"
    shutil.copytree(study, folder)
    toml = (folder / "study.toml").read_text(encoding="utf-8")
    (folder / "study.toml").write_text(toml.replace('meddra_version = "26.0"\n', ""), encoding="utf-8")
    export_sdtm(folder, tmp_path / "sdtm")
    root = ET.fromstring((tmp_path / "sdtm" / "define.xml").read_text(encoding="utf-8"))
    exts = list(root.iter(f"{ODM}ExternalCodeList"))
    assert len(exts) == 2 and all(e.get("Dictionary") == "MedDRA" and e.get("Version") is None for e in exts)


def test_sponsor_infection_records_without_qualifiers_stay_adverse_events(round_trip, tmp_path):
    """An AE of AECAT INFECTION without the organism class and site (a sponsor's) is an adverse event, said in a
    note; an unknown organism class is a located warning on its AE record."""
    import json

    _study, sdtm, _back = round_trip
    folder = tmp_path / "sdtm"
    shutil.copytree(sdtm / "json", folder)
    supp = json.loads((folder / "suppae.json").read_text())
    names = [c["name"] for c in supp["columns"]]
    q, v, s = names.index("QNAM"), names.index("QVAL"), names.index("USUBJID")
    supp["rows"] = [r for r in supp["rows"] if not (r[q] == "INFSITE" and r[s] == "P9")]  # P9: no site
    for r in supp["rows"]:
        if r[q] == "INFORGCL" and r[v] == "VIRAL":
            r[v] = "PRIONS"
    (folder / "suppae.json").write_text(json.dumps(supp))
    result = import_sdtm(folder, tmp_path / "back", plan=SEED / "study.toml")
    back = load_study(tmp_path / "back")
    assert sorted(back.infections["organism_class"].to_list()) == ["bacterial", "fungal"]
    assert any("1 AE records of category INFECTION without SUPPAE INFORGCL and INFSITE" in n for n in result.notes)
    p9 = back.adverse_events.filter((pl.col("patient_id") == "P9") & (pl.col("episode") == 2)
                                    & (pl.col("term") == "infection"))
    assert p9.select("grade", "onset_day").rows() == [(1, 10)]
    warned = [p for p in result.problems if p.column == "INFORGCL"]
    assert len(warned) == 1 and warned[0].value == "PRIONS" and warned[0].file == "ae.json"


def test_myeloma_example_round_trips_through_sdtm(tmp_path):
    """The synthetic myeloma study (IEC-HS, infections, IVIG, IgG, M-protein by specimen): every table comes back;
    measurements.blq false and empty are one in SDTM (docs/sdtm.md)."""
    result = export_sdtm(MYELOMA, tmp_path / "sdtm")
    assert result.notes == []
    back = import_sdtm(tmp_path / "sdtm" / "xpt", tmp_path / "back", plan=MYELOMA / "study.toml")
    assert errors(back.problems) == []
    a, b = load_study(MYELOMA), load_study(tmp_path / "back")
    assert a.infections.height > 0 and a.measurements.filter(pl.col("analyte") == "urine_m_protein").height > 0
    for name in TABLES:
        x, y = _table(a, name), _table(b, name)
        if name == "measurements":
            x, y = (t.with_columns(pl.col("blq").fill_null(False)) for t in (x, y))
        assert_frame_equal(x, y, check_dtypes=True)


@pytest.mark.slow
def test_pharmaversesdtm_ae_keeps_its_meddra_coding_through_import_and_export(pharmaverse_pilot, tmp_path):
    """pharmaversesdtm AE (the CDISC pilot): SDTM -> import -> export. The importer keeps one record per subject,
    episode and term (the worst grade), so the exported AE has each subject's distinct (AETERM, AEDECOD, AEBODSYS)
    of the source, no more and no fewer: AEDECOD (the PT) and AEBODSYS / AESOC (the SOC) exactly."""
    src, pilot, result = pharmaverse_pilot
    export_sdtm(pilot, tmp_path / "out")
    # records more than 60 days before first exposure are left out, each a located warning (docs/sdtm.md "Days")
    left_out = {p.row for p in result.problems if p.file == "ae.parquet" and "left out" in p.rule}
    assert len(left_out) == 6
    raw = pl.read_parquet(src / "ae.parquet").with_row_index("__row", offset=1)
    treated = pl.read_csv(pilot / "patients.csv")["patient_id"]
    # AETERM comes back in cartkit's short-list spelling where cartkit knows the term (FATIGUE -> fatigue,
    # DECREASED APPETITE -> anorexia: one spelling per term, as the study loader makes it), else as given
    from cartkit.study.vocabulary import VOCABULARIES

    cols = ["USUBJID", "AETERM", "AEDECOD", "AEBODSYS", "AESOC"]
    want = raw.filter(pl.col("USUBJID").is_in(treated.implode()) & ~pl.col("__row").is_in(sorted(left_out))).select(
        cols).with_columns(pl.col("AETERM").str.to_lowercase().replace_strict(
            VOCABULARIES["ae_term"], default=pl.col("AETERM"))).unique()
    got = _dataset_json(tmp_path / "out" / "json" / "ae.json").select(cols).unique()
    assert want.filter(pl.col("AETERM") == "anorexia")["AEDECOD"].unique().to_list() == ["DECREASED APPETITE"]
    assert want.height == 818  # distinct (subject, term) records: each becomes one AE record
    assert_frame_equal(want.sort(cols), got.sort(cols))


def test_sponsor_immunoglobulin_by_drug_name_is_support(round_trip, tmp_path):
    """A sponsor's CM row of IVIG with no cartkit CMSCAT, by its WHODrug name (ATC J06BA), is immunoglobulin
    replacement (support kind immunoglobulin) on each of its days."""
    import json

    _study, sdtm, _back = round_trip
    folder = tmp_path / "sdtm"
    shutil.copytree(sdtm / "json", folder)
    cm = json.loads((folder / "cm.json").read_text())
    names = [c["name"] for c in cm["columns"]]
    scat, trt = names.index("CMSCAT"), names.index("CMTRT")
    for r in cm["rows"]:
        if r[scat] == "IMMUNOGLOBULIN":
            r[scat], r[trt] = "", "IMMUNOGLOBULIN HUMAN NORMAL"
    (folder / "cm.json").write_text(json.dumps(cm))
    import_sdtm(folder, tmp_path / "back", plan=SEED / "study.toml")
    ig = load_study(tmp_path / "back").support.filter(pl.col("kind") == "immunoglobulin")
    assert ig.select("patient_id", "day", "agent", "dose", "dose_unit").sort("day").rows() == [
        ("P1", 60, "immunoglobulin human normal", 0.4, "g/kg"), ("P1", 88, "immunoglobulin human normal", 0.4, "g/kg")]
