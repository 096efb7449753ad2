"""Find the file (or workbook sheet) that holds each table of a study folder.

A table comes from ``<table>.csv``, ``<table>.parquet``, ``<table>.xlsx``, ``<table>.sav`` (SPSS),
``<table>.sas7bdat`` or ``<table>.xpt`` (SAS)
(file names matched case-insensitively), from the file ``[files]`` in
study.toml names for it, or from the sheet named after it in the
``[files] workbook``. More than one of these for the same table is a problem.
A symbolic link is read only when it leads to a file inside the study folder
(``cartkit.study.links``); any other is refused with a problem at the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartkit.study.links import refused_link
from cartkit.study.plan import STUDY_TOML, StudyConfig
from cartkit.study.problems import Problem
from cartkit.study.readers import READERS, RawTable, open_workbook, read_xlsx
from cartkit.study.schema import TABLES


@dataclass
class Source:
    table: str
    path: Path
    file: str  # as shown to the user
    sheet: str | None = None  # sheet of the study workbook
    workbook: Any = None  # the open openpyxl workbook for ``sheet``
    refused: str | None = None  # why the file is not read (a symbolic link out of the folder)

    def read(self) -> tuple[RawTable | None, list[Problem]]:
        if self.refused == "":  # a table of a refused workbook: the workbook's one problem says why
            return None, []
        if self.refused is not None:
            return None, [Problem(self.file, None, None, None, self.refused)]
        if self.sheet is not None:
            return read_xlsx(self.path, self.table, self.path.name, sheet=self.sheet, workbook=self.workbook)
        return READERS[self.path.suffix.lower()](self.path, self.table, self.file)


def locate_tables(
    folder: Path, config: StudyConfig
) -> tuple[dict[str, Source], list[Problem], list[str], list[Any]]:
    """The source of each table found; problems; notes; open workbooks (the caller closes them)."""
    problems: list[Problem] = []
    notes: list[str] = []
    workbooks: list[Any] = []
    try:
        entries = [p for p in folder.iterdir() if p.is_file() or p.is_symlink()]
    except OSError as exc:
        return {}, [Problem(str(folder), None, None, None, f"cannot list the folder: {exc}")], notes, workbooks
    files = {p.name.lower(): p for p in entries}
    refused = {name: why for name, p in files.items() if (why := refused_link(p, folder)) is not None}
    for name, p in files.items():
        if p.is_symlink() and name not in refused and p.suffix.lower() in READERS:
            notes.append(f"{p.name}: symbolic link to a file inside the study folder; read")
    found: dict[str, list[Source]] = {name: [] for name in TABLES}
    used: set[str] = {STUDY_TOML}

    for table, name in config.files.items():
        path = files.get(name.lower())
        if path is None:
            problems.append(Problem(STUDY_TOML, None, f"files.{table}", name, "file not found in the study folder"))
        elif path.suffix.lower() not in READERS:
            problems.append(
                Problem(STUDY_TOML, None, f"files.{table}", name, f"unsupported file type: use {', '.join(READERS)}")
            )
        else:
            found[table].append(Source(table, path, path.name, refused=refused.get(path.name.lower())))
            used.add(path.name.lower())

    workbook = config.workbook
    if workbook is None:
        # one workbook in the folder, not named after a table, and no [files] mapping: read it as the
        # study's workbook (one sheet per table) rather than ignore it
        candidates = [p.name for n, p in files.items() if n.endswith(".xlsx") and p.stem.lower() not in TABLES]
        if len(candidates) == 1 and not config.files:
            workbook = candidates[0]
            notes.append(f"{workbook}: read as the study workbook (one sheet per table); "
                         f"say so with [files] workbook = \"{workbook}\" in study.toml")
    if workbook is not None:
        path = files.get(workbook.lower())
        if path is None:
            problems.append(
                Problem(STUDY_TOML, None, "files.workbook", workbook, "file not found in the study folder")
            )
        elif path.suffix.lower() != ".xlsx":
            problems.append(Problem(STUDY_TOML, None, "files.workbook", workbook, "expected an .xlsx workbook"))
        elif path.name.lower() in refused:
            used.add(path.name.lower())
            problems.append(Problem(path.name, None, None, None, refused[path.name.lower()]))
            for table in TABLES:  # not read, so not also "missing" one by one
                found[table].append(Source(table, path, path.name, refused=""))
        else:
            used.add(path.name.lower())
            wb, problem = open_workbook(path, path.name)
            if wb is None:
                problems.append(problem)
            else:
                workbooks.append(wb)
                for sheet in wb.sheetnames:
                    table = sheet.strip().lower()
                    if table in found:
                        found[table].append(Source(table, path, f"{path.name}[{sheet}]", sheet=sheet, workbook=wb))
                    else:
                        notes.append(f"{path.name}: sheet '{sheet}' is not a table of the study; ignored")

    for table in TABLES:
        for ext in READERS:
            path = files.get(f"{table}{ext}")
            if path is not None and path.name.lower() not in {s.path.name.lower() for s in found[table]}:
                found[table].append(Source(table, path, path.name, refused=refused.get(path.name.lower())))
                used.add(path.name.lower())

    sources: dict[str, Source] = {}
    for table, candidates in found.items():
        if not candidates:
            continue
        if len(candidates) > 1:
            shown = ", ".join(c.file for c in candidates)
            problems.append(
                Problem(
                    candidates[1].file,
                    None,
                    None,
                    None,
                    f"two files for table '{table}' ({shown}); keep one (reading {candidates[0].file})",
                )
            )
        sources[table] = candidates[0]

    for name, path in sorted(files.items()):
        if name not in used and path.suffix.lower() in READERS:
            notes.append(f"{path.name}: not a table of the study; ignored")
    return sources, problems, notes, workbooks
