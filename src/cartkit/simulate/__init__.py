"""Synthetic CAR-T studies of any size, for tests, benchmarks and demonstrations.

    >>> from cartkit.simulate import simulate_study
    >>> simulate_study("out/sim", patients=200, seed=7)            # doctest: +SKIP

Modules: ``cohort`` (patients, episodes, responses, follow-up), ``kinetics``
(Stein 2019 CAR-T curves, cytokines), ``toxicity`` (CRS/ICANS courses, vital
signs, supportive care, neurological assessments), ``counts`` (blood counts,
baseline chemistry, CTCAE grades), ``tables`` (study tables from a cohort)
and ``folder`` (writing the study folder).
"""

from __future__ import annotations

from cartkit.simulate.folder import simulate_study

__all__ = ["simulate_study"]
