"""--out: cartkit deletes or replaces only what it wrote itself, and checks the folder before the analysis.

The scenarios of issue 9 item 1: ``--out STUDY`` after ``touch STUDY/results.json``, a folder with an
old index.html beside a thesis, an --out inside the study, a study inside the --out folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from report_fixture import seed_like_results
from typer.testing import CliRunner

from cartkit.analysis.results import Results
from cartkit.cli import app
from cartkit.report import write_report
from cartkit.report.output_folder import MANIFEST, OutputFolderError, check_output_folder

runner = CliRunner()


def _tiny() -> Results:
    return Results(tables={"study": seed_like_results().tables["study"]})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def study(tmp_path, copy_seed) -> Path:
    copy = tmp_path / "study"
    copy_seed(copy)
    return copy


@pytest.fixture
def no_analysis(monkeypatch):
    """Loading the study fails the test: the --out check must come first."""
    import cartkit.study.load

    def forbidden(path):
        raise AssertionError("the study was loaded before --out was checked")

    monkeypatch.setattr(cartkit.study.load, "load_study", forbidden)


def _refused(args: list[str], *needles: str) -> str:
    result = runner.invoke(app, args, terminal_width=80)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "AssertionError" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output  # one readable line
    for needle in needles:
        assert needle in lines[0], result.output
    return lines[0]


def test_out_is_the_study_folder_after_touch_results_json(study, no_analysis):
    (study / "results.json").touch()
    before = _snapshot(study)
    _refused(["run", str(study), "--out", str(study)], "is the study folder")
    _refused(["run", str(study), "--out", str(study), "--force"], "is the study folder")
    assert _snapshot(study) == before


def test_out_is_the_study_folder_through_a_symbolic_link(study, tmp_path, no_analysis):
    link = tmp_path / "link"
    link.symlink_to(study, target_is_directory=True)
    (study / "index.html").touch()
    before = _snapshot(study)
    _refused(["run", str(study), "--out", str(link)], "is the study folder")
    _refused(["run", str(link), "--out", str(study), "--force"], "is the study folder")
    assert _snapshot(study) == before


def test_old_index_html_beside_a_thesis_is_refused(tmp_path, study, no_analysis):
    project = tmp_path / "project"
    project.mkdir()
    (project / "index.html").write_text("<p>my old page</p>")
    (project / "thesis.docx").write_bytes(b"years of work")
    line = _refused(["run", str(study), "--out", str(project)], "not a cartkit report", "thesis.docx", "--force")
    assert str(project) in line
    assert _snapshot(project) == {"index.html": b"<p>my old page</p>", "thesis.docx": b"years of work"}


def test_force_writes_beside_the_thesis_and_replaces_only_same_named_files(tmp_path):
    project = tmp_path / "project"
    (project / "tables").mkdir(parents=True)
    (project / "index.html").write_text("<p>my old page</p>")
    (project / "thesis.docx").write_bytes(b"years of work")
    (project / "tables" / "mine.csv").write_text("a\n1\n")
    with pytest.raises(OutputFolderError):
        write_report(_tiny(), project)
    out = write_report(_tiny(), project, force=True)
    assert (out / "thesis.docx").read_bytes() == b"years of work"
    assert (out / "tables" / "mine.csv").read_text() == "a\n1\n"
    assert "my old page" not in (out / "index.html").read_text(encoding="utf-8")
    manifest = json.loads((out / MANIFEST).read_text())
    assert "thesis.docx" not in manifest["files"] and "tables/mine.csv" not in manifest["files"]
    assert "index.html" in manifest["files"] and "tables/study.csv" in manifest["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # no temporary folder left
    # the folder still holds the user's files: the next run needs --force again, and keeps them again
    with pytest.raises(OutputFolderError, match="thesis.docx"):
        write_report(_tiny(), project)
    write_report(_tiny(), project, force=True)
    assert (out / "thesis.docx").read_bytes() == b"years of work"


def test_out_inside_the_study_is_refused(study, no_analysis):
    before = _snapshot(study)
    _refused(["run", str(study), "--out", str(study / "report")], "inside the study folder")
    _refused(["run", str(study), "--out", str(study / "a" / "b"), "--force"], "inside the study folder")
    assert _snapshot(study) == before
    assert sorted(p.name for p in study.iterdir()) == sorted(before)


def test_study_inside_out_is_refused(tmp_path, no_analysis, copy_seed):
    project = tmp_path / "project"
    copy_seed(project / 'study')
    (project / "results.json").write_text("{}")
    before = _snapshot(project)
    _refused(["run", str(project / "study"), "--out", str(project)], "contains the study folder")
    _refused(["run", str(project / "study"), "--out", str(project), "--force"], "contains the study folder")
    assert _snapshot(project) == before


def test_run_study_checks_out_before_loading(study, no_analysis):
    from cartkit.pipeline import run_study

    (study / "results.json").touch()
    with pytest.raises(OutputFolderError, match="is the study folder"):
        run_study(study, study)
    with pytest.raises(OutputFolderError, match="inside the study folder"):
        run_study(study, study / "report", force=True)
    assert (study / "patients.csv").exists()


def test_write_report_protects_the_study_and_its_input_files(tmp_path):
    """The results carry their study folder and inputs (provenance): write_report refuses them too."""
    from cartkit.study.provenance import InputFile, Provenance

    study = tmp_path / "study"
    study.mkdir()
    (study / "patients.csv").write_text("patient_id\nP1\n")
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir()
    (elsewhere / "labs.csv").write_text("x\n")  # a table the study links to from outside its folder
    inputs = (InputFile("patients.csv", (study / "patients.csv").resolve(), 15, "0" * 64),
              InputFile("measurements.csv", (elsewhere / "labs.csv").resolve(), 2, "0" * 64))
    results = _tiny()
    results.provenance = Provenance(study.resolve(), inputs, "0", {})
    with pytest.raises(OutputFolderError, match="is the study folder"):
        write_report(results, study, force=True)
    with pytest.raises(OutputFolderError, match="input file"):
        write_report(results, elsewhere, force=True)
    assert (elsewhere / "labs.csv").read_text() == "x\n"


def test_an_earlier_report_is_replaced_and_its_stale_files_go(tmp_path):
    from report_fixture import restricted_results

    out = write_report(restricted_results(), tmp_path / "r")
    assert (out / "tables" / "baseline.csv").exists()
    (out / ".DS_Store").write_bytes(b"\0")  # a file browser looked at the folder
    again = write_report(_tiny(), tmp_path / "r")
    assert again == out
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == \
        [MANIFEST, "figures", "index.html", "results.json", "tables", "tables/study.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_user_file_added_to_a_report_is_never_deleted(tmp_path):
    out = write_report(_tiny(), tmp_path / "r")
    (out / "tables" / "my-notes.csv").write_text("x\n1\n")
    with pytest.raises(OutputFolderError, match="my-notes.csv"):
        write_report(_tiny(), out)
    assert (out / "tables" / "my-notes.csv").exists()
    write_report(_tiny(), out, force=True)
    assert (out / "tables" / "my-notes.csv").read_text() == "x\n1\n"


def test_a_report_file_the_user_edited_counts_as_theirs(tmp_path):
    out = write_report(_tiny(), tmp_path / "r")
    with open(out / "index.html", "a", encoding="utf-8") as f:
        f.write("<!-- my annotations -->")
    with pytest.raises(OutputFolderError, match="changed since"):
        write_report(_tiny(), out)
    assert (out / "index.html").read_text(encoding="utf-8").endswith("<!-- my annotations -->")


def test_a_report_without_a_valid_manifest_is_not_replaced(tmp_path):
    out = write_report(_tiny(), tmp_path / "r")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    # a manifest that lists a file outside the folder is not a cartkit manifest
    doc = json.loads((out / MANIFEST).read_text())
    doc["files"]["../victim.txt"] = {"bytes": 7, "sha256": "0" * 64}
    (out / MANIFEST).write_text(json.dumps(doc))
    with pytest.raises(OutputFolderError, match="not a cartkit report"):
        write_report(_tiny(), out)
    (out / MANIFEST).write_text("not json")
    with pytest.raises(OutputFolderError, match="not a cartkit report"):
        write_report(_tiny(), out)
    (out / MANIFEST).unlink()  # an older cartkit's report: index.html and results.json, no manifest
    with pytest.raises(OutputFolderError, match="--force"):
        write_report(_tiny(), out)
    assert victim.read_text() == "keep me"


def test_an_empty_folder_and_a_new_folder_are_written(tmp_path):
    (tmp_path / "empty").mkdir()
    assert check_output_folder(tmp_path / "empty").mode == "new"
    assert check_output_folder(tmp_path / "a" / "b").mode == "new"
    assert (write_report(_tiny(), tmp_path / "empty") / "index.html").exists()


def test_an_out_that_is_a_file_or_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputFolderError, match="not a folder"):
        check_output_folder(tmp_path / "f", force=True)
    with pytest.raises(OutputFolderError, match="is a file"):
        check_output_folder(tmp_path / "f" / "report", force=True)


def test_an_out_that_cannot_be_created_is_refused_before_the_analysis(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    (locked / "old").mkdir(parents=True)
    (locked / "old" / "x").write_text("x")
    locked.chmod(0o500)
    real = os.access
    # the permission bits alone do not stop root (who may run the tests): ask as an ordinary user would
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode))
    with pytest.raises(OutputFolderError, match="permission"):
        check_output_folder(locked / "report")
    with pytest.raises(OutputFolderError, match="permission"):
        check_output_folder(locked / "old", force=True)
    locked.chmod(0o700)


def test_force_never_replaces_a_folder_named_like_an_output(tmp_path):
    project = tmp_path / "project"
    (project / "index.html").mkdir(parents=True)
    (project / "index.html" / "draft.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="index.html"):
        write_report(_tiny(), project, force=True)
    assert (project / "index.html" / "draft.txt").read_text() == "mine"


def test_concurrent_runs_into_one_folder_leave_one_complete_report(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from cartkit.report.output_folder import read_manifest

    target = tmp_path / "r"
    write_report(_tiny(), target)
    with ThreadPoolExecutor(4) as pool:
        for out in pool.map(lambda _: write_report(_tiny(), target), range(8)):
            assert out == target.resolve()
    manifest = read_manifest(target)
    assert manifest is not None
    on_disk = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()} - {MANIFEST}
    assert on_disk == set(manifest.files)
    assert check_output_folder(target).mode == "replace"  # every file unchanged, nothing else
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no partial, old or kept folder left
