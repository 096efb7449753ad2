"""A hand-built 120-patient study (60 B-ALL, 60 DLBCL) for the report's survival analysis, and its endpoint
data derived here by plain rules (independently of cartkit.survival.events), for the R references of
tests/test_survival_report.py (tests/make_r_reference_survival_report.py runs R on ``endpoint_data``).

Every patient has one CD19 CAR-T infusion. B-ALL: a complete response on day 14, 21 or 28 for about 3 in 4
(the rest are "NR" on day 28, some with a late CR on day 42); relapse (responders) or progression. DLBCL:
progression. Allogeneic HSCT on day 45-150 for part of the responders; death after relapse or
progression, and death without it (non-relapse mortality, higher after HSCT). Whole days, no two events of
one patient on the same day. The endpoints (``ENDPOINTS``):

* EFS, B-ALL only: events relapse, progression, death, and no response (CR) by day 28 = an event at day 0;
  HSCT a competing event; days; reported at days 90, 180 and 365;
* PFS, everyone, by diagnosis: progression, relapse or death; HSCT competing; months; day 180;
* OS, everyone, by diagnosis: death; HSCT not censored; months.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

CUTOFF = dt.date(2021, 12, 31)
START = dt.date(2019, 1, 1)
DAYS_PER_MONTH = 30.4375
ENDPOINTS = {
    "EFS": dict(name="EFS", label="Event-free survival", origin="first infusion",
                events=("relapse", "progression", "death"), no_response_by_day=28, diseases=("B-ALL",),
                hsct="competing", timepoints=(90, 180, 365), time_unit="days"),
    "PFS": dict(name="PFS", label="Progression-free survival", origin="first infusion",
                events=("progression", "relapse", "death"), hsct="competing", group_by="diagnosis",
                time_unit="months"),
    "OS": dict(name="OS", label="Overall survival", origin="first infusion", events=("death",), hsct="ignore",
               group_by="diagnosis", time_unit="months"),
}


def hand_rows(seed: int = 1313) -> dict:
    """patients, infusions, events and assessments rows (dates as ISO text)."""
    rng = np.random.default_rng(seed)
    n = 120
    ball = np.arange(n) < 60
    origin = rng.integers(0, 540, size=n)  # day of infusion after START
    follow = np.minimum(rng.integers(150, 900, size=n), (CUTOFF - START).days - origin)
    responder = ball & (rng.random(n) < 0.75)
    cr_day = rng.choice([14, 21, 28], size=n)
    late_cr = ball & ~responder & (rng.random(n) < 0.3)
    relapse = 30 + np.floor(rng.exponential(np.where(ball, 300.0, 400.0))).astype(int)
    relapse = np.where(ball & ~responder, 5 + np.floor(rng.exponential(60.0, size=n)).astype(int), relapse)
    hsct = np.where((responder & (rng.random(n) < 0.4)) | (~ball & (rng.random(n) < 0.15)),
                    rng.integers(45, 151, size=n), -1)
    nrm = 1 + np.floor(rng.exponential(2500.0, size=n)).astype(int)
    nrm_after = np.where(hsct > 0, hsct + 1 + np.floor(rng.exponential(500.0, size=n)).astype(int), nrm)
    death_after = relapse + 1 + np.floor(rng.exponential(150.0, size=n)).astype(int)
    death = np.minimum(np.minimum(nrm, nrm_after), death_after)
    patients, infusions, events, assessments = [], [], [], []
    for i in range(n):  # building input rows, not analysing them
        pid = f"S{i + 1:03d}"
        d0 = START + dt.timedelta(days=int(origin[i]))
        end = min(int(follow[i]), int(death[i]))

        def day(k: int, _d0: dt.date = d0) -> str:
            return (_d0 + dt.timedelta(days=int(k))).isoformat()

        patients.append({"patient_id": pid, "diagnosis": "B-ALL" if ball[i] else "DLBCL",
                         "sex": "F" if i % 3 == 0 else "M"})
        infusions.append({"patient_id": pid, "episode": 1, "product": "CD19 CAR-T", "infusion_date": d0.isoformat()})
        if relapse[i] <= end and relapse[i] < death[i]:
            kind = "relapse" if responder[i] else "progression"
            events.append({"patient_id": pid, "kind": kind, "date": day(relapse[i]), "detail": None})
        if 0 < hsct[i] <= end and hsct[i] != relapse[i]:
            events.append({"patient_id": pid, "kind": "hsct", "date": day(hsct[i]), "detail": "allogeneic"})
        if death[i] <= follow[i]:
            events.append({"patient_id": pid, "kind": "death", "date": day(death[i]), "detail": None})
        else:
            events.append({"patient_id": pid, "kind": "last_contact", "date": day(follow[i]), "detail": None})
        if ball[i]:
            if responder[i] and cr_day[i] <= end:
                assessments.append({"patient_id": pid, "episode": 1, "day": int(cr_day[i]), "response": "CR"})
            elif not responder[i] and end >= 28:
                assessments.append({"patient_id": pid, "episode": 1, "day": 28, "response": "NR"})
                if late_cr[i] and end >= 42:
                    assessments.append({"patient_id": pid, "episode": 1, "day": 42, "response": "CR"})
    return {"patients": patients, "infusions": infusions, "events": events, "assessments": assessments}


def endpoint_data(rows: dict) -> dict:
    """Per endpoint, per patient: patient_id, group, days, status (0 censored, 1 the cause, 2 HSCT, 3 death
    without the cause), event (1 = status 1 or 3: the endpoint's event), and for HSCT as a time-dependent
    covariate days_followed, event_followed (the endpoint followed past HSCT) and switch (days to HSCT, None)."""
    d0 = {r["patient_id"]: dt.date.fromisoformat(r["infusion_date"]) for r in rows["infusions"]}
    diag = {r["patient_id"]: r["diagnosis"] for r in rows["patients"]}
    ev: dict[str, dict[str, int]] = {p: {} for p in d0}
    for r in rows["events"]:
        ev[r["patient_id"]][r["kind"]] = (dt.date.fromisoformat(r["date"]) - d0[r["patient_id"]]).days
    cr_by_28 = {r["patient_id"] for r in rows["assessments"] if r["response"] == "CR" and r["day"] <= 28}
    out = {}
    for name, spec in ENDPOINTS.items():
        cols = {k: [] for k in ("patient_id", "group", "days", "status", "event", "days_followed",
                                "event_followed", "switch")}
        for pid in sorted(d0):
            if spec.get("diseases") and diag[pid] not in spec["diseases"]:
                continue
            e = ev[pid]
            last = e.get("death", e.get("last_contact"))
            kinds = [k for k in spec["events"] if k in e]
            first = min(kinds, key=lambda k: e[k]) if kinds else None
            t_event = e[first] if first else None
            h = e.get("hsct")
            # followed past HSCT: the first event, else the last record
            followed = (t_event, 1) if first else (last, 0)
            if spec.get("no_response_by_day") and pid not in cr_by_28 and (
                    last >= spec["no_response_by_day"] or (t_event is not None and t_event < 28)):
                days, status = 0, 1
                followed = (0, 1)
            elif first is not None and (h is None or t_event <= h or spec["hsct"] == "ignore"):
                days, status = t_event, (3 if first == "death" and spec["events"] != ("death",) else 1)
            elif h is not None and spec["hsct"] == "competing":
                days, status = h, 2
            else:
                days, status = last, 0
            cols["patient_id"].append(pid)
            cols["group"].append(diag[pid] if spec.get("group_by") == "diagnosis" else "All")
            cols["days"].append(int(days))
            cols["status"].append(int(status))
            cols["event"].append(int(status in (1, 3)))
            cols["days_followed"].append(int(followed[0]))
            cols["event_followed"].append(int(followed[1]))
            cols["switch"].append(None if h is None else int(h))
        out[name] = cols
    return out


def hand_study(rows: dict):
    """The rows as a cartkit Study (and the assessments frame derive.response would give), with ``ENDPOINTS``
    as the plan's [[plan.endpoint]]."""
    from pathlib import Path

    import polars as pl

    from cartkit.study.model import Plan, Study, StudyMeta
    from cartkit.study.plan_endpoint import EndpointPlan, HsctRule

    patients = pl.DataFrame(rows["patients"])
    infusions = pl.DataFrame(rows["infusions"]).with_columns(pl.col("infusion_date").str.to_date())
    events = pl.DataFrame(rows["events"], schema={"patient_id": pl.String, "kind": pl.String, "date": pl.String,
                                                  "detail": pl.String}).with_columns(pl.col("date").str.to_date())
    assessments = pl.DataFrame(rows["assessments"])
    endpoints = tuple(EndpointPlan(**{**spec, "hsct": HsctRule(spec["hsct"])}) for spec in ENDPOINTS.values())
    study = Study(path=Path("."), meta=StudyMeta(id="hand-survival", data_cutoff=CUTOFF),
                  plan=Plan(endpoints=endpoints),
                  tables={"patients": patients, "infusions": infusions, "events": events})
    return study, assessments
