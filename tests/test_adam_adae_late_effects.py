"""ADAE with MedDRA coding, infections, second primary malignancies and IEC-HS (docs/adam.md "ADAE").

The seed with MedDRA-coded AEs, infections, IEC-HS, MNT, a cranial nerve palsy, two second primary
malignancies, IVIG and IgG added (tests/test_sdtm_meddra_late_effects.py builds it) goes through
``adam export``; ADAE is read back with pyreadstat and checked against the study's own rows: each coded
row's PT and SOC with their codes (ADaM OCCDS: AEDECOD, AEBODSYS and the codes of the SDTM AE record),
one record per infection (AECAT INFECTION) with its organism class, site and organism, one per
malignancy, the recorded IEC-HS under ASTCT 2023; define.xml validates and names MedDRA as an external
dictionary with the study's version.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
from late_effects_study import GEN, GEN_C, MYELOMA, late_effects_seed

from cartkit.interop.adam_define import schema_problems
from cartkit.interop.adam_export import export_adam
from cartkit.study.load import load_study

ODM = "{http://www.cdisc.org/ns/odm/v1.3}"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("adam-late")
    study = late_effects_seed(base / "study")
    export_adam(study, base / "adam")
    return study, base / "adam"


def _adae(folder: Path) -> pl.DataFrame:
    frame, _meta = pyreadstat.read_xport(str(folder / "adae.xpt"))
    return pl.from_pandas(frame)


def test_adae_carries_the_meddra_coding_of_each_coded_row(exported):
    study, adam = exported
    adae = _adae(adam)
    ae = load_study(study).adverse_events
    coded = ae.filter(pl.col("meddra_pt").is_not_null())
    assert coded.height == 3
    for r in coded.iter_rows(named=True):
        row = adae.filter((pl.col("USUBJID") == r["patient_id"]) & (pl.col("APERIOD") == r["episode"])
                          & (pl.col("AETERM") == r["term"])).row(0, named=True)
        assert (row["AEDECOD"], row["AEPTCD"], row["AEBODSYS"], row["AEBDSYCD"], row["AESOC"], row["AESOCCD"]) == (
            r["meddra_pt"], float(r["meddra_pt_code"]), r["meddra_soc"], float(r["meddra_soc_code"]),
            r["meddra_soc"], float(r["meddra_soc_code"]))
    pyrexia = adae.filter(pl.col("AEDECOD") == "Pyrexia").row(0, named=True)
    assert (pyrexia["AETERM"], pyrexia["AEBODSYS"], pyrexia["AEBDSYCD"]) == ("Temperature 39.2 C", GEN, float(GEN_C))
    # an uncoded row: the short-list term in AEDECOD, no MedDRA code
    anemia = adae.filter((pl.col("USUBJID") == "P2") & (pl.col("AEDECOD") == "anemia")).row(0, named=True)
    assert anemia["AEBODSYS"] == "" and anemia["AEPTCD"] is None
    assert adae.select(pl.struct("USUBJID", "AESEQ").is_unique().all()).item()  # the key
    # CRS records cartkit adds (derived >= 1, none recorded) take the coding the study gives CRS (P4's row)
    added = adae.filter((pl.col("AETERM") == "") & (pl.col("DTOXGRN") >= 1))
    assert added.height == 5
    assert added.select("AEDECOD", "AEPTCD", "AEBODSYS").unique().rows() == [
        ("Cytokine release syndrome", 10052015.0, "Immune system disorders")]


def test_adae_has_one_record_per_infection_and_malignancy(exported):
    study, adam = exported
    adae = _adae(adam)
    loaded = load_study(study)
    inf = adae.filter(pl.col("AECAT") == "INFECTION").sort("USUBJID", "ASTDY")
    want = loaded.infections.sort("patient_id", "day")
    assert inf.height == want.height == 4
    assert inf.select("USUBJID", "APERIOD", "INFORGCL", "INFSITE", "INFORG", "ATOXGR", "AGRSYS").rows() == [
        ("P1", 1.0, "BACTERIAL", "BLOODSTREAM", "Escherichia coli", "3", "ctcae5.0"),
        ("P1", 1.0, "VIRAL", "RESPIRATORY", "CMV", "2", "ctcae5.0"),
        ("P4", 1.0, "FUNGAL", "RESPIRATORY", "", "", ""),
        ("P9", 2.0, "OTHER", "SKIN SOFT TISSUE", "", "1", "ctcae5.0")]
    # CDISC relative days: infection day 12 is ASTDY 13; ASTDT the infection's date
    assert inf["ASTDY"].to_list() == [d + 1.0 for d in want["day"].to_list()]
    assert inf["ASTDT"].to_list() == want["date"].to_list()
    assert (inf["TRTEMFL"] == "Y").all() and (inf["AEDECOD"] == "Infection").all()
    spm = adae.filter(pl.col("AECAT") == "SECOND PRIMARY MALIGNANCY").sort("USUBJID")
    assert spm.select("USUBJID", "AETERM", "AEDECOD", "ATOXGR").rows() == [
        ("P4", "myelodysplastic syndrome", "Second primary malignancy", ""),
        ("P7", "T-cell malignancy", "T-cell malignancy", "")]
    assert spm["ASTDY"].to_list() == [401.0, spm["ASTDY"][1]] and spm["ASTDY"][1] >= 1
    # the adverse_events rows are all there, once each, beside them
    assert adae.filter(pl.col("AECAT") == "").filter(pl.col("AETERM") != "").height == loaded.adverse_events.height


def test_adae_iec_hs_is_analysed_like_crs_and_icans(exported, tmp_path):
    study, adam = exported
    adae = _adae(adam)
    iec = adae.filter(pl.col("AEDECOD") == "iec-hs")
    assert iec.select("USUBJID", "APERIOD", "ATOXGRN", "AGRSYS", "AGRSRC", "SYNONSD").rows() == [
        ("P2", 1.0, 2.0, "astct2023", "recorded", 9.0)]
    # the myeloma example: its recorded IEC-HS beside the grade cartkit derives (ASTCT 2023)
    from cartkit.derive.iec_hs import derived_iec_hs

    export_adam(MYELOMA, tmp_path / "adam")
    mm = _adae(tmp_path / "adam").filter(pl.col("AEDECOD") == "iec-hs")
    derived = derived_iec_hs(load_study(MYELOMA))
    assert mm.height >= 1
    for r in mm.iter_rows(named=True):
        d = derived.filter((pl.col("patient_id") == r["USUBJID"]) & (pl.col("episode") == r["APERIOD"]))
        assert r["DGRSYS"] == "astct2023"
        assert (r["DTOXGRN"] if r["DTOXGRN"] == r["DTOXGRN"] else None) == (d["grade"][0] if d.height else None)


def test_adam_define_xml_names_meddra_with_the_study_version(exported):
    _study, adam = exported
    text = (adam / "define.xml").read_text(encoding="utf-8")
    assert schema_problems(text) == []
    root = ET.fromstring(text)
    lists = {c.get("OID"): c for c in root.iter(f"{ODM}CodeList")}
    ext = lists["CL.MEDDRA"].find(f"{ODM}ExternalCodeList")
    assert (ext.get("Dictionary"), ext.get("Version")) == ("MedDRA", "26.0")
    refs = {i.get("OID"): i.find(f"{ODM}CodeListRef") for i in root.iter(f"{ODM}ItemDef")}
    # partly coded (3 coded rows): AEDECOD has no MedDRA codelist but a comment (docs/sdtm.md "MedDRA")
    assert refs["IT.ADAE.AEDECOD"] is None
    item = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("OID") == "IT.ADAE.AEDECOD")
    assert item.get("{http://www.cdisc.org/ns/def/v2.1}CommentOID") == "COM.ADAE.AEDECOD"
    assert refs["IT.ADAE.AEBODSYS"].get("CodeListOID") == "CL.MEDDRA"
    assert refs["IT.ADAE.AEBDSYCD"].get("CodeListOID") == "CL.MEDDRA.INTEGER"
