# R reference for tests/test_endpoints.py test_randomised_logrank_and_cox_by_arm_agree_with_r: the CSV is
# endpoint_analysis(...)["endpoint_times"] of simulate_study(patients=200, seed=13, design="randomised") written with
# polars write_csv; run: Rscript tests/r_reference_endpoints_randomised.R <that csv>
library(survival)
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
d$months <- d$days / 30.4375
d$ev <- as.integer(d$event == "true")
d$arm <- factor(d$group, levels = c("standard of care", "CAR-T"))
for (e in c("EFS", "OS")) {
  x <- d[d$endpoint == e, ]
  sd <- survdiff(Surv(months, ev) ~ arm, data = x)
  p <- pchisq(sd$chisq, 1, lower.tail = FALSE)
  s <- summary(coxph(Surv(months, ev) ~ arm, data = x, ties = "efron"))
  cat(sprintf('    "%s": (%d, %d, %.12g, %.12g, %.12g, %.12g, %.12g,\n            %.12g),\n', e, nrow(x), sum(x$ev), sd$chisq, p,
              s$conf.int[1, 1], s$conf.int[1, 3], s$conf.int[1, 4], s$coefficients[1, 5]))
}
for (e in c("EFS", "OS")) for (g in c("CAR-T", "standard of care")) {
  x <- d[d$endpoint == e & d$group == g, ]
  q <- quantile(survfit(Surv(months, ev) ~ 1, data = x), 0.5)
  cat(sprintf('    ("%s", "%s"): (%d, %d, %.11f, %.11f, %.11f),\n', e, g, nrow(x), sum(x$ev), q$quantile, q$lower, q$upper))
}
