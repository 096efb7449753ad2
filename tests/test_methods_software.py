"""Methods' "Software" line names what computed the analysis: Python, cartkit, Polars, NumPy. Since issue 16
cartkit's distributions, root finder and least squares are its own (no SciPy import in a run) and its figures
are its own SVG writer (matplotlib only for --png), so neither may be named as if it computed the numbers."""

from __future__ import annotations

import platform

from cartkit.analysis.methods import software_versions


def test_software_names_what_computed_the_analysis():
    versions = software_versions()
    assert list(versions) == ["python", "cartkit", "polars", "numpy"]
    assert versions["python"] == platform.python_version()
