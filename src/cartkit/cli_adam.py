"""``cartkit adam``: a cartkit study -> CDISC ADaM datasets (docs/adam.md).

    cartkit adam export STUDY_DIR OUT

A study with errors is a table of located problems and exit code 1, never a traceback; an OUT
that is not new, empty or an earlier ADaM export of cartkit is refused before anything is
derived. Heavy imports happen inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cartkit.cli_messages import text as _text
from cartkit.cli_params import FastGroup

adam_app = typer.Typer(
    cls=FastGroup,
    add_completion=False,
    no_args_is_help=True,
    help="CDISC ADaM: export a study's ADaM datasets (ADSL, ADAE, ADLB, ADRS, ADTTE, ADPC, ADPP) as XPT v5 "
         "and Dataset-JSON v1.1, with metadata.",
)


@adam_app.command("export")
def export_command(
    study_dir: Path = typer.Argument(..., help="Study folder (study.toml + tables)."),
    out: Path = typer.Argument(..., help="Folder for the ADaM datasets: new, empty, or an earlier ADaM export "
                               "of cartkit (replaced whole)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Load and derive the study, then write its ADaM datasets (<name>.xpt, <name>.json, <name>.metadata.json)."""
    from cartkit.cli_messages import console as _console
    from cartkit.cli_messages import run_export
    from cartkit.interop.adam_export import export_adam

    result, counts = run_export(export_adam, study_dir, out, debug)
    console = _console()
    console.print(f"wrote {_text(result.out)} ({counts}; each as .xpt, .json and .metadata.json; define.xml)",
                  soft_wrap=True)
