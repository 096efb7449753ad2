"""ADSL population flags: two plan populations whose names share their first six letters and digits (e.g.
"infused CD19" and "infused CD22", the seed's sequential design) both became INFUSEFL, and the second silently
replaced the first (review). Each now has its own flag, numbered in plan order. Reference: the plan's own
rules, by hand on the input (per_protocol true; every patient)."""

from __future__ import annotations

import polars as pl
import pytest

import cartkit
from cartkit.interop.adam_adsl import build_adsl


@pytest.fixture(scope="module")
def study(tmp_path_factory, copy_seed):
    folder = tmp_path_factory.mktemp("pop") / "s"
    copy_seed(folder)
    patients = pl.read_csv(folder / "patients.csv", infer_schema=False)
    per_protocol = [i % 3 != 0 for i in range(patients.height)]
    patients.with_columns(per_protocol=pl.Series(per_protocol).cast(pl.String).str.to_lowercase()).write_csv(
        folder / "patients.csv")
    with (folder / "study.toml").open("a", encoding="utf-8") as f:
        f.write('\n[[plan.population]]\nname = "protocol set"\nrule = "per protocol"\n'
                '\n[[plan.population]]\nname = "protocol all"\nrule = "enrolled"\nprimary = true\n')
    return cartkit.load_study(folder), patients["patient_id"].to_list(), per_protocol


def test_each_population_keeps_its_own_flag(study):
    s, ids, per_protocol = study
    ds = build_adsl(s)
    flags = {v.name: v for v in ds.variables if v.name.startswith("PROTO")}
    assert set(flags) == {"PROTOCFL", "PROTO2FL"}
    assert "'protocol set'" in flags["PROTOCFL"].source and "'protocol all'" in flags["PROTO2FL"].source
    frame = ds.frame
    assert set(frame.filter(pl.col("PROTOCFL") == "Y")["USUBJID"]) == {p for p, f in zip(ids, per_protocol, strict=True) if f}
    assert set(frame.filter(pl.col("PROTO2FL") == "Y")["USUBJID"]) == set(ids)
