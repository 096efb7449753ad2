"""``cartkit sdtm``: CDISC SDTM datasets -> a cartkit study folder (docs/sdtm.md).

    cartkit sdtm import SDTM_DIR OUT_STUDY --diagnosis DLBCL --target CD19 [--car-t TISAGENLECLEUCEL]

Bad SDTM is a table of located problems (dataset, row, variable) and exit code 1, never a
traceback; on any error nothing is written. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

sdtm_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="CDISC SDTM: import SDTM datasets (XPT, Parquet, CSV, Dataset-JSON) as a cartkit study.",
)


@sdtm_app.command("import")
def import_command(
    sdtm_dir: Path = typer.Argument(..., help="Folder of SDTM datasets: dm, ex, lb, vs, ae, ds (.xpt, .parquet, "
                                    ".csv or Dataset-JSON .json)."),
    out_study: Path = typer.Argument(..., help="New study folder to write (must not exist, or be empty)."),
    diagnosis: str = typer.Option(..., "--diagnosis", help="patients.diagnosis of every subject (DLBCL, B-ALL ...)."),
    target: str = typer.Option(..., "--target", help="infusions.target of the CAR-T product (CD19, CD22 ...)."),
    car_t: list[str] = typer.Option(None, "--car-t", help="An EXTRT value that is a CAR-T product (repeatable); "
                                    "default: names with '-leucel' or 'CAR-T'."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Import SDTM datasets into a new cartkit study folder, then check it with `cartkit validate`."""
    from cartkit.cli_messages import console as _console
    from cartkit.cli_messages import fail as _fail
    from cartkit.cli_messages import fail_with_problems
    from cartkit.cli_messages import problem_table as _problem_table
    from cartkit.interop.sdtm_import import import_sdtm
    from cartkit.study.problems import StudyError, summary

    try:
        result = import_sdtm(sdtm_dir, out_study, diagnosis=diagnosis, target=target,
                             car_t=tuple(car_t) if car_t else None)
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{sdtm_dir}: {summary(exc.problems)}; nothing was written", debug, exc)
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        _fail(f"could not import {sdtm_dir}: {type(exc).__name__}: {exc}", debug, exc)
        return
    console = _console()
    if result.problems:
        console.print(_problem_table(result.problems))
    for note in result.notes:
        console.print(f"note: {note}", soft_wrap=True)
    counts = ", ".join(f"{name} {n:,}" for name, n in result.counts.items())
    console.print(f"wrote {result.out} ({counts}); next: cartkit validate {result.out}", soft_wrap=True)
