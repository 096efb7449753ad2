"""The "next study" proposal: designs planned from the study's observed response rates.

The response rates and their exact CIs are the analysis' own (``responses.response_rates``, the
same ORR rule and Clopper-Pearson limits as the report); ``cartkit.design.propose_next_study``
turns each product x diagnosis rate into Simon two-stage and single-stage designs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.derive import Derived
    from cartkit.design import Proposal
    from cartkit.study.model import Study


def observed_response_rates(study: Study, derived: Derived) -> pl.DataFrame:
    """The analysis' ``response_rates`` table (product, diagnosis, n, orr_n, orr, orr_lower, orr_upper, ...)."""
    from cartkit.analysis.adverse_events import plan_groups
    from cartkit.analysis.responses import response_listing, response_rates

    products, diseases, groups = plan_groups(study)
    listing = response_listing(derived.best_response, groups, derived.hsct)
    return response_rates(listing, products, diseases, study.plan.confidence_level)


def next_study_proposals(rates: pl.DataFrame, p0: float | None = None, delta: float = 0.20, alpha: float = 0.05,
                         beta: float = 0.20, criterion: str = "optimal", products: tuple[str, ...] = (),
                         diagnoses: tuple[str, ...] = (), level: float = 0.95) -> list[Proposal]:
    """One proposal per product x diagnosis row of ``rates`` (the pooled "All" row only when it is the one)."""
    from cartkit.design import propose_next_study

    rows = rates
    if products:
        rows = rows.filter(pl.col("product").is_in(list(products)))
    if diagnoses:
        rows = rows.filter(pl.col("diagnosis").is_in(list(diagnoses)))
    elif rows.filter(pl.col("diagnosis") != "All").height:
        rows = rows.filter(pl.col("diagnosis") != "All")
    return [
        propose_next_study(f"{row['product']}, {row['diagnosis']}", int(row["orr_n"]), int(row["n"]),
                           lower=float(row["orr_lower"]), upper=float(row["orr_upper"]), p0=p0, delta=delta,
                           alpha=alpha, beta=beta, criterion=criterion, level=level)
        for row in rows.iter_rows(named=True)
    ]


def next_study_table(rates: pl.DataFrame, options, level: float = 0.95) -> pl.DataFrame:
    """The report's "Next study" table from ``[plan.next_study]`` (a ``NextStudyPlan``): one row per group
    and planning value of p1, with the design (or the reason there is none) and the group's message."""
    proposals = next_study_proposals(rates, p0=options.p0, delta=options.delta, alpha=options.alpha,
                                     beta=options.beta, criterion=options.criterion, level=level)
    rows = []
    for p in proposals:
        for s in p.scenarios:
            d, one = s.two_stage, s.one_stage
            rows.append({
                "group": p.label, "responders": p.responders, "n": p.n, "orr": p.rate, "orr_lower": p.lower,
                "orr_upper": p.upper, "p1_at": s.label, "p0": s.p0 if s.p0 > 0 else None, "p1": s.p1,
                "design": None if d is None else d.criterion,
                "r1": None if d is None else d.r1, "n1": None if d is None else d.n1,
                "r": None if d is None else d.r, "n_total": None if d is None else d.n,
                "en_p0": None if d is None else d.en_p0, "alpha": None if d is None else d.alpha,
                "power": None if d is None else d.power,
                "single_stage_r": None if one is None else one.r, "single_stage_n": None if one is None else one.n,
                "note": s.note, "message": p.message,
            })
    schema = {"group": pl.String, "responders": pl.Int64, "n": pl.Int64, "orr": pl.Float64, "orr_lower": pl.Float64,
              "orr_upper": pl.Float64, "p1_at": pl.String, "p0": pl.Float64, "p1": pl.Float64, "design": pl.String,
              "r1": pl.Int64, "n1": pl.Int64, "r": pl.Int64, "n_total": pl.Int64, "en_p0": pl.Float64,
              "alpha": pl.Float64, "power": pl.Float64, "single_stage_r": pl.Int64, "single_stage_n": pl.Int64,
              "note": pl.String, "message": pl.String}
    return pl.DataFrame(rows, schema=schema)
