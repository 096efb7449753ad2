"""Regenerate tests/r_reference_survival_report.json: the report's recommended survival analysis through R.

Not a test (needs R with survival and cmprsk): ``python tests/make_r_reference_survival_report.py``.

Two studies, each endpoint's per-patient data stored with R's results (``jsonlite``, 15 significant digits):

* ``seed``: the seed study's recommended PFS (HSCT a competing event) and OS (HSCT not censored) from the
  CD22 CAR-T infusion, by diagnosis, in months (the per-patient days and status are cartkit's
  ``endpoint_times`` on examples/seed-study; tests/test_survival_per_patient.py checks those by hand);
* ``seed_published``: the seed's as-published ``[plan.survival]`` tables (PFS and OS under each HSCT reading,
  derive's time-to-event rows): Kaplan-Meier medians with log CIs (``conf.type = "log"``), log-rank and Cox;
* ``hand``: the 120-patient study of tests/survival_report_data.py (EFS for B-ALL with no CR by day 28 an
  event at day 0; PFS and OS by diagnosis), whose per-patient data are derived there by plain rules.

For each endpoint R computes (t = days / 30.4375 for months; e = the endpoint's event; 1 - KM cause-specific):
Kaplan-Meier medians with log-log CIs, ``quantile(survfit(Surv(t, e) ~ g, conf.type = "log-log"), 0.5)``;
``survdiff(Surv(t, e) ~ g)``; ``summary(coxph(Surv(t, e) ~ relevel(factor(g), ref)))``; with HSCT competing
``cuminc(t, status, g)`` and ``timepoints(fit, day / scale)`` for cause 1 (status 1 the cause, 2 HSCT, 3 death
without it), log-log limits from cuminc's estimate and variance, Gray's test ``fit$Tests``; HSCT as a
time-dependent covariate on the endpoint followed past HSCT (rows with follow-up 0 left out): ``tmerge`` rows,
``summary(coxph(Surv(tstart, tstop, ev) ~ hsct))`` and ``survfit(Surv(tstart, tstop, ev) ~ hsct,
conf.type = "log-log")`` (Simon-Makuch).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "r_reference_survival_report.json"

R_SCRIPT = r"""
suppressMessages({library(survival); library(cmprsk); library(jsonlite)})
input <- fromJSON(commandArgs(TRUE)[1], simplifyVector = TRUE)
num <- function(x) { x <- as.numeric(x); x[is.na(x)] <- NaN; x }
analyse <- function(d, scale, ref, days, competing, conf_type = "log-log") {
  t <- d$days / scale; e <- d$event; g <- factor(d$group)
  out <- list()
  f <- survfit(Surv(t, e) ~ g, conf.type = conf_type); q <- quantile(f, 0.5)
  out$median <- list(group = levels(g), median = num(q$quantile), lower = num(q$lower), upper = num(q$upper),
                     r_call = sprintf("quantile(survfit(Surv(t, e) ~ g, conf.type = '%s'), 0.5)", conf_type))
  if (is.null(d$days_followed)) return(c(out, list(tests = {
    sd <- survdiff(Surv(t, e) ~ g); gg <- relevel(g, ref); cx <- summary(coxph(Surv(t, e) ~ gg))
    list(chisq = sd$chisq, p = pchisq(sd$chisq, nlevels(g) - 1, lower.tail = FALSE),
         hr = unname(cx$conf.int[1, c(1, 3, 4)]), p_wald = unname(cx$coefficients[1, 5]),
         r_call = "survdiff(Surv(t, e) ~ g); summary(coxph(Surv(t, e) ~ relevel(g, ref)))")})))
  if (nlevels(g) > 1) {
    sd <- survdiff(Surv(t, e) ~ g)
    gg <- relevel(g, ref); cx <- summary(coxph(Surv(t, e) ~ gg))
    out$tests <- list(chisq = sd$chisq, p = pchisq(sd$chisq, nlevels(g) - 1, lower.tail = FALSE),
                      hr = unname(cx$conf.int[1, c(1, 3, 4)]), p_wald = unname(cx$coefficients[1, 5]),
                      r_call = "survdiff(Surv(t, e) ~ g); summary(coxph(Surv(t, e) ~ relevel(g, ref)))")
  }
  if (competing) {
    fit <- if (nlevels(g) > 1) cuminc(t, d$status, g) else cuminc(t, d$status)
    labs <- if (nlevels(g) > 1) levels(g) else "1"
    tp <- timepoints(fit, days / scale)
    z <- qnorm(0.975); cif <- list()
    for (k in seq_along(labs)) {
      est <- tp$est[paste(labs[k], 1), ]; v <- tp$var[paste(labs[k], 1), ]
      w <- z * sqrt(v) / (est * log(est)); ok <- est > 0 & est < 1
      cif[[k]] <- list(group = if (nlevels(g) > 1) labs[k] else levels(g)[1], est = num(est), var = num(v),
                       lower = num(ifelse(ok, est^exp(-w), NA)), upper = num(ifelse(ok, est^exp(w), NA)))
    }
    out$cif <- list(days = days, by_group = cif,
                    r_call = "timepoints(cuminc(t, status, g), days / scale); log-log limits est^exp(-+z sqrt(var) / (est log est))")
    if (!is.null(fit$Tests)) out$gray <- list(stat = fit$Tests["1", "stat"], p = fit$Tests["1", "pv"],
                                              df = fit$Tests["1", "df"], r_call = "cuminc(t, status, g)$Tests['1', ]")
  }
  keep <- d$days_followed > 0
  if (any(!is.na(d$switch[keep]) & d$switch[keep] < d$days_followed[keep])) {
    b0 <- data.frame(id = seq_len(sum(keep)), time = d$days_followed[keep] / scale, ev = d$event_followed[keep],
                     sw = d$switch[keep] / scale)
    b <- tmerge(b0[, c("id", "time", "ev")], b0[, c("id", "time", "ev")], id = id, ev = event(time, ev))
    b <- tmerge(b, subset(b0, !is.na(sw)), id = id, hsct = tdc(sw))
    cx <- suppressWarnings(coxph(Surv(tstart, tstop, ev) ~ hsct, data = b)); s <- summary(cx)
    k <- survfit(Surv(tstart, tstop, ev) ~ hsct, data = b, conf.type = "log-log")
    st <- rep(sub("hsct=", "", names(k$strata)), k$strata)
    out$td <- list(hr = unname(s$conf.int[1, c(1, 3, 4)]), p = unname(s$coefficients[1, 5]), score = unname(s$sctest[1]),
                   score_p = unname(s$sctest[3]), left_out = sum(!keep),
                   sm = list(state = st, time = k$time, n_risk = k$n.risk, n_event = k$n.event, surv = k$surv,
                             lower = num(k$lower), upper = num(k$upper)),
                   r_call = paste("b <- tmerge(d, d, id = id, ev = event(time, ev)); b <- tmerge(b, subset(d, !is.na(sw)),",
                                  "id = id, hsct = tdc(sw)); summary(coxph(Surv(tstart, tstop, ev) ~ hsct, data = b));",
                                  "survfit(Surv(tstart, tstop, ev) ~ hsct, data = b, conf.type = 'log-log')"))
  }
  out
}
res <- list(r_version = R.version.string, survival = as.character(packageVersion("survival")),
            cmprsk = as.character(packageVersion("cmprsk")), studies = list())
for (sname in names(input)) {
  s <- input[[sname]]; res$studies[[sname]] <- list(endpoints = list())
  for (ename in names(s$endpoints)) {
    ep <- s$endpoints[[ename]]
    if (!is.null(ep$conf_type)) {  # the as-published [plan.survival] tables: KM (log CIs) and Cox only
      d <- as.data.frame(ep$data[c("group", "days", "event")])
      res$studies[[sname]]$endpoints[[ename]] <- analyse(d, ep$scale, ep$reference, NULL, FALSE, ep$conf_type)
      next
    }
    d <- as.data.frame(ep$data[c("group", "days", "status", "event", "days_followed", "event_followed")])
    sw <- ep$data$switch
    d$switch <- if (is.list(sw)) as.numeric(sapply(sw, function(x) if (is.null(x)) NA else x)) else as.numeric(sw)
    res$studies[[sname]]$endpoints[[ename]] <- analyse(d, ep$scale, ep$reference, ep$days, ep$competing)
  }
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, null = "null", na = "null"), commandArgs(TRUE)[2])
"""


def _seed_input() -> dict:
    """The seed's recommended PFS and OS per patient, from cartkit's endpoint_times."""
    from dataclasses import replace

    import polars as pl

    from cartkit.analysis.hsct_survival import competing_status, hsct_days
    from cartkit.analysis.survival_analysis import analysed_endpoints, survival_conventions
    from cartkit.study.load import load_study
    from cartkit.study.plan_endpoint import HsctRule
    from cartkit.survival.events import endpoint_times

    study = load_study(HERE.parent / "examples" / "seed-study")
    out = {}
    for ep in analysed_endpoints(study.plan, survival_conventions(study.plan)):
        t = endpoint_times(study, ep).join(study.patients.select("patient_id", group="diagnosis"), on="patient_id")
        f = endpoint_times(study, replace(ep, hsct=HsctRule.IGNORE))
        f = t.select("patient_id", "origin_date").join(f, on=["patient_id", "origin_date"], how="left")
        out[ep.name] = {"scale": 30.4375, "reference": "B-ALL", "days": list(ep.timepoints),
                        "competing": ep.hsct == HsctRule.COMPETING,
                        "data": {"patient_id": t["patient_id"].to_list(), "group": t["group"].to_list(),
                                 "days": t["days"].to_list(), "status": competing_status(t, ep).tolist(),
                                 "event": t["event"].cast(pl.Int64).to_list(), "days_followed": f["days"].to_list(),
                                 "event_followed": f["event"].cast(pl.Int64).to_list(),
                                 "switch": hsct_days(study, f).to_list()}}
    return out


def _seed_published_input() -> dict:
    """The seed's as-published [plan.survival] tables: PFS and OS under each HSCT reading (derive's tte)."""
    from cartkit.derive import derive
    from cartkit.study.load import load_study

    study = load_study(HERE.parent / "examples" / "seed-study")
    out = {}
    for rule, frame in derive(study).tte.items():
        for endpoint in ("pfs", "os"):
            data = frame.drop_nulls([f"{endpoint}_days", "diagnosis"]).sort("patient_id")
            out[f"{endpoint.upper()}|{rule}"] = {
                "scale": 30.4375, "reference": "B-ALL", "conf_type": "log",
                "data": {"patient_id": data["patient_id"].to_list(), "group": data["diagnosis"].to_list(),
                         "days": data[f"{endpoint}_days"].to_list(),
                         "event": data[f"{endpoint}_event"].cast(int).to_list()}}
    return out


def _hand_input() -> tuple[dict, dict]:
    from survival_report_data import DAYS_PER_MONTH, ENDPOINTS, endpoint_data, hand_rows

    rows = hand_rows()
    data = endpoint_data(rows)
    out = {}
    for name, spec in ENDPOINTS.items():
        out[name] = {"scale": DAYS_PER_MONTH if spec["time_unit"] == "months" else 1.0, "reference": "B-ALL",
                     "days": list(spec.get("timepoints", (180,))), "competing": spec["hsct"] == "competing",
                     "data": data[name]}
    return rows, out


def main() -> None:
    rows, hand = _hand_input()
    given = {"seed": {"endpoints": _seed_input()}, "hand": {"endpoints": hand},
             "seed_published": {"endpoints": _seed_published_input()}}
    with tempfile.TemporaryDirectory() as tmp:
        script, inp, out = Path(tmp) / "report.R", Path(tmp) / "in.json", Path(tmp) / "out.json"
        script.write_text(R_SCRIPT)
        inp.write_text(json.dumps(given))
        subprocess.run(["/usr/bin/Rscript", str(script), str(inp), str(out)], check=True)
        r = json.loads(out.read_text())
    for sname, study in given.items():
        for ename, ep in study["endpoints"].items():
            ep["r"] = r["studies"][sname]["endpoints"][ename]
    reference = {"r_version": r["r_version"], "survival": r["survival"], "cmprsk": r["cmprsk"],
                 "hand_rows": rows, "studies": given}
    OUT.write_text(json.dumps(reference, indent=None, separators=(",", ":")) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    # run as a script: the study data module beside it and this checkout's cartkit (never at import: pytest
    # collects this file for its doctests and must keep the installed cartkit)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "src"))
    main()
