"""Methods, "Analysis populations": every table on a population is named with the set it counted, the ITT
response categories (population_disease_responses) and the comparison of the arms' ITT response rates
(population_response_tests) too (analysis/methods.py _POPULATION_TABLES)."""
from __future__ import annotations

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.simulate import simulate_study


def _populations_text(tmp_path, **design) -> tuple[str, object]:
    folder = simulate_study(tmp_path / "study", patients=40, seed=3, **design)
    study = cartkit.load_study(folder)
    results = analyse(study, derive(study))
    return dict(results.get("methods").rows())["Analysis populations"], results


def test_randomised_study_names_the_itt_comparison_of_the_arms(tmp_path):
    text, results = _populations_text(tmp_path, design="randomised", crossover=True)
    assert results.get("population_response_tests") is not None
    n = results.populations["population_response_tests"]["description"]
    assert ("response rates by intention to treat (the never infused as non-responders) and the comparison of "
            f"the arms' response rates by intention to treat on {n}") in text


def test_myeloma_itt_names_the_response_categories(tmp_path):
    text, results = _populations_text(tmp_path, design="single-arm", disease="myeloma")
    assert results.get("population_disease_responses") is not None
    n = results.populations["population_disease_responses"]["description"]
    assert f"response categories by intention to treat (IMWG 2016, iwCLL 2018) on {n}" in text
