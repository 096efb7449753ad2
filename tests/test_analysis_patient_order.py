import polars as pl

from cartkit.analysis.patient_order import patient_number


def test_patients_sort_by_their_trailing_number_then_id():
    df = pl.DataFrame({"patient_id": ["P10", "P2", "X", "P1"]})
    assert df.with_columns(k=patient_number())["k"].to_list() == [10, 2, None, 1]
    assert df.sort(patient_number(), "patient_id")["patient_id"].to_list() == ["X", "P1", "P2", "P10"]
