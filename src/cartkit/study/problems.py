"""Validation problems, their grouping, and the error that carries them.

A ``Problem`` is an **error** (the study cannot be analysed until it is fixed:
``load_study`` raises ``StudyError``) or a **warning** (the study can be
analysed, with the caveat the warning states: ``load_study`` returns the study
and keeps the warnings in ``Study.warnings``). See docs/validation.md.

Repeated problems are shown grouped: problems of the same file, column, rule
and severity make one ``ProblemGroup`` with the count and the first rows
(``group_problems``); ``write_problems_csv`` writes every problem, one a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cartkit.study.atomic_file import replace_atomically

ERROR = "error"
WARNING = "warning"
SEVERITIES = (ERROR, WARNING)

_SHEET = re.compile(r"^(?P<file>.+)\[(?P<sheet>[^\[\]]+)\]$")


def where_text(file: str) -> str:
    """``"study.xlsx[patients]"`` as ``"study.xlsx, sheet 'patients'"``; other file names unchanged."""
    m = _SHEET.match(file)
    return f"{m['file']}, sheet '{m['sheet']}'" if m else file


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a study, located as the user sees it.

    ``row`` is the 1-based line of a CSV file (the header is line 1, so the
    first data row is line 2), the sheet row of an XLSX sheet (same
    convention; ``file`` is then ``"book.xlsx[sheet]"``), or the 1-based row
    number of a Parquet file's data; ``None`` when the problem concerns a
    whole file or column.

    ``severity`` is ``"error"`` or ``"warning"``. ``kind`` names the rule
    without its row-specific details (``"duplicate key"`` for "duplicate key
    (...): same as row 3"); problems are grouped by it (by ``rule`` when it is
    None). It does not take part in comparisons.
    """

    file: str
    row: int | None
    column: str | None
    value: object
    rule: str
    severity: str = ERROR
    kind: str | None = field(default=None, compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity != WARNING

    @property
    def group_key(self) -> tuple[str, str | None, str, str]:
        return (self.file, self.column, self.kind or self.rule, self.severity)

    def describe(self) -> str:
        """Where, what and the value, without the severity."""
        where = where_text(self.file)
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.rule}{value}"

    def __str__(self) -> str:
        return ("warning: " if self.severity == WARNING else "") + self.describe()


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_error]


# --------------------------------------------------------------------------- grouping

SHOWN_ROWS = 5  # rows (and values) named in a group's one line


@dataclass
class ProblemGroup:
    """Problems of one file, column, rule and severity: the count and the first few of them."""

    first: Problem
    count: int = 0
    rows: list[int] = field(default_factory=list)  # the first SHOWN_ROWS rows, in the order found
    values: list[object] = field(default_factory=list)  # the first SHOWN_ROWS distinct values
    same_rule: bool = True  # every problem of the group has the first one's exact rule text

    @property
    def file(self) -> str:
        return self.first.file

    @property
    def column(self) -> str | None:
        return self.first.column

    @property
    def severity(self) -> str:
        return self.first.severity

    @property
    def rule(self) -> str:
        """The rule as shown: the shared text, or the first problem's text as an example."""
        if self.same_rule or self.count == 1:
            return self.first.rule
        where = f"row {self.first.row}: " if self.first.row is not None else ""
        return f"e.g. {where}{self.first.rule}"

    def rows_text(self) -> str:
        if not self.rows:
            return ""
        shown = ", ".join(str(r) for r in self.rows)
        more = self.count - len(self.rows)
        return shown + (f" and {more:,} more" if more > 0 else "")

    def values_text(self) -> str:
        shown = ", ".join(repr(v) for v in self.values)
        if self.count > len(self.values) and self.values:
            shown += ", ..."
        return shown

    def describe(self) -> str:
        """One line for the whole group, without the severity."""
        if self.count == 1:
            return self.first.describe()
        where = where_text(self.file)
        if self.column is not None:
            where += f", column '{self.column}'"
        rows = f" on {self.count:,} rows ({self.rows_text()})" if self.rows else f" ({self.count:,} times)"
        values = f" (values {self.values_text()})" if self.values else ""
        return f"{where}: {self.rule}{rows}{values}"

    def __str__(self) -> str:
        return ("warning: " if self.severity == WARNING else "") + self.describe()


def group_problems(problems: list[Problem], shown: int = SHOWN_ROWS) -> list[ProblemGroup]:
    """Group problems by (file, column, rule kind, severity), errors first, in the order found.

    Done over columns (Polars), so that 200,000 problems group in a fraction of a second."""
    import polars as pl

    if not problems:
        return []
    ids: dict[tuple, int] = {}
    frame = pl.DataFrame(
        {
            "key": [ids.setdefault(p.group_key, len(ids)) for p in problems],
            "rule": [p.rule for p in problems],
            "row": [p.row for p in problems],
            "has_value": [p.value is not None for p in problems],
        },
        schema={"key": pl.Int64, "rule": pl.String, "row": pl.Int64, "has_value": pl.Boolean},
    ).with_row_index("i")
    per_group = frame.group_by("key", maintain_order=True).agg(
        first=pl.col("i").first(),
        count=pl.len(),
        same_rule=pl.col("rule").n_unique() == 1,
        rows=pl.col("row").drop_nulls().head(shown),
        valued=pl.col("i").filter(pl.col("has_value")).head(shown * 4),
    )
    groups = []
    for first, count, same_rule, rows, valued in per_group.select(
            "first", "count", "same_rule", "rows", "valued").iter_rows():
        values: list[object] = []
        for i in valued:  # the first few distinct values (compared as the objects they are)
            if problems[i].value not in values:
                values.append(problems[i].value)
                if len(values) == shown:
                    break
        groups.append(ProblemGroup(problems[first], count, list(rows), values, same_rule))
    return [g for g in groups if g.first.is_error] + [g for g in groups if not g.first.is_error]


def report_lines(problems: list[Problem]) -> list[str]:
    """The warnings of a loaded study as lines for a report's warnings section, one per group."""
    return [f"Data: {g.describe()}" for g in group_problems(warnings(problems))]


def summary(problems: list[Problem]) -> str:
    """``"3 errors and 1 warning"``."""
    n_err = len(errors(problems))
    n_warn = len(problems) - n_err
    parts = []
    if n_err:
        parts.append(f"{n_err:,} error{'s' if n_err != 1 else ''}")
    if n_warn:
        parts.append(f"{n_warn:,} warning{'s' if n_warn != 1 else ''}")
    return " and ".join(parts) or "no problems"


# --------------------------------------------------------------------------- the full list as CSV

PROBLEMS_CSV_HEADER = ("severity", "file", "sheet", "row", "column", "value", "rule")


def _problem_frame(problems: list[Problem]):
    """Every problem as one row of text columns (PROBLEMS_CSV_HEADER), with text a spreadsheet would
    run as a formula neutralised (``cartkit.study.spreadsheet_safety``)."""
    import polars as pl

    from cartkit.study.spreadsheet_safety import neutralise_formulas

    files = pl.Series("file", [p.file for p in problems], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "severity": [p.severity for p in problems],
            "file": files.str.replace(r"\[[^\[\]]+\]$", ""),
            "sheet": files.str.extract(r"\[([^\[\]]+)\]$", 1),
            "row": [p.row for p in problems],
            "column": [p.column for p in problems],
            "value": [None if p.value is None else str(p.value) for p in problems],
            "rule": [p.rule for p in problems],
        },
        schema={"severity": pl.String, "file": pl.String, "sheet": pl.String, "row": pl.Int64,
                "column": pl.String, "value": pl.String, "rule": pl.String},
    )
    return neutralise_formulas(frame)


def write_problems_csv(problems: list[Problem], path: str | Path) -> Path:
    """Write every problem, one a line, to ``path`` (atomically: a temporary file, then renamed).

    An existing file is replaced only when it is a problems list cartkit wrote (same header);
    anything else raises ``FileExistsError`` so that no user file is overwritten.
    """
    target = Path(path)
    header = ",".join(PROBLEMS_CSV_HEADER)
    if target.exists():
        try:
            with target.open(encoding="utf-8", newline="") as fh:
                first = fh.readline().strip()
        except (OSError, UnicodeDecodeError):
            first = None
        if not target.is_file() or first != header:
            raise FileExistsError(f"{target} exists and is not a problems list written by cartkit; "
                                  "choose another file name")
    frame = _problem_frame(problems)
    return replace_atomically(target, lambda tmp: frame.write_csv(tmp, line_terminator="\n"))


class StudyError(ValueError):
    """Raised when a study cannot be loaded; ``.problems`` lists every problem found (errors and
    warnings), ``.errors`` the errors that stop the analysis."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        self.errors = errors(self.problems)
        groups = group_problems(self.problems)
        head = f"{summary(self.problems)} in the study"
        body = "\n".join(f"  - {g}" for g in groups[:50])
        more = f"\n  ... and {len(groups) - 50} more kinds of problem" if len(groups) > 50 else ""
        super().__init__(f"{head}:\n{body}{more}")
