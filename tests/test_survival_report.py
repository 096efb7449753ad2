"""The report's recommended survival analysis against R (tests/r_reference_survival_report.json, written by
tests/make_r_reference_survival_report.py with the R call beside each value; these tests do not need R):
log-log Kaplan-Meier medians, log-rank and Cox hazard ratios between groups, cumulative incidence with HSCT
and death competing (cmprsk::cuminc, timepoints, Gray's test), HSCT as a time-dependent covariate
(coxph(Surv(tstart, tstop, ev) ~ hsct)) and the Simon-Makuch curves; EFS for B-ALL with no CR by day 28 an
event at day 0; the seed's recommended analysis, its few-events warnings, and the as-published switch."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from survival_report_data import ENDPOINTS, hand_study

from cartkit.analysis.populations import resolve_populations
from cartkit.analysis.survival_analysis import (
    AS_PUBLISHED,
    analysed_endpoints,
    endpoint_analysis,
    survival_conventions,
)
from cartkit.study.plan_endpoint import HsctRule

HERE = Path(__file__).resolve().parent
SEED = HERE.parent / "examples" / "seed-study"
REF = json.loads((HERE / "r_reference_survival_report.json").read_text())
TOL = dict(abs=1e-6, rel=0)


def _nan(values) -> list[float]:
    return [float("nan") if v is None else float(v) for v in np.atleast_1d(values)]


def _approx(got, expected) -> None:
    assert got == pytest.approx(_nan(expected), nan_ok=True, **TOL)


@pytest.fixture(scope="module")
def hand():
    rows = REF["hand_rows"]
    study, assessments = hand_study(rows)
    tables, notes = endpoint_analysis(study, resolve_populations(study), assessments, conf_type="log-log")
    return tables, notes


@pytest.fixture(scope="module")
def seed():
    from cartkit.study.load import load_study

    study = load_study(SEED)
    conventions = survival_conventions(study.plan)
    tables, notes = endpoint_analysis(study, resolve_populations(study), None,
                                      endpoints=analysed_endpoints(study.plan, conventions),
                                      conf_type=conventions.conf_type, level=conventions.level,
                                      timepoints=(study.plan.survival.landmark_day,))
    return tables, notes


def test_hand_endpoint_times_are_the_data_r_was_given(hand):
    """cartkit's endpoint engine gives the days and events tests/survival_report_data.py derives by plain rules
    (so R analysed what the report analyses): EFS counts a B-ALL patient without CR by day 28 at day 0."""
    tables, _ = hand
    for name, ep in REF["studies"]["hand"]["endpoints"].items():
        data = ep["data"]
        got = tables["endpoint_times"].filter(pl.col("endpoint") == name).sort("patient_id")
        assert got["patient_id"].to_list() == data["patient_id"]
        assert got["days"].to_list() == data["days"]
        assert got["event"].cast(pl.Int64).to_list() == data["event"]
        assert (got["status"] == 2).cast(pl.Int64).to_list() == [int(s == 2) for s in data["status"]]
    efs = REF["studies"]["hand"]["endpoints"]["EFS"]["data"]
    assert sum(d == 0 for d in efs["days"]) == 18  # no CR by day 28: an event at day 0
    assert set(tables["endpoint_times"].filter(pl.col("endpoint") == "EFS")["patient_id"].str.slice(0, 1)) == {"S"}
    assert tables["endpoint_times"].filter(pl.col("endpoint") == "EFS").height == 60  # B-ALL only


def _check_against_r(tables: dict, study: str) -> None:
    for name, ep in REF["studies"][study]["endpoints"].items():
        r = ep["r"]
        summary = tables["endpoint_summary"].filter(pl.col("endpoint") == name).sort("group")
        assert summary["conf_type"].to_list() == ["log-log"] * summary.height
        # quantile(survfit(Surv(t, e) ~ g, conf.type = 'log-log'), 0.5)
        _approx(summary["median"].to_list(), r["median"]["median"])
        _approx(summary["median_lower"].to_list(), r["median"]["lower"])
        _approx(summary["median_upper"].to_list(), r["median"]["upper"])
        test = tables["endpoint_tests"].filter(pl.col("endpoint") == name).row(0, named=True)
        if "tests" in r:  # survdiff(Surv(t, e) ~ g); summary(coxph(Surv(t, e) ~ relevel(g, ref)))
            assert test["comparison"] == "DLBCL vs B-ALL"
            _approx([test["logrank_statistic"], test["logrank_pvalue"]], [r["tests"]["chisq"], r["tests"]["p"]])
            _approx([test["hr"], test["hr_lower"], test["hr_upper"], test["hr_pvalue"]],
                    [*r["tests"]["hr"], r["tests"]["p_wald"]])
        else:
            assert test["note"] == "one group: no comparison"
        if ep["competing"]:  # timepoints(cuminc(t, status, g), days / scale), log-log limits
            cif = tables["endpoint_cif"].filter(pl.col("endpoint") == name)
            for g in r["cif"]["by_group"]:
                rows = cif.filter(pl.col("group") == g["group"]).sort("day")
                assert rows["day"].to_list() == list(np.atleast_1d(r["cif"]["days"]))
                for col, key in (("estimate", "est"), ("variance", "var"), ("lower", "lower"), ("upper", "upper")):
                    _approx(rows[col].to_list(), g[key])
            gray = tables["endpoint_cif_tests"].filter(pl.col("endpoint") == name).row(0, named=True)
            if "gray" in r:  # cuminc(t, status, g)$Tests['1', ]
                _approx([gray["statistic"], gray["pvalue"], gray["df"]], [r["gray"]["stat"], r["gray"]["p"],
                                                                          r["gray"]["df"]])
            else:
                assert gray["pvalue"] is None
        else:
            cif = tables["endpoint_cif"]
            assert cif is None or cif.filter(pl.col("endpoint") == name).height == 0
        td = r["td"]  # summary(coxph(Surv(tstart, tstop, ev) ~ hsct, data = tmerge rows))
        cox = tables["endpoint_hsct_cox"].filter(pl.col("endpoint") == name).row(0, named=True)
        assert cox["left_out"] == td["left_out"]
        _approx([cox["score_statistic"], cox["score_pvalue"]], [td["score"], td["score_p"]])
        if td["hr"][2] is None:  # no event after HSCT: R's coefficient runs off (upper limit NA); cartkit says so
            assert cox["hr"] is None and "not estimable" in cox["note"]
        else:
            _approx([cox["hr"], cox["hr_lower"], cox["hr_upper"], cox["hr_pvalue"]], [*td["hr"], td["p"]])
        # survfit(Surv(tstart, tstop, ev) ~ hsct, data = b, conf.type = 'log-log'): cartkit adds a start row per state
        sm = tables["endpoint_simon_makuch"].filter(pl.col("endpoint") == name)
        for code, state in (("0", "no HSCT"), ("1", "HSCT")):
            want = [i for i, s in enumerate(td["sm"]["state"]) if s == code]
            got = sm.filter(pl.col("state") == state).slice(1)
            assert got.height == len(want), (name, state)
            for col, key in (("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"), ("survival", "surv"),
                             ("lower", "lower"), ("upper", "upper")):
                _approx(got[col].cast(pl.Float64).to_list(), [td["sm"][key][i] for i in want])


def test_hand_study_agrees_with_r(hand):
    tables, notes = hand
    assert notes == []
    _check_against_r(tables, "hand")
    # the cause and its competing events are named from the endpoint's events
    efs = tables["endpoint_cif"].filter(pl.col("endpoint") == "EFS").row(0, named=True)
    assert efs["cause"] == "relapse, progression or no response by day 28"
    assert efs["competing"] == "HSCT; death without relapse, progression or no response by day 28"
    assert (efs["n"], efs["events"], efs["competing_events"]) == (60, 39, 17)
    assert tables["endpoint_tests"]["warning"].is_null().all()  # 75 and 84 events: no few-events warning


def test_seed_recommended_analysis_agrees_with_r(seed):
    tables, _ = seed
    _check_against_r(tables, "seed")
    pfs = tables["endpoint_summary"].filter(pl.col("endpoint") == "PFS")
    assert set(pfs["censoring"]) == {HsctRule.COMPETING.label}
    assert set(tables["endpoint_summary"].filter(pl.col("endpoint") == "OS")["censoring"]) == {HsctRule.IGNORE.label}
    # 6 events for one covariate: the warning is on every hazard ratio
    assert all(w.startswith("6 events for 1 covariate(s), fewer than 10") for w in tables["endpoint_tests"]["warning"])
    assert tables["endpoint_hsct_cox"]["warning"].str.starts_with("only 6 events").all()


def test_seed_report_shows_the_recommended_survival_with_its_warnings():
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.report.html import render_html
    from cartkit.study.load import load_study

    study = load_study(SEED)
    results = analyse(study, derive(study))
    for name in ("endpoint_summary", "endpoint_tests", "endpoint_cif", "endpoint_cif_tests", "endpoint_cif_curves",
                 "endpoint_hsct_cox", "endpoint_simon_makuch"):
        assert results.get(name) is not None, name
    warnings = results.get("warnings")["text"].to_list()
    assert any("PFS on infused, hazard ratio of DLBCL vs B-ALL: 6 events for 1 covariate" in w for w in warnings)
    html = render_html(results, {})
    for text in ("Recommended analysis", "HSCT as a competing event", "Gray&#39;s test P", "0.114",
                 "HSCT as a time-dependent covariate", "Mantel-Byar P", "Few events: 6 events for 1 covariate",
                 "0.22 (0.04\u20131.28)", "66.7 (9.6\u201393.2)", "log-log scale",
                 "not reached (2.0\u2013NR) months"):  # DLBCL PFS: median not reached, lower limit 1.97 months
        assert text in html, text
    methods = dict(results.get("methods").iter_rows())
    text = methods["Survival conventions"]
    for words in ("log-log", "Aalen-Johansen", "Gray's test", "time-dependent", "Simon-Makuch", "10 events",
                  "As published", "95%"):
        assert words in text, words


def test_as_published_primary_still_runs_both_analyses_and_says_so():
    """plan.analysis names the primary analysis; both run: the [plan.survival] tables (log CIs, as published)
    and the recommended endpoints (log-log CIs); Methods say which is primary; the level is 1 - alpha."""
    from cartkit.analysis.survival_analysis import survival_methods_text
    from cartkit.study.load import load_study

    plan = load_study(SEED).plan
    assert plan.analysis == "as_published"  # the seed's study.toml (docs/plan.md "Two analyses")
    conventions = survival_conventions(plan)
    assert (conventions.primary, conventions.conf_type, conventions.recommended_primary) == (
        AS_PUBLISHED, "log-log", False)
    assert [e.name for e in analysed_endpoints(plan, conventions)] == ["PFS", "OS"]
    assert "the plan names the as published analysis primary" in survival_methods_text(plan)
    recommended = SimpleNamespace(**{k: getattr(plan, k) for k in ("alpha", "endpoints", "survival")},
                                  confidence_level=0.95, analysis="recommended")
    assert survival_conventions(recommended).recommended_primary
    assert survival_conventions(SimpleNamespace(alpha=0.05)).primary == "recommended"  # no key: the default
    assert "the recommended analysis is primary" in survival_methods_text(recommended)
    assert survival_conventions(SimpleNamespace(alpha=0.1)).level == pytest.approx(0.9)


def test_endpoint_timepoints_and_diseases_are_read(tmp_path):
    from test_study_builders import STUDY_TOML, write_study

    from cartkit.study.load import load_study
    from cartkit.study.validate import validate_study

    extra = ('\n[[plan.endpoint]]\nname = "EFS"\norigin = "first infusion"\nevents = ["relapse", "death"]\n'
             'no_response_by_day = 28\ndiseases = ["B-ALL"]\nhsct = "competing"\ntimepoints = [90, 365]\n')
    folder = write_study(tmp_path / "ok", toml=STUDY_TOML + extra)
    (ep,) = load_study(folder).plan.endpoints
    assert (ep.diseases, ep.timepoints, ep.hsct) == (("B-ALL",), (90, 365), HsctRule.COMPETING)
    day0 = write_study(tmp_path / "day0", toml=STUDY_TOML + extra.replace("[90, 365]", "[0, 365]"))
    assert ("plan.endpoint[1].timepoints", 0) in {(p.column, p.value) for p in validate_study(day0)}
    aml = write_study(tmp_path / "aml", toml=STUDY_TOML + extra.replace('["B-ALL"]', '["AML"]'))
    assert ("plan.endpoint[1].diseases", "AML") in {(p.column, p.value) for p in validate_study(aml)}


@pytest.mark.slow
def test_simulated_b_all_efs_runs_through_the_report(tmp_path):
    """EFS for B-ALL defined in the plan of a simulated study: endpoint tables, cumulative incidence and the
    two figures in the written report."""
    from cartkit.pipeline import run_study
    from cartkit.simulate import simulate_study

    folder = simulate_study(tmp_path / "sim", patients=120, seed=13, format="csv")
    spec = ENDPOINTS["EFS"]
    toml = (folder / "study.toml").read_text(encoding="utf-8")
    toml += ('\n[[plan.endpoint]]\nname = "EFS"\nlabel = "Event-free survival (B-ALL)"\norigin = "first infusion"\n'
             'events = ["relapse", "progression", "death"]\nno_response_by_day = 28\ndiseases = ["B-ALL"]\n'
             f'hsct = "competing"\ntimepoints = {list(spec["timepoints"])}\n'
             '\n[[plan.endpoint]]\nname = "PFS"\norigin = "first infusion"\nevents = ["progression", "relapse", '
             '"death"]\nhsct = "competing"\ngroup_by = "diagnosis"\ntime_unit = "months"\n')
    (folder / "study.toml").write_text(toml, encoding="utf-8")
    out = tmp_path / "out"
    index = run_study(folder, out)
    html = index.read_text(encoding="utf-8")
    assert "HSCT as a competing event" in html and "Event-free survival (B-ALL)" in html
    cif = pl.read_csv(out / "tables" / "endpoint_cif.csv")
    efs = cif.filter(pl.col("endpoint") == "EFS")
    assert efs["day"].to_list() == [90, 180, 365] and set(efs["group"]) == {"All"}
    summary = pl.read_csv(out / "tables" / "endpoint_summary.csv")
    patients = pl.read_csv(folder / "patients.csv")
    assert summary.filter(pl.col("endpoint") == "EFS")["n"].sum() == patients.filter(
        pl.col("diagnosis") == "B-ALL").height
    for fid in ("cumulative-incidence", "simon-makuch"):
        assert (out / "figures" / f"{fid}.svg").is_file(), fid


def test_seed_as_published_logrank_table_has_medians_and_hazard_ratios_as_r():
    """The as-published [plan.survival] table keeps its log-scale CIs and gains each group's median (95% CI) and
    the Cox hazard ratio (95% CI) with the few-events warning; R on derive's rows (seed_published)."""
    from cartkit.analysis.survival_analysis import survival_analysis
    from cartkit.derive import derive
    from cartkit.report.tables import logrank_table
    from cartkit.study.load import load_study

    study = load_study(SEED)
    plan = study.plan.survival
    _, _, tests = survival_analysis(derive(study).tte, plan.group_by, tuple(plan.endpoints), plan.landmark_day,
                                    plan.time_unit)
    for key, ep in REF["studies"]["seed_published"]["endpoints"].items():
        endpoint, rule = key.split("|")
        row = tests.filter((pl.col("endpoint") == endpoint) & (pl.col("censoring") == rule)).row(0, named=True)
        r = ep["r"]  # quantile(survfit(Surv(t, e) ~ g, conf.type = 'log'), 0.5); summary(coxph(...))
        for i, g in enumerate(r["median"]["group"]):
            _approx([row[f"km_median_{g}"], row[f"km_median_lower_{g}"], row[f"km_median_upper_{g}"]],
                    [r["median"]["median"][i], r["median"]["lower"][i], r["median"]["upper"][i]])
        _approx([row["statistic"], row["pvalue"]], [r["tests"]["chisq"], r["tests"]["p"]])
        _approx([row["hr"], row["hr_lower"], row["hr_upper"], row["hr_pvalue"]], [*r["tests"]["hr"],
                                                                                  r["tests"]["p_wald"]])
        assert row["hr_comparison"] == "DLBCL vs B-ALL" and row["hr_warning"].startswith("only 6 events")
    table = logrank_table(tests)
    assert "Hazard ratio (95% CI)" in [c.text for c in table.header[0]]
    first = [c.text for c in table.rows[0].cells]
    assert "0.22 (0.04\u20131.28), DLBCL vs B-ALL*" in first and "1.7 (0.7\u2013NR)" in first
    assert any(n.startswith("* Few events: only 6 events") for n in table.footnotes)


def test_competing_endpoint_without_any_event_has_zero_incidence_and_no_curves():
    """All censored (only last contacts recorded): the cumulative incidence is 0 at every timepoint, Gray's
    test has nothing to test, and there is no curve to draw (the report says why, no crash)."""
    rows = {**REF["hand_rows"], "events": [e for e in REF["hand_rows"]["events"] if e["kind"] == "last_contact"]}
    study, assessments = hand_study(rows)
    pfs = next(e for e in study.plan.endpoints if e.name == "PFS")
    tables, _ = endpoint_analysis(study, resolve_populations(study), assessments, endpoints=(pfs,),
                                  conf_type="log-log")
    assert tables["endpoint_cif"]["estimate"].to_list() == [0.0, 0.0]
    assert tables["endpoint_cif_tests"]["pvalue"].to_list() == [None]
    assert tables["endpoint_cif_curves"] is None and tables["endpoint_hsct_cox"] is None
    assert tables["endpoint_tests"]["note"].to_list() == ["no events: no comparison"]
