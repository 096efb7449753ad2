"""A folder whose name has brackets ('study [v2]', 'copy [1]': common on shared drives) is printed as
written in the CLI's messages: Rich reads '[v2]' as a style tag and dropped it ('report written to
/tmp/x /index.html')."""

from __future__ import annotations

from typer.testing import CliRunner

from cartkit.cli import app


def test_validate_prints_a_bracketed_study_folder(tmp_path, copy_seed):
    folder = tmp_path / "study [v2]"
    copy_seed(folder)
    result = CliRunner().invoke(app, ["validate", str(folder)], terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "study [v2]" in result.output


def test_template_prints_a_bracketed_output_path(tmp_path):
    out = tmp_path / "drafts [old]" / "study.xlsx"
    out.parent.mkdir()
    result = CliRunner().invoke(app, ["template", str(out)], terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "drafts [old]" in result.output
