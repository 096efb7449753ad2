"""Reading the criteria files in ``cartkit/grading/criteria/`` (one TOML per system/version).

The criteria are data: each grading system is one small TOML file citing its source,
and the scalar functions and the vectorised Polars rules both read the same file
through :func:`load_criteria`. A new version of a criterion is a new file.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

CRITERIA_DIR = Path(__file__).with_name("criteria")


def available(prefix: str) -> tuple[str, ...]:
    """Names (without prefix and .toml) of the criteria files starting with ``prefix_``."""
    return tuple(sorted(p.stem[len(prefix) + 1 :] for p in CRITERIA_DIR.glob(f"{prefix}_*.toml")))


@cache
def load_criteria(prefix: str, name: str) -> dict[str, Any]:
    """The parsed criteria file ``criteria/{prefix}_{name}.toml``.

    Raises ValueError naming the choices when the system or version is unknown.
    """
    path = CRITERIA_DIR / f"{prefix}_{name}.toml"
    if not path.is_file():
        raise ValueError(
            f"unknown {prefix} system/version {name!r}; available: {', '.join(available(prefix))}"
        )
    return read_criteria_file(path)


@cache
def read_criteria_file(path: Path) -> dict[str, Any]:
    """Parse one criteria TOML file (cached; also used by ``cartkit.response``)."""
    with Path(path).open("rb") as fh:
        return tomllib.load(fh)
