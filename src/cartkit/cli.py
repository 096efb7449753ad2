"""The command line: a thin layer over the Python API.

    cartkit validate DIR
    cartkit simulate --patients N --seed S [--design sequential|single-arm|randomised] OUT_DIR
    cartkit run DIR --out OUT [--force] [--spss]
    cartkit template OUT.xlsx [--example]
    cartkit convert DIR OUT --to csv|xlsx|parquet|sav
    cartkit adam export DIR OUT

Errors are one readable message, never a traceback, unless --debug.
Heavy imports happen inside the commands so that ``cartkit --help`` is fast.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from cartkit.cli_messages import console as _console
from cartkit.cli_messages import fail as _fail
from cartkit.cli_messages import fail_with_problems
from cartkit.cli_messages import problem_table as _problem_table
from cartkit.cli_messages import text as _text
from cartkit.cli_params import FastGroup

app = typer.Typer(
    cls=FastGroup,
    add_completion=False,
    no_args_is_help=True,
    help="cartkit: the analysis of a CAR-T cell therapy study, from its records.",
)


@app.command()
def validate(
    study_dir: Path = typer.Argument(..., help="Study folder (study.toml + CSV/XLSX/Parquet tables)."),
    problems_csv: Path | None = typer.Option(
        None, "--problems-csv", help="Write every problem, one a line, to this CSV file (outside the study)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Check a study folder: exit 0 when it can be analysed (no problems, or warnings only), 1 when it has
    errors. Repeated problems are grouped; --problems-csv writes the full list."""
    from cartkit.study.problems import errors, summary, write_problems_csv
    from cartkit.study.validate import validate_study

    if problems_csv is not None and problems_csv.resolve().is_relative_to(study_dir.resolve()):
        _fail(f"--problems-csv {problems_csv} is inside the study folder, which cartkit only reads; "
              "write it elsewhere", debug)
    try:
        problems = validate_study(study_dir)
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        _fail(f"could not validate {study_dir}: {exc}", debug, exc)
        return
    console = _console()
    if problems_csv is not None:
        try:
            write_problems_csv(problems, problems_csv)
        except OSError as exc:  # FileExistsError included: a file cartkit did not write is kept
            _fail(f"could not write {problems_csv}: {exc}", debug, exc)
        console.print(f"wrote {len(problems):,} problem(s) to {_text(problems_csv)}", soft_wrap=True)
    if errors(problems):
        console.print(_problem_table(problems))
        _console(stderr=True).print(f"[bold red]error:[/] {_text(study_dir)}: {_text(summary(problems))}; "
                                    "the study cannot be analysed until the errors are fixed", soft_wrap=True)
        raise typer.Exit(code=1)
    if problems:
        console.print(_problem_table(problems))
        console.print(f"[yellow]{_text(study_dir)}: no errors; {_text(summary(problems))}: the study can be analysed, "
                      "with the caveats above[/]", soft_wrap=True)
        return
    console.print(f"[green]{_text(study_dir)}: no problems found[/]")


@app.command()
def simulate(
    out_dir: Path = typer.Argument(..., help="Folder to write the simulated study to."),
    patients: int = typer.Option(100, "--patients", "-n", min=1, help="Number of patients."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed (same seed, same study)."),
    fmt: str = typer.Option("parquet", "--format", help="parquet or csv."),
    design: str = typer.Option(
        "sequential", "--design",
        help="sequential (the seed's shape: CD19 then CD22 CAR-T), single-arm (one product, some patients never "
             "infused) or randomised (CAR-T vs standard of care; about 15 percent of the CAR-T arm never infused)."),
    crossover: bool = typer.Option(
        False, "--crossover", help="randomised design: part of the standard-of-care failures get CAR-T after failure."),
    disease: str = typer.Option(
        None, "--disease",
        help="myeloma (BCMA CAR-T; M-protein, free light chains, IMWG 2016) or CLL (CD19 CAR-T; nodes, spleen, "
             "lymphocytes, iwCLL 2018): a single-arm trial of that disease. Default: the DLBCL / B-ALL mix."),
    overwrite: bool = typer.Option(
        False, "--overwrite",
        help="Replace a study cartkit simulated earlier in OUT_DIR (only while it holds nothing but the "
             "files simulate wrote, unchanged; any other folder is refused)."),
    shards: int = typer.Option(
        1, "--shards", min=1,
        help="Write the patients in this many shards (OUT_DIR/shards/NNNNN/, each with every table of its "
             "patients); cartkit run streams them one at a time (docs/scale.md)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write a synthetic, valid CAR-T study of any size.

    OUT_DIR must be new, empty or (with --overwrite) a study simulated earlier (see docs/output.md).
    """
    from cartkit.report.output_folder import SIMULATED_STUDY, OutputFolderError, check_output_folder
    from cartkit.simulate import simulate_study

    if fmt not in ("parquet", "csv"):
        _fail(f"--format must be parquet or csv, not {fmt!r}", debug)
    from cartkit.simulate.folder import DESIGNS

    if design not in DESIGNS:
        _fail(f"--design must be one of {', '.join(DESIGNS)}, not {design!r}", debug)
    if crossover and design != "randomised":
        _fail("--crossover applies to --design randomised only", debug)
    if shards > patients:
        _fail(f"--shards {shards}: at most one shard per patient ({patients})", debug)
    from cartkit.simulate.folder import DISEASES

    if disease is not None and disease.lower() not in {d.lower() for d in DISEASES}:
        _fail(f"--disease must be one of {', '.join(DISEASES)}, not {disease!r}", debug)
    if disease is not None and design == "randomised":
        _fail("--disease gives a single-arm trial: leave out --design randomised", debug)
    try:  # before the simulation: one line, at once
        target = check_output_folder(out_dir, kind=SIMULATED_STUDY)
    except OutputFolderError as exc:
        _fail(str(exc), debug, exc)
        return
    if target.mode == "replace" and not overwrite:
        _fail(f"{out_dir} holds a study cartkit simulated earlier; choose another folder or pass "
              "--overwrite to replace it", debug)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=_console()) as bar:
            task = bar.add_task("simulating", total=None)

            def progress(table: str, done: int, total: int) -> None:  # done/total: chunks over all tables
                bar.update(task, description=f"writing {table}", completed=done, total=total)

            path = simulate_study(out_dir, patients=patients, seed=seed, format=fmt, progress=progress,
                                  design=design, crossover=crossover, shards=shards, disease=disease)
    except Exception as exc:  # noqa: BLE001
        _fail(f"simulation failed: {exc}", debug, exc)
        return
    _console().print(f"[green]wrote {_text(path)}[/]")


@contextmanager
def _steps(console) -> Iterator[Callable[[str], None]]:
    """The step callback of ``cartkit run``: on a terminal, the step beside a spinner and the time taken.

    Off a terminal (a pipe, a log file) Rich shows no live display, only its last frame when the run
    ends, so nothing is shown and rich.progress is not imported (issue 16, target 1).
    """
    if not console.is_terminal:
        yield lambda _name: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("loading", total=None)
        yield lambda name: bar.update(task, description=name)


@app.command()
def run(
    study_dir: Path = typer.Argument(..., help="Study folder."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Output folder for the report."),
    force: bool = typer.Option(
        False, "--force",
        help="Write into a non-empty folder that is not an earlier cartkit report, replacing only "
             "same-named files (index.html, results.json, tables/*.csv, figures/*); nothing else is deleted."),
    spss: bool = typer.Option(False, "--spss", help="Also write the derived per-episode tables as "
                              "OUT/spss/*.sav, with variable and value labels."),
    engine: str = typer.Option("local", "--engine", help="local (in this process; a sharded study shard by "
                               "shard) or spark (needs cartkit[spark] and Java; docs/scale.md)."),
    master: str = typer.Option(None, "--master", help="Spark master URL for --engine spark "
                               "(spark://host:7077, yarn, local[4]; default local[*])."),
    png: bool = typer.Option(False, "--png", help="Also write every figure as a 200-dpi PNG "
                             "(OUT/figures/<id>.png) beside its SVG; takes about twice as long."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Load, derive, analyse and write the report (OUT/index.html, tables, figures, results.json).

    OUT must be new, empty or an earlier cartkit report (see docs/output.md); it is checked
    before the analysis starts.
    """
    from cartkit.engine import ENGINES
    from cartkit.pipeline import run_study
    from cartkit.report.output_folder import OutputFolderError, check_output_folder
    from cartkit.study.problems import StudyError, summary

    if engine not in ENGINES:
        _fail(f"--engine {engine}: use one of {', '.join(ENGINES)}", debug)
    if master is not None and engine != "spark":
        _fail("--master applies to --engine spark only", debug)
    try:  # before the progress display and the analysis: one line, at once
        check_output_folder(out, study_folder=study_dir, force=force)
    except OutputFolderError as exc:
        _fail(str(exc), debug, exc)
    console = _console()
    try:
        with _steps(console) as step:
            index = run_study(study_dir, out, progress=step, force=force, spss=spss, engine=engine,
                              master=master, png=png)
    except OutputFolderError as exc:  # the folder changed while the analysis ran
        _fail(str(exc), debug, exc)
        return
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{study_dir}: {summary(exc.problems)}; "
                           "the study cannot be analysed until the errors are fixed", debug, exc)
    except Exception as exc:  # noqa: BLE001
        _fail(f"{type(exc).__name__}: {exc}", debug, exc)
        return
    console.print(f"[green]report written to {_text(index)}[/]")


@app.command()
def template(
    out: Path = typer.Argument(..., help="The workbook to write (.xlsx)."),
    example: bool = typer.Option(False, "--example", help="Pre-fill it with the bundled seed study."),
    force: bool = typer.Option(False, "--force", help="Replace OUT if it exists."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write a workbook to fill in by hand: a sheet per table with drop-downs and checks, and a README
    sheet; a study.toml beside it when its folder has none. Then: cartkit validate and cartkit run on
    that folder (docs/template.md)."""
    from cartkit.interop.template import seed_study_folder, write_template
    from cartkit.study.problems import StudyError

    seed = None
    if example:
        seed = seed_study_folder()
        if seed is None:
            _fail("--example needs the seed study, examples/seed-study of a cartkit source checkout; "
                  "run it from the checkout's folder", debug)
    try:
        written = write_template(out, example=seed, force=force)
    except (OSError, ValueError) as exc:  # FileExistsError, a bad name; StudyError of the example
        if isinstance(exc, StudyError) and not debug:
            _console().print(_problem_table(exc.problems))
        _fail(str(exc).splitlines()[0], debug, exc)
        return
    console = _console()
    console.print(f"[green]wrote {_text(written.workbook)}[/]", soft_wrap=True)
    if written.study_toml is not None:
        console.print(f"wrote {_text(written.study_toml)} (the study's id and plan: edit it)", soft_wrap=True)
    console.print(f"fill in the sheets, then: cartkit validate {_text(written.workbook.parent)}", soft_wrap=True)


@app.command()
def convert(
    study_dir: Path = typer.Argument(..., help="Study folder."),
    out: Path = typer.Argument(..., help="Folder to write the converted study to (outside the study)."),
    to: str = typer.Option(..., "--to", help="csv, xlsx, parquet or sav (SPSS)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write a study folder in another format: the tables as loaded, study.toml with its [files]
    rewritten (docs/template.md)."""
    from cartkit.interop.convert import convert_study
    from cartkit.study.problems import StudyError

    try:
        path = convert_study(study_dir, out, to)
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{study_dir} has errors; fix them before converting", debug, exc)
    except (OSError, ValueError) as exc:
        _fail(str(exc), debug, exc)
        return
    _console().print(f"[green]wrote {_text(path)} ({_text(to)})[/]", soft_wrap=True)


from cartkit.cli_design import design_app  # noqa: E402 - the sub-app, after the commands above

app.add_typer(design_app, name="design")  # cartkit design simon | single-stage | logrank | proportions | from-study
from cartkit.cli_sdtm import sdtm_app  # noqa: E402 - the sub-app, after the commands above

app.add_typer(sdtm_app, name="sdtm")  # cartkit sdtm import
from cartkit.cli_adam import adam_app  # noqa: E402 - the sub-app, after the commands above

app.add_typer(adam_app, name="adam")  # cartkit adam export


# --------------------------------------------------------------------------- redcap (issue 11)

redcap_app = typer.Typer(cls=FastGroup, no_args_is_help=True, help="REDCap: a data dictionary for cartkit's schema, a study as a "
                         "REDCap import file, a REDCap export as a study folder (docs/redcap.md).")
app.add_typer(redcap_app, name="redcap")


@redcap_app.command("dictionary")
def redcap_dictionary(
    out: Path = typer.Argument(..., help="Data dictionary CSV to write (upload it in REDCap's Data Dictionary page)."),
    study_dir: Path | None = typer.Option(None, "--study", help="Add this study's extra_ae_terms to the AE choices."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write a REDCap data dictionary for cartkit's schema: one instrument per table."""
    from cartkit.interop.redcap_dictionary import REPEATING_FORMS
    from cartkit.interop.redcap_export import write_dictionary

    try:
        extra = ()
        if study_dir is not None:
            from cartkit.study.plan import read_study_toml

            extra = read_study_toml(study_dir)[0].plan.extra_ae_terms
        write_dictionary(out, extra, overwrite=overwrite)
    except Exception as exc:  # noqa: BLE001
        _fail(f"could not write {out}: {exc}", debug, exc)
        return
    _console().print(f"[green]wrote {_text(out)}[/]; in REDCap's Project Setup make these instruments repeating: "
                     f"{', '.join(REPEATING_FORMS)}", soft_wrap=True)


@redcap_app.command("export")
def redcap_export(
    study_dir: Path = typer.Argument(..., help="Study folder."),
    out: Path = typer.Argument(..., help="REDCap import CSV to write (REDCap's Data Import Tool)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Write a study as a REDCap import file for `cartkit redcap dictionary`'s project (raw values)."""
    from cartkit.interop.redcap_export import export_study
    from cartkit.study.load import load_study
    from cartkit.study.problems import StudyError

    try:
        export_study(load_study(study_dir), out, overwrite=overwrite)
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{study_dir} does not validate; nothing written", debug, exc)
    except Exception as exc:  # noqa: BLE001
        _fail(f"could not export {study_dir}: {exc}", debug, exc)
        return
    _console().print(f"[green]wrote {_text(out)}[/]")


@redcap_app.command("import")
def redcap_import(
    records: Path | None = typer.Argument(None, help="REDCap export CSV (raw or label values, field names as "
                                          "headers); left out with --url."),
    out_dir: Path | None = typer.Argument(None, help="Study folder to write (new or empty)."),
    dictionary: Path | None = typer.Option(None, "--dictionary", "-d", help="The project's data dictionary CSV "
                                           "(with a records file; --url fetches it)."),
    url: str | None = typer.Option(None, "--url", help="Read the records and the data dictionary through the "
                                   "project's API (https://.../api/; needs PyCap: pip install 'cartkit\\[redcap]')."),
    token_file: Path | None = typer.Option(None, "--token-file", help="With --url: a file holding the API token "
                                           "(else the environment variable CARTKIT_REDCAP_TOKEN). There is no "
                                           "token option: a token on the command line stays in the shell "
                                           "history and shows in the process list."),
    study_toml: Path | None = typer.Option(None, "--study-toml", help="study.toml (plan) to give the study."),
    mapping: Path | None = typer.Option(None, "--mapping", help="Mapping file for a project not built from "
                                        "`cartkit redcap dictionary` (its field names and choice labels)."),
    keep_going: bool = typer.Option(False, "--keep-going", help="Write the records without errors, and "
                                    "every problem to OUT_DIR/redcap-import-problems.csv."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Import a REDCap export (RECORDS.csv --dictionary DICT.csv OUT_DIR, or --url URL OUT_DIR through the API)
    as a cartkit study folder that validates; nothing is written when a value cannot be mapped (unless
    --keep-going)."""
    from cartkit.interop.redcap_import import RedcapImportError, import_records

    if url is not None:
        if out_dir is not None:
            _fail("with --url give only OUT_DIR: the records come from the API", debug)
        if dictionary is not None:
            _fail("with --url the data dictionary comes from the API: leave out --dictionary", debug)
        if records is None:
            _fail("give OUT_DIR, the study folder to write", debug)
        out_dir, records = records, None
    elif token_file is not None:
        _fail("--token-file goes with --url", debug)
    elif records is None or out_dir is None:
        _fail("give RECORDS.csv and OUT_DIR (or --url URL OUT_DIR)", debug)
    elif dictionary is None:
        _fail("give the project's data dictionary: --dictionary DICT.csv", debug)
    source = url if url is not None else str(records)
    try:
        if url is not None:
            from cartkit.interop.redcap_api import RedcapApiError, import_from_api, read_token

            try:
                result = import_from_api(url, read_token(token_file), out_dir, keep_going=keep_going,
                                         study_toml=study_toml, mapping=mapping)
            except RedcapApiError as exc:
                _fail(str(exc), debug, exc)  # '[redcap]', '[Errno 111]': fail() prints them as text
                return
        else:
            result = import_records(records, dictionary, out_dir, keep_going=keep_going, study_toml=study_toml,
                                    mapping=mapping)
    except RedcapImportError as exc:
        if debug:
            raise
        _console().print(_problem_table(exc.problems))
        _console(stderr=True).print(f"[bold red]error:[/] {_text(source)}: nothing written to {_text(out_dir)}; fix the "
                                    "values in REDCap (or pass --keep-going)", soft_wrap=True)
        raise typer.Exit(code=1) from None
    except Exception as exc:  # noqa: BLE001
        _fail(f"could not import {source}: {exc}", debug, exc)
        return
    console = _console()
    if result.problems:
        from cartkit.interop.redcap_api import RECORDS_FILE

        name = records.name if records is not None else RECORDS_FILE
        console.print(_problem_table([p.problem(name) for p in result.problems]))
    left = f"; {len(result.left_out)} record(s) with errors left out: {', '.join(result.left_out)}" \
        if result.left_out else ""
    console.print(f"[green]wrote {result.records} record(s) to {_text(out_dir)}[/]{_text(left)}", soft_wrap=True)


# A command is one short-lived process that builds millions of small objects (modules, expressions,
# cells) and frees few: at Python's default (a gen-0 collection every 700 net allocations) the cyclic
# garbage collector took 0.14-0.16 s CPU of `cartkit run` on the seed study (146 collections, measured
# on a loaded machine); at 10,000, 0.06 s (9), with the same peak memory (issue 16, target 1).
GC_THRESHOLD_0 = 10_000


def main() -> None:  # pragma: no cover
    """The ``cartkit`` command (the console script and ``python -m cartkit.cli``)."""
    gc.set_threshold(GC_THRESHOLD_0, *gc.get_threshold()[1:])
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
