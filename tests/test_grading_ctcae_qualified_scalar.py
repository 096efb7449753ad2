"""The scalar ctcae_grade reads a qualified result ("<0.1", "<=0.5", ">x", "BLQ") as the derive stage reads a
qualified measurement: graded at both ends of its interval, the grade both ends agree on, else None
(cartkit.grading.censored; docs/criteria.md, "Qualified results in grading"). Expected grades by hand from
CTCAE v5.0: neutrophil count decreased 1 <LLN, 2 <1.5, 3 <1.0, 4 <0.5 (x 10^9/L); anemia 1 <LLN, 2 <100,
3 <80 g/L (<10, <8 g/dL)."""

from __future__ import annotations

import polars as pl
import pytest

from cartkit.grading.censored import agreed, at_end
from cartkit.grading.ctcae import ctcae_grade, ctcae_grade_expr

ANC = [("<0.1", None, 4), ("<0.5", None, 4), ("<=0.5", None, None), ("<0.6", None, None), ("<1.0", None, None),
       ("<=0.49", None, 4), (">2.0", 1.8, 0), (">=1.8", 1.8, 0), (">1.5", 1.8, None), (">=1.5", None, None),
       ("BLQ", None, None), ("not detected", None, None), ("< 0.1", None, 4), ("≤0.4", None, 4)]


@pytest.mark.parametrize("written, lln, grade", ANC)
def test_scalar_grade_of_a_qualified_anc(written, lln, grade):
    assert ctcae_grade("neutrophil count decreased", written, "10^9/L", lln=lln) == grade


def test_scalar_and_frame_paths_agree_on_qualified_counts():
    """The frame path (at_end at both ends, ctcae_grade_expr, agreed) is what derive/toxicity.py runs."""
    rows = []
    for i, (written, lln, _) in enumerate(ANC):
        t = written.replace(" ", "").replace("≤", "<=")
        q = "ND" if t in ("BLQ", "notdetected") else (t[:2] if t[1] == "=" else t[0])
        x = None if q == "ND" else float(t[len(q):])
        rows.append({"row": i, "analyte": "anc", "value": None, "qualifier": q, "lln": lln,
                     "lloq": x if q in ("<", "<=") else None, "uloq": x if q in (">", ">=") else None,
                     "blq": q in ("<", "<=", "ND")})
    m = pl.DataFrame(rows, schema_overrides={"lln": pl.Float64, "lloq": pl.Float64, "uloq": pl.Float64})

    def graded(end: str) -> pl.DataFrame:
        return at_end(m, end).select("row", ctcae_grade_expr("neutrophil count decreased", pl.col("value"), "5.0",
                                                             lln=pl.col("lln")).alias("grade"))

    frame = agreed(graded("severe"), graded("mild"), ["row"]).sort("row")["grade"].to_list()
    scalar = [ctcae_grade("neutrophil count decreased", w, "10^9/L", "5.0", lln=lln) for w, lln, _ in ANC]
    assert scalar == frame == [g for _, _, g in ANC]


def test_qualified_haemoglobin_in_a_printed_unit():
    assert ctcae_grade("anemia", "<8", "g/dL", lln=12.0) == 3          # every value below 8 g/dL: grade 3
    assert ctcae_grade("anemia", "<=8", "g/dL", lln=12.0) is None      # 8 g/dL itself is grade 2
    assert ctcae_grade("anemia", ">13", "g/dL", lln=12.0) == 0


def test_other_text_still_raises():
    with pytest.raises(ValueError):
        ctcae_grade("neutrophil count decreased", "7", "10^9/L")
    with pytest.raises(ValueError):
        ctcae_grade("neutrophil count decreased", "<x", "10^9/L")
