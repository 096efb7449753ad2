"""``[[plan.population]]``: the named analysis sets of a study, one of them primary (docs/plan.md).

Each population is a name, a label and one rule (a list of rules, not a rule language):

============================  ==============================================================
rule                          patients in the set
============================  ==============================================================
``enrolled``                  every patient of ``patients`` (intention to treat from enrolment)
``leukapheresed``             a ``leukapheresis_date``, or an infusion (an infused patient's
                              cells were collected)
``randomised``                a ``randomisation_date`` (intention to treat of a randomised trial)
``infused``                   at least one CAR-T infusion (the modified ITT / safety set)
``infused with product``      at least one infusion of ``product``; only those episodes count
``per protocol``              the boolean patients column ``flag`` (default ``per_protocol``) true
============================  ==============================================================

Exactly one population is ``primary = true`` when any are given (an error otherwise: none, or
two). A study.toml with no ``[[plan.population]]`` has one, implicit, primary population:
``infused`` (every infused patient, what the analysis has always been on).

    >>> from cartkit.study.plan_population import DEFAULT_POPULATIONS
    >>> [(p.name, p.rule, p.primary) for p in DEFAULT_POPULATIONS]
    [('infused', 'infused', True)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.coerce import TypedTable
    from cartkit.study.model import Plan
    from cartkit.study.problems import Problem

ENROLLED = "enrolled"
LEUKAPHERESED = "leukapheresed"
RANDOMISED = "randomised"
INFUSED = "infused"
INFUSED_WITH_PRODUCT = "infused with product"
PER_PROTOCOL = "per protocol"
RULES = (ENROLLED, LEUKAPHERESED, RANDOMISED, INFUSED, INFUSED_WITH_PRODUCT, PER_PROTOCOL)
# other spellings users write for the same rules
_ALIASES = {"all enrolled": ENROLLED, "itt": ENROLLED, "randomized": RANDOMISED, "all randomised": RANDOMISED,
            "all randomized": RANDOMISED, "mitt": INFUSED, "per-protocol": PER_PROTOCOL,
            "leukapheresis": LEUKAPHERESED}
DEFAULT_FLAG = "per_protocol"


@dataclass(frozen=True)
class PopulationPlan:
    """One ``[[plan.population]]`` entry."""

    name: str
    rule: str
    label: str = ""
    primary: bool = False
    product: str | None = None  # rule "infused with product"
    flag: str | None = None  # rule "per protocol": a boolean column of patients

    @property
    def title(self) -> str:
        return self.label or self.name


DEFAULT_POPULATIONS = (PopulationPlan(name="infused", rule=INFUSED, label="Infused patients", primary=True),)


def read_populations(plan: Any, problems: list[Problem], products: tuple[str, ...] = ()) -> tuple[PopulationPlan, ...]:
    """Parse ``plan.population`` (a list of tables) from the ``[plan]`` reader ``plan``; each wrong or
    unknown key is a Problem at ``plan.population[i].key`` (i from 1). Empty when none are given."""
    from cartkit.study.plan import STUDY_TOML, _Reader
    from cartkit.study.problems import Problem

    plan.used.add("population")
    entries = plan.data.get("population")
    if entries is None:
        return ()
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append(Problem(STUDY_TOML, None, "plan.population", entries,
                                "expected [[plan.population]] tables (a list of tables)"))
        return ()
    out: list[PopulationPlan] = []
    names: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        where = f"plan.population[{i}]"
        r = _Reader(entry, where, problems)
        name = r.get("name", "str", None)
        rule_text = r.get("rule", "str", None)
        label = r.get("label", "str", "")
        primary = r.get("primary", "bool", False)
        product = r.get("product", "str", None)
        flag = r.get("flag", "str", None)
        r.finish()
        if name is None or not name.strip():
            problems.append(Problem(STUDY_TOML, None, f"{where}.name", name, "missing population name"))
            continue
        name = name.strip()
        if name in names:
            problems.append(Problem(STUDY_TOML, None, f"{where}.name", name, "population name given twice"))
            continue
        names.add(name)
        if rule_text is None:
            problems.append(Problem(STUDY_TOML, None, f"{where}.rule", None,
                                    f"missing rule: one of {', '.join(RULES)}"))
            continue
        rule = _ALIASES.get(rule_text.strip().lower(), rule_text.strip().lower())
        if rule not in RULES:
            problems.append(Problem(STUDY_TOML, None, f"{where}.rule", rule_text,
                                    f"unknown population rule: one of {', '.join(RULES)}"))
            continue
        if rule == INFUSED_WITH_PRODUCT and product is None:
            problems.append(Problem(STUDY_TOML, None, f"{where}.product", None,
                                    "rule 'infused with product' needs product = \"<product>\""))
            continue
        if product is not None and rule != INFUSED_WITH_PRODUCT:
            problems.append(Problem(STUDY_TOML, None, f"{where}.product", product,
                                    f"product applies to rule 'infused with product' only, not '{rule}'"))
        if product is not None and products and product not in products:
            problems.append(Problem(STUDY_TOML, None, f"{where}.product", product, "not one of plan.products"))
        if flag is not None and rule != PER_PROTOCOL:
            problems.append(Problem(STUDY_TOML, None, f"{where}.flag", flag,
                                    f"flag applies to rule 'per protocol' only, not '{rule}'"))
        out.append(PopulationPlan(name=name, rule=rule, label=label, primary=primary,
                                  product=product if rule == INFUSED_WITH_PRODUCT else None,
                                  flag=(flag or DEFAULT_FLAG) if rule == PER_PROTOCOL else None))
    primaries = [p.name for p in out if p.primary]
    if out and len(primaries) != 1:
        rule = ("no population is primary: mark one primary = true" if not primaries else
                f"more than one population is primary ({', '.join(primaries)}): mark one only")
        problems.append(Problem(STUDY_TOML, None, "plan.population", ", ".join(primaries) or None, rule))
    return tuple(out)


def population_references(plan: Plan, tables: dict[str, TypedTable], absent: set[str]) -> list[Problem]:
    """Each population's product occurs in infusions.product; a per-protocol flag is a patients column
    of true/false values (the schema's ``per_protocol``, or an extra column given in the file)."""
    import polars as pl

    from cartkit.study.coerce import BOOL_WORDS
    from cartkit.study.plan import STUDY_TOML
    from cartkit.study.problems import Problem

    problems: list[Problem] = []
    for i, pop in enumerate(plan.populations, start=1):
        where = f"plan.population[{i}]"
        if pop.product is not None and "infusions" not in absent:
            products = set(tables["infusions"].frame["product"].drop_nulls().unique().to_list())
            if pop.product not in products:
                found = ", ".join(sorted(products)[:8]) or "none"
                problems.append(Problem(STUDY_TOML, None, f"{where}.product", pop.product,
                                        f"product not found in infusions.product ({found})"))
        if pop.flag is not None and "patients" not in absent:
            tt = tables["patients"]
            frame = tt.frame
            if pop.flag not in frame.columns or (pop.flag in tt.table.column_names and pop.flag not in tt.present):
                problems.append(Problem(STUDY_TOML, None, f"{where}.flag", pop.flag,
                                        "no such column in the patients table"))
            elif frame[pop.flag].dtype != pl.Boolean:
                words = frame[pop.flag].cast(pl.String).str.strip_chars().str.to_lowercase().drop_nulls()
                bad = words.filter(~words.is_in(list(BOOL_WORDS)) & (words != ""))
                if bad.len():
                    problems.append(Problem(STUDY_TOML, None, f"{where}.flag", pop.flag,
                                            f"patients.{pop.flag} is not a true/false column (value "
                                            f"{bad[0]!r})"))
    return problems


def flag_values(column: object) -> object:
    """A per-protocol flag column as booleans (a Polars Series; text columns read as true/false words)."""
    import polars as pl

    from cartkit.study.coerce import BOOL_WORDS

    s: pl.Series = column  # type: ignore[assignment]
    if s.dtype == pl.Boolean:
        return s
    words = s.cast(pl.String).str.strip_chars().str.to_lowercase()
    return words.replace_strict(BOOL_WORDS, default=None, return_dtype=pl.Boolean)
