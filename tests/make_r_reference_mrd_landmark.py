"""Regenerate tests/r_reference_mrd_landmark.json: PFS by MRD status at a landmark, through R.

Not a test (needs R with survival): ``python tests/make_r_reference_mrd_landmark.py``.

The 40 patients below (PFS days, status 1 event / 0 censored / 2 HSCT as a competing event, which the
cause-specific Kaplan-Meier censors; MRD results as (day, negative)) are written as they are; R does the
landmark itself, from the raw rows and the rule in docs/survival.md, independently of cartkit:
patients with PFS days <= L are left out; the group is MRD-negative when any MRD result on days 1..L is
negative, MRD-positive when there is one and none is, not evaluable without one (pooled with positive, or left
out); t = (days - L) / 30.4375 months. R computes ``survfit(Surv(t, e) ~ g, conf.type = "log-log")`` (its
``summary`` table and ``quantile(fit, 0.5)``) and ``survdiff(Surv(t, e) ~ g)``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "r_reference_mrd_landmark.json"
LANDMARK = 90
# patient: (PFS days, status, [(MRD day, negative), ...]); ties across groups, results after the landmark,
# an event on the landmark day, censorings before it, HSCT (status 2)
PATIENTS = {
    "P01": (40, 1, [(28, False)]), "P02": (75, 0, [(28, True)]), "P03": (90, 1, [(28, True)]),
    "P04": (91, 1, [(28, False)]), "P05": (120, 1, [(28, True)]), "P06": (150, 1, [(28, False), (84, False)]),
    "P07": (150, 1, [(28, True)]), "P08": (200, 0, [(28, False), (84, True)]), "P09": (210, 1, []),
    "P10": (240, 1, [(28, False)]), "P11": (260, 2, [(28, True)]), "P12": (300, 1, [(100, True)]),
    "P13": (330, 0, [(28, True), (84, True)]), "P14": (360, 1, [(28, False)]), "P15": (365, 1, [(60, True)]),
    "P16": (400, 0, []), "P17": (420, 1, [(28, False), (180, True)]), "P18": (450, 0, [(28, True)]),
    "P19": (480, 1, [(28, True)]), "P20": (500, 0, [(28, False)]), "P21": (540, 1, [(84, True)]),
    "P22": (560, 0, [(28, False)]), "P23": (600, 1, [(28, True)]), "P24": (620, 0, [(28, True)]),
    "P25": (700, 0, [(28, True)]), "P26": (150, 1, []), "P27": (30, 1, []), "P28": (95, 0, [(28, False)]),
    "P29": (240, 1, [(28, True)]), "P30": (800, 0, [(84, True)]), "P31": (180, 1, [(90, True)]),
    "P32": (182, 1, [(91, True)]), "P33": (365, 0, [(28, False)]), "P34": (60, 0, []),
    "P35": (455, 1, [(28, False)]), "P36": (730, 0, [(28, True)]), "P37": (120, 1, [(28, False)]),
    "P38": (305, 0, []), "P39": (88, 1, [(28, True)]), "P40": (1000, 0, [(28, True), (365, False)]),
}

R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(TRUE); L <- as.numeric(args[3])
p <- read.csv(args[1], stringsAsFactors = FALSE); m <- read.csv(args[2], stringsAsFactors = FALSE)
m$negative <- as.logical(m$negative)
put <- function(key, v) cat(key, format(unname(as.numeric(v)), digits = 17), "\n")
for (ne in c("positive", "exclude")) {
  tested <- unique(m$patient[m$day >= 1 & m$day <= L])
  neg <- unique(m$patient[m$day >= 1 & m$day <= L & m$negative])
  status <- ifelse(p$patient %in% neg, "MRD-negative", ifelse(p$patient %in% tested, "MRD-positive", "not evaluable"))
  g <- if (ne == "positive") ifelse(status == "MRD-negative", "MRD-negative", "MRD-positive or not evaluable") else
    ifelse(status == "not evaluable", NA, status)
  keep <- p$days > L & !is.na(g)
  d <- data.frame(patient = p$patient[keep], t = (p$days[keep] - L) / 30.4375, e = as.integer(p$status[keep] == 1),
                  g = factor(g[keep]))
  cat(paste0(ne, ".included"), d$patient, "\n")
  for (k in seq_along(levels(d$g))) {
    lev <- levels(d$g)[k]; s <- d[d$g == lev, ]
    f <- survfit(Surv(t, e) ~ 1, data = s, conf.type = "log-log"); q <- quantile(f, 0.5)
    key <- paste0(ne, ".", k)
    cat(paste0(key, ".group"), gsub(" ", "_", lev), "\n")
    put(paste0(key, ".median"), c(q$quantile, q$lower, q$upper))
    sm <- summary(f, censored = TRUE)
    put(paste0(key, ".time"), sm$time); put(paste0(key, ".n_risk"), sm$n.risk); put(paste0(key, ".n_event"), sm$n.event)
    put(paste0(key, ".survival"), sm$surv); put(paste0(key, ".lower"), sm$lower); put(paste0(key, ".upper"), sm$upper)
  }
  sd <- survdiff(Surv(t, e) ~ g, data = d)
  put(paste0(ne, ".logrank"), c(sd$chisq, length(sd$n) - 1, pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)))
}
cat("version", gsub(" ", "_", R.version.string), as.character(packageVersion("survival")), "\n")
"""
R_CALLS = ("survfit(Surv(t, e) ~ 1, conf.type = 'log-log') per group: quantile(fit, 0.5), summary(fit, censored = TRUE); "
           "survdiff(Surv(t, e) ~ g)")


def _parse(out: str) -> dict:
    ref: dict = {}
    for line in out.splitlines():
        key, *rest = line.split()
        if key == "version":
            ref["r_version"], ref["survival_version"] = rest[0].replace("_", " "), rest[1]
            continue
        ne, *path = key.split(".")
        node = ref.setdefault(ne, {"groups": []})
        if path == ["included"]:
            node["included"] = rest
        elif path == ["logrank"]:
            node["logrank"] = dict(zip(("chisq", "df", "p"), map(float, rest), strict=True))
        else:
            k, field = int(path[0]), path[1]
            while len(node["groups"]) < k:
                node["groups"].append({})
            g = node["groups"][k - 1]
            g[field] = rest[0].replace("_", " ") if field == "group" else [
                None if v in ("NA", "NaN") else float(v) for v in rest]
    return ref


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pf, mf, script = Path(tmp) / "p.csv", Path(tmp) / "m.csv", Path(tmp) / "ref.R"
        pf.write_text("patient,days,status\n" + "".join(f"{p},{v[0]},{v[1]}\n" for p, v in PATIENTS.items()))
        mf.write_text("patient,day,negative\n" + "".join(f"{p},{d},{'TRUE' if n else 'FALSE'}\n"
                                                          for p, v in PATIENTS.items() for d, n in v[2]))
        script.write_text(R_SCRIPT, encoding="utf-8")
        out = subprocess.run(["/usr/bin/Rscript", str(script), str(pf), str(mf), str(LANDMARK)], capture_output=True,
                             text=True, check=True).stdout
    ref = _parse(out)
    OUT.write_text(json.dumps({"landmark": LANDMARK, "r_calls": R_CALLS, "r": ref}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
