"""Files a user's folder really holds: symbolic links, NUL bytes, UTF-16/UTF-32 text, ragged rows,
header-only tables, tables whose key column could not be read (issue 9, items 3 and 13)."""

from __future__ import annotations

import os

import polars as pl
import pytest
from test_study_builders import base_tables, write_csv, write_study

from cartkit.study.load import load_study
from cartkit.study.problems import StudyError
from cartkit.study.validate import validate_study


def _patients_text(**kw) -> str:
    return pl.DataFrame(base_tables()["patients"]).with_columns(pl.all().cast(pl.String)).write_csv(**kw)


# --------------------------------------------------------------------------- symbolic links


def test_a_symbolic_link_out_of_the_study_folder_is_refused_where_it_is(tmp_path):
    folder = write_study(tmp_path / "study")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (folder / "patients.csv").rename(outside / "patients.csv")
    os.symlink(outside / "patients.csv", folder / "patients.csv")
    problems = validate_study(folder)
    assert [(p.file, p.row, p.severity) for p in problems] == [("patients.csv", None, "error")]
    assert problems[0].rule.startswith(f"symbolic link to '{outside / 'patients.csv'}', outside the study folder")
    # one problem: not also "missing required table", nor every other row an unknown patient
    with pytest.raises(StudyError):
        load_study(folder)


def test_a_symbolic_link_through_a_relative_path_out_of_the_folder_is_refused(tmp_path):
    folder = write_study(tmp_path / "study")
    (folder / "events.csv").rename(tmp_path / "events.csv")
    os.symlink("../events.csv", folder / "events.csv")
    problems = validate_study(folder)
    assert [(p.file, p.rule.split(",")[0]) for p in problems] == [
        ("events.csv", f"symbolic link to '{tmp_path / 'events.csv'}'")
    ]


def test_a_symbolic_link_to_a_file_inside_the_folder_is_read(tmp_path):
    folder = write_study(tmp_path / "study")
    (folder / "data").mkdir()
    (folder / "patients.csv").rename(folder / "data" / "patients-v3.csv")
    os.symlink("data/patients-v3.csv", folder / "patients.csv")
    study = load_study(folder)
    assert study.patients["patient_id"].to_list() == ["P1", "P2"]
    assert "patients.csv: symbolic link to a file inside the study folder; read" in study.notes


def test_a_broken_link_and_a_linked_study_toml_are_named(tmp_path):
    folder = write_study(tmp_path / "study")
    (folder / "support.csv").unlink()
    os.symlink(tmp_path / "gone.csv", folder / "support.csv")
    (folder / "study.toml").rename(tmp_path / "study.toml")
    os.symlink(tmp_path / "study.toml", folder / "study.toml")
    problems = validate_study(folder)
    by_file = {p.file: p.rule for p in problems}
    assert by_file["support.csv"] == f"symbolic link to '{tmp_path / 'gone.csv'}', which does not exist"
    assert by_file["study.toml"].startswith("symbolic link to")
    assert "outside the study folder" in by_file["study.toml"]


def test_a_study_folder_reached_through_a_link_is_read(tmp_path):
    folder = write_study(tmp_path / "study")
    os.symlink(folder, tmp_path / "alias")
    assert load_study(tmp_path / "alias").patients.height == 2


# --------------------------------------------------------------------------- NUL bytes


def test_a_nul_byte_is_a_located_problem_not_stripped(tmp_path):
    folder = write_study(tmp_path)
    path = folder / "patients.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"P2", b"P\x002", 1)  # line 3, column patient_id
    lines[1] = lines[1].replace(b"DLBCL", b"DL\x00BCL", 1)  # line 2, column diagnosis
    path.write_bytes(b"\n".join(lines))
    problems = validate_study(folder)
    nul = [p for p in problems if p.rule.startswith("NUL byte")]
    assert sorted((p.file, p.row, p.column) for p in nul) == [
        ("patients.csv", 2, "diagnosis"), ("patients.csv", 3, "patient_id"),
    ]
    assert all(p.severity == "error" for p in nul)
    with pytest.raises(StudyError):
        load_study(folder)


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("codec", "bom", "shown"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16"),
        ("utf-16-be", b"\xfe\xff", "UTF-16"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "UTF-32"),
        ("utf-16-le", b"", "UTF-16"),  # Excel's "Unicode text" saved without a byte-order mark
    ],
)
def test_utf16_and_utf32_files_are_decoded_and_named(tmp_path, codec, bom, shown):
    write_study(tmp_path)
    tables = base_tables()
    tables["patients"][0]["subtype"] = "non-GCB – ß"
    text = pl.DataFrame(tables["patients"]).with_columns(pl.all().cast(pl.String)).write_csv()
    (tmp_path / "patients.csv").write_bytes(bom + text.encode(codec))
    study = load_study(tmp_path)
    assert study.patients["patient_id"].to_list() == ["P1", "P2"]
    assert study.patients["subtype"][0] == "non-GCB – ß"
    assert f"patients.csv: read as {shown} ({codec})" in study.notes


def test_a_file_marked_utf16_that_is_not_is_one_problem_naming_the_encoding(tmp_path):
    write_study(tmp_path)
    (tmp_path / "patients.csv").write_bytes(b"\xff\xfe" + _patients_text().encode("utf-16-le")[:-1])
    problems = validate_study(tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].file == "patients.csv"
    assert "UTF-16 byte-order mark but is not valid UTF-16" in problems[0].rule


# --------------------------------------------------------------------------- cascades


def test_a_header_only_patients_table_is_one_problem(tmp_path):
    folder = write_study(tmp_path)
    (folder / "patients.csv").write_text(_patients_text().splitlines()[0] + "\n")
    problems = validate_study(folder)
    assert [(p.file, p.row, p.rule) for p in problems] == [
        ("patients.csv", None, "the table has a header but no rows: a study needs its patients"),
    ]


def test_a_header_only_infusions_table_gives_no_episode_orphans(tmp_path):
    tables = base_tables()
    folder = write_study(tmp_path, tables)
    header = (folder / "infusions.csv").read_text().splitlines()[0]
    (folder / "infusions.csv").write_text(header + "\n")
    problems = validate_study(folder)
    assert not [p for p in problems if p.rule.startswith("unknown episode")]
    assert [p.rule for p in problems if p.file == "infusions.csv"] == [
        "the table has a header but no rows: a study needs its infusions (episodes)"
    ]


def test_no_orphans_of_a_key_column_that_failed_to_load(tmp_path):
    tables = base_tables()
    for row in tables["patients"]:
        row["patient id"] = row.pop("patient_id")  # misspelt header: the key column is not there
    problems = validate_study(write_study(tmp_path, tables))
    assert [(p.file, p.column, p.rule) for p in problems] == [
        ("patients.csv", "patient_id", "missing required column")
    ]


def test_ragged_rows_are_named_by_line_and_the_file_is_still_read(tmp_path):
    folder = write_study(tmp_path)
    rows = base_tables()["patients"]
    path = write_csv(folder, "patients", rows)
    lines = path.read_text().splitlines()
    width = lines[0].count(",") + 1
    lines[2] = lines[2] + ",extra,more"
    lines.insert(2, '"P0",54,male,DLBCL,IV,"refractory, primary",3,4,70.5')  # a quoted comma is no field
    path.write_text("\n".join(lines) + "\n")
    problems = validate_study(folder)
    ragged = [p for p in problems if "fields, header has" in p.rule]
    assert [(p.row, p.rule) for p in ragged] == [(4, f"line 4 has {width + 2} fields, header has {width}")]
    assert not any("Schema" in p.rule for p in problems)


def test_an_unreadable_infusion_episode_gives_no_episode_orphans(tmp_path):
    tables = base_tables()
    tables["infusions"][0]["episode"] = "one"  # P1's first infusion: its rows cannot find it
    problems = validate_study(write_study(tmp_path, tables))
    assert [(p.file, p.row, p.column, p.rule) for p in problems] == [
        ("infusions.csv", 2, "episode", "not a whole number")
    ]


def test_a_linked_study_workbook_out_of_the_folder_is_one_problem(tmp_path):
    folder = write_study(tmp_path / "study", fmt="workbook")
    (folder / "study.xlsx").rename(tmp_path / "study.xlsx")
    os.symlink(tmp_path / "study.xlsx", folder / "study.xlsx")
    problems = validate_study(folder)
    assert [(p.file, p.rule.split(",")[0]) for p in problems] == [
        ("study.xlsx", f"symbolic link to '{tmp_path / 'study.xlsx'}'")
    ]
