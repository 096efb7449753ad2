"""cartkit's own SDTM export names every CAR-T administration EXCAT "CAR-T CELL THERAPY", but the import
recognised an infusion only by its EXTRT (the "-leucel" / "CAR-T" pattern, sdtm_import.CAR_T_PATTERN). A
study whose product is named otherwise (here the seed's CD22 product renamed "cilta-cel", the usual
abbreviation) lost every infusion of that product on the round trip, and with them every adverse event,
measurement and qualifier of those episodes (seed: 13 of 26 infusions, 81 of 259 adverse events), with only
a note. Found by the 2026-12-02 review (review2)."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl

from cartkit.interop.sdtm_export import export_sdtm
from cartkit.interop.sdtm_import import import_sdtm


def _rename_product(folder: Path, old: str, new: str) -> None:
    toml = folder / "study.toml"
    toml.write_text(toml.read_text().replace(f'"{old}"', f'"{new}"'))
    for f in folder.glob("*.csv"):
        with f.open(newline="") as fh:
            rows = [[new if c == old else c for c in r] for r in csv.reader(fh)]
        with f.open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)


def test_a_product_named_without_car_t_keeps_its_infusions_on_the_round_trip(tmp_path, copy_seed):
    study = tmp_path / "study"
    copy_seed(study)
    _rename_product(study, "CD22 CAR-T", "cilta-cel")
    export_sdtm(study, tmp_path / "sdtm")
    back = tmp_path / "back"
    import_sdtm(tmp_path / "sdtm" / "xpt", back)
    inf = pl.read_csv(back / "infusions.csv")
    assert inf.height == 26
    assert sorted(inf["product"].unique().to_list()) == ["CD19 CAR-T", "cilta-cel"]
    assert pl.read_csv(back / "adverse_events.csv").height == 259
