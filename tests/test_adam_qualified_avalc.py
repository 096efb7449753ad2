"""ADLB and ADPC carry the character result of a qualified value in AVALC (ADaMIG 1.1 BDS: AVALC the
character analysis value; admiral's ADLB templates: AVAL = LBSTRESN, AVALC = LBSTRESC, so pharmaversesdtm's
BILI "<3.42" is AVALC "<3.42" with AVAL empty). AVAL stays as it was: empty for a qualified result. AVALC is
the SDTM export's --STRESC of the same row, and define.xml gives AVALC value-level metadata for the
parameters that have such a result."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import polars as pl
import pytest
from test_study_builders import base_tables, write_study

MEASUREMENTS = [
    ("P1", 1, 3, "anc", "<0.1", "10^9/L", None, None),
    ("P1", 1, 5, "anc", "0.8", "10^9/L", None, None),
    ("P1", 1, 6, "ferritin", ">100000", "ng/mL", None, None),
    ("P2", 1, 2, "platelets", "<=20", "10^9/L", None, None),
    ("P2", 1, 3, "crp", "ND", "mg/L", 0.5, None),            # below a limit the row states
    ("P1", 1, 7, "car_dna", "<10", "copies/ug", None, None),
    ("P1", 1, 14, "car_dna", "5000", "copies/ug", None, None),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from cartkit.interop.adam_export import export_adam

    base = tmp_path_factory.mktemp("avalc")
    tables = base_tables()
    tables["measurements"] = [m for m in tables["measurements"] if m["analyte"] not in ("anc", "platelets")] + [
        {"patient_id": p, "episode": e, "day": d, "date": None, "analyte": a, "value": v, "unit": u,
         "blq": None, "lloq": lloq, "uloq": uloq} for p, e, d, a, v, u, lloq, uloq in MEASUREMENTS]
    out = base / "adam"
    export_adam(write_study(base / "study", tables), out)
    return out


def _read(folder, name):
    import pyreadstat

    frame, _ = pyreadstat.read_xport(str(folder / f"{name}.xpt"))
    return pl.from_pandas(frame)


def test_adlb_avalc_is_the_character_result_and_aval_is_unchanged(exported):
    adlb = _read(exported, "adlb").filter(pl.col("PARAMTYP") != "DERIVED")
    got = {(r["PARAMCD"], r["ADYINF"]): (r["AVALC"], r["AVAL"]) for r in adlb.to_dicts()}
    assert got[("NEUT", 3)] == ("<0.1", None)                                             # AVAL empty
    assert got[("NEUT", 5)] == ("", 0.8)                                                  # a number: AVALC empty
    assert got[("FERRITIN", 6)][0] == ">100000"
    assert got[("PLAT", 2)][0] == "<=20"
    assert got[("CRP", 3)][0] == "<0.5"
    assert set(adlb.filter(pl.col("AVALC") != "")["PARAMCD"]) == {"NEUT", "FERRITIN", "PLAT", "CRP"}


def test_adpc_avalc_of_a_sample_below_the_limit(exported):
    adpc = _read(exported, "adpc")
    got = {(r["USUBJID"], r["PARAMCD"], r["ARELTM"]): (r["AVALC"], r["AVAL"], r["BLQFL"]) for r in adpc.to_dicts()}
    avalc, aval, blq = got[("P1", "CARDNA", 7.0)]
    assert (avalc, aval, blq) == ("<10", None, "Y")
    assert got[("P1", "CARDNA", 14.0)][:2] == ("", 5000.0)
    assert got[("P2", "CARDNA", 7.0)][0] == "BLQ"                # flagged blq, no limit known


def test_avalc_is_the_sdtm_stresc(exported, tmp_path):
    from cartkit.interop.sdtm_export import export_sdtm

    study = exported.parent / "study"
    export_sdtm(study, tmp_path / "sdtm")
    lb = _read(tmp_path / "sdtm" / "xpt", "lb")
    stresc = {(r["LBTESTCD"], r["LBSTRESC"]) for r in lb.to_dicts() if r["LBSTRESN"] is None}
    adlb = _read(exported, "adlb").filter(pl.col("AVALC") != "")
    assert {(r["PARAMCD"], r["AVALC"]) for r in adlb.to_dicts()} == stresc


def test_define_has_avalc_with_value_level_metadata_of_the_qualified_parameters(exported):
    odm, dfn = "{http://www.cdisc.org/ns/odm/v1.3}", "{http://www.cdisc.org/ns/def/v2.1}"
    root = ET.parse(exported / "define.xml").getroot()
    items = {i.get("OID"): i for i in root.iter(f"{odm}ItemDef")}
    wheres = [w.get("OID") for w in root.iter(f"{dfn}WhereClauseDef")]
    assert len(wheres) == len(set(wheres))
    lists = {v.get("OID"): v for v in root.iter(f"{dfn}ValueListDef")}
    for name, codes in (("ADLB", {"NEUT", "FERRITIN", "PLAT", "CRP"}), ("ADPC", {"CARDNA"})):
        avalc = items[f"IT.{name}.AVALC"]
        assert avalc.get("DataType") == "text" and avalc.find(f"{dfn}ValueListRef").get("ValueListOID") == \
            f"VL.{name}.AVALC"
        refs = lists[f"VL.{name}.AVALC"].findall(f"{odm}ItemRef")
        assert {r.get("ItemOID").rsplit(".", 1)[1] for r in refs} == codes
