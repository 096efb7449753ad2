"""``cartkit adam``: a cartkit study -> CDISC ADaM datasets (docs/adam.md).

    cartkit adam export STUDY_DIR OUT

A study with errors is a table of located problems and exit code 1, never a traceback; an OUT
that is not new, empty or an earlier ADaM export of cartkit is refused before anything is
derived. Heavy imports happen inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

adam_app = typer.Typer(
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
    from cartkit.cli_messages import fail as _fail
    from cartkit.cli_messages import fail_with_problems
    from cartkit.interop.adam_export import export_adam
    from cartkit.report.output_folder import OutputFolderError
    from cartkit.study.problems import StudyError, summary

    try:
        result = export_adam(study_dir, out)
    except OutputFolderError as exc:
        _fail(str(exc), debug, exc)
        return
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{study_dir}: {summary(exc.problems)}; nothing was written", debug, exc)
        return
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        _fail(f"could not export {study_dir}: {type(exc).__name__}: {exc}", debug, exc)
        return
    console = _console()
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True)
    counts = ", ".join(f"{name} {n:,}" for name, n in result.datasets.items())
    console.print(f"wrote {result.out} ({counts}; each as .xpt, .json and .metadata.json; define.xml)",
                  soft_wrap=True)
