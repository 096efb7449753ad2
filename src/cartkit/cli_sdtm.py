"""``cartkit sdtm``: CDISC SDTM datasets <-> a cartkit study folder (docs/sdtm.md).

    cartkit sdtm import SDTM_DIR OUT_STUDY [--diagnosis DLBCL] [--target CD19] [--car-t TISAGENLECLEUCEL]
                        [--rs-basis pet|ct] [--plan study.toml]
    cartkit sdtm export STUDY_DIR OUT

Bad SDTM is a table of located problems (dataset, row, variable) and exit code 1, never a
traceback; on any error nothing is written. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cartkit.cli_messages import text as _text
from cartkit.cli_params import FastGroup

sdtm_app = typer.Typer(
    cls=FastGroup,
    add_completion=False,
    no_args_is_help=True,
    help="CDISC SDTM: import SDTM datasets (XPT, Parquet, CSV, Dataset-JSON) as a cartkit study, or export a "
         "study as SDTM (XPT v5 and Dataset-JSON v1.1).",
)


@sdtm_app.command("import")
def import_command(
    sdtm_dir: Path = typer.Argument(..., help="Folder of SDTM datasets: dm, ex, lb, vs, pc, ae, cm, pr, qs, fa, rs, "
                                    "tr, ds ... (.xpt, .parquet, .csv, Dataset-JSON .json or .dsjc)."),
    out_study: Path = typer.Argument(..., help="Study folder to write: new, empty, or a study this command wrote "
                                     "earlier (replaced whole)."),
    diagnosis: str = typer.Option(None, "--diagnosis", help="patients.diagnosis (DLBCL, B-ALL ...) of subjects MH "
                                  "gives no primary diagnosis."),
    target: str = typer.Option(None, "--target", help="infusions.target (CD19, CD22 ...) of infusions SUPPEX gives "
                               "no CAR target."),
    rs_basis: str = typer.Option("pet", "--rs-basis", help="Lugano 2014 response of an RS date: pet (PET-CT, "
                                 "FDG-avid lymphoma) or ct (non-avid histologies)."),
    plan: Path = typer.Option(None, "--plan", help="A study.toml whose [plan] tables the new study takes."),
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

    bases = {"pet": "pet_ct", "pet_ct": "pet_ct", "ct": "ct"}
    if rs_basis.lower() not in bases:
        _fail(f"--rs-basis {rs_basis}: use pet or ct", debug, None)
        return
    try:
        result = import_sdtm(sdtm_dir, out_study, diagnosis=diagnosis, target=target,
                             car_t=tuple(car_t) if car_t else None, rs_basis=bases[rs_basis.lower()], plan=plan)
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{sdtm_dir}: {summary(exc.problems)}; nothing was written", debug, exc)
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        _fail(f"could not import {sdtm_dir}: {type(exc).__name__}: {exc}", debug, exc)
        return
    console = _console()
    if result.problems:
        console.print(_problem_table(result.problems))
    for note in result.notes:
        console.print(f"note: {_text(note)}", soft_wrap=True)
    counts = ", ".join(f"{name} {n:,}" for name, n in result.counts.items())
    console.print(f"wrote {_text(result.out)} ({counts}); next: cartkit validate {_text(result.out)}", soft_wrap=True)


@sdtm_app.command("export")
def export_command(
    study_dir: Path = typer.Argument(..., help="Study folder (study.toml + tables)."),
    out: Path = typer.Argument(..., help="Folder for the SDTM datasets: new, empty, or an earlier SDTM export of "
                               "cartkit (replaced whole)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write the study as SDTM: OUT/xpt/<domain>.xpt (SAS transport v5), OUT/json/<domain>.json (Dataset-JSON
    v1.1) and OUT/metadata/<domain>.metadata.json."""
    from cartkit.cli_messages import console as _console
    from cartkit.cli_messages import run_export
    from cartkit.interop.sdtm_export import export_sdtm

    result, counts = run_export(export_sdtm, study_dir, out, debug)
    console = _console()
    console.print(f"wrote {_text(result.out)} ({counts}); read it back with: cartkit sdtm import {_text(result.out)}/xpt STUDY",
                  soft_wrap=True)
