"""The ``study.toml`` of a study written in another layout (a converted copy, a filled template).

The plan and metadata are kept as the user wrote them, comments included: only the ``[files]``
table changes, because the copy names its own files, and the ``[columns]``, ``[values]`` and ``[wide]``
tables (a centre's own headers and codes, docs/column-mapping.md) are taken out, because the copy is
written in cartkit's own layout. A ``[files]`` table that cannot be taken out
line by line (an inline table, dotted keys) is refused rather than rewritten wrongly.
"""

from __future__ import annotations

import re
import tomllib

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


# the tables a copy in cartkit's own layout does not keep
_RELOCATED = ("files", "columns", "values", "wide")


def _without_files(text: str) -> str:
    """``text`` without its ``[files]`` table and mapping tables (header line to the next table header)."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        m = _HEADER.match(line)
        if m:
            name = m.group(1).strip().strip('"')
            skipping = name.split(".")[0].strip().strip('"') in _RELOCATED
        if not skipping:
            out.append(line)
    return "".join(out)


def relocated_study_toml(text: str, workbook: str | None = None) -> str:
    """The study.toml ``text`` for a copy whose tables are named after the tables (``patients.csv``)
    or, when ``workbook`` is given, are the sheets of that one workbook.

    Raises ``ValueError`` when the text is not valid TOML or its ``[files]`` cannot be removed."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"study.toml is not valid TOML: {exc}") from exc
    if any(key in data for key in _RELOCATED):
        stripped = _without_files(text)
        try:
            kept = tomllib.loads(stripped)
        except tomllib.TOMLDecodeError:
            kept = None
        expected = {k: v for k, v in data.items() if k not in _RELOCATED}
        if kept != expected:
            raise ValueError("cannot take the [files] (or [columns], [values], [wide]) table out of study.toml "
                             "(it is written inline or with dotted keys); write it as a table or remove it, "
                             "and convert again")
        text = stripped
    if workbook is None:
        return text
    if not text.endswith("\n"):
        text += "\n"
    # a top-level table may come after any other: appending keeps every earlier key where it was
    return text + f"\n[files]\nworkbook = {_toml_string(workbook)}\n"


def skeleton_study_toml(study_id: str, workbook: str) -> str:
    """A study.toml for a new workbook: the id, the workbook, and the plan left to its defaults
    (``cartkit.study.model.Plan``; every key is explained in docs/plan.md)."""
    return (
        "# The study's metadata and analysis plan (see docs/plan.md for every key).\n"
        "[study]\n"
        f"id = {_toml_string(study_id)}\n"
        'title = ""\n'
        "# data_cutoff = 2024-12-31\n"
        "\n"
        "[files]\n"
        f"workbook = {_toml_string(workbook)}\n"
        "\n"
        "[plan]\n"
        "# products = [\"CD19 CAR-T\", \"CD22 CAR-T\"]   # compared products, reference first\n"
        "# diseases = [\"DLBCL\", \"B-ALL\"]\n"
    )


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
