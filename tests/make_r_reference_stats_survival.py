"""Regenerate tests/r_reference_stats_survival.json: random and edge-case data sets, each run through R.

Not a test (needs R): ``python tests/make_r_reference_stats_survival.py`` writes, for every case, the data,
the exact R call and the values R 4.2 / survival 3.5.3 printed (format(v, digits = 17)). The test
tests/test_stats_survival_against_r.py runs the same data through cartkit and compares.

Random data sets (numpy default_rng(100), (101), (102)) cover: ties within and across groups, small n
(4 and 5), a zero paired difference, 2 x 2 / 3 x 3 / 2 x 4 tables, k = 0 of n = 1 and k = n, censoring at
the last time, an event and a censoring tied at the last time, all censored, a group with no events, and
strata; the edge cases below add n = 1, events at time 0, a stratum holding one group only, ...
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("r_reference_stats_survival.json")


def rvec(a):
    a = np.asarray(a)
    if a.dtype.kind in "US":
        return "c(" + ", ".join(f'"{v}"' for v in a) + ")"
    return "c(" + ", ".join(repr(float(v)) if a.dtype.kind == "f" else str(int(v)) for v in a) + ")"


def km_call(t, e, ct="log"):
    return (f"{{f <- survfit(Surv({rvec(t)}, {rvec(e)}) ~ 1, conf.type='{ct}'); q <- quantile(f, 0.5); "
            "c(f$time, f$n.risk, f$n.event, f$n.censor, f$surv, f$std.err*f$surv, f$lower, f$upper, unlist(q))}")


cases = []  # (id, kind, data dict, R expression producing numeric vector)
def add(cid, kind, data, rexpr):
    cases.append((cid, kind, data, rexpr))

for seed in range(3):
    rng = np.random.default_rng(100 + seed)
    n1, n2 = [(4, 5), (7, 6), (12, 15)][seed]
    x = np.round(rng.normal(10, 3, n1), [0, 1, 1][seed])
    y = np.round(rng.normal(12, 4, n2), [0, 1, 1][seed])
    if seed == 2:
        y[:3] = x[:3]  # ties across groups
    X, Y = rvec(x), rvec(y)
    add(f"describe{seed}", "describe", dict(x=x.tolist()),
        f"c(quantile({X}, c(.25,.5,.75), type=7), quantile({X}, c(.25,.5,.75), type=6), mean({X}), sd({X}))")
    for ev in (True, False):
        add(f"t{seed}{ev}", "t", dict(x=x.tolist(), y=y.tolist(), equal_var=ev),
            f"{{r <- t.test({X}, {Y}, var.equal={'TRUE' if ev else 'FALSE'}); c(r$statistic, r$p.value, r$parameter, r$conf.int)}}")
    yp = np.round(x + rng.normal(1, 2, n1), 0)
    if seed == 1:
        yp[0] = x[0]  # a zero difference
    YP = rvec(yp)
    add(f"tp{seed}", "tpaired", dict(x=x.tolist(), y=yp.tolist()),
        f"{{r <- t.test({X}, {YP}, paired=TRUE); c(r$statistic, r$p.value, r$parameter, r$conf.int)}}")
    for corr in (True, False):
        C = "TRUE" if corr else "FALSE"
        add(f"mw{seed}{corr}", "mw", dict(x=x.tolist(), y=y.tolist(), correct=corr),
            f"{{r <- suppressWarnings(wilcox.test({X}, {Y}, correct={C})); c(r$statistic, r$p.value)}}")
        add(f"sr{seed}{corr}", "sr", dict(x=x.tolist(), y=yp.tolist(), correct=corr),
            f"{{r <- suppressWarnings(wilcox.test({X}, {YP}, paired=TRUE, correct={C})); c(r$statistic, r$p.value)}}")
    add(f"sw{seed}", "shapiro", dict(x=y.tolist()), f"{{r <- shapiro.test({Y}); c(r$statistic, r$p.value)}}")
    # tables
    t22 = rng.integers(0, [6, 10, 30][seed], size=(2, 2)) + np.eye(2, dtype=int)
    t33 = rng.integers(0, [4, 8, 20][seed], size=(3, 3)) + np.eye(3, dtype=int)
    t24 = rng.integers(0, [3, 6, 9][seed], size=(2, 4))
    t24[:, 0] += 1
    t24[0, :] += 1
    for nm, t in (("t22", t22), ("t33", t33), ("t24", t24)):
        M = f"matrix({rvec(t.ravel(order='F'))}, {t.shape[0]})"
        add(f"fisher_{nm}{seed}", "fisher", dict(table=t.tolist()),
            f"{{r <- fisher.test({M}); c(r$p.value, if (is.null(r$estimate)) numeric(0) else c(r$estimate, r$conf.int))}}")
        for corr in (True, False):
            C = "TRUE" if corr else "FALSE"
            add(f"chisq_{nm}{seed}{corr}", "chisq", dict(table=t.tolist(), correction=corr),
                f"{{r <- suppressWarnings(chisq.test({M}, correct={C})); c(r$statistic, r$parameter, r$p.value)}}")
    M22 = f"matrix({rvec(t22.ravel(order='F'))}, 2)"
    M33 = f"matrix({rvec(t33.ravel(order='F'))}, 3)"
    add(f"mcnemar{seed}", "mcnemar", dict(table=t22.tolist()), f"{{r <- mcnemar.test({M22}); c(r$statistic, r$parameter, r$p.value)}}")
    add(f"bowker{seed}", "bowker", dict(table=t33.tolist()), f"{{r <- mcnemar.test({M33}); c(r$statistic, r$parameter, r$p.value)}}")
    n, k = [1, 13, 40][seed], [0, 13, int(rng.integers(0, 40))][seed]
    add(f"binom{seed}", "binom", dict(k=k, n=n),
        f"c(binom.test({k}, {n})$conf.int, prop.test({k}, {n}, correct=FALSE)$conf.int)")

    # survival
    m = [8, 15, 40][seed]
    t = rng.integers(1, [6, 12, 30][seed], size=m).astype(float)  # ties
    e = (rng.random(m) < 0.6).astype(int)
    if seed == 0:
        e[np.argmax(t)] = 0  # censored at the last time ...
        t, e = np.r_[t, t.max()], np.r_[e, 1]  # ... tied with an event there
    g = rng.integers(0, 3, size=t.size)
    if seed == 1:
        e[g == 2] = 0  # a group with no events
    s = rng.integers(0, 2, size=t.size)
    x1 = np.round(rng.normal(0, 1, t.size), 2)
    T, E, G, S, X1 = rvec(t), rvec(e), rvec(np.array([f"g{v}" for v in g])), rvec(s), rvec(x1)
    for ct in ("log", "log-log", "plain"):
        add(f"km{seed}{ct}", "km", dict(time=t.tolist(), event=e.tolist(), conf_type=ct),
            f"{{f <- survfit(Surv({T}, {E}) ~ 1, conf.type='{ct}'); q <- quantile(f, 0.5); "
            f"c(f$time, f$n.risk, f$n.event, f$n.censor, f$surv, f$std.err*f$surv, f$lower, f$upper, unlist(q))}}")
    add(f"kmallcens{seed}", "km", dict(time=t.tolist(), event=[0] * t.size, conf_type="log"),
        f"{{f <- survfit(Surv({T}, {rvec(np.zeros(t.size, int))}) ~ 1); q <- quantile(f, 0.5); "
        f"c(f$time, f$n.risk, f$n.event, f$n.censor, f$surv, f$std.err*f$surv, f$lower, f$upper, unlist(q))}}")
    add(f"lr{seed}", "logrank", dict(time=t.tolist(), event=e.tolist(), group=[f"g{v}" for v in g]),
        f"{{r <- survdiff(Surv({T}, {E}) ~ {G}); c(r$chisq, length(r$n) - 1, r$obs, r$exp)}}")
    add(f"lrs{seed}", "logrank_strata", dict(time=t.tolist(), event=e.tolist(), group=[f"g{v}" for v in g], strata=s.tolist()),
        f"{{r <- survdiff(Surv({T}, {E}) ~ {G} + strata({S})); c(r$chisq, rowSums(r$obs), rowSums(r$exp))}}")
    add(f"cox{seed}", "cox", dict(time=t.tolist(), event=e.tolist(), x1=x1.tolist(), s=s.tolist()),
        f"{{f <- coxph(Surv({T}, {E}) ~ {X1}); sm <- summary(f); c(coef(f), sqrt(diag(vcov(f))), f$loglik, f$wald.test, sm$logtest[1], f$score)}}")
    add(f"coxs{seed}", "cox_strata", dict(time=t.tolist(), event=e.tolist(), x1=x1.tolist(), s=s.tolist()),
        f"{{f <- coxph(Surv({T}, {E}) ~ {X1} + strata({S})); sm <- summary(f); c(coef(f), sqrt(diag(vcov(f))), f$loglik, f$wald.test, sm$logtest[1], f$score)}}")


# hand-picked edge cases
add("km_n1", "km", dict(time=[3.0], event=[1], conf_type="log"), km_call(np.array([3.0]), np.array([1])))
add("km_time0", "km", dict(time=[0.0, 0.0, 2.0, 5.0], event=[1, 0, 1, 0], conf_type="log"),
    km_call(np.array([0.0, 0.0, 2.0, 5.0]), np.array([1, 0, 1, 0])))
add("km_one_tied_time", "km", dict(time=[2.0] * 4, event=[1, 1, 0, 0], conf_type="log-log"),
    km_call(np.array([2.0] * 4), np.array([1, 1, 0, 0]), "log-log"))
add("lr_single_subject_group", "logrank", dict(time=[1, 2, 3, 4, 5, 6], event=[1, 1, 0, 1, 1, 0], group=[1, 1, 1, 1, 1, 2]),
    "{r <- survdiff(Surv(c(1,2,3,4,5,6), c(1,1,0,1,1,0)) ~ c(1,1,1,1,1,2)); c(r$chisq, length(r$n) - 1, r$obs, r$exp)}")
add("lr_group_without_events", "logrank", dict(time=[1, 2, 3, 4, 5, 6], event=[1, 1, 0, 1, 0, 0], group=list("aabbcc")),
    '{r <- survdiff(Surv(c(1,2,3,4,5,6), c(1,1,0,1,0,0)) ~ c("a","a","b","b","c","c")); '
    'c(r$chisq, length(r$n) - 1, r$obs, r$exp)}')
add("lr_group_alone_in_stratum", "logrank_strata",
    dict(time=[1, 2, 3, 4, 5, 6, 7, 8, 2, 4, 6], event=[1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1], group=list("aaaabbbbccc"),
         strata=[1] * 8 + [2] * 3),
    '{r <- survdiff(Surv(c(1,2,3,4,5,6,7,8,2,4,6), c(1,1,0,1,1,1,0,1,1,0,1)) ~ c(rep("a",4), rep("b",4), rep("c",3)) '
    '+ strata(c(rep(1,8), rep(2,3)))); c(r$chisq, rowSums(r$obs), rowSums(r$exp))}')
add("lr_a_vs_b_in_stratum_1_only", "logrank",
    dict(time=[1, 2, 3, 4, 5, 6, 7, 8], event=[1, 1, 0, 1, 1, 1, 0, 1], group=list("aaaabbbb")),
    '{r <- survdiff(Surv(c(1,2,3,4,5,6,7,8), c(1,1,0,1,1,1,0,1)) ~ c(rep("a",4), rep("b",4))); '
    'c(r$chisq, length(r$n) - 1, r$obs, r$exp)}')
add("mw_n1", "mw", dict(x=[1.5], y=[2.0, 3.0, 4.0], correct=True), "{r <- wilcox.test(1.5, c(2, 3, 4)); c(r$statistic, r$p.value)}")
add("mw_small_ties", "mw", dict(x=[1.0, 2.0, 3.0], y=[2.0, 3.0, 4.0], correct=True),
    "{r <- suppressWarnings(wilcox.test(c(1, 2, 3), c(2, 3, 4))); c(r$statistic, r$p.value)}")
add("sr_small_ties_zero", "sr", dict(x=[1.0, 2.0, 3.0, 4.0], y=[1.5, 2.5, 3.0, 5.0], correct=True),
    "{r <- suppressWarnings(wilcox.test(c(1, 2, 3, 4), c(1.5, 2.5, 3, 5), paired=TRUE)); c(r$statistic, r$p.value)}")
add("t_welch_n2", "t", dict(x=[1.0, 2.0], y=[3.0, 5.0], equal_var=False),
    "{r <- t.test(c(1, 2), c(3, 5)); c(r$statistic, r$p.value, r$parameter, r$conf.int)}")
add("describe_n2", "describe", dict(x=[4.0, 9.0]),
    "c(quantile(c(4, 9), c(.25,.5,.75), type=7), quantile(c(4, 9), c(.25,.5,.75), type=6), mean(c(4, 9)), sd(c(4, 9)))")
add("cox_heavy_ties", "cox", dict(time=[1, 1, 1, 2, 2, 3, 3, 3], event=[1, 1, 0, 1, 1, 1, 0, 1], x1=[0, 1, 1, 0, 1, 0, 1, 1],
                                  s=[0] * 8),
    "{f <- coxph(Surv(c(1,1,1,2,2,3,3,3), c(1,1,0,1,1,1,0,1)) ~ c(0,1,1,0,1,0,1,1)); sm <- summary(f); "
    "c(coef(f), sqrt(diag(vcov(f))), f$loglik, f$wald.test, sm$logtest[1], f$score)}")
add("fisher_zero_margin", "fisher", dict(table=[[0, 0], [3, 4]]),
    "{r <- fisher.test(matrix(c(0, 3, 0, 4), 2)); c(r$p.value, r$estimate, r$conf.int)}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "cases.R"
        lines = ["suppressMessages(library(survival))"]
        for cid, _, _, rexpr in cases:
            lines.append(f'v <- tryCatch(suppressWarnings({rexpr}), error=function(e) {{cat("{cid}", "ERROR", '
                         f'gsub("[[:space:]]+", " ", conditionMessage(e)), "\\n"); NULL}}); '
                         f'if (!is.null(v)) cat("{cid}", format(unname(v), digits=17), "\\n")')
        script.write_text("\n".join(lines) + "\n")
        out = subprocess.run(["/usr/bin/Rscript", str(script)], capture_output=True, text=True, check=True).stdout
    values, errors = {}, {}
    for line in out.splitlines():
        cid, *rest = line.split()
        if rest[:1] == ["ERROR"]:
            errors[cid] = " ".join(rest[1:])
        else:
            values[cid] = [None if v in ("NA", "NaN") else float(v) for v in rest]
    records = [dict(id=cid, kind=kind, data=data, r_call=rexpr, r_value=values.get(cid), r_error=errors.get(cid))
               for cid, kind, data, rexpr in cases]
    OUT.write_text(json.dumps(dict(r_version="R 4.2 / survival 3.5.3", cases=records), indent=1) + "\n")
    print(f"{len(records)} cases written to {OUT}")


if __name__ == "__main__":
    main()
