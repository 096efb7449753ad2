"""cartkit: from the records of a CAR-T cell therapy study to its complete analysis.

    >>> import tempfile, pathlib, cartkit
    >>> from cartkit.simulate import simulate_study
    >>> folder = simulate_study(pathlib.Path(tempfile.mkdtemp()) / "study", patients=12, seed=7)
    >>> study = cartkit.load_study(folder)                     # or "examples/seed-study"
    >>> study.patients.height
    12
    >>> import shutil; shutil.rmtree(folder.parent)

Imports are lazy so that ``cartkit --help`` and small scripts start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["load_study", "StudyError", "Problem", "Study", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from cartkit.study.load import load_study
    from cartkit.study.model import Study
    from cartkit.study.problems import Problem, StudyError


def __getattr__(name: str) -> Any:
    if name == "load_study":
        from cartkit.study.load import load_study

        return load_study
    if name in ("StudyError", "Problem"):
        from cartkit.study import problems

        return getattr(problems, name)
    if name == "Study":
        from cartkit.study.model import Study

        return Study
    raise AttributeError(f"module 'cartkit' has no attribute {name!r}")
