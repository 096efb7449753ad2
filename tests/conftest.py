"""Fixtures shared by the tests.

``copy_seed``: a fresh copy of examples/seed-study for a test (or a module's fixture) to edit; the
bundled study itself is never written. Tests that only read the seed load it in place.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed-study"


@pytest.fixture(scope="session")
def copy_seed() -> Callable[[Path], Path]:
    """``copy_seed(dest)``: copies examples/seed-study to ``dest`` (a folder that does not exist yet)
    and returns ``dest``. Session-scoped, so that module-scoped fixtures can ask for it as well as
    tests; a test that asks for it is skipped when the checkout has no seed study."""
    if not SEED.is_dir():
        pytest.skip("examples/seed-study is not in this checkout")

    def copy(dest: Path) -> Path:
        shutil.copytree(SEED, dest)
        return Path(dest)

    return copy
