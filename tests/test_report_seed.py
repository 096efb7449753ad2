"""End to end on the bundled seed study: change one record, see its table, figure and number change.

Runs the whole pipeline (load -> derive -> analyse -> report) twice, on a copy of
examples/seed-study and on the same copy with one CAR-T % value changed, so it is
marked slow (about 10-20 s on this machine).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow


def _run(study: Path, out: Path) -> dict:
    from cartkit.pipeline import run_study

    run_study(study, out)
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def _cmax(doc: dict, patient: str, episode: int, analyte: str) -> float:
    rows = [r for r in doc["tables"]["kinetic_params"]
            if r["patient_id"] == patient and r["episode"] == episode and r["analyte"] == analyte]
    assert len(rows) == 1
    return rows[0]["cmax"]


def test_changing_one_car_t_value_changes_its_table_figure_and_numbers(tmp_path, copy_seed):
    study = tmp_path / "seed"
    copy_seed(study)
    before = _run(study, tmp_path / "before")

    m = pl.read_csv(study / "measurements.csv", infer_schema_length=None)
    hit = ((pl.col("patient_id") == "P1") & (pl.col("episode") == 1) & (pl.col("day") == 7)
           & (pl.col("analyte") == "car_t_pct_cd3"))
    assert m.filter(hit)["value"].to_list() == [3.05]  # examples/seed-study/measurements.csv line 20
    m.with_columns(value=pl.when(hit).then(30.5).otherwise(pl.col("value"))).write_csv(study / "measurements.csv")
    after = _run(study, tmp_path / "after")

    # the number: P1's CD19 expansion peak is the changed value (day 7 was already its peak)
    assert _cmax(before, "P1", 1, "car_t_pct_cd3") == pytest.approx(3.05)
    assert _cmax(after, "P1", 1, "car_t_pct_cd3") == pytest.approx(30.5)
    # its CSV table
    params = pl.read_csv(tmp_path / "after" / "tables" / "kinetic_params.csv")
    assert params.filter((pl.col("patient_id") == "P1") & (pl.col("episode") == 1)
                         & (pl.col("analyte") == "car_t_pct_cd3"))["cmax"].to_list() == [30.5]

    # the comparison of CAR-T % peaks moves; the cytokine comparisons do not
    def p_of(doc, key):
        return next(r["pvalue"] for r in doc["tables"]["comparisons"] if r.get("key") == key)

    assert p_of(after, "car_t_pct_cd3.peak") != p_of(before, "car_t_pct_cd3.peak")
    assert p_of(after, "il6.peak") == p_of(before, "il6.peak")

    # the figures that draw CAR-T % change; the ones that do not draw it stay byte-identical
    fig = {d: {f: (tmp_path / d / "figures" / f"{f}.svg").read_text(encoding="utf-8")
               for f in ("car-t-kinetics", "expansion-peaks", "cytokine-kinetics", "cytokine-peaks")} for d in ("before", "after")}
    assert fig["after"]["car-t-kinetics"] != fig["before"]["car-t-kinetics"]
    assert fig["after"]["expansion-peaks"] != fig["before"]["expansion-peaks"]
    assert fig["after"]["cytokine-kinetics"] == fig["before"]["cytokine-kinetics"]
    assert fig["after"]["cytokine-peaks"] == fig["before"]["cytokine-peaks"]
