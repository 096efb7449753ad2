# R's numbers for tests/test_stats_distributions.py (cartkit.stats.distributions).
# Run from the repository root: Rscript tests/make_r_reference_distributions.R
# Writes tests/r_reference_distributions.json (17 significant digits, as R prints them).
num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
out <- list()
add <- function(name, fields) out[[name]] <<- fields

x <- c(-37, -30, -20, -10, -8.5, -5, -3, -2, -1.5, -1, -0.5, -1e-8, 0, 1e-8, 0.3, 1, 1.96, 3, 5, 8)
add("pnorm", list(x = x, p = pnorm(x)))
# a dense grid over |x| <= 38 (past R's lower-tail cut at -37.5193, where pnorm is 0) and both sides of
# each boundary of Cody's three ranges (0.67448975, sqrt(32)) and of the upper cut 8.2924
xg <- c(seq(-38, 38, length.out = 1201), -37.5193, -37.519, -37.5, -30.7, -12.3456789, -8.2924, -8.29,
        -5.6568543, -5.6568542, -0.67448976, -0.67448975, -0.6744897, -1e-300, 1e-300, 1e-17,
        0.67448975, 0.67448976, 5.6568542, 5.6568543, 8.29, 8.2924, 8.3)
add("pnorm_grid", list(x = xg, p = pnorm(xg)))
p <- c(1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975,
       0.999, 1 - 1e-6, 1 - 1e-10)
add("qnorm", list(p = p, q = qnorm(p)))
g <- c(1e-8, 0.01, 0.5, 0.9, 1.5, 2.5, 3, 7.5, 9.99, 10, 10.5, 25, 100.5, 1000, 12345.6, 1e6, 1e10)
add("lgamma", list(x = g, v = lgamma(g)))
ab <- expand.grid(a = c(0.05, 0.5, 1, 3, 9.5, 10, 30, 1000, 1e5), b = c(0.1, 0.5, 2, 12, 200, 1e6))
add("lbeta", list(a = ab$a, b = ab$b, v = lbeta(ab$a, ab$b)))
cg <- expand.grid(df = c(1, 2, 3, 4, 7, 10, 25, 100, 1000), q = c(1e-4, 0.05, 0.5, 1, 2, 5, 10, 30, 100))
cx <- cg$df * cg$q
cg <- cg[pchisq(cx, cg$df, lower.tail = FALSE) > 1e-300, ]
cx <- cg$df * cg$q
add("pchisq_upper", list(df = cg$df, x = cx, p = pchisq(cx, cg$df, lower.tail = FALSE)))
bg <- expand.grid(a = c(0.1, 0.5, 1, 3, 20, 250), b = c(0.2, 1, 4, 60, 800), x = c(1e-6, 0.01, 0.2, 0.5, 0.8, 0.99))
pb <- pbeta(bg$x, bg$a, bg$b)
keep <- pb > 1e-290
add("pbeta", list(a = bg$a[keep], b = bg$b[keep], x = bg$x[keep], p = pb[keep]))
qg <- expand.grid(a = c(0.1, 0.5, 1, 2, 7, 30, 1000), b = c(0.3, 1, 5, 40, 2000), p = c(1e-10, 0.001, 0.025, 0.3, 0.5, 0.975, 0.999))
qb <- qbeta(qg$p, qg$a, qg$b)
keep <- qb > 1e-290 & qb < 1
add("qbeta", list(a = qg$a[keep], b = qg$b[keep], p = qg$p[keep], q = qb[keep]))
# Clopper-Pearson limits of the kind binomial_ci asks for
cp <- expand.grid(k = c(1, 2, 5, 13, 50, 499), n = c(14, 60, 500, 5000))
cp <- cp[cp$k < cp$n, ]
add("qbeta_clopper_pearson", list(k = cp$k, n = cp$n, lower = qbeta(0.025, cp$k, cp$n - cp$k + 1),
                                  upper = qbeta(0.975, cp$k + 1, cp$n - cp$k)))
tg <- expand.grid(df = c(1, 2, 3, 4.5, 7, 10, 30, 200, 1e4), t = c(-1e4, -50, -8, -3, -2.05, -1, -0.2, -1e-6, 0.7, 2.5, 6))
add("pt", list(df = tg$df, t = tg$t, p = pt(tg$t, tg$df)))
qt_g <- expand.grid(df = c(1, 2, 3, 4, 5, 7, 10, 20, 60, 1000), p = c(1e-10, 1e-4, 0.005, 0.025, 0.1, 0.4, 0.6, 0.9, 0.975, 0.995, 1 - 1e-7))
add("qt", list(df = qt_g$df, p = qt_g$p, q = qt(qt_g$p, qt_g$df)))
bn <- expand.grid(k = c(0, 1, 3, 7, 10, 25, 99, 400), n = c(10, 30, 100, 1000), p = c(0.001, 0.1, 0.5, 0.73, 0.99))
bn <- bn[bn$k <= bn$n, ]
pbn <- pbinom(bn$k, bn$n, bn$p)
keep <- pbn > 1e-290
add("pbinom", list(k = bn$k[keep], n = bn$n[keep], p = bn$p[keep], v = pbn[keep]))

lines <- c()
for (name in names(out)) {
  f <- out[[name]]
  inner <- paste(sprintf('"%s": %s', names(f), sapply(f, num)), collapse = ", ")
  lines <- c(lines, sprintf('  "%s": {%s}', name, inner))
}
writeLines(c("{", paste(lines, collapse = ",\n"), "}"), "tests/r_reference_distributions.json")
