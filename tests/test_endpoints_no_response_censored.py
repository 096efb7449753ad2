"""'No response by day N' (B-ALL EFS treatment failure) for a patient whose observation ends before day N:
censored at that end date whether the failure would be dated at the origin or on day N. Before, the same
patient was a failure at day 0 under no_response_event_at = "origin" (follow-up to the last record reached
day N) and censored under "day" (the censoring came first). Days counted by hand from the infusion."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cartkit.study.model import Plan, Study, StudyMeta
from cartkit.study.plan_endpoint import EndpointPlan, HsctRule
from cartkit.survival.events import endpoint_times

D = dt.date
INFUSION = D(2019, 4, 1)


def _study(rows) -> Study:
    patients = pl.DataFrame({"patient_id": ["B1"], "diagnosis": ["B-ALL"]})
    infusions = pl.DataFrame({"patient_id": ["B1"], "episode": [1], "product": ["CD19"],
                              "infusion_date": [INFUSION]})
    events = pl.DataFrame(rows, schema=["patient_id", "kind", "date", "detail"], orient="row")
    return Study(path=Path("."), meta=StudyMeta(id="nr", data_cutoff=D(2020, 1, 31)), plan=Plan(),
                 tables={"patients": patients, "infusions": infusions, "events": events})


NO_RESPONSE = pl.DataFrame({"patient_id": ["B1"], "episode": [1], "date": [D(2019, 4, 22)], "response": ["NR"]})


def _row(rows, at, **kw):
    efs = EndpointPlan(name="EFS", origin="first infusion", events=("relapse", "death"), no_response_by_day=28,
                       no_response_event_at=at, **kw)
    return endpoint_times(_study(rows), efs, responses=NO_RESPONSE).row(0, named=True)


HSCT_DAY_14 = [("B1", "hsct", D(2019, 4, 15), "allogeneic"), ("B1", "last_contact", D(2019, 10, 18), None)]
NEW_THERAPY_DAY_10 = [("B1", "new_therapy", D(2019, 4, 11), "blinatumomab"),
                      ("B1", "last_contact", D(2019, 10, 18), None)]


@pytest.mark.parametrize("at", ["origin", "day"])
def test_censored_before_day_n_is_censored_whatever_the_dating(at):
    hsct = _row(HSCT_DAY_14, at, hsct=HsctRule.CENSOR)
    assert (hsct["days"], hsct["event"], hsct["reason"]) == (14, False, "censored: HSCT 2019-04-15 (allogeneic)")
    therapy = _row(NEW_THERAPY_DAY_10, at, censor_at=("new_therapy",), hsct=HsctRule.IGNORE)
    assert (therapy["days"], therapy["event"]) == (10, False)
    competing = _row(HSCT_DAY_14, at, hsct=HsctRule.COMPETING)
    assert (competing["days"], competing["status"]) == (14, 2)


@pytest.mark.parametrize("at, day", [("origin", 0), ("day", 28)])
def test_followed_to_day_n_without_response_is_a_failure(at, day):
    # HSCT ignored: observation runs to the last contact (day 200), so the failure stands
    row = _row(HSCT_DAY_14, at, hsct=HsctRule.IGNORE)
    assert (row["days"], row["event"], row["kind"]) == (day, True, "no response by day 28")
    # an event before the censoring still makes the patient evaluable: relapse on day 12, HSCT on day 14
    early = _row([("B1", "relapse", D(2019, 4, 13), None), *HSCT_DAY_14], at, hsct=HsctRule.CENSOR)
    assert early["event"] and early["days"] == (0 if at == "origin" else 12)
