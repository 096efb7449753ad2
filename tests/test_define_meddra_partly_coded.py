"""define.xml names MedDRA as AEDECOD's codelist only where every record is coded (docs/sdtm.md "MedDRA").

Define-XML 2.1 ItemDef def:CodeListRef says the variable's values come from that codelist; on a study
whose AE records are only partly MedDRA-coded, AEDECOD holds cartkit's short-list term on the others, so
it gets no MedDRA codelist but a def:CommentDef counting coded and uncoded records; AEPTCD, AEBODSYS ...
(MedDRA or empty) keep theirs. A fully coded AE keeps the MedDRA codelist on AEDECOD and has no comment.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl

from cartkit.interop.adam_define import define_xml, partly_coded, schema_problems
from cartkit.interop.adam_write import COLLECTED, INTEGER, TEXT, AdamDataset, Variable

ODM, DEF = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"


def _ae(ptcd: list[int | None]) -> AdamDataset:
    n = len(ptcd)
    frame = pl.DataFrame({
        "STUDYID": ["S"] * n, "USUBJID": [f"S-{i}" for i in range(n)], "AESEQ": [1] * n,
        "AEDECOD": ["Pyrexia" if c else "Cytokine release syndrome" for c in ptcd],
        "AEPTCD": pl.Series(ptcd, dtype=pl.Int64),
        "AEBODSYS": ["General disorders and administration site conditions" if c else None for c in ptcd]})
    variables = [
        Variable("STUDYID", "Study Identifier", TEXT, COLLECTED, "study"),
        Variable("USUBJID", "Unique Subject Identifier", TEXT, COLLECTED, "patient_id"),
        Variable("AESEQ", "Sequence Number", INTEGER, COLLECTED, "order"),
        Variable("AEDECOD", "Dictionary-Derived Term", TEXT, COLLECTED, "meddra_pt or term", dictionary="MedDRA"),
        Variable("AEPTCD", "Preferred Term Code", INTEGER, COLLECTED, "meddra_pt_code", dictionary="MedDRA"),
        Variable("AEBODSYS", "Body System or Organ Class", TEXT, COLLECTED, "meddra_soc", dictionary="MedDRA")]
    return AdamDataset("AE", "Adverse Events", "One record per adverse event per subject", frame, variables,
                       keys=("STUDYID", "USUBJID", "AESEQ"))


def _define(ds: AdamDataset) -> ET.Element:
    text = define_xml([ds], study_oid="S", study_name="S", created="2026-01-01T00:00:00", version="test",
                      tabulation=True, dictionary_versions={"MedDRA": "26.0"})
    assert schema_problems(text) == []
    return ET.fromstring(text)


def _refs(root: ET.Element) -> dict[str, str | None]:
    return {i.get("Name"): (i.find(f"{ODM}CodeListRef").get("CodeListOID")
                            if i.find(f"{ODM}CodeListRef") is not None else None)
            for i in root.iter(f"{ODM}ItemDef")}


def test_partly_coded_aedecod_has_no_meddra_codelist_and_a_comment_counting_the_uncoded():
    ds = _ae([10037660, None, 10037660, None, None])
    assert partly_coded(ds) == {"AEDECOD": (3, 5)}
    root = _define(ds)
    refs = _refs(root)
    assert refs["AEDECOD"] is None
    assert refs["AEPTCD"] == "CL.MEDDRA.INTEGER" and refs["AEBODSYS"] == "CL.MEDDRA"
    item = next(i for i in root.iter(f"{ODM}ItemDef") if i.get("Name") == "AEDECOD")
    oid = item.get(f"{DEF}CommentOID")
    assert oid == "COM.AE.AEDECOD"
    comment = next(c for c in root.iter(f"{DEF}CommentDef") if c.get("OID") == oid)
    said = "".join(comment.itertext())
    assert "MedDRA 26.0 preferred term on the 2 of 5 records coded in MedDRA (AEPTCD not empty)" in said
    assert "3 records are not coded" in said


def test_fully_coded_aedecod_keeps_the_meddra_codelist():
    ds = _ae([10037660, 10037660])
    assert partly_coded(ds) == {}
    root = _define(ds)
    assert _refs(root)["AEDECOD"] == "CL.MEDDRA"
    assert list(root.iter(f"{DEF}CommentDef")) == []
