"""``[[plan.endpoint]]``: time-to-event endpoints as event and censoring sources with a time origin.

Modelled on pharmaverse admiral's ``derive_param_tte()`` (``event_source()`` /
``censor_source()``, R/derive_param_tte.R): an endpoint names

* its **origin** (time zero): ``enrolment``, ``leukapheresis``, ``randomisation`` (patients
  columns), ``first infusion``, ``infusion of product`` (the patient's first infusion of
  ``product``), ``each infusion`` (one row per infusion episode), ``first response`` or ``first
  complete response`` (duration of response, relapse-free survival);
* its **event sources**: kinds of the events table (``progression``, ``relapse``, ``death``,
  ``new_therapy``), and optionally "no response by day N" (``no_response_by_day``), an event on
  day 0 (``no_response_event_at = "origin"``, the B-ALL convention) or on day N (``"day"``);
* its **end dates** (admiral's ``end_dates``: observation stops, the patient is censored there
  unless an event came first): ``censor_at`` (event kinds such as ``new_therapy``), the next CAR-T
  infusion (``end_at_next_infusion``) and allogeneic HSCT by the one ``hsct`` rule;
* the **censoring source**: the patient's last record (``last_contact`` or any dated record),
  capped at the data cut-off.

``hsct`` is one enum, ``HsctRule``: ``censor`` (censored at the transplant), ``ignore``
(transplant not censored), ``exclude`` (patients transplanted after the origin left out),
``competing`` (the transplant is a competing event: status 2). An event and a censoring on the
same day: the event counts (admiral: events take precedence over censorings).

Without ``[[plan.endpoint]]`` the study's ``[plan.survival]`` is translated into endpoints
(``survival_endpoints``): PFS and OS from ``from_product``'s infusion (each patient's first
infusion when unset), PFS ended at the next infusion, both under the HSCT rule of
``censor_at_hsct``; the seed's numbers come from exactly this translation.

    >>> from cartkit.study.model import SurvivalPlan
    >>> [(e.name, e.origin, e.events, e.hsct.value) for e in survival_endpoints(SurvivalPlan())]
    [('PFS', 'first infusion', ('progression', 'relapse', 'death'), 'censor'), ('OS', 'first infusion', ('death',), 'censor')]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.coerce import TypedTable
    from cartkit.study.model import Plan, SurvivalPlan
    from cartkit.study.problems import Problem


class HsctRule(StrEnum):
    """How an allogeneic HSCT after the origin enters a time-to-event endpoint (one enum for the study)."""

    CENSOR = "censor"
    IGNORE = "ignore"
    EXCLUDE = "exclude"
    COMPETING = "competing"

    @property
    def label(self) -> str:
        """The words tables and figures show (the ``censoring`` column of the survival tables)."""
        return _HSCT_LABELS[self]


_HSCT_LABELS = {
    HsctRule.CENSOR: "censor at HSCT",
    HsctRule.IGNORE: "HSCT not censored",
    HsctRule.EXCLUDE: "exclude HSCT patients",
    HsctRule.COMPETING: "HSCT as competing event",
}

ENROLMENT = "enrolment"
LEUKAPHERESIS = "leukapheresis"
RANDOMISATION = "randomisation"
FIRST_INFUSION = "first infusion"
INFUSION_OF_PRODUCT = "infusion of product"
EACH_INFUSION = "each infusion"
FIRST_RESPONSE = "first response"
FIRST_COMPLETE_RESPONSE = "first complete response"
ORIGINS = (ENROLMENT, LEUKAPHERESIS, RANDOMISATION, FIRST_INFUSION, INFUSION_OF_PRODUCT, EACH_INFUSION,
           FIRST_RESPONSE, FIRST_COMPLETE_RESPONSE)
# origin -> the patients column that holds its date
ORIGIN_COLUMNS = {ENROLMENT: "enrolment_date", LEUKAPHERESIS: "leukapheresis_date",
                  RANDOMISATION: "randomisation_date"}
_ORIGIN_ALIASES = {"enrollment": ENROLMENT, "randomization": RANDOMISATION, "infusion": FIRST_INFUSION}
EVENT_KINDS = ("progression", "relapse", "death", "new_therapy")
NO_RESPONSE_AT = ("origin", "day")
TIME_UNITS = ("days", "months")


@dataclass(frozen=True)
class EndpointPlan:
    """One time-to-event endpoint (module docs)."""

    name: str
    origin: str = FIRST_INFUSION
    events: tuple[str, ...] = ("death",)
    label: str = ""
    product: str | None = None  # origin "infusion of product"
    no_response_by_day: int | None = None
    no_response_event_at: str = "origin"
    censor_at: tuple[str, ...] = ()
    end_at_next_infusion: bool = False
    hsct: HsctRule = HsctRule.CENSOR
    group_by: str | None = None  # a patients column (or "product"); None: "arm" when the study has arms
    populations: tuple[str, ...] = ()  # the populations it is analysed on; () = every population
    reference: str | None = None  # the group hazard ratios are relative to (default: analysis/survival_analysis.py)
    time_unit: str = "days"
    # days from the origin at which the recommended analysis reports the cumulative incidence (and the
    # curves); () = [plan.survival].landmark_day (analysis/survival_analysis.py, docs/survival.md)
    timepoints: tuple[int, ...] = ()
    # the diagnoses (patients.diagnosis) the endpoint applies to, e.g. EFS for B-ALL; () = every patient
    diseases: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.label or self.name


def survival_endpoints(survival: SurvivalPlan) -> tuple[EndpointPlan, ...]:
    """``[plan.survival]`` as endpoints (module docs): the seed's PFS and OS."""
    origin = INFUSION_OF_PRODUCT if survival.from_product else FIRST_INFUSION
    hsct = HsctRule.CENSOR if survival.censor_at_hsct else HsctRule.IGNORE
    common = dict(origin=origin, product=survival.from_product, hsct=hsct, group_by=survival.group_by,
                  time_unit=survival.time_unit)
    defined = {
        "pfs": EndpointPlan(name="PFS", label="Progression-free survival", events=("progression", "relapse", "death"),
                            end_at_next_infusion=True, **common),
        "os": EndpointPlan(name="OS", label="Overall survival", events=("death",), **common),
    }
    return tuple(defined[e] for e in survival.endpoints)


def read_endpoints(plan: Any, problems: list[Problem], products: tuple[str, ...] = ()) -> tuple[EndpointPlan, ...]:
    """Parse ``plan.endpoint`` (a list of tables); each wrong key is a Problem at ``plan.endpoint[i].key``."""
    from cartkit.study.plan import STUDY_TOML, _Reader
    from cartkit.study.problems import Problem

    plan.used.add("endpoint")
    entries = plan.data.get("endpoint")
    if entries is None:
        return ()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(STUDY_TOML, None, "plan.endpoint", entries,
                                "expected [[plan.endpoint]] tables (a list of tables)"))
        return ()
    out: list[EndpointPlan] = []
    names: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        where = f"plan.endpoint[{i}]"
        n_before = len(problems)
        r = _Reader(entry, where, problems)
        name = r.get("name", "str", None)
        origin_text = r.get("origin", "str", FIRST_INFUSION)
        origin = _ORIGIN_ALIASES.get(origin_text.strip().lower(), origin_text.strip().lower())
        events = r.get("events", "str_list", None)
        fields = dict(
            label=r.get("label", "str", ""),
            product=r.get("product", "str", None),
            no_response_by_day=r.get("no_response_by_day", "int", None),
            no_response_event_at=r.get("no_response_event_at", "str", "origin", choices=NO_RESPONSE_AT),
            censor_at=r.get("censor_at", "str_list", ()),
            end_at_next_infusion=r.get("end_at_next_infusion", "bool", False),
            group_by=r.get("group_by", "str", None),
            populations=r.get("populations", "str_list", ()),
            reference=r.get("reference", "str", None),
            time_unit=r.get("time_unit", "str", "days", choices=TIME_UNITS),
            timepoints=r.get("timepoints", "int_list", ()),
            diseases=r.get("diseases", "str_list", ()),
        )
        hsct_text = r.get("hsct", "str", HsctRule.CENSOR.value, choices=tuple(h.value for h in HsctRule))
        r.finish()

        def bad(key: str, value: object, rule: str, _where: str = where) -> None:
            problems.append(Problem(STUDY_TOML, None, f"{_where}.{key}", value, rule))

        if name is None or not name.strip():
            bad("name", name, "missing endpoint name (e.g. \"OS\")")
            continue
        name = name.strip()
        if name in names:
            bad("name", name, "endpoint name given twice")
            continue
        names.add(name)
        if origin not in ORIGINS:
            bad("origin", origin_text, f"unknown time origin: one of {', '.join(ORIGINS)}")
        if events is None:
            bad("events", None, f"missing events: a list of event kinds ({', '.join(EVENT_KINDS)})")
            events = ()
        for kind in (*events, *fields["censor_at"]):
            if kind == "hsct":
                key = "events" if kind in events else "censor_at"
                bad(key, kind, "HSCT is set by the endpoint's hsct rule (censor, ignore, exclude, competing)")
            elif kind not in EVENT_KINDS:
                key = "events" if kind in events else "censor_at"
                bad(key, kind, f"unknown event kind: one of {', '.join(EVENT_KINDS)}")
        both = set(events) & set(fields["censor_at"])
        if both:
            bad("censor_at", sorted(both)[0], "an event kind cannot be both an event and a censoring")
        product = fields["product"]
        if origin == INFUSION_OF_PRODUCT and product is None:
            bad("product", None, "origin 'infusion of product' needs product = \"<product>\"")
        elif product is not None and origin != INFUSION_OF_PRODUCT:
            bad("product", product, f"product applies to origin 'infusion of product' only, not '{origin}'")
        elif product is not None and products and product not in products:
            bad("product", product, "not one of plan.products")
        day = fields["no_response_by_day"]
        if day is not None and day < 1:
            bad("no_response_by_day", day, "must be a day >= 1 after the origin")
        if day is not None and origin in (FIRST_RESPONSE, FIRST_COMPLETE_RESPONSE):
            bad("no_response_by_day", day, "an endpoint from the first response has no 'no response' event")
        for tp in fields["timepoints"]:
            if tp < 1:
                bad("timepoints", tp, "a timepoint is a day >= 1 after the origin")
        if len(problems) > n_before:
            continue
        out.append(EndpointPlan(name=name, origin=origin, events=tuple(events), hsct=HsctRule(hsct_text),
                                **fields))
    return tuple(out)


def endpoint_references(plan: Plan, tables: dict[str, TypedTable], absent: set[str]) -> list[Problem]:
    """An endpoint's product occurs in infusions; its origin column is given in patients; its group_by
    and populations exist."""
    from cartkit.study.plan import STUDY_TOML
    from cartkit.study.problems import Problem

    problems: list[Problem] = []
    population_names = {p.name for p in plan.populations} or {"infused"}
    for i, ep in enumerate(plan.endpoints, start=1):
        where = f"plan.endpoint[{i}]"
        if ep.product is not None and "infusions" not in absent:
            products = set(tables["infusions"].frame["product"].drop_nulls().unique().to_list())
            if ep.product not in products:
                problems.append(Problem(STUDY_TOML, None, f"{where}.product", ep.product,
                                        "product not found in infusions.product"))
        column = ORIGIN_COLUMNS.get(ep.origin)
        if column is not None and "patients" not in absent:
            tt = tables["patients"]
            if column not in tt.present or tt.frame[column].null_count() == tt.frame.height:
                problems.append(Problem(STUDY_TOML, None, f"{where}.origin", ep.origin,
                                        f"time origin {ep.origin}: patients.{column} is not given for any patient"))
        if ep.group_by is not None and "patients" not in absent and ep.group_by != "product":
            if ep.group_by not in tables["patients"].frame.columns:
                problems.append(Problem(STUDY_TOML, None, f"{where}.group_by", ep.group_by,
                                        "not a column of the patients table (or \"product\")"))
        if ep.diseases and "patients" not in absent and "diagnosis" in tables["patients"].frame.columns:
            known = set(tables["patients"].frame["diagnosis"].drop_nulls().unique().to_list())
            for disease in ep.diseases:
                if disease not in known:
                    problems.append(Problem(STUDY_TOML, None, f"{where}.diseases", disease,
                                            f"no patient has this diagnosis ({', '.join(sorted(known))})"))
        for name in ep.populations:
            if name not in population_names:
                problems.append(Problem(STUDY_TOML, None, f"{where}.populations", name,
                                        f"no such population ({', '.join(sorted(population_names))})"))
    return problems
