"""Designs for the next study: Simon two-stage and single-stage phase II designs, two-arm sizes.

Ground floor: imports nothing from cartkit but ``cartkit.stats`` (the exact binomial CI and
Fisher's tolerance). Sources are cited in each module; docs/design.md explains them.

    simon_two_stage(0.2, 0.4)                     Simon 1989 optimal / minimax; Jung 2004 admissible
    single_stage(0.2, 0.4)                        A'Hern 2001 exact single-stage design
    operating_characteristics(design, p)          P(promising), PET, E[N] over true response rates
    logrank_sample_size(hr=0.6, ...)              Schoenfeld 1983, Freedman 1982, Lachin-Foulkes 1986
    two_proportions(0.2, 0.4, method="exact")     normal approximation or Fisher exact power
    propose_next_study("CD22 DLBCL", 6, 7)        designs from an observed rate and its exact CI
"""

from cartkit.design.errors import DesignError, NoDesignFound
from cartkit.design.logrank import (
    LogrankDesign,
    event_probability,
    logrank_events,
    logrank_power,
    logrank_power_for_n,
    logrank_sample_size,
)
from cartkit.design.operating import operating_characteristics, operating_characteristics_figure
from cartkit.design.proportions import ProportionsDesign, fisher_power, normal_power, two_proportions
from cartkit.design.proposal import Proposal, Scenario, propose_next_study
from cartkit.design.simon import SimonDesign, simon_two_stage, two_stage_probabilities
from cartkit.design.single_stage import SingleStageDesign, single_stage

__all__ = [
    "DesignError", "NoDesignFound",
    "SimonDesign", "simon_two_stage", "two_stage_probabilities",
    "SingleStageDesign", "single_stage",
    "operating_characteristics", "operating_characteristics_figure",
    "LogrankDesign", "event_probability", "logrank_events", "logrank_power", "logrank_power_for_n",
    "logrank_sample_size",
    "ProportionsDesign", "fisher_power", "normal_power", "two_proportions",
    "Proposal", "Scenario", "propose_next_study",
]
