"""Provenance: results.json and the Methods list every input file with its size and SHA-256, the
cartkit version and the plan as run. References: hashlib on the files themselves."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import cartkit
from cartkit.study.provenance import file_digest, input_files

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"
SEED_FILES = ["study.toml", "published.toml", "adverse_events.csv", "assessments.csv", "events.csv",
              "infusions.csv", "measurements.csv", "neuro.csv", "patients.csv", "support.csv"]


def _reference(path: Path) -> tuple[int, str]:
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def seed_study():
    return cartkit.load_study(SEED)


def test_loaded_study_lists_every_input_file_with_size_and_sha256(seed_study):
    inputs = seed_study.inputs
    assert [f.file for f in inputs] == SEED_FILES
    for f in inputs:
        assert (f.bytes, f.sha256) == _reference(SEED / f.file), f.file
        assert f.path == (SEED / f.file).resolve()
    # files in the folder that are not read are not inputs
    assert "PROVENANCE.md" not in {f.file for f in inputs}


def test_file_digest_reads_large_files_in_blocks(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 9000)  # > 2 MiB: several blocks
    assert file_digest(big) == _reference(big)


def test_changing_a_file_changes_its_hash_and_only_its_hash(tmp_path, seed_study, copy_seed):
    copy = tmp_path / "study"
    copy_seed(copy)
    comment = "\n# a comment changes the bytes, not the plan\n"
    with open(copy / "study.toml", "a", encoding="utf-8") as f:
        f.write(comment)
    changed = {f.file: f for f in cartkit.load_study(copy).inputs}
    before = {f.file: f for f in seed_study.inputs}
    assert changed["study.toml"].sha256 != before["study.toml"].sha256
    assert changed["study.toml"].bytes == before["study.toml"].bytes + len(comment)
    assert (changed["study.toml"].bytes, changed["study.toml"].sha256) == _reference(copy / "study.toml")
    assert all(changed[n].sha256 == before[n].sha256 for n in SEED_FILES if n != "study.toml")


def test_a_workbook_is_one_input(tmp_path):
    """A study read from one workbook lists the workbook once, with its own hash."""
    import openpyxl
    import polars as pl

    folder = tmp_path / "wb"
    folder.mkdir()
    shutil.copy(SEED / "study.toml", folder / "study.toml")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name in ("patients", "infusions"):
        df = pl.read_csv(SEED / f"{name}.csv", infer_schema_length=0)
        sheet = book.create_sheet(name)
        sheet.append(df.columns)
        for row in df.iter_rows():
            sheet.append(list(row))
    book.save(folder / "records.xlsx")
    files = input_files(folder, [folder / "records.xlsx", folder / "records.xlsx"])
    assert [f.file for f in files] == ["study.toml", "records.xlsx"]
    assert (files[1].bytes, files[1].sha256) == _reference(folder / "records.xlsx")


def test_results_json_and_methods_carry_the_provenance(tmp_path):
    """The whole stage on a small simulated study: analyse records the provenance, results.json and
    the Methods table carry it (hashes against hashlib, the version, the plan as run)."""
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.report.output_folder import SIMULATE_MANIFEST
    from cartkit.report.write import results_json
    from cartkit.simulate import simulate_study

    sim = simulate_study(tmp_path / "sim", patients=8, seed=2, format="csv")
    study = cartkit.load_study(sim)
    results = analyse(study, derive(study))
    doc = json.loads(results_json(results, {}))
    prov = doc["provenance"]
    assert prov["cartkit_version"] == cartkit.__version__
    assert prov["study_folder"] == "sim"
    names = sorted(p.name for p in sim.iterdir() if p.name != SIMULATE_MANIFEST)  # the manifest is not read
    assert sorted(f["file"] for f in prov["inputs"]) == names
    for f in prov["inputs"]:
        assert (f["bytes"], f["sha256"]) == _reference(sim / f["file"]), f["file"]
        assert set(f) == {"file", "bytes", "sha256"}  # no absolute path in a report that may be shared
    plan = prov["plan"]
    assert plan["crs_system"] == study.plan.crs_system and plan["alpha"] == study.plan.alpha
    assert plan["survival"]["landmark_day"] == study.plan.survival.landmark_day
    assert plan["products"] == doc["tables"]["study"][0]["products"].split("; ")  # as run, not as left empty
    methods = {r["item"]: r["text"] for r in doc["tables"]["methods"]}
    for f in prov["inputs"]:
        assert f"{f['file']} ({f['bytes']:,} bytes, SHA-256 {f['sha256']})" in methods["Input data"]
    assert f"cartkit {cartkit.__version__}" in methods["Input data"]
    assert f"crs_system = {study.plan.crs_system}" in methods["Plan as run"]
    assert "survival = {from_product: " in methods["Plan as run"]
