"""The reproduction appendix: each number the paper publishes beside the number cartkit computes.

``published.toml`` in the study folder lists the published numbers
(``[[number]]`` with key, value, unit, source, description, and optionally
``decimals`` and ``note``). The analysis registers what it computed under the
same keys. A computed number *agrees* when it rounds to the published value
at the published precision (the number of decimals printed, or ``decimals``);
a p-value printed as 0.000 agrees with anything below 0.0005.

The reason column says why a number differs in two parts: cartkit's own reason
(``Computed.reason``: what the records, the plan and the results show), then the
entry's ``note`` (what only that study knows: which of its values are synthetic,
what its paper did). An agreeing number shows its note.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cartkit.analysis.formatting import fixed


@dataclass(frozen=True)
class Computed:
    value: float | None
    text: str = ""
    reason: str = ""  # why it may differ (grading system, quantile definition, synthetic data ...)
    # for a published category (sex, stage, ...): whether the record says the same, judged by the
    # registry with the study's vocabulary ("Relapse" and "relapsed" are one disease status)
    same_category: bool | None = None


_VALUE_LITERAL = re.compile(r"^\s*value\s*=\s*([-+]?\d+\.(\d+))\s*(?:#.*)?$", re.MULTILINE)


_PARSED: dict[str, tuple[dict, list[dict]]] = {}  # published.toml text -> (document, entries); the last file only


def _parsed(text: str) -> tuple[dict, list[dict]]:
    if text not in _PARSED:
        _PARSED.clear()
        data = tomllib.loads(text)
        _PARSED[text] = (data, _parse_published(text, data))
    return _PARSED[text]


def read_published(study_path: Path) -> list[dict]:
    """The ``[[number]]`` entries of published.toml, each with the decimals the paper printed.

    TOML reads ``20.0`` as the float 20, losing the printed precision, so the decimals of each
    value are taken from its literal text (an explicit ``decimals`` wins).

    The seed's 130 kB take about 0.03 s to parse, so the last text parsed is kept, keyed by the
    text itself (a changed file is parsed again), and each call returns fresh copies: the analysis
    parses the file once for the entries (given to ``computed_numbers``) and the cross-references.
    """
    path = Path(study_path) / "published.toml"
    if not path.exists():
        return []
    entries = _parsed(path.read_text(encoding="utf-8"))[1]
    # fresh copies: each entry's dict, and a deep copy of a value only where TOML gave an array or a table
    return [{k: copy.deepcopy(v) if isinstance(v, list | dict) else v for k, v in entry.items()}
            for entry in entries]


def read_cross_reference(study_path: Path) -> object:
    """published.toml's ``[cross_reference]`` (report section or figure id -> the publication's label),
    as a copy; None without the file or the table. Reading and parsing errors are raised as they are."""
    path = Path(study_path) / "published.toml"
    if not path.is_file():
        return None
    table = _parsed(path.read_text(encoding="utf-8"))[0].get("cross_reference")
    return copy.deepcopy(table)


def _parse_published(text: str, data: dict) -> list[dict]:
    entries = [n for n in data.get("number", []) if isinstance(n, dict) and "key" in n]
    blocks = text.split("[[number]]")[1:]
    if len(blocks) == len(data.get("number", [])):
        for entry, block in zip((n for n in data.get("number", []) if isinstance(n, dict)), blocks, strict=True):
            literal = _VALUE_LITERAL.search(block)
            if literal and "decimals" not in entry and isinstance(entry.get("value"), float):
                entry["decimals"] = len(literal.group(2))
    return entries


def _decimals(entry: dict) -> int:
    if "decimals" in entry:
        return int(entry["decimals"])
    if entry.get("unit") == "p":  # journals print P-values to 3 decimals ("0.000" = P < 0.0005)
        return 3
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    text = repr(float(value)) if isinstance(value, float) else str(value)
    if "e" in text or "." not in text:
        return 0
    decimals = len(text.split(".")[1].rstrip("0"))
    return decimals


def agrees(published: float, computed: float, decimals: int) -> bool:
    if computed is None or (isinstance(computed, float) and math.isnan(computed)):
        return False
    tolerance = 0.5 * 10 ** (-decimals) + 1e-9
    return abs(computed - published) <= tolerance


def _fmt(value: float | None, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    return fixed(value, decimals) if decimals >= 0 else f"{value:g}"  # a half away from zero, as SPSS


def _why(reason: str, note: str) -> str:
    """cartkit's reason, then the study's note.

    >>> _why("the plan's rule picks the t test", "The paper used the rank-sum test")
    "the plan's rule picks the t test. The paper used the rank-sum test"
    """
    parts = [part.strip() for part in (reason, note) if part and part.strip()]
    return ". ".join(p.rstrip(".") if i < len(parts) - 1 else p for i, p in enumerate(parts))


def reproduction_table(published: list[dict], computed: dict[str, Computed]) -> pl.DataFrame:
    rows = []
    for entry in published:
        key = entry["key"]
        value = entry.get("value")
        decimals = _decimals(entry)
        unit = entry.get("unit", "") or ""
        published_text = f"{value}{'' if unit in ('', 'n') else ' ' + unit}"
        got = computed.get(key)
        if isinstance(value, str) and got is not None and got.same_category is not None:
            status = "agrees" if got.same_category else "differs"
            computed_text = got.text
            reason = entry.get("note", "") if got.same_category else _why(got.reason, entry.get("note", ""))
        elif got is None or got.value is None or not isinstance(value, int | float) or isinstance(value, bool):
            status, computed_text = "not computed", "" if got is None else got.text
            reason = entry.get("note", "") if got is None else _why(got.reason, entry.get("note", ""))
            if got is None and not reason:
                reason = "cartkit does not compute this number from the records"
        else:
            ok = agrees(float(value), float(got.value), decimals)
            status = "agrees" if ok else "differs"
            computed_text = got.text or _fmt(float(got.value), decimals)
            reason = entry.get("note", "") if ok else _why(got.reason, entry.get("note", ""))
            attained = entry.get("attained")
            if not ok and isinstance(attained, int | float) and agrees(float(attained), float(got.value), decimals):
                reason = (f"the published value is not attainable from patient-level records; the closest "
                          f"attainable, {attained}, is what the records give. {reason}").strip()
        rows.append({
            "key": key, "section": entry.get("source", ""), "description": entry.get("description", ""),
            "published": published_text, "computed": computed_text, "status": status, "reason": reason,
        })
    schema = {k: pl.String for k in ("key", "section", "description", "published", "computed", "status",
                                      "reason")}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
