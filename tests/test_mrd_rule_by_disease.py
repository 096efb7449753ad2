"""Each disease's MRD negativity from its own rule (review of the PFS-by-MRD landmark, 2026-12-02).

derive.response.assessment_responses applied the B-ALL rule (mrd_pct < 0.01%) to every row with an
``mrd_pct`` before the disease's own rule, so a myeloma assessment with mrd_pct 0.005% (5 x 10^-5: clonal
plasma cells detected at an assay of 10^-5) and mrd_result "positive" was called MRD-negative. IMWG 2016
(Kumar S et al., Lancet Oncol 2016;17:e328, Table 2): MRD negativity is the absence of clonal plasma cells
at a minimum sensitivity of 1 in 10^5 nucleated cells - 5 in 10^5 is MRD-positive. That label feeds the
myeloma table's MRD-negative CR and the PFS-by-MRD landmark groups."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cartkit.derive.response import assessment_responses
from cartkit.study.load import load_study

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "myeloma-study"


def _with_mrd_pct(study, patient: str, day: int, pct: float):
    a = study.tables["assessments"]
    here = (pl.col("patient_id") == patient) & (pl.col("day") == day)
    study.tables["assessments"] = a.with_columns(mrd_pct=pl.when(here).then(pl.lit(pct)).otherwise(pl.col("mrd_pct")))
    return study


def _positive_at_1e5(study, patient: str = "SIM-0004", day: int = 28):
    a = study.tables["assessments"]
    here = (pl.col("patient_id") == patient) & (pl.col("day") == day)
    assert a.filter(here).height == 1, "the example has no such assessment"
    study.tables["assessments"] = a.with_columns(
        mrd_result=pl.when(here).then(pl.lit("positive")).otherwise(pl.col("mrd_result")),
        mrd_sensitivity=pl.when(here).then(pl.lit(1e-5)).otherwise(pl.col("mrd_sensitivity")),
        mrd_pct=pl.when(here).then(pl.lit(None, dtype=pl.Float64)).otherwise(pl.col("mrd_pct")))
    return study


def _mrd(out: pl.DataFrame, patient: str, day: int):
    return out.filter((pl.col("patient_id") == patient) & (pl.col("day") == day))["mrd_negative"].to_list()


def test_myeloma_mrd_is_imwg_not_the_b_all_cutoff():
    study = _positive_at_1e5(load_study(EXAMPLE))
    a = study.tables["assessments"]
    # SIM-0004 day 28: mrd_result positive at sensitivity 10^-5 (set here, so that a regenerated example
    # cannot change what the test is about)
    row = a.filter((pl.col("patient_id") == "SIM-0004") & (pl.col("day") == 28)).row(0, named=True)
    assert (row["mrd_result"], row["mrd_sensitivity"], row["mrd_pct"]) == ("positive", 1e-5, None)
    before = assessment_responses(study)
    assert _mrd(before, "SIM-0004", 28) == [False]
    # the lab also reports the clonal plasma cells as 0.005% (5 x 10^-5): still MRD-positive by IMWG 2016
    after = assessment_responses(_with_mrd_pct(study, "SIM-0004", 28, 0.005))
    assert _mrd(after, "SIM-0004", 28) == [False]
    # a myeloma % alone (no result, no sensitivity) does not meet IMWG's 10^-5 requirement: not negative
    study = _with_mrd_pct(_positive_at_1e5(load_study(EXAMPLE)), "SIM-0004", 28, 0.0)
    study.tables["assessments"] = study.tables["assessments"].with_columns(
        mrd_result=pl.when((pl.col("patient_id") == "SIM-0004") & (pl.col("day") == 28)).then(None)
        .otherwise(pl.col("mrd_result")))
    assert _mrd(assessment_responses(study), "SIM-0004", 28) != [True]
    # every other row of the example keeps its label
    same = before.join(after, on=["patient_id", "episode", "day", "method"], suffix="_after")
    changed = same.filter(pl.col("mrd_negative").ne_missing(pl.col("mrd_negative_after")))
    assert changed.height == 0, changed
