"""Review: cartkit's own SDTM export of a randomised crossover study does not read back as the same study.

A standard-of-care patient who crosses over to CAR-T has follow-up events of the arm's own treatment before
the CAR-T infusion (``cartkit simulate -n 12 --seed 1 --design randomised --crossover``: SIM-0005 progresses
on 2018-11-24 and starts salvage therapy on 2018-12-13, CAR-T on 2018-12-29). events.csv gives them no
episode, and ``validate`` is clean. ``sdtm export`` writes them with an empty --TPTREF/--RFTDTC (CE CESTDY
-35, CM CMSTDY -16: no infusion named). ``sdtm import`` (interop/sdtm_import.py ``_place``: "the first
episode for a row before any infusion") puts both in episode 1 with days -35 and -16, and ``validate`` of
the imported study now warns "new_therapy on day -16, before the infusion of episode 1 ... it is counted
from" on rows the source study had no warning for. Expected: the round trip gives back the events as they
were exported (no episode where the export named no infusion), so the imported study validates as the
source did.
"""

from __future__ import annotations

import polars as pl
import pytest

from cartkit.interop.sdtm_export import export_sdtm
from cartkit.interop.sdtm_import import import_sdtm
from cartkit.simulate import simulate_study
from cartkit.study.validate import validate_study


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    root = tmp_path_factory.mktemp("rt")
    source = simulate_study(root / "source", patients=12, seed=1, format="csv", design="randomised", crossover=True)
    export_sdtm(source, root / "sdtm")
    import_sdtm(root / "sdtm" / "xpt", root / "imported")
    return source, root / "imported"


def _events(folder):
    return pl.read_csv(folder / "events.csv", schema_overrides={"episode": pl.Int64, "day": pl.Int64})


@pytest.mark.parametrize("which", ["source", "imported"])
def test_events_before_the_crossover_infusion_have_no_episode(round_trip, which):
    # the source study as simulated, and the same after sdtm export and import (the round trip keeps them)
    folder = dict(zip(("source", "imported"), round_trip, strict=True))[which]
    ev = _events(folder).filter(pl.col("patient_id") == "SIM-0005", pl.col("kind").is_in(["progression",
                                                                                            "new_therapy"]))
    assert ev.select("kind", "episode", "date").sort("date").rows() == [
        ("progression", None, "2018-11-24"), ("new_therapy", None, "2018-12-13")]
    assert [p for p in validate_study(folder) if p.file == "events.csv"] == []
