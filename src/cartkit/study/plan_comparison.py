"""``[[plan.comparison]]``: what the analysis compares with what (docs/plan.md).

Each entry compares two groups of episodes that differ in one thing: the product, the arm, the
disease or the dose level (``by``). It names the two groups (``groups = [reference, other]``) or a
``reference`` that each other group is compared against. ``paired`` says whether the same
patients' episodes are compared as pairs: ``"auto"`` (pairs when some patients are in both
groups), ``true`` or ``false``. A plan with no comparison runs the single-arm analysis; a plan that
lists two or more ``products`` and no comparison compares each listed product with the first
(what cartkit did before comparisons were declared; the report's compared-groups table shows it).

    >>> import polars as pl
    >>> spec = ComparisonSpec(by="product", reference="CD19 CAR-T")
    >>> [c.label for c in expand_comparisons((spec,), {"product": ("CD19 CAR-T", "CD22 CAR-T", "X")})]
    ['CD19 CAR-T vs CD22 CAR-T', 'CD19 CAR-T vs X']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cartkit.study.problems import WARNING, Problem

STUDY_TOML = "study.toml"

# by -> (the study table holding the group, its column, the column in the analysis' episode groups)
COMPARE_BY: dict[str, tuple[str, str]] = {
    "product": ("infusions", "product"),
    "arm": ("patients", "arm"),
    "disease": ("patients", "diagnosis"),
    "dose_level": ("infusions", "dose_level"),
}
# A patient has one disease and one arm: their episodes can never be in both groups.
NEVER_PAIRED = ("arm", "disease")
PAIRED_CHOICES = ("auto", True, False)
_KEYS = ("by", "groups", "reference", "paired", "name")


@dataclass(frozen=True)
class ComparisonSpec:
    """One ``[[plan.comparison]]`` as written: two ``groups``, or a ``reference`` for each other group."""

    by: str = "product"
    groups: tuple[str, ...] = ()
    reference: str | None = None
    paired: str | bool = "auto"
    name: str = ""
    implicit: bool = False  # not written: the default from a two-or-more product list


@dataclass(frozen=True)
class Comparison:
    """One comparison the analysis runs: group ``a`` (the reference) against group ``b``."""

    by: str
    a: str
    b: str
    paired: str | bool = "auto"
    name: str = ""

    @property
    def column(self) -> str:
        """The column of the analysis' episode groups that holds the compared value."""
        return COMPARE_BY[self.by][1]

    @property
    def label(self) -> str:
        return self.name or f"{self.a} vs {self.b}"

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b)


def _where(index: int, key: str | None = None) -> str:
    return f"plan.comparison[{index}]" + (f".{key}" if key else "")


def effective_comparisons(plan) -> tuple[ComparisonSpec, ...]:
    """The plan's comparisons; a plan that states none (``comparisons is None``: no ``[[plan.comparison]]``
    and no ``comparison = []``) and lists two or more products compares each with the first."""
    if plan.comparisons is not None:
        return tuple(plan.comparisons)
    if len(plan.products) >= 2:
        return (ComparisonSpec(by="product", reference=plan.products[0], implicit=True),)
    return ()


def parse_comparisons(raw: Any, products: tuple[str, ...], diseases: tuple[str, ...],
                      problems: list[Problem]) -> tuple[ComparisonSpec, ...] | None:
    """The ``[[plan.comparison]]`` entries of ``raw`` (``None`` when absent: the plan states no
    comparison; ``comparison = []`` states that there is none), checked as far as the plan
    alone allows: keys, kinds, ``by``, two distinct groups or a reference, ``paired`` for groups no
    patient can be in both of, and products or diseases the plan itself leaves out. Entries are
    numbered from 1 in the problems (``plan.comparison[2].groups``)."""
    from cartkit.study.vocabulary import VOCABULARIES

    if raw is None:
        return None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        problems.append(Problem(STUDY_TOML, None, "plan.comparison", raw,
                                "expected [[plan.comparison]] tables (by, groups or reference, paired)"))
        return ()
    specs: list[ComparisonSpec] = []
    for index, entry in enumerate(raw, start=1):
        before = len(problems)

        def bad(key: str | None, value: object, rule: str, index: int = index) -> None:
            problems.append(Problem(STUDY_TOML, None, _where(index, key), value, rule))

        for key in entry:
            if key not in _KEYS:
                bad(key, entry[key], f"unknown key '{_where(index, key)}': expected one of {', '.join(_KEYS)}")
        by = entry.get("by", "product")
        if by not in COMPARE_BY:
            bad("by", by, f"must be one of: {', '.join(COMPARE_BY)}")
            continue
        groups = entry.get("groups")
        reference = entry.get("reference")
        if (groups is None) == (reference is None):
            bad(None, None, "give either groups = [reference, other] or reference = \"...\" (each other "
                f"{by.replace('_', ' ')} against it), not {'both' if groups is not None else 'neither'}")
            continue
        if groups is not None and (not isinstance(groups, list) or len(groups) != 2
                                   or not all(isinstance(g, str) and g.strip() for g in groups)):
            bad("groups", groups, "expected a list of two names [reference, other]")
            continue
        if reference is not None and not (isinstance(reference, str) and reference.strip()):
            bad("reference", reference, "expected a name")
            continue
        names = tuple(g.strip() for g in groups) if groups is not None else (reference.strip(),)
        if by == "disease":  # canonical spelling, as patients.diagnosis holds it
            mapping = VOCABULARIES["diagnosis"]
            canon = tuple(mapping.get(n.lower()) for n in names)
            for name, c in zip(names, canon, strict=True):
                if c is None:
                    bad("groups" if groups is not None else "reference", name, "unknown diagnosis")
            if None in canon:
                continue
            names = canon  # type: ignore[assignment]
        if len(names) == 2 and names[0] == names[1]:
            bad("groups", list(names), "the two groups are the same: nothing to compare")
            continue
        listed = {"product": products, "disease": diseases}.get(by, ())
        for name in names:
            if listed and name not in listed:
                bad("groups" if groups is not None else "reference", name,
                    f"not one of plan.{'products' if by == 'product' else 'diseases'} ({', '.join(listed)})")
        paired = entry.get("paired", "auto")
        if isinstance(paired, str) and paired.strip().lower() == "auto":
            paired = "auto"
        if paired not in PAIRED_CHOICES or (isinstance(paired, int) and not isinstance(paired, bool)):
            bad("paired", paired, 'must be "auto", true or false')
            paired = "auto"
        if paired is True and by in NEVER_PAIRED:
            bad("paired", paired, f"a patient has one {'disease' if by == 'disease' else 'arm'}: no patient is "
                "in both groups, so the comparison cannot be paired (use \"auto\" or false)")
        name = entry.get("name", "")
        if not isinstance(name, str):
            bad("name", name, "expected a string")
            name = ""
        if len(problems) > before:
            continue
        specs.append(ComparisonSpec(by=by, groups=names if groups is not None else (), paired=paired,
                                    reference=names[0] if reference is not None else None, name=name.strip()))
    return tuple(specs)


def expand_comparisons(specs: tuple[ComparisonSpec, ...], available: dict[str, tuple[str, ...]]
                       ) -> tuple[Comparison, ...]:
    """The comparisons to run: each spec's two groups, or its reference against each other group that
    ``available[by]`` (the groups of the analysed episodes, in order) holds. Duplicates run once."""
    out: dict[tuple[str, str, str], Comparison] = {}
    for spec in specs:
        if spec.groups:
            pairs = [tuple(spec.groups)]
        else:
            pairs = [(spec.reference, g) for g in available.get(spec.by, ()) if g != spec.reference]
        for a, b in pairs:
            out.setdefault((spec.by, a, b), Comparison(spec.by, a, b, spec.paired,
                                                       spec.name if spec.groups else ""))
    return tuple(out.values())


def comparison_references(specs: tuple[ComparisonSpec, ...], frames: dict[str, Any],
                          absent: set[str] = frozenset(), products: tuple[str, ...] = ()) -> list[Problem]:
    """Problems of the comparisons against the data: a group or reference no episode has (an error), a
    compared column the study does not record (an error), ``paired = true`` with no patient in both
    groups (an error) and recorded products the plan's product list leaves out (a warning: those
    episodes are not analysed).

    ``frames``: the typed study tables (``patients``, ``infusions``) as Polars frames; a table in
    ``absent`` could not be read (its own problem says why) and is not checked against.
    """
    import polars as pl

    problems: list[Problem] = []
    infusions = frames.get("infusions")
    if products and "infusions" not in absent and infusions is not None and "product" in infusions.columns:
        counts = (infusions.filter(pl.col("product").is_not_null() & ~pl.col("product").is_in(list(products)))
                  .group_by("product", maintain_order=True).len())
        for product, n in counts.iter_rows():
            problems.append(Problem(STUDY_TOML, None, "plan.products", product,
                                    f"infusions.product '{product}' ({n} episode{'s' if n != 1 else ''}) is not in "
                                    "plan.products: those episodes are left out of the analysis", WARNING,
                                    kind="recorded product not in the plan"))
    for index, spec in enumerate(specs, start=1):
        table, column = COMPARE_BY[spec.by]
        frame = frames.get(table)
        if table in absent or frame is None:
            continue
        key = "plan.comparison" if spec.implicit else _where(index)
        if column not in frame.columns or frame[column].drop_nulls().len() == 0:
            problems.append(Problem(STUDY_TOML, None, f"{key}.by", spec.by,
                                    f"the {table} table records no {column}: nothing to compare by"))
            continue
        recorded = frame[column].drop_nulls().cast(pl.String).unique(maintain_order=True).to_list()
        for name in spec.groups or (spec.reference,):
            if name not in recorded:
                problems.append(Problem(STUDY_TOML, None, f"{key}.{'groups' if spec.groups else 'reference'}",
                                        name, f"not found in {table}.{column} ({', '.join(sorted(recorded)[:8])})"))
        if spec.paired is True and spec.groups and table == "infusions" and "patient_id" in frame.columns:
            both = (frame.filter(pl.col(column).cast(pl.String).is_in(list(spec.groups)))
                    .group_by("patient_id").agg(pl.col(column).n_unique().alias("k"))
                    .filter(pl.col("k") == 2).height)
            if both == 0:
                problems.append(Problem(STUDY_TOML, None, f"{key}.paired", True,
                                        f"paired = true, but no patient received both {spec.groups[0]} and "
                                        f"{spec.groups[1]}"))
    return problems
