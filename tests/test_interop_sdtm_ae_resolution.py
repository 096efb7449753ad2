"""sdtm import: the resolution day of a term whose AE records are merged (interop/sdtm_import.py).

cartkit keeps one adverse_events row per patient, episode and term, so the AE records of one term merge:
worst grade, earliest onset, latest end. A record with no end date has not ended (SDTMIG v3.2 4.1.4.7,
v3.3/v3.4 4.4.7: AEENRTPT ONGOING, AEENRF AFTER) or ended on a day not known (U), so the latest end of the
term is not known: its resolution day is empty, not the end of an earlier occurrence.

A hand-built AE domain, one subject, CAR-T infusion 2020-03-01 (day 0); each case written by hand:
- fatigue: 2020-03-03 to 2020-03-10 (day 2 to 9), and again from 2020-03-20 (day 19), AEENDTC empty,
  AEENRTPT ONGOING at AEENTPT 2020-04-01: ongoing, so no resolution day; onset day 2, worst grade 2.
- nausea: the same two records in the other order (the ongoing one first): no resolution day either.
- headache: 2020-03-02 to 2020-03-04 and 2020-03-06 to 2020-03-12: both ended, latest end day 11
  (so the rule is not "empty whenever there are two records").
- diarrhea: 2020-03-02 to 2020-03-05, and 2020-03-07 with AEENDTC empty but AEENDY 15 (RFSTDTC
  2020-03-01 is day 1, so 2020-03-15, day 14): both ended, latest end day 14.
- fever: 2020-03-02 to 2020-03-03, and 2020-03-08 with AEENDTC 2020-03-05, before its start (a warning,
  the end left empty): that record's end is not known, so neither is the term's.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cartkit.interop.sdtm_import import import_sdtm
from cartkit.study.problems import errors
from cartkit.study.validate import validate_study

AE = [  # (AEDECOD, AETOXGR, AESTDTC, AEENDTC, AEENDY, AEENRTPT, AEENTPT)
    ("FATIGUE", "1", "2020-03-03", "2020-03-10", "", "", ""),
    ("FATIGUE", "2", "2020-03-20", "", "", "ONGOING", "2020-04-01"),
    ("NAUSEA", "2", "2020-03-20", "", "", "ONGOING", "2020-04-01"),
    ("NAUSEA", "1", "2020-03-03", "2020-03-10", "", "", ""),
    ("HEADACHE", "1", "2020-03-02", "2020-03-04", "", "", ""),
    ("HEADACHE", "1", "2020-03-06", "2020-03-12", "", "", ""),
    ("DIARRHEA", "1", "2020-03-02", "2020-03-05", "", "", ""),
    ("DIARRHEA", "2", "2020-03-07", "", "15", "", ""),
    ("FEVER", "1", "2020-03-02", "2020-03-03", "", "", ""),
    ("FEVER", "1", "2020-03-08", "2020-03-05", "", "", ""),
]


def _sdtm(folder: Path) -> Path:
    folder.mkdir()
    pl.DataFrame([{"STUDYID": "S1", "USUBJID": "S1-001", "AGE": "60", "AGEU": "YEARS", "SEX": "F",
                   "RFSTDTC": "2020-03-01"}]).write_csv(folder / "dm.csv")
    pl.DataFrame([{"USUBJID": "S1-001", "EXTRT": "TISAGENLECLEUCEL", "EXDOSE": "2.0", "EXDOSU": "10^6 cells/kg",
                   "EXSTDTC": "2020-03-01"}]).write_csv(folder / "ex.csv")
    cols = ("AEDECOD", "AETOXGR", "AESTDTC", "AEENDTC", "AEENDY", "AEENRTPT", "AEENTPT")
    pl.DataFrame([{"USUBJID": "S1-001", **dict(zip(cols, r, strict=True))} for r in AE]).write_csv(folder / "ae.csv")
    return folder


def test_a_term_with_an_ongoing_record_has_no_resolution_day(tmp_path):
    out = tmp_path / "study"
    result = import_sdtm(_sdtm(tmp_path / "sdtm"), out, diagnosis="DLBCL", target="CD19")
    # the one problem: FEVER's second record ends before it starts (ae.csv line 11)
    assert [(p.file, p.row, p.column) for p in result.problems] == [("ae.csv", 11, "AEENDTC")]
    assert errors(validate_study(out)) == []
    ae = pl.read_csv(out / "adverse_events.csv").sort("term")
    assert ae.select("term", "grade", "onset_day", "resolution_day").rows() == [
        ("diarrhea", 2, 1, 14),
        ("fatigue", 2, 2, None),
        ("fever", 1, 1, None),
        ("headache", 1, 1, 11),
        ("nausea", 2, 2, None),
    ]
