"""Regenerate tests/r_reference_stats_exact.json: issue 13's statistics on random and edge-case data, run through R.

Not a test (needs R 4.2 with coin 1.4 and exactRankTests): ``python tests/make_r_reference_stats_exact.py``
writes, for every case, the data, the exact R call and the values R printed (``format(v, digits = 17)``
through jsonlite). tests/test_stats_exact_against_r.py runs the same data through cartkit and compares.

Data: numpy default_rng(1300 + k) draws rounded to few distinct values (ties within and across groups,
zero paired differences), at n = 5 to 50 per group, plus the seed study's paired neutropenia grades.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("r_reference_stats_exact.json")

# the seed study's neutropenia grades (CTCAE) of the 13 patients after CD19 and after CD22 CAR-T, in
# patient order (tests/test_stats_exact_seed.py derives them from examples/seed-study)
SEED_CD19 = [2, 3, 3, 4, 4, 3, 2, 3, 2, 3, 2, 3, 4]
SEED_CD22 = [2, 2, 3, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2]


def rvec(a) -> str:
    a = np.asarray(a, dtype=float)
    return "c(" + ", ".join(repr(float(v)) if np.isfinite(v) else "NA" for v in a) + ")"


cases: list[tuple[str, str, dict, str]] = []


def add(cid: str, kind: str, data: dict, rexpr: str) -> None:
    cases.append((cid, kind, data, rexpr))


def two_groups(x, y, cid):
    X, Y = rvec(x), rvec(y)
    g = f"factor(rep(c('x', 'y'), c({len(x)}, {len(y)})))"
    add(f"mw_coin_{cid}", "mw_exact", dict(x=list(x), y=list(y)),
        f"pvalue(coin::wilcox_test(c({X}, {Y}) ~ {g}, distribution = 'exact'))")
    add(f"mw_ert_{cid}", "mw_exact", dict(x=list(x), y=list(y)),
        f"{{r <- exactRankTests::wilcox.exact({X}, {Y}, exact = TRUE); c(r$p.value)}}")
    add(f"mw_stat_{cid}", "mw_statistic", dict(x=list(x), y=list(y)),
        f"{{r <- suppressWarnings(wilcox.test({X}, {Y})); c(r$statistic, r$p.value)}}")
    for tol in ("1e-10", "1e-4"):
        kind = "hl" if tol == "1e-10" else "hl_default_tol"
        add(f"hl_{cid}_{tol}", kind, dict(x=list(x), y=list(y), paired=False),
            f"{{r <- suppressWarnings(wilcox.test({X}, {Y}, conf.int = TRUE, tol.root = {tol})); "
            "c(r$estimate, r$conf.int, r$statistic, r$p.value)}")


def paired(x, y, cid):
    X, Y = rvec(x), rvec(y)
    add(f"sr_coin_pratt_{cid}", "sr_exact_pratt", dict(x=list(x), y=list(y)),
        f"pvalue(coin::wilcoxsign_test({X} ~ {Y}, distribution = 'exact'))")
    add(f"sr_coin_wilcoxon_{cid}", "sr_exact_wilcoxon", dict(x=list(x), y=list(y)),
        f"pvalue(coin::wilcoxsign_test({X} ~ {Y}, distribution = 'exact', zero.method = 'Wilcoxon'))")
    add(f"sr_ert_{cid}", "sr_exact_wilcoxon", dict(x=list(x), y=list(y)),
        f"{{r <- exactRankTests::wilcox.exact({X}, {Y}, paired = TRUE, exact = TRUE); c(r$p.value)}}")
    add(f"sr_coin_pratt_asympt_{cid}", "sr_asymptotic_pratt", dict(x=list(x), y=list(y)),
        f"pvalue(coin::wilcoxsign_test({X} ~ {Y}, distribution = 'asymptotic'))")
    add(f"sign_{cid}", "sign", dict(x=list(x), y=list(y)),
        f"{{d <- {X} - {Y}; r <- binom.test(sum(d > 0), sum(d != 0)); c(r$statistic, r$p.value, r$estimate, "
        "r$conf.int)}")
    for tol in ("1e-10", "1e-4"):
        kind = "hl" if tol == "1e-10" else "hl_default_tol"
        add(f"hlp_{cid}_{tol}", kind, dict(x=list(x), y=list(y), paired=True),
            f"{{r <- suppressWarnings(wilcox.test({X}, {Y}, paired = TRUE, conf.int = TRUE, tol.root = {tol})); "
            "c(r$estimate, r$conf.int, r$statistic, r$p.value)}")


# --- rank tests, Hodges-Lehmann, sign test -----------------------------------------------------------------
for k, (m, n, spread) in enumerate([(5, 7, 2), (8, 9, 1.5), (12, 10, 3), (20, 20, 2), (30, 25, 4), (50, 50, 2)]):
    rng = np.random.default_rng(1300 + k)
    x = np.round(rng.normal(0, spread, m)).tolist()
    y = np.round(rng.normal(0.7, spread, n)).tolist()
    two_groups(x, y, f"r{k}")
# no ties: the exact Hodges-Lehmann interval
rng = np.random.default_rng(1399)
two_groups(np.round(rng.normal(0, 1, 9), 3).tolist(), np.round(rng.normal(1, 1, 11), 3).tolist(), "untied")
for k, (n, spread) in enumerate([(8, 1.5), (13, 1), (20, 2), (25, 1.2), (40, 3), (50, 2)]):
    rng = np.random.default_rng(1350 + k)
    x = np.round(rng.normal(2, spread, n))
    y = np.round(x + rng.normal(-0.6, spread, n))
    paired(x.tolist(), y.tolist(), f"p{k}")
paired(SEED_CD19, SEED_CD22, "seed_neutropenia")
rng = np.random.default_rng(1398)
xu = np.round(rng.normal(0, 1, 12), 3)
paired(xu.tolist(), np.round(xu + rng.normal(0.5, 1, 12), 3).tolist(), "untied")

# edge cases: every non-zero difference tied (R: no interval, the midrange as estimate)
for cid, (xe, ye) in {"alltied": ([2, 3, 4, 5], [1, 2, 3, 4]), "alltied_zeros": ([2, 3, 4, 5, 6], [1, 2, 3, 5, 6])}.items():
    add(f"hlp_{cid}", "hl", dict(x=xe, y=ye, paired=True),
        f"{{r <- suppressWarnings(wilcox.test({rvec(xe)}, {rvec(ye)}, paired = TRUE, conf.int = TRUE)); "
        "c(r$estimate, r$conf.int, r$statistic, r$p.value)}")

# no ties, n >= 50 per group forced exact (R: pwilcox; cartkit: the shift algorithm)
rng = np.random.default_rng(1397)
xl, yl = rng.normal(0, 1, 60).tolist(), rng.normal(0.3, 1, 75).tolist()  # continuous: no ties
add("mw_untied_large_exact", "mw_exact", dict(x=xl, y=yl), f"wilcox.test({rvec(xl)}, {rvec(yl)}, exact = TRUE)$p.value")

# --- McNemar exact, symmetry reference for 2 x 2 -----------------------------------------------------------
for cid, t in (("a", [[59, 6], [16, 80]]), ("b", [[1, 1], [7, 12]]), ("c", [[10, 0], [4, 3]]), ("d", [[5, 3], [3, 2]])):
    (a, b), (c, d) = t
    add(f"mcnemar_exact_{cid}", "mcnemar_exact", dict(table=t),
        f"{{r <- binom.test({b}, {b + c}); o <- r$conf.int / (1 - r$conf.int); c(r$p.value, {b}/{c}, o)}}")

# --- p.adjust ----------------------------------------------------------------------------------------------
P_SETS = {
    "plain": [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.049],
    "ties": [0.02, 0.02, 0.01, 0.04, 0.04, 0.9, 1.0],
    "nan": [0.01, float("nan"), 0.04, 0.03, float("nan"), 0.2],
    # the seed report's 12 unpaired CD19 vs CD22 comparisons (kinetics and cytokines, peak and peak day, in
    # the order of its comparisons table; tests/test_stats_exact_seed.py)
    "seed12": [0.9197344383977848, 0.021770910190811173, 0.879846547314578, 0.0005458002441278378,
               0.04411668557583216, 0.006026881287332904, 0.0042151414341480295, 0.0008010660340855006,
               0.03303682370589023, 2.7322547254574617e-05, 0.019098705843893622, 0.002406388459964834],
}
for name, ps in P_SETS.items():
    for method in ("holm", "hochberg", "bonferroni", "BH", "BY"):
        add(f"padj_{name}_{method}", "padjust", dict(p=[None if v != v else v for v in ps], method=method.lower()),
            f"p.adjust({rvec(ps)}, method = '{method}')")
add("padj_n_larger", "padjust_n", dict(p=[0.01, 0.02, 0.03], method="holm", n=5),
    "p.adjust(c(0.01, 0.02, 0.03), method = 'holm', n = 5)")

# --- geometric mean ratio ----------------------------------------------------------------------------------
for k, (m, n) in enumerate([(8, 10), (13, 13), (25, 20)]):
    rng = np.random.default_rng(1380 + k)
    x = np.round(np.exp(rng.normal(3, 1, m)), 2)
    y = np.round(np.exp(rng.normal(2.5, 1.2, n)), 2)
    X, Y = rvec(x), rvec(y)
    for ev in (False, True):
        E = "TRUE" if ev else "FALSE"
        add(f"gmr{k}_{E}", "gmr", dict(x=x.tolist(), y=y.tolist(), paired=False, equal_var=ev),
            f"{{r <- t.test(log({X}), log({Y}), var.equal = {E}); "
            "c(exp(r$estimate[1] - r$estimate[2]), exp(r$conf.int), r$statistic, r$parameter, r$p.value)}")
    if m == n:
        add(f"gmr{k}_paired", "gmr", dict(x=x.tolist(), y=y.tolist(), paired=True, equal_var=False),
            f"{{r <- t.test(log({X}), log({Y}), paired = TRUE); "
            "c(exp(r$estimate), exp(r$conf.int), r$statistic, r$parameter, r$p.value)}")

# --- proportions: Newcombe hybrid score, Koopman score, paired Newcombe, odds ratio --------------------------
R_PROPORTIONS = r"""
wilson <- function(x, n, level) { as.numeric(prop.test(x, n, conf.level = level, correct = FALSE)$conf.int) }
newcombe10 <- function(x1, n1, x2, n2, level = 0.95) {
  # Newcombe (1998) Stat Med 17:873, method 10: hybrid score, from the paper's formula
  p1 <- x1 / n1; p2 <- x2 / n2; w1 <- wilson(x1, n1, level); w2 <- wilson(x2, n2, level)
  c(p1 - p2, p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
}
koopman <- function(x1, n1, x2, n2, level = 0.95) {
  # Koopman (1984) Biometrics 40:513: the ratios theta whose Pearson chi-square, with the expected counts
  # of the 2 x 2 table fitted under p1 = theta * p2 (maximum likelihood, solved numerically here with
  # optimize rather than by the closed form), equals the chi-square quantile
  crit <- qchisq(level, 1)
  chisq <- function(theta) {
    nll <- function(p) -(dbinom(x1, n1, theta * p, log = TRUE) + dbinom(x2, n2, p, log = TRUE))
    p <- optimize(nll, c(0, min(1, 1 / theta)), tol = 1e-15)$minimum
    e1 <- n1 * theta * p; e2 <- n2 * p
    (x1 - e1)^2 * (1 / e1 + 1 / (n1 - e1)) + (x2 - e2)^2 * (1 / e2 + 1 / (n2 - e2))
  }
  est <- (x1 / n1) / (x2 / n2)
  f <- function(lt) chisq(exp(lt)) - crit
  lo <- if (x1 == 0) 0 else exp(uniroot(f, c(if (x2 == 0) -30 else log(est) - 30, if (x2 == 0) 30 else log(est)),
                                        tol = 1e-13)$root)
  hi <- if (x2 == 0) Inf else exp(uniroot(f, c(if (x1 == 0) -30 else log(est), if (x1 == 0) 30 else log(est) + 30),
                                          tol = 1e-13)$root)
  c(est, lo, hi)
}
newcombe_paired10 <- function(a, b, c, d, level = 0.95) {
  # Newcombe (1998) Stat Med 17:2635, method 10 (square-and-add with the corrected phi)
  n <- a + b + c + d; p1 <- (a + b) / n; p2 <- (a + c) / n
  w1 <- wilson(a + b, n, level); w2 <- wilson(a + c, n, level)
  marg <- c(a + b, c + d, a + c, b + d)
  A <- a * d - b * c
  phi <- if (any(marg == 0)) 0 else if (A > n / 2) (A - n / 2) / sqrt(prod(marg)) else if (A >= 0) 0 else A / sqrt(prod(marg))
  D <- p1 - p2
  c(D, D - sqrt((p1 - w1[1])^2 - 2 * phi * (p1 - w1[1]) * (w2[2] - p2) + (w2[2] - p2)^2),
    D + sqrt((p2 - w2[1])^2 - 2 * phi * (p2 - w2[1]) * (w1[2] - p1) + (w1[2] - p1)^2))
}
"""
PROPS = [(56, 70, 48, 80), (9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29), (0, 10, 0, 20), (10, 10, 0, 20),
         (7, 34, 1, 34), (0, 16, 15, 57), (9, 13, 5, 13), (12, 13, 13, 13)]
for x1, n1, x2, n2 in PROPS:
    cid = f"{x1}_{n1}_{x2}_{n2}"
    add(f"rd_{cid}", "risk_difference", dict(x1=x1, n1=n1, x2=x2, n2=n2), f"newcombe10({x1}, {n1}, {x2}, {n2})")
    if not (x1 == 0 and x2 == 0):
        add(f"rr_{cid}", "risk_ratio", dict(x1=x1, n1=n1, x2=x2, n2=n2), f"koopman({x1}, {n1}, {x2}, {n2})")
    add(f"or_{cid}", "odds_ratio", dict(x1=x1, n1=n1, x2=x2, n2=n2),
        f"{{r <- fisher.test(matrix(c({x1}, {x2}, {n1 - x1}, {n2 - x2}), 2)); c(r$p.value, r$estimate, r$conf.int)}}")
add("rd_90", "risk_difference", dict(x1=56, n1=70, x2=48, n2=80, level=0.9), "newcombe10(56, 70, 48, 80, 0.9)")
for a, b, c, d in [(59, 6, 16, 80), (1, 1, 7, 12), (8, 5, 1, 2), (0, 3, 0, 10), (4, 0, 0, 9), (10, 2, 2, 10)]:
    add(f"prd_{a}_{b}_{c}_{d}", "paired_risk_difference", dict(table=[[a, b], [c, d]]),
        f"newcombe_paired10({a}, {b}, {c}, {d})")


def _number(text: str) -> float | str | None:
    text = text.strip()
    if text == "NA" or text == "NaN":
        return None
    return text if text in ("Inf", "-Inf") else float(text)


def main() -> None:
    lines = ["suppressMessages({library(coin); library(exactRankTests); library(jsonlite)})", R_PROPORTIONS,
             "out <- list()"]
    for cid, _, _, rexpr in cases:
        lines.append(f"out[['{cid}']] <- format(as.numeric({rexpr}), digits = 17)")  # keeps Inf / NA
    lines.append("cat(toJSON(out))")
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write("\n".join(lines))
        script = fh.name
    values = json.loads(subprocess.run(["Rscript", script], check=True, capture_output=True, text=True).stdout)
    version = subprocess.run(["Rscript", "-e", "cat(R.version.string, '| coin', format(packageVersion('coin')), "
                              "'| exactRankTests', format(packageVersion('exactRankTests')))"],
                             check=True, capture_output=True, text=True).stdout
    doc = {"generated_by": "tests/make_r_reference_stats_exact.py", "r": version,
           "cases": [{"id": cid, "kind": kind, "data": data, "r_call": rexpr, "r_value": [_number(v) for v in values[cid]]}
                     for cid, kind, data, rexpr in cases]}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main()
