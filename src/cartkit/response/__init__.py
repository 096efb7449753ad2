"""Response assessment: Lugano 2014 (lymphoma), B-ALL CR/CRi/NR and MRD, IMWG 2016 (multiple
myeloma), best overall response, ORR and CR rate, relapse after CR/CRi.

Rules are data in ``cartkit/response/criteria/*.toml`` (sources cited there); the scalar
functions and the vectorised ``*_expr`` versions used by ``cartkit.derive`` share them.

    >>> from cartkit.response import lugano_pet, all_response
    >>> lugano_pet(5, "increased")
    'PMD'
"""

from __future__ import annotations

from cartkit.response.b_all import all_response, all_response_expr, mrd_negative, mrd_negative_expr
from cartkit.response.best_response import (
    ResponseRates,
    best_overall_response,
    bor_label,
    bor_label_expr,
    bor_rank_expr,
    relapse_day,
    response_rates,
)
from cartkit.response.imwg import imwg_best_response, imwg_responses
from cartkit.response.lugano import lugano_ct, lugano_pet, lugano_pet_expr

__all__ = [
    "ResponseRates",
    "all_response",
    "all_response_expr",
    "best_overall_response",
    "bor_label",
    "bor_label_expr",
    "bor_rank_expr",
    "imwg_best_response",
    "imwg_responses",
    "lugano_ct",
    "lugano_pet",
    "lugano_pet_expr",
    "mrd_negative",
    "mrd_negative_expr",
    "relapse_day",
    "response_rates",
]
