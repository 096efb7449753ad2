"""Regenerate tests/r_reference_survival_competing.json: cumulative incidence, Gray's test, Kaplan-Meier
with events at time 0, two-group hazard ratios, median survival, counting-process Cox and the
Simon-Makuch estimate, each run through R.

Not a test (needs R with survival and cmprsk): ``python tests/make_r_reference_survival_competing.py``.
Each case holds its data (exported by R for R's own data sets), the R code that computed the reference
and the values R returned (``jsonlite::toJSON(digits = NA)``: 15 significant digits). The tests
(tests/test_survival_cumulative_incidence.py, tests/test_survival_time_dependent.py,
tests/test_survival_hazard_ratio.py) run the same data through cartkit and compare to 1e-6; they do not need R.

Data sets: ``survival::mgus2`` (progression with death as competing risk, by sex: Therneau's
"compete" vignette), ``cmprsk::cuminc``'s own example (set.seed(2), 3 groups, 2 strata), random
sets (numpy default_rng(300 + i)) with heavy ties, a tiny hand-checkable set with ties and events
of both causes and a censoring at time 0, ``survival::lung``, ``aml``, ``veteran`` and ``jasa``
(Stanford heart transplant, the classic time-dependent covariate), and simulated HSCT-like data.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("r_reference_survival_competing.json")

# R helpers shared by the cases (defined once at the top of the script)
PRELUDE = r"""
suppressMessages({library(survival); library(cmprsk); library(jsonlite)})
cases <- list()
jumps <- function(x) { i <- seq(3, length(x$time) - 1, by = 2); list(time = x$time[i], est = x$est[i], var = x$var[i]) }
loglog <- function(est, var, level = 0.95) {
  z <- qnorm(1 - (1 - level) / 2); w <- z * sqrt(var) / (est * log(est))
  ok <- est > 0 & est < 1
  list(lower = ifelse(ok, est^exp(-w), NA), upper = ifelse(ok, est^exp(w), NA))
}
cuminc_case <- function(id, time, status, group = NULL, strata = NULL, rho = 0, cause = 1, at = NULL, level = 0.95) {
  args <- list(ftime = time, fstatus = status, rho = rho)
  if (!is.null(group)) args$group <- group
  if (!is.null(strata)) args$strata <- strata
  r <- do.call(cuminc, args)
  labs <- if (is.null(group)) "1" else levels(as.factor(group))
  out <- list()
  for (g in labs) {
    nm <- paste(g, cause)
    j <- jumps(r[[nm]])
    out[[g]] <- c(j, loglog(j$est, j$var, level))
  }
  tp <- NULL
  if (!is.null(at)) { tp <- timepoints(r, at); tp <- list(est = tp$est[paste(labs, cause), , drop = FALSE],
                                                          var = tp$var[paste(labs, cause), , drop = FALSE]) }
  tests <- if (!is.null(r$Tests)) as.list(r$Tests[as.character(cause), ]) else NULL
  cases[[id]] <<- list(kind = "cuminc",
    data = list(time = time, status = status, group = group, strata = strata, rho = rho, cause = cause, at = at,
                level = level),
    r_call = deparse1(as.call(c(quote(cuminc), args))), groups = labs,
    r_value = list(curves = out, at_est = if (is.null(tp)) NULL else unname(split(tp$est, row(tp$est))),
                   at_var = if (is.null(tp)) NULL else unname(split(tp$var, row(tp$var))), tests = tests))
}
km_case <- function(id, time, event, conf.type = "log") {
  f <- survfit(Surv(time, event) ~ 1, conf.type = conf.type); q <- quantile(f, 0.5)
  cases[[id]] <<- list(kind = "km", data = list(time = time, event = event, conf_type = conf.type),
    r_call = sprintf("survfit(Surv(time, event) ~ 1, conf.type = '%s'); quantile(f, 0.5)", conf.type),
    r_value = list(time = f$time, n_risk = f$n.risk, n_event = f$n.event, surv = f$surv,
                   std_err = f$std.err * f$surv, lower = f$lower, upper = f$upper,
                   median = unname(c(q$quantile, q$lower, q$upper))))
}
hr_case <- function(id, time, event, group, ref = NULL, strata = NULL) {
  g <- factor(group); if (!is.null(ref)) g <- relevel(g, ref)
  f <- if (is.null(strata)) coxph(Surv(time, event) ~ g) else coxph(Surv(time, event) ~ g + strata(strata))
  sm <- summary(f)
  cases[[id]] <<- list(kind = "hr", data = list(time = time, event = event, group = group, reference = ref,
                                                strata = strata),
    r_call = paste("summary(coxph(Surv(time, event) ~ factor(group)", if (is.null(strata)) "" else "+ strata(s)",
                   "))  [relevel()ed to reference if given]"),
    r_value = list(hr = unname(sm$conf.int[1, c(1, 3, 4)]), coef = unname(coef(f)), se = unname(sqrt(vcov(f)[1, 1])),
                   p = unname(sm$coefficients[1, 5]), score = unname(sm$sctest[1]), lr = unname(sm$logtest[1])))
}
median_case <- function(id, time, event, group, conf.type) {
  f <- survfit(Surv(time, event) ~ group, conf.type = conf.type); tb <- summary(f)$table
  cases[[id]] <<- list(kind = "median", data = list(time = time, event = event, group = group, conf_type = conf.type),
    r_call = sprintf("summary(survfit(Surv(time, event) ~ group, conf.type = '%s'))$table", conf.type),
    r_value = list(n = unname(tb[, "records"]), events = unname(tb[, "events"]), median = unname(tb[, "median"]),
                   lower = unname(tb[, paste0("0.95LCL")]), upper = unname(tb[, paste0("0.95UCL")])))
}
td_case <- function(id, time, event, switch, conf.type = "log") {
  d <- data.frame(id = seq_along(time), time = time, event = event, sw = switch)
  b <- tmerge(d[, c("id", "time", "event")], d[, c("id", "time", "event")], id = id, ev = event(time, event))
  b <- tmerge(b, subset(d, !is.na(sw)), id = id, hsct = tdc(sw))
  f <- coxph(Surv(tstart, tstop, ev) ~ hsct, data = b); sm <- summary(f)
  k <- survfit(Surv(tstart, tstop, ev) ~ hsct, data = b, conf.type = conf.type)
  st <- rep(sub("hsct=", "", names(k$strata)), k$strata)
  cases[[id]] <<- list(kind = "time_dependent",
    data = list(time = time, event = event, switch = switch, conf_type = conf.type),
    r_call = paste("b <- tmerge(d, d, id = id, ev = event(time, event)); b <- tmerge(b, subset(d, !is.na(sw)),",
                   "id = id, hsct = tdc(sw)); coxph(Surv(tstart, tstop, ev) ~ hsct, data = b);",
                   sprintf("survfit(Surv(tstart, tstop, ev) ~ hsct, data = b, conf.type = '%s')", conf.type)),
    r_value = list(split = list(id = b$id - 1, start = b$tstart, stop = b$tstop, event = b$ev, hsct = b$hsct),
                   cox = list(coef = unname(coef(f)), se = unname(sqrt(vcov(f)[1, 1])), loglik = f$loglik,
                              hr = unname(sm$conf.int[1, c(1, 3, 4)]), p = unname(sm$coefficients[1, 5]),
                              score = unname(sm$sctest[1]), lr = unname(sm$logtest[1])),
                   curve = list(state = as.numeric(st), time = k$time, n_risk = k$n.risk, n_event = k$n.event,
                                n_censor = k$n.censor, surv = k$surv, std_err = k$std.err * k$surv,
                                lower = k$lower, upper = k$upper)))
}
"""


def rvec(a) -> str:
    a = np.asarray(a)
    if a.dtype.kind in "US":
        return "c(" + ", ".join(f'"{v}"' for v in a) + ")"
    return "c(" + ", ".join(repr(float(v)) if a.dtype.kind == "f" else str(int(v)) for v in a) + ")"


BLOCKS: list[str] = []


def r(block: str) -> None:
    BLOCKS.append(block)


# --- cumulative incidence -------------------------------------------------------------------------------------
# hand-checkable: ties within and across causes, a censoring tied with events, events and a censoring at time 0
r("cuminc_case('tiny_ties_time0', c(0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 6), c(1, 2, 0, 1, 1, 2, 0, 1, 2, 1, 0, 1), "
  "at = c(0, 0.5, 1, 2, 3.5, 4, 6, 7))")
r("cuminc_case('tiny_ties_time0_cause2', c(0, 0, 0, 1, 2, 2, 2, 3, 4, 4, 5, 6), c(1, 2, 0, 1, 1, 2, 0, 1, 2, 1, 0, 1), "
  "cause = 2, at = c(0, 2, 4, 6))")
r("cuminc_case('tiny_two_groups', c(0, 1, 2, 2, 3, 5, 0, 1, 1, 3, 4, 4), c(1, 1, 2, 1, 0, 1, 2, 1, 1, 1, 2, 0), "
  "group = c(rep('A', 6), rep('B', 6)), at = c(0, 1, 2, 3, 4, 5))")
# B-ALL style: no remission = an event at day 0 (several), relapse later, HSCT competing
r("cuminc_case('no_remission_day0', c(0, 0, 0, 30, 45, 60, 60, 90, 120, 200, 365, 400), "
  "c(1, 1, 1, 2, 1, 2, 1, 0, 1, 2, 0, 0), at = c(0, 1, 60, 365))")
# cmprsk's own example (?cuminc)
r("""set.seed(2); ss <- rexp(100); gg <- as.character(factor(sample(1:3, 100, replace = TRUE), 1:3, c('a', 'b', 'c')))
cc <- sample(0:2, 100, replace = TRUE); strt <- sample(1:2, 100, replace = TRUE)
cuminc_case('cmprsk_example', ss, cc, gg, at = c(0.5, 1, 1.5, 2))
cuminc_case('cmprsk_example_strata', ss, cc, gg, strata = strt)
cuminc_case('cmprsk_example_cause2', ss, cc, gg, cause = 2)
cuminc_case('cmprsk_example_rho1', ss, cc, gg, rho = 1)""")
# survival::mgus2 as in the compete vignette: progression (PCM) with death as competing risk, by sex
r("""m <- survival::mgus2; etime <- ifelse(m$pstat == 0, m$futime, m$ptime)
event <- ifelse(m$pstat == 0, 2 * m$death, 1)
cuminc_case('mgus2_sex', etime, event, as.character(m$sex), at = c(12, 60, 120, 240, 360))
cuminc_case('mgus2_death_sex', etime, event, as.character(m$sex), cause = 2, at = c(12, 60, 120, 240))
cuminc_case('mgus2_sex_level90', etime, event, as.character(m$sex), level = 0.9)""")
for i in range(3):
    rng = np.random.default_rng(300 + i)
    n = [15, 40, 150][i]
    t = rng.integers(0, [5, 12, 40][i], size=n)  # heavy ties, some at 0
    st = rng.choice([0, 1, 2, 3], size=n, p=[0.3, 0.35, 0.25, 0.1])  # two competing causes
    g = rng.choice(["x", "y"] if i < 2 else ["x", "y", "z"], size=n)
    s = rng.integers(1, 3, size=n)
    T, S, G, ST = rvec(t), rvec(st), rvec(g), rvec(s)
    r(f"cuminc_case('random{i}', {T}, {S}, {G}, at = c(0, 1, 3, 7, 100))")
    r(f"cuminc_case('random{i}_strata', {T}, {S}, {G}, strata = {ST})")
    r(f"cuminc_case('random{i}_cause3', {T}, {S}, {G}, cause = 3)")

# --- Kaplan-Meier with events at time 0 (EFS: no remission = event at day 0) ----------------------------------
for ct in ("log", "log-log", "plain"):
    r(f"km_case('km_day0_{ct}', c(0, 0, 0, 0, 30, 45, 60, 60, 90, 120, 200, 365, 400), "
      f"c(1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0), '{ct}')")
r("km_case('km_all_day0', c(0, 0, 0), c(1, 1, 0), 'log-log')")

# --- two-group hazard ratios and median survival with CI (R's own data sets) ---------------------------------
r("""l <- survival::lung; lt <- l$time; le <- l$status - 1; ls <- ifelse(l$sex == 1, 'male', 'female')
hr_case('hr_lung_sex', lt, le, ls)
hr_case('hr_lung_sex_ref_male', lt, le, ls, 'male')
a <- survival::aml; hr_case('hr_aml', a$time, a$status, as.character(a$x))
v <- survival::veteran; hr_case('hr_veteran_trt', v$time, v$status, v$trt)
hr_case('hr_veteran_trt_strata_celltype', v$time, v$status, v$trt, strata = as.character(v$celltype))
hr_case('hr_lung_sex_strata_inst', lt[!is.na(l$inst)], le[!is.na(l$inst)], ls[!is.na(l$inst)], strata = l$inst[!is.na(l$inst)])
hr_case('hr_few_events', c(3, 5, 7, 9, 11, 13, 4, 6, 8, 10), c(1, 0, 1, 0, 1, 0, 1, 1, 0, 1), rep(c('A', 'B'), c(6, 4)))
for (ct in c('log', 'log-log', 'plain')) {
  median_case(paste0('median_lung_sex_', ct), lt, le, ls, ct)
  median_case(paste0('median_aml_', ct), a$time, a$status, as.character(a$x), ct)
  median_case(paste0('median_veteran_celltype_', ct), v$time, v$status, as.character(v$celltype), ct)
}""")

# --- HSCT as a time-dependent covariate: counting-process Cox and the Simon-Makuch curves -------------------
# survival::jasa (Stanford heart transplant) prepared as in the survival package's "timedep" vignette
r("""j <- jasa; jt <- pmax(0.5, j$futime); jw <- j$wait.time; i <- which(jw == jt); jw[i] <- jw[i] - 0.5
td_case('td_jasa', jt, j$fustat, jw)
td_case('td_jasa_loglog', jt, j$fustat, jw, 'log-log')
d <- data.frame(id = seq_along(jt), time = jt, event = j$fustat, sw = jw, age = j$age, surgery = j$surgery)
b <- tmerge(d, d, id = id, ev = event(time, event)); b <- tmerge(b, subset(d, !is.na(sw)), id = id, hsct = tdc(sw))
f <- coxph(Surv(tstart, tstop, ev) ~ hsct + age + surgery, data = b)
g <- coxph(Surv(tstart, tstop, ev) ~ hsct + age + strata(surgery), data = b)
cases[['td_jasa_adjusted']] <- list(kind = "time_dependent_adjusted",
  data = list(time = jt, event = j$fustat, switch = jw, age = j$age, surgery = j$surgery),
  r_call = paste("coxph(Surv(tstart, tstop, ev) ~ hsct + age + surgery, data = b) and",
                 "coxph(Surv(tstart, tstop, ev) ~ hsct + age + strata(surgery), data = b) on the tmerge rows"),
  r_value = list(coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f)))), loglik = f$loglik,
                 strata_coef = unname(coef(g)), strata_se = unname(sqrt(diag(vcov(g)))), strata_loglik = g$loglik))""")
# tiny set: switch at 0, switch on the event day (counts before HSCT), switch after follow-up, never
r("td_case('td_tiny', c(10, 8, 5, 12, 6, 0.5, 9, 7), c(1, 1, 0, 1, 1, 1, 0, 1), c(3, 8, NA, 0, 10, 0, 9, 3))")
for i in range(3):
    rng = np.random.default_rng(400 + i)
    n = [20, 60, 200][i]
    t = rng.integers(1, [30, 90, 365][i], size=n).astype(float)  # whole days: ties, and switches tied with events
    e = (rng.random(n) < 0.6).astype(int)
    sw = np.where(rng.random(n) < 0.4, rng.integers(0, [30, 90, 365][i], size=n), -1).astype(float)
    SW = "c(" + ", ".join("NA" if v < 0 else repr(float(v)) for v in sw) + ")"
    for ct in ("log", "log-log") if i == 1 else ("log",):
        r(f"td_case('td_random{i}_{ct}', {rvec(t)}, {rvec(e)}, {SW}, '{ct}')")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cases.R"
        out = Path(tmp) / "out.json"
        script.write_text(PRELUDE + "\n".join(BLOCKS) + "\n"
                          f"writeLines(toJSON(list(r_version = paste(R.version$major, R.version$minor, sep = '.'), "
                          f"survival = as.character(packageVersion('survival')), "
                          f"cmprsk = as.character(packageVersion('cmprsk')), cases = cases), auto_unbox = TRUE, "
                          f"digits = NA, null = 'null', na = 'null'), '{out}')\n")
        subprocess.run(["/usr/bin/Rscript", str(script)], check=True)
        reference = json.loads(out.read_text())
    OUT.write_text(json.dumps(reference, indent=None, separators=(",", ":")) + "\n")
    print(f"{len(reference['cases'])} cases written to {OUT}")


if __name__ == "__main__":
    main()
