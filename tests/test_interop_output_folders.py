"""``cartkit convert`` and ``cartkit redcap import`` replace a folder they wrote only by its manifest
(report/output_folder.py: every file listed with its size and SHA-256): a user's file put into it survives
a re-run, a folder cartkit did not write is refused with a clear message, and CLI errors keep their
bracketed text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cartkit
from cartkit.cli import app
from cartkit.interop.convert import MARKER, ConvertError, convert_study
from cartkit.interop.redcap_export import export_study, write_dictionary
from cartkit.interop.redcap_import import MARKER as REDCAP_MARKER
from cartkit.interop.redcap_import import import_records

SEED = Path(__file__).resolve().parents[1] / "examples" / "seed-study"


def test_convert_writes_a_manifest_with_hashes_and_replaces_its_own_folder(tmp_path):
    out = convert_study(SEED, tmp_path / "csv", "csv")
    manifest = json.loads((out / MARKER).read_text())
    assert manifest["cartkit_convert"] == 1 and manifest["format"] == "csv"
    assert set(manifest["files"]) == {p.name for p in out.iterdir() if p.name != MARKER}
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    convert_study(SEED, out, "parquet")  # an unchanged converted study is replaced
    assert (out / "patients.parquet").is_file() and not (out / "patients.csv").exists()


def test_convert_keeps_a_user_file_put_into_its_folder(tmp_path):
    out = convert_study(SEED, tmp_path / "csv", "csv")
    (out / "my notes.txt").write_text("mine")
    with pytest.raises(ConvertError, match=r"now also holds files cartkit did not write or that changed since "
                                           r"\(my notes\.txt\); move them out"):
        convert_study(SEED, out, "csv")
    assert (out / "my notes.txt").read_text() == "mine" and (out / "patients.csv").is_file()
    # a converted file the user edited is theirs now: kept, and the re-run refused
    (out / "my notes.txt").unlink()
    (out / "patients.csv").write_text((out / "patients.csv").read_text() + "\n")
    with pytest.raises(ConvertError, match=r"patients\.csv"):
        convert_study(SEED, out, "csv")
    assert (out / "patients.csv").read_text().endswith("\n\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv"]  # no temporary folder left behind


def test_convert_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("x")
    (out / MARKER).write_text(json.dumps({"files": ["thesis.docx"]}))  # a marker by name only is not enough
    with pytest.raises(ConvertError, match=r"is not empty and is not a study converted by cartkit \(no valid "
                                           r"\.cartkit-convert\.json"):
        convert_study(SEED, out, "csv")
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "thesis.docx"]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redcap")
    write_dictionary(tmp / "dictionary.csv")
    export_study(cartkit.load_study(SEED), tmp / "records.csv")
    return tmp


def test_redcap_import_keeps_a_user_file_and_replaces_only_its_own_folder(export, tmp_path):
    out = tmp_path / "study"
    import_records(export / "records.csv", export / "dictionary.csv", out)
    manifest = json.loads((out / REDCAP_MARKER).read_text())
    assert manifest["cartkit_redcap_import"] == 1 and manifest["source"] == "records.csv"
    assert set(manifest["files"]) == {p.name for p in out.iterdir() if p.name != REDCAP_MARKER}
    import_records(export / "records.csv", export / "dictionary.csv", out)  # its own, unchanged: replaced
    (out / "analysis.R").write_text("library(survival)")
    with pytest.raises(FileExistsError, match=r"\(analysis\.R\); move them out"):
        import_records(export / "records.csv", export / "dictionary.csv", out)
    assert (out / "analysis.R").read_text() == "library(survival)" and (out / "patients.csv").is_file()


def test_redcap_import_refuses_a_folder_with_only_its_old_marker_name(export, tmp_path):
    out = tmp_path / "study"
    out.mkdir()
    (out / "patients.csv").write_text("patient_id\nmine\n")
    (out / REDCAP_MARKER).write_text("written by cartkit redcap import from records.csv\n")  # name only
    with pytest.raises(FileExistsError, match=r"is not empty and is not a study imported from REDCap by cartkit"):
        import_records(export / "records.csv", export / "dictionary.csv", out)
    assert (out / "patients.csv").read_text() == "patient_id\nmine\n"


def test_cli_errors_keep_bracketed_text(tmp_path):
    result = CliRunner().invoke(app, ["convert", str(SEED), str(tmp_path / "out"), "--to", "[xlsx]"])
    assert result.exit_code == 1
    assert "--to must be one of csv, xlsx, parquet, sav, not '[xlsx]'" in result.output
