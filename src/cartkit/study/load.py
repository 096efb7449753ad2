"""``load_study``: a study folder -> a typed, validated ``Study``.

    >>> import tempfile, pathlib, cartkit
    >>> from cartkit.simulate import simulate_study
    >>> folder = simulate_study(pathlib.Path(tempfile.mkdtemp()) / "study", patients=12, seed=7)
    >>> study = cartkit.load_study(folder)                     # or "examples/seed-study"
    >>> study.measurements.filter(analyte="il6").height         # IL-6 samples of the 12 patients
    84
    >>> import shutil; shutil.rmtree(folder.parent)

A study is a folder holding ``study.toml`` (metadata and the analysis plan)
and one file per table of ``cartkit.study.schema.TABLES``: ``<table>.csv``,
``<table>.parquet`` or ``<table>.xlsx``, or one workbook with a sheet per table
named in ``[files] workbook``. See ``cartkit.study.validate`` for the checks.
"""

from __future__ import annotations

from pathlib import Path

from cartkit.study.model import Study
from cartkit.study.problems import StudyError, errors, warnings
from cartkit.study.validate import check_study


def load_study(path: str | Path) -> Study:
    """Load and validate the study folder at ``path``.

    Raises ``StudyError`` (a ``ValueError``) when there is any error, listing
    every problem found, in every file; ``error.problems`` holds them as
    ``Problem`` records (file, row, column, value, rule, severity). Warnings
    alone do not stop the load: they are kept in ``study.warnings`` (the report
    lists them). The folder is only read.
    """
    study, problems = check_study(path)
    if errors(problems) or study is None:
        raise StudyError(problems)
    study.warnings = warnings(problems)
    return study
