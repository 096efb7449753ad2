"""The seed study with MedDRA-coded adverse events, infections, IEC-HS, movement and neurocognitive
toxicity, a cranial nerve palsy, second primary malignancies, IVIG and IgG added: the SDTM and ADaM
tests of these (tests/test_sdtm_meddra_late_effects.py, tests/test_adam_adae_late_effects.py) share it.
The MedDRA codes are those of MedDRA's public SOC and PT listings (as in tests/test_adverse_events_meddra.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
MYELOMA = Path(__file__).resolve().parents[1] / "examples" / "myeloma-study"
GEN, GEN_C = "General disorders and administration site conditions", "10018065"
IMMUNE, IMMUNE_C = "Immune system disorders", "10021428"
# (patient, episode, term) -> (reported term written instead, PT, PT code, SOC, SOC code)
CODED = {
    ("P2", "1", "fever"): ("Temperature 39.2 C", "Pyrexia", "10037660", GEN, GEN_C),
    ("P1", "1", "fatigue"): ("fatigue", "Fatigue", "10016256", GEN, GEN_C),
    ("P4", "1", "cytokine release syndrome"): ("cytokine release syndrome", "Cytokine release syndrome", "10052015",
                                               IMMUNE, IMMUNE_C),
}


def late_effects_seed(folder: Path) -> Path:
    shutil.copytree(SEED, folder)
    (folder / "published.toml").unlink()
    toml = (folder / "study.toml").read_text(encoding="utf-8")
    (folder / "study.toml").write_text(toml.replace("[study]\n", '[study]\nmeddra_version = "26.0"\n', 1),
                                       encoding="utf-8")
    ae = pl.read_csv(folder / "adverse_events.csv", infer_schema=False)
    key = pl.concat_str(["patient_id", "episode", "term"], separator="|")
    pick = {"|".join(k): v for k, v in CODED.items()}
    ae = ae.with_columns(**{name: key.replace_strict({k: v[i] for k, v in pick.items()}, default=None)
                            for i, name in enumerate(("__term", "meddra_pt", "meddra_pt_code", "meddra_soc",
                                                      "meddra_soc_code"))})
    ae = ae.with_columns(term=pl.coalesce("__term", "term")).drop("__term")
    late = pl.DataFrame({"patient_id": ["P2", "P3", "P10"], "episode": ["1", "2", "1"], "term": [
        "iec-hs", "cranial nerve palsy", "movement and neurocognitive toxicity"], "grade": ["2", "2", "1"],
        "grading_system": ["astct2023", "ctcae5.0", "ctcae5.0"], "onset_day": ["9", "21", "35"],
        "resolution_day": ["16", "60", None]})
    pl.concat([ae, late], how="diagonal").write_csv(folder / "adverse_events.csv")
    pl.DataFrame({"patient_id": ["P1", "P1", "P4", "P9"], "episode": ["1", "1", "1", "2"],
                  "day": ["12", "45", "20", "10"], "organism_class": ["bacterial", "viral", "fungal", "other"],
                  "organism": ["Escherichia coli", "CMV", None, None],
                  "site": ["bloodstream", "respiratory", "respiratory", "skin_soft_tissue"],
                  "grade": ["3", "2", None, "1"], "grading_system": ["ctcae5.0", "ctcae5.0", None, "ctcae5.0"]}
                 ).write_csv(folder / "infections.csv")
    ev = pl.read_csv(folder / "events.csv", infer_schema=False)
    pl.concat([ev, pl.DataFrame({"patient_id": ["P4", "P7"], "kind": ["second_malignancy", "t_cell_malignancy"],
                                 "episode": ["1", "1"], "day": ["400", None], "date": [None, "2019-03-01"],
                                 "detail": ["myelodysplastic syndrome", None]})], how="diagonal").write_csv(
        folder / "events.csv")
    sup = pl.read_csv(folder / "support.csv", infer_schema=False).drop("date")
    pl.concat([sup, pl.DataFrame({"patient_id": ["P1", "P1"], "episode": ["1", "1"], "day": ["60", "88"],
                                  "kind": ["immunoglobulin", "immunoglobulin"], "agent": ["ivig", "ivig"],
                                  "dose": ["0.4", "0.4"], "dose_unit": ["g/kg", "g/kg"]})], how="diagonal").write_csv(
        folder / "support.csv")
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    pl.concat([m, pl.DataFrame({"patient_id": ["P1", "P1"], "episode": ["1", "1"], "day": ["30", "58"],
                                "analyte": ["igg", "igg"], "value": ["380", "295"], "unit": ["mg/dL", "mg/dL"]})],
              how="diagonal").write_csv(folder / "measurements.csv")
    return folder
