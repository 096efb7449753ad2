"""pharmaversesdtm AE (the CDISC pilot, coded in MedDRA) through the SDTM importer and the SOC/PT table.

Data no one here wrote: pharmaversesdtm's AE gives each event its MedDRA PT (AEDECOD) and body
system / SOC (AEBODSYS; the codes AEPTCD and AESOCCD are empty in this dataset). The SDTM importer
carries them as meddra_pt / meddra_soc; the test counts, with Python sets over the imported rows and the
SOC the raw dataset gives each PT, the subjects with any event and with a grade >= 3 event in each SOC
per treatment.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive


@pytest.fixture(scope="module")
def pilot(pharmaverse_pilot) -> tuple[Path, pl.DataFrame]:
    sdtm, out, _result = pharmaverse_pilot
    raw = pl.read_parquet(sdtm / "ae.parquet").select("AEDECOD", "AEBODSYS").unique()
    return out, raw


def test_the_sdtm_importer_carries_aedecod_and_aebodsys_as_meddra(pilot):
    folder, raw = pilot
    ae = pl.read_csv(folder / "adverse_events.csv", infer_schema=False)
    assert ae["meddra_pt"].null_count() == 0 and ae["meddra_soc"].null_count() == 0
    # the SOC of each imported PT is the one AEBODSYS gives it in the SDTM dataset
    pairs = ae.select("meddra_pt", "meddra_soc").unique().join(raw, left_on="meddra_pt", right_on="AEDECOD")
    assert pairs.height == ae["meddra_pt"].n_unique() and (pairs["meddra_soc"] == pairs["AEBODSYS"]).all()
    assert "extra_ae_terms" not in (folder / "study.toml").read_text()  # coded rows need no extra terms


def test_pharmaversesdtm_ae_gives_the_table_by_soc_per_treatment(pilot):
    folder, raw = pilot
    study = cartkit.load_study(folder)
    incidence = analyse(study, derive(study)).tables["adverse_event_incidence"]
    products = dict(pl.read_csv(folder / "infusions.csv").select("patient_id", "product").iter_rows())
    n_product = defaultdict(int)
    for product in products.values():
        n_product[product] += 1
    soc_of = dict(raw.iter_rows())
    anyg: dict[tuple[str, str], set] = defaultdict(set)
    g3: dict[tuple[str, str], set] = defaultdict(set)
    for row in pl.read_csv(folder / "adverse_events.csv", infer_schema=False).iter_rows(named=True):
        if row["term"] in ("cytokine release syndrome", "icans"):
            continue
        key = (soc_of[row["meddra_pt"]], products[row["patient_id"]])
        anyg[key].add(row["patient_id"])
        if int(row["grade"]) >= 3:
            g3[key].add(row["patient_id"])
    socs = incidence.filter(pl.col("level") == "soc")
    assert socs.height == len({s for s, _ in anyg}) * len(n_product)
    checked = 0
    for r in socs.iter_rows(named=True):
        key = (r["section"], r["product"])
        assert (r["n"], r["n_grade3"], r["N"]) == (len(anyg[key]), len(g3[key]), n_product[r["product"]]), key
        checked += r["n"] > 0
    assert checked >= 40
    assert incidence.filter(pl.col("section") == "Not coded in MedDRA").height == 0
