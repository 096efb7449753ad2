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

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

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
    """Group problems by (file, column, rule kind, severity), errors first, in the order found."""
    groups: dict[tuple, ProblemGroup] = {}
    for p in problems:
        key = p.group_key
        g = groups.get(key)
        if g is None:
            g = groups[key] = ProblemGroup(first=p)
        g.count += 1
        if p.row is not None and len(g.rows) < shown:
            g.rows.append(p.row)
        if p.value is not None and len(g.values) < shown and p.value not in g.values:
            g.values.append(p.value)
        if g.same_rule and p.rule != g.first.rule:
            g.same_rule = False
    ordered = list(groups.values())
    return [g for g in ordered if g.first.is_error] + [g for g in ordered if not g.first.is_error]


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


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (cartkit.study.spreadsheet_safety)."""
    from cartkit.study.spreadsheet_safety import neutral_text

    return "" if value is None else neutral_text(str(value))


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
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PROBLEMS_CSV_HEADER)
    for p in problems:
        m = _SHEET.match(p.file)
        file, sheet = (m["file"], m["sheet"]) if m else (p.file, "")
        writer.writerow([p.severity, _cell(file), _cell(sheet), "" if p.row is None else p.row,
                         _cell(p.column), _cell(p.value), _cell(p.rule)])
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(buffer.getvalue())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


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
