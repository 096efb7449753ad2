"""The numbers cartkit computes from the records, under the keys ``published.toml`` uses.

Each published key is matched by a pattern to a computation over the results
and the derived tables. Products and diseases in keys are written as their
targets and short names (``cd19``, ``cd22``; ``dlbcl``, ``all``), so the same
registry serves any study whose published.toml uses these keys. A key the
registry does not know is reported "not computed".

A comparison's number (``kinetics.car_dna.peak.p``, ``toxicity.crs.grades.p``) is read from the row of
the comparison it is about. With one ``[[plan.comparison]]`` the plain key means that one; with several,
the key names the groups compared, ``kinetics.car_dna.peak.cd19_vs_cd22.p`` (a product by its target,
another group by its name in lower-case letters and digits: ``dlbcl_vs_ball``), and a key that names
none is "not computed" with the comparisons it could mean, never silently the first.

A ``Computed.reason`` says only what the records, the plan and the results show
(which test the plan's rule picked and what the other test gives, which grading
system a grade is in). What is true of one study only (which of its values are
synthetic, what its paper did) is that study's knowledge: the ``note`` of the
number in its published.toml, shown beside the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from cartkit.analysis.formatting import confidence_label, fixed, percent
from cartkit.analysis.methods import quantile_method_name
from cartkit.analysis.reproduction import Computed
from cartkit.analysis.survival_analysis import DAYS_PER_MONTH
from cartkit.derive import REFERENCE_SYSTEM
from cartkit.grading.systems import system_label
from cartkit.study.plan_endpoint import HsctRule

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.analysis.results import Results
    from cartkit.derive import Derived
    from cartkit.study.model import Study



class _Context:
    def __init__(self, study: Study, derived: Derived, results: Results):
        self.study, self.derived, self.results = study, derived, results
        inf = study.infusions.join(study.patients.select("patient_id", "diagnosis"), on="patient_id")
        self.episodes = inf
        self.product_of_target = {
            t.lower(): p for t, p in inf.select("target", "product").unique().iter_rows()
        }
        self.disease_of_short = {
            re.sub(r"[^a-z0-9]", "", d.lower()).replace("ball", "all"): d
            for d in study.patients["diagnosis"].unique().to_list()
        }
        self.quantile_method = study.plan.quantile_method
        self._cache: dict[object, object] = {}

    def once(self, key: object, compute: Callable[[], object]):
        """``compute()`` the first time ``key`` is asked for in this run, then the same object (the
        published keys ask for the same joins and lookups hundreds of times)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def kinetics(self) -> pl.DataFrame:
        """The derived kinetics with each episode's product."""
        return self.once("kinetics", lambda: self.derived.kinetics.join(
            self.episodes.select("patient_id", "episode", "product"), on=["patient_id", "episode"]))

    def kinetics_of(self, analyte: str, product: str | None) -> pl.DataFrame:
        """The kinetics of one analyte and product (the kinetics split once, not filtered per key)."""
        parts = self.once("kinetics_by", lambda: self.kinetics().partition_by("analyte", "product", as_dict=True))
        return parts.get((analyte, product), self.kinetics().clear()) if product is not None else self.kinetics().clear()

    def product(self, short: str) -> str | None:
        return self.product_of_target.get(short.lower())

    def disease(self, short: str) -> str | None:
        return self.disease_of_short.get(short.lower().replace("-", "").replace("ball", "all"))


def _describe(values, method):
    from cartkit.stats import describe

    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return describe(v, method) if v.size else None


def _stat(desc, which: str) -> float | None:
    if desc is None:
        return None
    return {"median": desc.median, "q1": desc.q1, "q3": desc.q3, "mean": desc.mean, "sd": desc.sd,
            "n": desc.n, "min": desc.min, "max": desc.max}[which]


# ---------------------------------------------------------------- computations
def _kinetic(ctx: _Context, analyte: str, target: str, measure: str, stat: str) -> Computed:
    product = ctx.product(target)
    col = {"peak": "cmax", "peak_day": "tmax"}[measure]
    desc = ctx.once(("kinetic", analyte, product, col), lambda: _describe(
        ctx.kinetics_of(analyte, product)[col].to_numpy(), ctx.quantile_method))  # median, q1, q3 of one sample
    value = _stat(desc, stat)
    reason = ""
    if stat in ("q1", "q3", "median"):
        reason = f"quartiles by the plan's definition ({quantile_method_name(ctx.quantile_method)})"
    return Computed(value, reason=reason)


def _short(ctx: _Context, group: object) -> str:
    """A compared group as keys write it: a product by its target ("cd19"), else lower-case letters and digits."""
    target = {p: t for t, p in ctx.product_of_target.items()}.get(group)
    return target or re.sub(r"[^a-z0-9]", "", str(group).lower())


def _one_comparison(ctx: _Context, rows: pl.DataFrame, pair: str | None) -> tuple[dict | None, str]:
    """The row of one comparison among ``rows`` (one per comparison the plan names): the one ``pair``
    ("cd19_vs_cd22") names, else the only one; with several and no ``pair``, none and why."""
    if rows.height == 0:
        return None, ""
    if pair is not None:
        a, b = pair.split("_vs_", 1)
        hits = [r for r in rows.iter_rows(named=True) if (_short(ctx, r["group_a"]), _short(ctx, r["group_b"])) == (a, b)]
        if not hits:
            return None, f"no comparison of {a} with {b} in the results"
        return hits[0], ""
    labels = list(dict.fromkeys(rows["comparison"].to_list())) if "comparison" in rows.columns else []
    if len(labels) > 1:
        first = rows.row(0, named=True)
        example = f"{_short(ctx, first['group_a'])}_vs_{_short(ctx, first['group_b'])}"
        return None, (f"{len(labels)} comparisons give this number ({'; '.join(labels)}): the key names one, "
                      f"e.g. ...{example}.p")
    return rows.row(0, named=True), ""


def _compared_by(ctx: _Context, comparison: str | None) -> str:
    groups = ctx.results.get("comparison_groups")
    if groups is None or comparison is None:
        return "product"
    by = ctx.once("compared_by", lambda: dict(reversed(list(groups.select("comparison", "by").iter_rows()))))
    return by.get(comparison, "product")  # the first row of the comparison


def _comparison_p(ctx: _Context, analyte: str, measure: str, pair: str | None = None) -> Computed:
    comp = ctx.results.get("comparisons")
    if comp is None:
        return Computed(None)
    by_key = ctx.once("comparisons_by_key", lambda: comp.partition_by("key", as_dict=True))
    r, why = _one_comparison(ctx, by_key.get((f"{analyte}.{measure}",), comp.clear()), pair)
    if r is None:
        return Computed(None, reason=why)
    reason = ""
    t_test = "t-test" in (r["method"] or "") or "t test" in (r["method"] or "").lower()
    if t_test and _compared_by(ctx, r.get("comparison")) == "product":
        from cartkit.stats import mann_whitney

        col = "cmax" if measure == "peak" else "tmax"
        a, b = (ctx.kinetics_of(analyte, p)[col].drop_nulls().to_numpy() for p in (r["group_a"], r["group_b"]))
        alt = mann_whitney(a, b, correct=ctx.study.plan.rank_correction).pvalue
        reason = (f"both groups pass Shapiro-Wilk, so the plan's rule picks the t test; the Wilcoxon rank-sum "
                  f"test gives {fixed(alt, 3)}")
    return Computed(
        r["pvalue"], text=f"{fixed(r['pvalue'], 3)} ({r['method']}); paired: "
        f"{'NA' if r['paired_pvalue'] is None else fixed(r['paired_pvalue'], 3)}",
        reason=reason,
    )


def _grade_p(ctx: _Context, toxicity: str, pair: str | None = None) -> Computed:
    gc = ctx.results.get("grade_compare")
    if gc is None:
        return Computed(None)
    r, why = _one_comparison(ctx, gc.filter((pl.col("toxicity") == toxicity)
                                            & ~pl.col("note").fill_null("").str.contains("alternative")), pair)
    if r is None or r["pvalue"] is None:
        return Computed(None, reason=why)
    p = float(r["pvalue"])
    def fmt(x: float | None) -> str:
        return "NA" if x is None else fixed(x, 3)

    text = f"{fixed(p, 3)} ({r['method']}); Fisher exact {fmt(r['fisher_pvalue'])}, Pearson chi-square {fmt(r['chisq_pvalue'])}"
    reason = ""
    if r["chisq_pvalue"] is not None and abs(r["chisq_pvalue"] - p) > 5e-4:
        # the plan's rule (stats.choice, Cochran) and what it saw, as the grade comparison reports them
        reason = (f"Pearson chi-square (no continuity correction) gives {fixed(r['chisq_pvalue'], 3)}; the plan's "
                  f"rule chose {r['method']}: {r['why']}")
    return Computed(p, text=text, reason=reason)


def _table2_rows(ctx: _Context, section: str | None) -> dict[tuple, dict]:
    """(term, product, diagnosis) -> the first row of the Table 2 incidences (of the sections matching
    ``section``, a pattern), built once per section for all the keys."""
    def index() -> dict[tuple, dict]:
        t2 = ctx.results.get("adverse_event_incidence")
        if section:
            t2 = t2.filter(pl.col("section").str.contains(section))
        rows: dict[tuple, dict] = {}
        for r in t2.iter_rows(named=True):
            rows.setdefault((r["term"], r["product"], r["diagnosis"]), r)
        return rows

    return ctx.once(("table2", section), index)


def _table2(ctx: _Context, key: str, target: str, disease: str, what: str) -> Computed:
    product, diagnosis = ctx.product(target), ctx.disease(disease)
    term, section = _table2_term(key)
    r = _table2_rows(ctx, section).get((term, product, diagnosis))
    if r is None or product is None or diagnosis is None:  # a null never equals in the filter this replaces
        return Computed(None)
    value = {"n": r["n"], "pct": r["pct"], "N": r["N"]}[what]
    return Computed(value, text=f"{r['n']}/{r['N']} ({fixed(r['pct'], 2)}%)")


def _response_count(ctx: _Context, target: str, disease: str, response: str) -> Computed:
    """Episodes of ``target`` x ``disease`` with a best response ``response``: "orr" (responders) and "cr_cri"
    (complete responses) by the ORR / CR-rate rule of the disease (best_response.toml ``[orr]``), any other name
    one best-response category of the criteria file (Lugano PET labels as their radiological ones)."""
    from cartkit.analysis.responses import with_response_flags
    from cartkit.response.best_response import bor_label_expr

    def split() -> dict[tuple, pl.DataFrame]:  # the listing with its flags and labels, once, by product x disease
        listing = with_response_flags(ctx.results.get("responses")).with_columns(
            _label=bor_label_expr(pl.col("best_response")).str.to_lowercase())
        return listing.partition_by("product", "diagnosis", as_dict=True)

    parts = ctx.once("responses_by", split)
    frame = parts.get((ctx.product(target), ctx.disease(disease)))
    if frame is None:
        return Computed(0.0, text="0/0")
    rule = {"orr": "responder", "cr_cri": "complete"}.get(response.lower())
    if rule is not None:
        n = int(frame[rule].sum())
    else:
        n = int((frame["_label"] == response.lower()).fill_null(False).sum())
    return Computed(float(n), text=f"{n}/{frame.height}")


def _landmark(ctx: _Context, endpoint: str, disease: str, censoring: str) -> Computed:
    lr = ctx.results.get("logrank")
    if lr is None:
        return Computed(None)
    row = lr.filter((pl.col("endpoint") == endpoint.upper()) & (pl.col("censoring") == censoring))
    col = f"landmark_{ctx.disease(disease)}"
    if row.height == 0 or col not in row.columns:
        return Computed(None)
    value = 100.0 * float(row[col][0])
    return Computed(value, text=f"{fixed(value, 1)}% ({censoring})")


def _logrank_p(ctx: _Context, endpoint: str, censoring: str) -> Computed:
    lr = ctx.results.get("logrank")
    if lr is None:
        return Computed(None)
    row = lr.filter((pl.col("endpoint") == endpoint.upper()) & (pl.col("censoring") == censoring))
    if row.height == 0 or row["pvalue"][0] is None:
        return Computed(None)
    p = float(row["pvalue"][0])
    return Computed(p, text=f"{fixed(p, 3)} (log-rank, {censoring})")


def _os_months(ctx: _Context, disease: str, stat: str) -> Computed:
    tte = ctx.derived.tte.get(HsctRule.IGNORE.label) if ctx.derived.tte else None
    if tte is None:
        return Computed(None)
    frame = tte.join(ctx.study.patients.select("patient_id", pl.col("diagnosis").alias("_dx")), on="patient_id")
    months = frame.filter(pl.col("_dx") == ctx.disease(disease))["os_days"].to_numpy() / DAYS_PER_MONTH
    origin = ctx.study.plan.survival.from_product
    return Computed(_stat(_describe(months, ctx.quantile_method), stat),
                    reason=f"OS follow-up in months of {DAYS_PER_MONTH} days from each patient's first "
                           f"{origin or 'CAR-T'} infusion")


def _infusion_stat(ctx: _Context, column: str, target: str, disease: str | None, stat: str) -> Computed:
    def summary():
        frame = ctx.episodes.filter(pl.col("product") == ctx.product(target))
        if disease:
            frame = frame.filter(pl.col("diagnosis") == ctx.disease(disease))
        return _describe(frame[column].to_numpy(), ctx.quantile_method)

    return Computed(_stat(ctx.once(("infusion", column, target, disease), summary), stat))


def _age(ctx: _Context, stat: str) -> Computed:
    ages = ctx.study.patients["age"].to_numpy()
    return Computed(_stat(_describe(ages, ctx.quantile_method), stat))


def _patients(ctx: _Context, disease: str | None) -> Computed:
    p = ctx.study.patients
    if disease:
        p = p.filter(pl.col("diagnosis") == ctx.disease(disease))
    return Computed(float(p.height))


def _grade_range(ctx: _Context, frame: pl.DataFrame, target: str, label: str) -> dict[str, Computed]:
    """"min" and "max": the lowest and highest grade among the product's episodes with the toxicity (grade >= 1)."""
    product = ctx.product(target)
    g = frame.join(ctx.episodes.select("patient_id", "episode", "product"), on=["patient_id", "episode"])
    g = g.filter((pl.col("product") == product) & (pl.col("grade") >= 1))
    if g.height == 0:
        return dict.fromkeys(("min", "max"), Computed(None))
    low, high, with_it = g.select(pl.col("grade").min().alias("low"), pl.col("grade").max().alias("high"),
                                 pl.col("patient_id").n_unique()).row(0)
    none = ctx.episodes.filter(pl.col("product") == product).height - with_it
    return {which: Computed(float(value), text=f"{fixed(value, 0)} ({label}; {none} episode(s) without it)")
            for which, value in (("min", low), ("max", high))}


def _crs_range(ctx: _Context, target: str, which: str) -> Computed:
    system = ctx.once("grade_systems", ctx.derived.grade_systems).get("CRS", ctx.study.plan.crs_system)
    span = ctx.once(("crs_recorded", target), lambda: _grade_range(ctx, ctx.derived.crs, target,
                                                                   f"{system} as recorded"))
    recorded = span[which]
    derived = ctx.once("crs_derived", lambda: ctx.derived.derived_grades.filter(
        (pl.col("toxicity") == "CRS") & (pl.col("system") == REFERENCE_SYSTEM)))
    if recorded.value is None or derived.height == 0:
        return recorded
    derived_system = system_label(REFERENCE_SYSTEM)
    alt = ctx.once(("crs_derived", target), lambda: _grade_range(
        ctx, derived, target, f"{derived_system} derived from vital signs and supportive care"))[which]
    reason = (f"the recorded grades ({system}) range "
              f"{fixed(span['min'].value, 0)}-{fixed(span['max'].value, 0)} among patients with CRS; "
              f"derived {alt.text}")
    return Computed(recorded.value, text=f"{recorded.text}; {derived_system}: {alt.text}", reason=reason)


def _haem_range(ctx: _Context, target: str, which: str) -> Computed:
    tox = ("Leukopenia", "Anemia", "Thrombocytopenia")  # seed Figure 5C-E: WBC, Hb, PLT

    def span() -> tuple[dict[str, Computed], str]:
        worst = ctx.derived.hematologic.filter(pl.col("toxicity").is_in(list(tox))).group_by(
            "patient_id", "episode").agg(pl.col("grade").max())
        got = _grade_range(ctx, worst, target, "worst of WBC, Hb and platelet CTCAE grades per episode")
        used = ctx.derived.hematologic.filter(pl.col("toxicity").is_in(list(tox)) & pl.col("grade").is_not_null())
        systems = " and ".join(system_label(s) for s in used["system"].drop_nulls().unique(maintain_order=True))
        sources = (" and ".join(used["source"].drop_nulls().unique(maintain_order=True))
                   if "source" in used.columns else "")
        return got, f"{sources or 'the'} grades ({systems or 'no system named'})"

    got, reason = ctx.once(("haem", target), span)
    return Computed(got[which].value, got[which].text, reason=reason)


def _count_episodes(ctx: _Context, frame: pl.DataFrame, target: str | None, disease: str | None) -> Computed:
    e = ctx.episodes
    if target:
        e = e.filter(pl.col("product") == ctx.product(target))
    if disease:
        e = e.filter(pl.col("diagnosis") == ctx.disease(disease))
    n = frame.join(e.select("patient_id", "episode"), on=["patient_id", "episode"]).select(
        pl.col("patient_id").n_unique()).item()
    return Computed(float(n))


def _ae_patients(ctx: _Context, term: str, target: str | None, disease: str | None, grade=None) -> Computed:
    ae = ctx.study.adverse_events.filter(pl.col("term") == term)
    if grade is not None:
        ae = ae.filter(pl.col("grade") == grade)
    return _count_episodes(ctx, ae, target, disease)


def _support_patients(ctx: _Context, kind: str) -> Computed:
    return Computed(float(ctx.study.support.filter(pl.col("kind") == kind)["patient_id"].n_unique()))


def _hsct_after(ctx: _Context, target: str) -> Computed:
    return _count_episodes(ctx, ctx.derived.hsct, target, None)


def _relapse_months(ctx: _Context, target: str, patient: str) -> Computed:
    best = ctx.derived.best_response.join(ctx.episodes.select("patient_id", "episode", "product"),
                                          on=["patient_id", "episode"])
    row = best.filter((pl.col("product") == ctx.product(target)) & (pl.col("patient_id").str.to_lowercase()
                                                                     == patient.lower()))
    if row.height == 0 or row["relapse_day"][0] is None:
        return Computed(None)
    months = (row["relapse_day"][0] - (row["response_day"][0] or 0)) / DAYS_PER_MONTH
    return Computed(months, text=f"{fixed(months, 1)} months after the response assessment",
                    reason="months of 30.4375 days from the response assessment to the relapse")


def _rate_pct(ctx: _Context, target: str, disease: str, what: str) -> Computed:
    rates = ctx.results.get("response_rates")
    row = rates.filter((pl.col("product") == ctx.product(target)) & (pl.col("diagnosis") == ctx.disease(disease)))
    if row.height == 0:
        return Computed(None)
    r = row.row(0, named=True)
    value = 100.0 * r[what]
    ci = confidence_label(ctx.study.plan.confidence_level)
    return Computed(value, text=f"{percent(r[what], 2)}% ({ci} CI {percent(r[what + '_lower'])}-"
                                      f"{percent(r[what + '_upper'])})")


def _deaths_from(ctx: _Context, pattern: str) -> Computed:
    deaths = ctx.study.events.filter((pl.col("kind") == "death")
                                     & pl.col("detail").fill_null("").str.contains(f"(?i){pattern}"))
    return Computed(float(deaths["patient_id"].n_unique()))


_TABLE1_COLUMNS = {"status": "disease_status"}  # published.toml name -> patients column


def _table1_value(ctx: _Context, patient: str, column: str, published: object) -> Computed:
    """One cell of Table 1 from patients: numbers as numbers, categories compared in the study's vocabulary."""
    from cartkit.study.schema import PATIENTS
    from cartkit.study.vocabulary import VOCABULARIES

    col = _TABLE1_COLUMNS.get(column, column)
    def index() -> dict[str, int]:  # lower-case patient id -> its first row
        rows: dict[str, int] = {}
        for i, pid in enumerate(ctx.study.patients["patient_id"].str.to_lowercase().to_list()):
            rows.setdefault(pid, i)
        return rows

    i = ctx.once("patient_rows", index).get(patient.lower())
    if i is None or col not in ctx.study.patients.columns:
        return Computed(None)
    value = ctx.study.patients[col][i]
    if not isinstance(published, str):
        return Computed(None if value is None else float(value))
    vocabulary = VOCABULARIES.get(PATIENTS.column(col).vocabulary or "", {})
    canonical = vocabulary.get(published.strip().lower(), published.strip())
    same = value is not None and str(value).strip().lower() == str(canonical).strip().lower()
    return Computed(None, text="" if value is None else str(value), same_category=same)


_TERM_KEYS = {
    "fever": "fever", "chills": "chills", "fatigue": "fatigue", "headache": "headache",
    "muscular_weakness": "muscle weakness", "muscle_weakness": "muscle weakness",
    "neutropenia": "neutrophil count decreased", "anemia": "anemia",
    "thrombocytopenia": "platelet count decreased", "hypoxia": "hypoxia", "dyspnoea": "dyspnea",
    "dyspnea": "dyspnea", "cough": "cough", "pleural_effusion": "pleural effusion", "nausea": "nausea",
    "vomiting": "vomiting", "decreased_appetite": "anorexia", "anorexia": "anorexia",
    "alt_ast": "aminotransferase increased", "aminotransferase_increased": "aminotransferase increased",
    "bilirubin": "blood bilirubin increased", "creatinine": "creatinine increased", "oliguria": "oliguria",
    "tachycardia": "sinus tachycardia", "arrhythmia": "arrhythmia", "sbp_below_90": "hypotension",
    "hypotension": "hypotension", "dic": "disseminated intravascular coagulation",
    "encephalopathy": "encephalopathy", "confused_state": "confusion", "confusion": "confusion",
    "dizziness": "dizziness", "aphasia": "aphasia", "somnolence": "somnolence",
}

_PATTERNS: list[tuple[str, Callable[..., Computed]]] = [
    (r"kinetics\.(?P<analyte>[a-z0-9_]+)\.(?P<target>cd\d+)\.(?P<measure>peak_day|peak)\.(?P<stat>median|q1|q3|mean|sd)",
     lambda c, m: _kinetic(c, m["analyte"], m["target"], m["measure"], m["stat"])),
    # a comparison P; with several [[plan.comparison]] the key names one: kinetics.car_dna.peak.cd19_vs_cd22.p
    (r"kinetics\.(?P<analyte>[a-z0-9_]+)\.(?P<measure>peak_day|peak)(\.(?P<pair>[a-z0-9]+_vs_[a-z0-9]+))?\.p",
     lambda c, m: _comparison_p(c, m["analyte"], m["measure"], m["pair"])),
    (r"toxicity\.(?P<tox>crs|icans|wbc|hb|plt)\.grades(\.(?P<pair>[a-z0-9]+_vs_[a-z0-9]+))?\.p",
     lambda c, m: _grade_p(c, {"crs": "CRS", "icans": "ICANS", "wbc": "Leukopenia", "hb": "Anemia",
                               "plt": "Thrombocytopenia"}[m["tox"]], m["pair"])),
    (r"table2\.(?P<term>[a-z_0-9]+)\.(?P<target>cd\d+)\.(?P<disease>[a-z-]+)\.(?P<what>n|pct)",
     lambda c, m: _table2(c, m["term"], m["target"], m["disease"], m["what"])),
    (r"response\.(?P<target>cd\d+)\.(?P<disease>[a-z-]+)\.(?P<response>[a-z_]+)\.n",
     lambda c, m: _response_count(c, m["target"], m["disease"], m["response"])),
    (r"survival\.(?P<endpoint>pfs|os)\.(?P<disease>[a-z-]+)\.day180",
     lambda c, m: _landmark(c, m["endpoint"], m["disease"], HsctRule.EXCLUDE.label)),
    (r"survival\.(?P<endpoint>pfs|os)\.logrank\.p",
     lambda c, m: _logrank_p(c, m["endpoint"], HsctRule.EXCLUDE.label)),
    (r"survival\.os\.(?P<disease>[a-z-]+)\.months\.(?P<stat>mean|sd|median)",
     lambda c, m: _os_months(c, m["disease"], m["stat"])),
    (r"infusion\.(?P<column>dose|transduction|harvest)\.(?P<target>cd\d+)(\.(?P<disease>[a-z-]+))?\.(?P<stat>mean|sd)",
     lambda c, m: _infusion_stat(c, {"dose": "dose_1e6_per_kg", "transduction": "transduction_pct",
                                     "harvest": "harvest_1e6_per_kg"}[m["column"]], m["target"], m["disease"],
                                 m["stat"])),
    (r"patients\.age\.(?P<stat>mean|median|min|max)", lambda c, m: _age(c, m["stat"])),
    (r"table1\.(?P<patient>p\d+)\.(?P<column>[a-z_]+)",
     lambda c, m: _table1_value(c, m["patient"], m["column"], m["published"])),
    (r"ae\.crs\.(?P<target>cd\d+)\.grade_(?P<which>min|max)", lambda c, m: _crs_range(c, m["target"], m["which"])),
    (r"ae\.haem\.(?P<target>cd\d+)\.grade_(?P<which>min|max)", lambda c, m: _haem_range(c, m["target"], m["which"])),
    (r"ae\.icans\.(?P<target>cd\d+)\.grade1_text",
     lambda c, m: _ae_patients(c, "icans", m["target"], None, grade=1)),
    (r"ae\.infection\.(?P<target>cd\d+)(\.(?P<disease>[a-z-]+))?",
     lambda c, m: _ae_patients(c, "infection", m["target"], m["disease"])),
    (r"ae\.fungal", lambda c, m: _ae_patients(c, "invasive fungal infection", None, None)),
    (r"ae\.tocilizumab\.patients", lambda c, m: _support_patients(c, "tocilizumab")),
    (r"ae\.deaths_crs_icans", lambda c, m: _deaths_from(c, "CRS|ICANS|cytokine|neurotox")),
    (r"followup\.hsct_after_(?P<target>cd\d+)", lambda c, m: _hsct_after(c, m["target"])),
    (r"followup\.(?P<target>cd\d+)\.relapse_months\.(?P<patient>p\d+)",
     lambda c, m: _relapse_months(c, m["target"], m["patient"])),
    (r"discussion\.(?P<target>cd\d+)\.(?P<disease>[a-z-]+)\.cr_claimed",
     lambda c, m: _response_count(c, m["target"], m["disease"], "cr")),
    (r"response\.(?P<target>cd\d+)\.(?P<disease>[a-z-]+)\.(?P<what>orr|cr)_pct",
     lambda c, m: _rate_pct(c, m["target"], m["disease"], m["what"])),
    (r"response\.(?P<target>cd\d+)\.(?P<disease>[a-z-]+)\.n_patients",
     lambda c, m: _count_episodes(c, c.episodes, m["target"], m["disease"])),
    (r"patients\.n(\.(?P<disease>[a-z-]+))?", lambda c, m: _patients(c, m["disease"])),
]


_COMPILED = [(re.compile(pattern), compute) for pattern, compute in _PATTERNS]  # each key tries them in order


def _table2_term(key: str) -> tuple[str, str | None]:
    """(term, section pattern) of a Table 2 key: 'crs_grade2' is the CRS section's 'grade 2' row."""
    for prefix, section in (("crs_grade", "CRS"), ("icans_grade", "ICANS")):
        if key.startswith(prefix):
            return "grade " + key[len(prefix):], section
    return _TERM_KEYS.get(key, key.replace("_", " ")), None


def computed_numbers(study: Study, derived: Derived, results: Results,
                     published: list[dict] | None = None) -> dict[str, Computed]:
    """The computed number of each key of ``published`` (the entries of the study's published.toml,
    read here when not given)."""
    from cartkit.analysis.reproduction import read_published

    ctx = _Context(study, derived, results)
    out: dict[str, Computed] = {}
    for entry in read_published(study.path) if published is None else published:
        key = entry["key"]
        for pattern, compute in _COMPILED:
            match = pattern.fullmatch(key)
            if match:
                groups = {**match.groupdict(), "published": entry.get("value")}
                missing = [f"no {groups[g].upper()} product" for g in ("target",)
                           if groups.get(g) and ctx.product(groups[g]) is None]
                missing += [f"no {groups[g]} patients" for g in ("disease",)
                            if groups.get(g) and ctx.disease(groups[g]) is None]
                if missing:
                    out[key] = Computed(None, reason="the study has " + " and ".join(missing))
                    break
                try:
                    value = compute(ctx, groups)
                except (KeyError, ValueError, TypeError) as exc:  # a key the data cannot answer
                    value = Computed(None, reason=f"not computable from the records: {exc}")
                if value.value is not None and isinstance(value.value, float) and math.isnan(value.value):
                    value = Computed(None, value.text, value.reason)
                out[key] = value
                break
    return out
