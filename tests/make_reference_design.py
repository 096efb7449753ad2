"""Regenerate tests/reference_design.json: the study designs of cartkit.design, each computed in R.

Not a test (needs R): ``CLINFUN_LIB=/path/to/Rlib python tests/make_reference_design.py``.

* Simon two-stage (optimal, minimax, admissible) and single-stage designs: R package clinfun 1.1.6
  (``ph2simon``, ``twostage.admissible``, ``oc.twostage.bdry``, ``ph2single``). clinfun is on CRAN,
  not in Debian; without CRAN access it was installed with ``R CMD INSTALL`` from the package's
  source repository (github.com/veseshan/clinfun, version 1.1.6 as on CRAN) into CLINFUN_LIB.
  Grid (issue 15): p0 = 0.05, 0.10, ..., 0.70; p1 = p0 + 0.15 and p0 + 0.20; alpha 0.05 and 0.10;
  beta 0.10 and 0.20; nmax = 150. The weight range q of each admissible design is clinfun's
  formula at full precision (clinfun prints it rounded to 3 decimals; both are stored).
* Log-rank events and subjects (Schoenfeld 1983; Freedman 1982) under exponential survival with
  uniform accrual: rpact 3.3.4 ``getSampleSizeSurvival`` / ``getPowerSurvival`` (Debian r-cran-rpact).
* The seed's CD22 CAR-T in DLBCL (6/7): Simon optimal and single-stage designs at the exact lower
  95 % limit (``qbeta(0.025, 6, 2)``) and at 6/7, each against p0 = p1 - 0.2 (``from-study``'s default).
* Two proportions: ``power.prop.test`` (R stats; normal approximation) and exact power of the
  two-sided Fisher test by enumerating every 2 x 2 outcome and running ``fisher.test`` on each.

Values are printed with format(v, digits = 17).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

OUT = Path(__file__).with_name("reference_design.json")

R_PROGRAM = r"""
lib <- Sys.getenv("CLINFUN_LIB")
if (nzchar(lib)) .libPaths(c(lib, .libPaths()))
suppressMessages({library(clinfun); library(rpact)})
num <- function(v) format(v, digits = 17)
out <- list(versions = list(R = R.version.string, clinfun = as.character(packageVersion("clinfun")),
                            rpact = as.character(packageVersion("rpact"))))
simon <- list()
for (p0 in seq(0.05, 0.70, by = 0.05)) for (d in c(0.15, 0.20)) for (a in c(0.05, 0.10)) for (b in c(0.10, 0.20)) {
  p0 <- round(p0, 2); p1 <- round(p0 + d, 2)
  x <- ph2simon(p0, p1, a, b, nmax = 150)
  xo <- x$xopt
  xout <- x$out
  nopt <- which(xout[, 5] == min(xout[, 5]))[1]
  # exact q breakpoints between consecutive admissible rows (clinfun rounds them to 3 digits)
  if (nrow(xo) > 1 && !(xo[1, 4] == xo[nrow(xo), 4] && xo[1, 2] == xo[nrow(xo), 2])) {
    dess <- diff(xo[, 5]); dmss <- diff(xo[, 4]); q <- dess / (dess - dmss)
    qlo <- c(q, 0); qhi <- c(1, q)
  } else { qlo <- 0; qhi <- 1; xo <- xo[1, , drop = FALSE] }
  designs <- list()
  for (i in seq_len(nrow(xo))) {
    oc <- oc.twostage.bdry(p0, p1, xo[i, 1], xo[i, 2], xo[i, 3], xo[i, 4])
    designs[[i]] <- list(label = rownames(x$xopt)[i], r1 = xo[i, 1], n1 = xo[i, 2], r = xo[i, 3], n = xo[i, 4],
                         en = num(xo[i, 5]), pet = num(xo[i, 6]), q_low = num(qlo[i]), q_high = num(qhi[i]),
                         q_low_printed = xo[i, 7], q_high_printed = xo[i, 8],
                         alpha = num(oc[[1]]), power = num(oc[[2]]))
  }
  simon[[length(simon) + 1]] <- list(p0 = p0, p1 = p1, alpha = a, beta = b, designs = designs)
}
out$simon <- simon
# the seed's CD22 CAR-T in DLBCL, 6/7: p1 at the exact 95 % lower limit and at 6/7, p0 = p1 - 0.2
seed <- list()
for (p1 in c(qbeta(0.025, 6, 2), 6 / 7)) {
  x <- ph2simon(p1 - 0.2, p1, 0.05, 0.2, nmax = 150)$xopt
  s1 <- ph2single(p1 - 0.2, p1, 0.05, 0.2, nsoln = 1)
  k <- nrow(x)
  seed[[length(seed) + 1]] <- list(p0 = num(p1 - 0.2), p1 = num(p1), r1 = x[k, 1], n1 = x[k, 2], r = x[k, 3],
                                   n = x[k, 4], en = num(x[k, 5]), single_n = s1$n[1], single_r = s1$r[1])
}
out$seed_dlbcl <- seed
single <- list()
for (p0 in c(0.05, 0.1, 0.2, 0.3, 0.5, 0.7)) for (d in c(0.15, 0.2)) for (a in c(0.05, 0.1)) for (b in c(0.1, 0.2)) {
  p1 <- round(p0 + d, 2)
  s <- ph2single(p0, p1, a, b, nsoln = 1)
  single[[length(single) + 1]] <- list(p0 = p0, p1 = p1, alpha = a, beta = b, n = s$n[1], r = s$r[1],
                                       type1 = num(s[1, 3]), type2 = num(s[1, 4]))
}
out$single <- single
prop <- list()
for (cs in list(c(0.2, 0.4, 0.05, 0.8), c(0.5, 0.75, 0.05, 0.9), c(0.1, 0.3, 0.01, 0.8), c(0.6, 0.85, 0.05, 0.8))) {
  n <- power.prop.test(p1 = cs[1], p2 = cs[2], sig.level = cs[3], power = cs[4])$n
  pw <- power.prop.test(n = 50, p1 = cs[1], p2 = cs[2], sig.level = cs[3])$power
  prop[[length(prop) + 1]] <- list(p1 = cs[1], p2 = cs[2], alpha = cs[3], power = cs[4], n = num(n),
                                   power_at_50 = num(pw))
}
out$prop_normal <- prop
fisher_power <- function(n1, n2, p1, p2, a) {
  tot <- 0
  for (x1 in 0:n1) for (x2 in 0:n2) {
    pv <- fisher.test(matrix(c(x1, n1 - x1, x2, n2 - x2), 2))$p.value
    if (pv <= a) tot <- tot + dbinom(x1, n1, p1) * dbinom(x2, n2, p2)
  }
  tot
}
fp <- list()
for (cs in list(c(10, 10, 0.2, 0.8, 0.05), c(20, 20, 0.2, 0.5, 0.05), c(15, 25, 0.3, 0.7, 0.05),
                c(30, 30, 0.1, 0.4, 0.10), c(25, 25, 0.5, 0.5, 0.05))) {
  fp[[length(fp) + 1]] <- list(n1 = cs[1], n2 = cs[2], p1 = cs[3], p2 = cs[4], alpha = cs[5],
                               power = num(fisher_power(cs[1], cs[2], cs[3], cs[4], cs[5])))
}
out$fisher_power <- fp
lr <- list()
for (cs in list(list(0.6, 12, 24, 12, 1, 0.05, 0.2), list(0.7, 6, 18, 12, 2, 0.05, 0.1),
                list(0.5, 24, 36, 24, 0.5, 0.025, 0.2))) {
  hr <- cs[[1]]; m2 <- cs[[2]]; acc <- cs[[3]]; fu <- cs[[4]]; k <- cs[[5]]; a <- cs[[6]]; b <- cs[[7]]
  for (meth in c("Schoenfeld", "Freedman")) {
    x <- getSampleSizeSurvival(alpha = a, sided = 2, beta = b, hazardRatio = hr, lambda2 = log(2) / m2,
                               accrualTime = c(0, acc), followUpTime = fu, typeOfComputation = meth,
                               allocationRatioPlanned = k)
    pw <- getPowerSurvival(alpha = a, sided = 2, hazardRatio = hr, lambda2 = log(2) / m2,
                           accrualTime = c(0, acc), typeOfComputation = meth,
                           allocationRatioPlanned = k, maxNumberOfSubjects = 200, maxNumberOfEvents = 100)
    lr[[length(lr) + 1]] <- list(method = tolower(meth), hr = hr, median_control = m2, accrual = acc,
                                 follow_up = fu, allocation = k, alpha = a, beta = b,
                                 events = num(x$maxNumberOfEvents), subjects = num(x$maxNumberOfSubjects),
                                 power_at_100_events = num(pw$overallReject))
  }
}
out$logrank <- lr
saveRDS(out, Sys.getenv("OUT_RDS"))
"""

TO_JSON = r"""
x <- readRDS(Sys.getenv("OUT_RDS"))
enc <- function(v) {
  if (is.list(v)) {
    if (!is.null(names(v))) return(paste0("{", paste0('"', names(v), '": ', sapply(v, enc), collapse = ", "), "}"))
    return(paste0("[", paste0(sapply(v, enc), collapse = ", "), "]"))
  }
  if (is.character(v)) {
    if (!is.na(suppressWarnings(as.numeric(v)))) return(v)
    return(paste0('"', v, '"'))
  }
  if (is.numeric(v)) return(format(v, digits = 17))
  stop("unexpected")
}
cat(enc(x))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, OUT_RDS=str(Path(tmp) / "out.rds"))
        for name, program in (("make.R", R_PROGRAM), ("json.R", TO_JSON)):
            (Path(tmp) / name).write_text(program)
        subprocess.run(["Rscript", str(Path(tmp) / "make.R")], check=True, env=env)
        text = subprocess.run(["Rscript", str(Path(tmp) / "json.R")], check=True, env=env,
                              capture_output=True, text=True).stdout
    data = json.loads(text)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}: {len(data['simon'])} Simon cases")


if __name__ == "__main__":
    main()
