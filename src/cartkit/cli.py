"""The command line: a thin layer over the Python API.

    cartkit validate DIR
    cartkit simulate --patients N --seed S OUT_DIR
    cartkit run DIR --out OUT

Errors are one readable message, never a traceback, unless --debug.
Heavy imports happen inside the commands so that ``cartkit --help`` is fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="cartkit: the analysis of a CAR-T cell therapy study, from its records.",
)


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _fail(message: str, debug: bool, exc: BaseException | None = None) -> None:
    if debug and exc is not None:
        raise exc
    _console(stderr=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=1)


def _problem_table(problems):
    from rich.table import Table

    table = Table(title=f"{len(problems)} problem(s)", show_lines=False, expand=False)
    for col in ("file", "row", "column", "value", "rule"):
        table.add_column(col, overflow="fold")
    for p in problems:
        table.add_row(
            str(p.file),
            "" if p.row is None else str(p.row),
            p.column or "",
            "" if p.value is None else repr(p.value),
            p.rule,
        )
    return table


@app.command()
def validate(
    study_dir: Path = typer.Argument(..., help="Study folder (study.toml + CSV/XLSX/Parquet tables)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Check a study folder; exit 0 when clean, 1 with a table of every problem otherwise."""
    from cartkit.study.validate import validate_study

    try:
        problems = validate_study(study_dir)
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        _fail(f"could not validate {study_dir}: {exc}", debug, exc)
        return
    console = _console()
    if problems:
        console.print(_problem_table(problems))
        raise typer.Exit(code=1)
    console.print(f"[green]{study_dir}: no problems found[/]")


@app.command()
def simulate(
    out_dir: Path = typer.Argument(..., help="Folder to write the simulated study to."),
    patients: int = typer.Option(100, "--patients", "-n", min=1, help="Number of patients."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (same seed, same study)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the files of a study already in OUT_DIR."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write a synthetic, valid CAR-T study of any size."""
    from cartkit.simulate import simulate_study

    if fmt not in ("parquet", "csv"):
        _fail(f"--format must be parquet or csv, not {fmt!r}", debug)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        _fail(f"{out_dir} is not empty; choose another folder or pass --overwrite", debug)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=_console()) as bar:
            task = bar.add_task("simulating", total=None)

            def progress(table: str, done: int, total: int) -> None:  # done/total: chunks over all tables
                bar.update(task, description=f"writing {table}", completed=done, total=total)

            path = simulate_study(out_dir, patients=patients, seed=seed, format=fmt, progress=progress)
    except Exception as exc:  # noqa: BLE001
        _fail(f"simulation failed: {exc}", debug, exc)
        return
    _console().print(f"[green]wrote {path}[/]")


@app.command()
def run(
    study_dir: Path = typer.Argument(..., help="Study folder."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Output folder for the report."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Load, derive, analyse and write the report (OUT/index.html, tables, figures, results.json)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from cartkit.pipeline import run_study
    from cartkit.study.problems import StudyError

    console = _console()
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("loading", total=None)

            def step(name: str) -> None:
                progress.update(task, description=name)

            index = run_study(study_dir, out, progress=step)
    except StudyError as exc:
        if debug:
            raise
        console.print(_problem_table(exc.problems))
        _console(stderr=True).print(f"[bold red]error:[/] {study_dir} has {len(exc.problems)} problem(s)")
        raise typer.Exit(code=1) from None
    except Exception as exc:  # noqa: BLE001
        _fail(f"{type(exc).__name__}: {exc}", debug, exc)
        return
    console.print(f"[green]report written to {index}[/]")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
