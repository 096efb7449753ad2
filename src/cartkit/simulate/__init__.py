"""Synthetic CAR-T studies of any size, for tests, benchmarks and demonstrations.

    >>> import tempfile, pathlib
    >>> from cartkit.simulate import simulate_study
    >>> folder = simulate_study(pathlib.Path(tempfile.mkdtemp()) / "sim", patients=12, seed=7)
    >>> sorted(p.name for p in folder.glob("*.parquet"))[:3]
    ['adverse_events.parquet', 'assessments.parquet', 'events.parquet']
    >>> import shutil; shutil.rmtree(folder.parent)

Modules: ``cohort`` (patients, episodes, responses, follow-up), ``kinetics``
(Stein 2019 CAR-T curves, cytokines), ``toxicity`` (CRS/ICANS courses, vital
signs, supportive care, neurological assessments), ``counts`` (blood counts,
baseline chemistry, CTCAE grades), ``tables`` (study tables from a cohort)
and ``folder`` (writing the study folder).
"""

from __future__ import annotations

from cartkit.simulate.folder import simulate_study

__all__ = ["simulate_study"]
