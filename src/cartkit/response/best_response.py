"""Best overall response (BOR) per episode, ORR and CR rate, relapse after CR/CRi.

Criteria: ``criteria/best_response.toml`` (order CR > CRi > PR > SD > NR = PD; Lugano
PET labels mapped CMR->CR, PMR->PR, NMR->SD, PMD->PD for BOR).

    >>> best_overall_response(["PMR", "CMR", "PD"])
    'CR'
    >>> relapse_day([14, 28, 90], ["CR", "CR", "NR"])
    90
    >>> response_rates(["CR", "PR", "SD", "CRi"], "B-ALL").orr
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cartkit.grading.criteria_data import read_criteria_file

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

CRITERIA = Path(__file__).with_name("criteria") / "best_response.toml"


def bor_criteria() -> dict[str, Any]:
    return read_criteria_file(CRITERIA)


def bor_label(response: str) -> str:
    """The label a response counts as for BOR (CMR -> CR ...); ValueError if unknown."""
    spec = bor_criteria()
    label = spec["labels"].get(response, response)
    if label not in spec["rank"]:
        raise ValueError(
            f"response {response!r} is not one of {sorted(set(spec['rank']) | set(spec['labels']))}"
        )
    return label


def best_overall_response(responses: Sequence[str | None]) -> str | None:
    """Best response of one episode (None when no assessment has a response)."""
    rank = bor_criteria()["rank"]
    labels = [bor_label(r) for r in responses if r is not None]
    if not labels:
        return None
    return min(labels, key=lambda r: rank[r])


def relapse_day(days: Sequence[int], responses: Sequence[str | None]) -> int | None:
    """First assessment day with a failure (NR/PD/PMD/relapse) after the first CR/CRi, else None."""
    spec = bor_criteria()
    complete, failures = set(spec["complete"]), set(spec["failures"])
    reached = False
    for day, r in sorted(zip(days, responses, strict=True), key=lambda p: p[0]):
        if r is None:
            continue
        label = bor_label(r)
        if label in complete:
            reached = True
        elif reached and label in failures:
            return int(day)
    return None


@dataclass(frozen=True)
class ResponseRates:
    n: int
    orr_n: int
    orr: float
    cr_n: int
    cr: float
    cr_includes_cri: bool


def orr_family(disease: str) -> str:
    """The ``[orr]`` family of a disease family or diagnosis ("all" or "B-ALL" -> "all"); ValueError if neither."""
    from cartkit.study.vocabulary import DIAGNOSES

    family = DIAGNOSES.get(disease, disease)
    if family not in orr_definitions():
        raise ValueError(f"disease {disease!r} is neither a family {sorted(orr_definitions())} nor a diagnosis "
                         f"{sorted(DIAGNOSES)}")
    return family


def response_rates(best: Sequence[str | None], disease: str | Sequence[str], *,
                   cr_includes_cri: bool = True) -> ResponseRates:
    """ORR and CR rate over episodes' best responses, each counted by its own disease's rule
    (``[orr.<family>]`` of the criteria file: lymphoma CR + PR, B-ALL CR + CRi, myeloma PR or better,
    CLL CR + CRi + nPR + PR).

    ``disease`` is one disease family or diagnosis for every episode, or one per episode. Episodes
    without a best response (None) are in the denominator as non-responders (intention to treat);
    drop them first for an evaluable-patient analysis. ``cr_includes_cri=False`` leaves CRi out of
    the CR rate.
    """
    labels = [None if b is None else bor_label(b) for b in best]
    n = len(labels)
    if n == 0:
        raise ValueError("response_rates needs at least one episode")
    diseases = [disease] * n if isinstance(disease, str) else list(disease)
    if len(diseases) != n:
        raise ValueError(f"response_rates: {n} best responses but {len(diseases)} diseases")
    defs = orr_definitions()
    rules = [defs[orr_family(d)] for d in diseases]
    orr_n = sum(1 for b, d in zip(labels, rules, strict=True) if b in d["responders"])
    cr_n = sum(1 for b, d in zip(labels, rules, strict=True)
               if b in d["complete"] and (cr_includes_cri or b != "CRi"))
    return ResponseRates(n, orr_n, orr_n / n, cr_n, cr_n / n, cr_includes_cri)


def bor_label_expr(response: pl.Expr) -> pl.Expr:
    """BOR label of a response column (unknown labels -> null)."""
    import polars as pl

    spec = bor_criteria()
    mapping = {**{k: k for k in spec["rank"]}, **spec["labels"]}
    return response.replace_strict(mapping, default=None, return_dtype=pl.String)


def bor_rank_expr(label: pl.Expr) -> pl.Expr:
    import polars as pl

    return label.replace_strict(bor_criteria()["rank"], default=None, return_dtype=pl.Int64)


def orr_definitions() -> dict[str, dict[str, Any]]:
    """Diagnosis family -> its ORR and CR-rate definition (criteria, responders, complete, texts)."""
    return bor_criteria()["orr"]


def orr_membership() -> pl.DataFrame:
    """family, best_response, responder, complete: one row per (family, BOR label) the family counts."""
    import polars as pl

    rows = []
    for family, d in orr_definitions().items():
        for label in dict.fromkeys([*d["responders"], *d["complete"]]):
            rows.append((family, label, label in d["responders"], label in d["complete"]))
    return pl.DataFrame(rows, schema={"family": pl.String, "best_response": pl.String, "responder": pl.Boolean,
                                      "complete": pl.Boolean}, orient="row")


def orr_text(families) -> tuple[str, str]:
    """('ORR: ...', 'CR rate: ...') naming each family's definition, in the order given.

        >>> orr_text(["lymphoma", "myeloma"])[0]
        'ORR: lymphoma (Lugano 2014) CR + PR; multiple myeloma (IMWG 2016) PR or better (sCR + CR + VGPR + PR)'
    """
    d = orr_definitions()
    fams = [f for f in families if f in d]
    orr = "; ".join(f"{FAMILY_NAMES[f]} ({d[f]['criteria']}) {d[f]['orr_text']}" for f in fams)
    cr = "; ".join(f"{FAMILY_NAMES[f]} {d[f]['cr_text']}" for f in fams)
    return f"ORR: {orr}", f"CR rate: {cr}"


# how the report names a diagnosis family
FAMILY_NAMES = {"lymphoma": "lymphoma", "all": "B-ALL", "myeloma": "multiple myeloma", "cll": "CLL"}
