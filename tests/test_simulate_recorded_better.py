"""Simulated IMWG/iwCLL assessments: a few responses are recorded one category better than cartkit derives
(simulate/tables._recorded), "one better" in the criteria file's own order of categories
(response/criteria/iwcll_2018.toml: CR > CRi > nPR > PR > PR-L > SD > PD; imwg_2016.toml). Before, the CLL
order left out nPR and PR-L, so a PR recorded better became CRi (two steps) and an SD became PR."""
from __future__ import annotations

import polars as pl
import pytest

from cartkit.derive.response import imwg_from_study, iwcll_from_study
from cartkit.response.imwg import imwg_criteria
from cartkit.response.iwcll import iwcll_criteria
from cartkit.simulate import simulate_study
from cartkit.study.load import load_study
from cartkit.study.problems import errors
from cartkit.study.validate import validate_study


@pytest.mark.parametrize(("disease", "derive", "column", "criteria"), [
    ("CLL", iwcll_from_study, "iwcll_response", iwcll_criteria),
    ("myeloma", imwg_from_study, "imwg_response", imwg_criteria)])
def test_recorded_is_derived_or_one_better_in_the_criteria_order(tmp_path, disease, derive, column, criteria):
    folder = simulate_study(tmp_path / "sim", patients=150, seed=3, disease=disease)
    assert errors(validate_study(folder)) == []
    study = load_study(folder)
    order = list(criteria()["categories"])
    rank = {c: i for i, c in enumerate(order)}
    derived = derive(study).select("patient_id", "episode", "day", pl.col(column).alias("derived"))
    a = study.assessments.filter((pl.col("day") > 0) & pl.col("response").is_not_null()).join(
        derived, on=["patient_id", "episode", "day"], how="inner").filter(pl.col("derived").is_not_null())
    steps = a.select(pl.col("response").replace_strict(rank, return_dtype=pl.Int64)
                     - pl.col("derived").replace_strict(rank, return_dtype=pl.Int64)).to_series()
    assert set(steps.to_list()) <= {0, -1}, "recorded is the derived response or the next better one"
    better = a.filter(steps == -1)
    assert better.height > 0
    pairs = set(better.select("derived", "response").rows())
    assert pairs <= {(b, order[rank[b] - 1]) for b in order if rank[b] > 0}
    if disease == "CLL":  # the derived PRs recorded better are nPR (never CRi, two steps up)
        assert ("PR", "nPR") in pairs and ("PR", "CRi") not in pairs
