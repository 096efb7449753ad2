"""What every cartkit command prints when it stops: one readable error line, or the grouped problem
table and that line; never a traceback unless --debug. Shared by cli.py and its sub-apps."""

from __future__ import annotations

from typing import NoReturn

import typer

_SHOWN_GROUPS = 200


def console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def text(value) -> str:
    """``value`` as text for a Rich console line: a bracketed part of a path or a note ('study [v2]',
    '[[plan.endpoint]]') is printed as written, not read as Rich markup."""
    from rich.markup import escape

    return escape(str(value))


def fail(message: str, debug: bool, exc: BaseException | None = None, code: int = 1) -> NoReturn:
    """One ``error:`` line on stderr and exit ``code`` (``exc`` re-raised instead under --debug)."""
    if debug and exc is not None:
        raise exc
    # the message is text: a bracketed '[redcap]' or '[Errno 2]' is printed, not read as Rich markup
    console(stderr=True).print(f"[bold red]error:[/] {text(message)}", soft_wrap=True)  # one line, unwrapped
    raise typer.Exit(code=code)


def fail_with_problems(problems, message: str, debug: bool, exc: BaseException | None = None) -> None:
    """The grouped problem table on stdout, then ``fail(message)``."""
    if debug and exc is not None:
        raise exc
    console().print(problem_table(problems))
    fail(message, debug)


def problem_table(problems):
    """Problems grouped (same file, column, rule and severity): one line each, with the count and the
    first rows; errors first."""
    from rich.table import Table

    from cartkit.study.problems import group_problems, summary, where_text

    groups = group_problems(problems)
    table = Table(title=f"{summary(problems)} ({len(groups)} kind(s))", show_lines=False, expand=False)
    for col in ("", "file", "row", "column", "value", "rule", "n"):
        table.add_column(col, overflow="fold")
    for g in groups[:_SHOWN_GROUPS]:
        table.add_row(
            "[red]error[/]" if g.first.is_error else "[yellow]warning[/]",
            where_text(g.file),
            g.rows_text(),
            g.column or "",
            g.values_text(),
            g.rule,
            f"{g.count:,}",
        )
    if len(groups) > _SHOWN_GROUPS:
        table.caption = f"... and {len(groups) - _SHOWN_GROUPS:,} more kinds: write them all with --problems-csv"
    return table


def run_export(export, study_dir, out, debug: bool):
    """``export(study_dir, out)`` (the ADaM or SDTM export) with its failures as one readable message each;
    prints the export's notes and returns ``(result, "NAME rows, ...")`` for the command's closing line."""
    from cartkit.report.output_folder import OutputFolderError
    from cartkit.study.problems import StudyError, summary

    try:
        result = export(study_dir, out)
    except OutputFolderError as exc:
        fail(str(exc), debug, exc)
    except StudyError as exc:
        fail_with_problems(exc.problems, f"{study_dir}: {summary(exc.problems)}; nothing was written", debug, exc)
    except Exception as exc:  # noqa: BLE001 - the CLI turns anything into one readable message
        fail(f"could not export {study_dir}: {type(exc).__name__}: {exc}", debug, exc)
    out_console = console()
    for note in result.notes:
        out_console.print(f"note: {text(note)}", soft_wrap=True)
    return result, ", ".join(f"{name} {n:,}" for name, n in result.datasets.items())
