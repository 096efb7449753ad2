"""CLI notes are printed through rich markup: a note naming a study.toml table in brackets loses it.

``cartkit adam export examples/myeloma-study OUT`` prints "note: ADTTE: Parameters: the plan's 4 [] endpoint(s)."
for the note "Parameters: the plan's 4 [[plan.endpoint]] endpoint(s)." (interop/adam_adtte.py): rich reads
"[plan.endpoint]" as a style tag (cli_messages.py prints notes with markup on; rich.markup.escape or
markup=False keeps them). Fixed: notes are escaped before printing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cartkit.cli import app

MYELOMA = Path(__file__).resolve().parent.parent / "examples" / "myeloma-study"


def test_a_note_with_brackets_is_printed_as_written(tmp_path):
    if not MYELOMA.exists():
        pytest.skip("examples/myeloma-study is not in this checkout")
    result = CliRunner().invoke(app, ["adam", "export", str(MYELOMA), str(tmp_path / "adam")])
    assert result.exit_code == 0, result.output
    assert "4 [[plan.endpoint]] endpoint(s)" in result.output
