"""Hazard ratio of one group against another with its Wald CI, as R's ``coxph(Surv(time, event) ~ group)``.

``hazard_ratio(time, event, group)`` fits a Cox model (Efron ties, ``cartkit.survival.cox``) with the
group as one 0/1 covariate: the reference is the first group in R's factor order (sorted labels) unless
``reference`` names another, so the ratio is that of ``summary(coxph(...))$conf.int`` (exp(coef), lower,
upper .95) and the P value the Wald test's (``summary(fit)$coefficients[, "Pr(>|z|)"]``); the score
(log-rank) and likelihood-ratio tests are carried too (``score``, ``lr``: ``summary(fit)$sctest``,
``$logtest``). With no events in a group the hazard ratio is not estimable (the coefficient is infinite):
``hr``, ``ci`` and the Wald ``pvalue`` are NaN (``wald`` says it was not computed), while ``score`` and
``lr`` are still the score and likelihood-ratio tests, each under its own name.

Few events: a Cox model needs about 10 events per covariate for its coefficient and CI to be trusted
(Concato et al., J Clin Epidemiol 1995;48:1495-1501; Peduzzi et al., ibid. 1503-1510).
With fewer than ``min_events_per_covariate`` (10) events in all, ``warning`` says so (and a
``FewEventsWarning`` is issued), the estimate is still given: small CAR-T series often have 5-15 events
and the reader must see both the number and the caveat. See docs/survival.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from cartkit.stats.results import TestResult
from cartkit.survival.cox import cox
from cartkit.survival.kaplan_meier import survival_data
from cartkit.survival.logrank import group_codes

MIN_EVENTS_PER_COVARIATE = 10  # Peduzzi et al. 1995 (see module docstring)


class FewEventsWarning(UserWarning):
    """A Cox model with fewer events per covariate than the rule of thumb (10), or one R's ``coxph`` warns
    about (no convergence; a coefficient that may be infinite: ``CoxModel.warning``)."""


@dataclass(frozen=True)
class HazardRatio:
    """``hr`` of ``group`` vs ``reference`` with ``ci`` (Wald, ``level``); ``wald``, ``score``, ``lr`` tests."""

    group: object
    reference: object
    hr: float
    ci: tuple[float, float]
    coef: float
    se: float
    pvalue: float
    level: float
    n: int
    n_events: int
    events: dict  # group -> events
    wald: TestResult
    score: TestResult
    lr: TestResult
    warning: str = ""


def hazard_ratio(time: object, event: object, group: object, reference: object = None, level: float = 0.95,
                 min_events_per_covariate: int = MIN_EVENTS_PER_COVARIATE, strata: object = None) -> HazardRatio:
    """Cox hazard ratio of the non-reference group vs ``reference`` (two groups); ``strata`` (one value per
    subject, e.g. disease) gives each stratum its own baseline hazard, as ``coxph(... ~ group + strata(s))``.

    >>> r = hazard_ratio([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 0, 1, 1, 0, 1], list("aaaabbbb"))
    >>> r.reference, r.group, r.n_events
    ('a', 'b', 6)
    """
    t, e = survival_data(time, event, "hazard_ratio")
    labels, codes = group_codes(group, t.size, "group", "hazard_ratio")
    labels = [x.item() if hasattr(x, "item") else x for x in labels]
    if len(labels) != 2:
        raise ValueError(f"hazard_ratio: needs exactly 2 groups, got {labels}")
    ref = labels[0] if reference is None else reference
    if ref not in labels:
        raise ValueError(f"hazard_ratio: reference {reference!r} is not one of the groups {labels}")
    other = labels[1] if ref == labels[0] else labels[0]
    x = (codes == labels.index(other)).astype(float)
    events = {lab: int(e[codes == i].sum()) for i, lab in enumerate(labels)}
    total = int(e.sum())
    warning = ""
    if total < min_events_per_covariate:
        warning = (f"only {total} events for 1 covariate (fewer than {min_events_per_covariate} per covariate): "
                   "the hazard ratio and its CI are unreliable")
    empty = [lab for lab, k in events.items() if k == 0]
    if empty:  # the partial likelihood has no maximum: R's coxph warns the coefficient may be infinite
        warning = f"no events in group {empty[0]!r}: the hazard ratio is not estimable (infinite)"
    if warning:
        warnings.warn(f"hazard_ratio: {warning}", FewEventsWarning, stacklevel=2)
    frame = {"t": t, "e": e, "x": x}
    if strata is not None:
        import polars as pl

        frame["s"] = pl.Series("s", group_codes(strata, t.size, "strata", "hazard_ratio")[1])
    if empty:
        # no Wald test without a finite estimate (R's coxph prints one for the coefficient it stopped at,
        # P near 1, meaningless); the score (log-rank) test is at beta = 0 and the likelihood-ratio test
        # at the limit the log-likelihood converges to, both defined: R's summary(coxph)$sctest, $logtest
        nan = float("nan")
        wald = TestResult("Wald test", nan, nan, df=1.0, note=f"not computed: {warning}")
        try:
            model = cox(frame, "t", "e", ["x"], level=level, strata="s" if strata is not None else None)
        except ValueError as exc:  # no event with both groups at risk: the information at 0 is singular
            why = f"not computed: {exc}"
            score = TestResult("Score (logrank) test", nan, nan, df=1.0, note=why)
            lr = TestResult("Likelihood ratio test", nan, nan, df=1.0, note=why)
        else:
            score, lr = model.score, model.lr
        return HazardRatio(other, ref, nan, (nan, nan), nan, nan, nan, level, int(t.size), total, events, wald,
                           score, lr, warning)
    model = cox(frame, "t", "e", ["x"], level=level, strata="s" if strata is not None else None)
    if model.warning:  # not converged, or a coefficient that may be infinite (R's coxph warnings)
        warning = "; ".join(w for w in (warning, model.warning) if w)
        warnings.warn(f"hazard_ratio: {model.warning}", FewEventsWarning, stacklevel=2)
    wald = TestResult("Wald test", float(model.z[0] ** 2), float(model.pvalues[0]), df=1.0,
                      estimate=float(model.hr[0]), ci=(float(model.ci[0, 0]), float(model.ci[0, 1])),
                      note=f"Cox model (Efron ties{', stratified' if strata is not None else ''}), {other} vs {ref}")
    return HazardRatio(other, ref, float(model.hr[0]), (float(model.ci[0, 0]), float(model.ci[0, 1])),
                       float(model.coef[0]), float(model.se[0]), float(model.pvalues[0]), level, model.n, total,
                       events, wald, model.score, model.lr, warning)

