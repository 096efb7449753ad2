"""The clinician's workbook: ``cartkit template OUT.xlsx`` and every study written as XLSX.

One sheet per table of ``cartkit.study.schema.TABLES``, its header row the schema's column names
(frozen, so it stays in view), rows from row 2, nothing else on the sheet: a filled workbook is a
study's tables as they are, and a problem's row number is the sheet row the user sees. Excel's
data validation guides the typing:

* every vocabulary column (``Column.vocabulary``) is a drop-down of the vocabulary's canonical
  values (``cartkit.study.vocabulary.VOCABULARIES``); a list too long for Excel's 255-character
  inline limit, or with a comma in a value, lives in the hidden ``lists`` sheet and is referenced
  by a defined name (``list_<vocabulary>``). Adverse-event terms warn rather than refuse, because
  a study may add terms (``extra_ae_terms`` in study.toml); the other lists refuse other values;
* yes/no columns are drop-downs of ``true`` / ``false``; ``measurements.unit`` a drop-down of every
  unit spelling some analyte accepts (``UNIT_CONVERSIONS``: the loader converts them);
* numbers with schema bounds (``Column.min`` / ``max``) are whole or decimal numbers in those
  bounds; dates are dates from ``EARLIEST_PLAUSIBLE_DATE`` (the loader's own lower bound) on;
* every column's description is the input message shown when one of its cells is selected.

Text and yes/no columns are formatted as text, so that Excel keeps ``08:30`` or ``1-2`` as typed
instead of turning them into a time or a date. The README sheet is generated from the schema, the
vocabularies and the analyte table, never restated here; the loader ignores the README and lists
sheets (``cartkit.study.sources``).

Text that a spreadsheet would run as a formula (``=...``, ``+...``, ``@...``: the OWASP rule of
``cartkit.study.spreadsheet_safety``) is written as a text cell with Excel's quote prefix, not with
a literal ``'`` as in a CSV: it shows and reads back as the same text and never runs. Numbers, dates and yes/no values are
written as such, so ``-5`` stays the number -5.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cartkit.study import schema as _schema
from cartkit.study.atomic_file import replace_atomically
from cartkit.study.coerce import EARLIEST_PLAUSIBLE_DATE
from cartkit.study.schema import BOOL, DATE, FLOAT, INT, STR, TABLES, Column, Table
from cartkit.study.spreadsheet_safety import FORMULA_START, PLAIN_NUMBER, neutral_text
from cartkit.study.vocabulary import ANALYTES, UNIT_CONVERSIONS, VOCABULARIES

README_SHEET = "README"
LISTS_SHEET = "lists"
LAST_ROW = 1_048_576  # Excel's last row: validations cover every row a user can type in
INLINE_LIST_LIMIT = 255  # Excel refuses an inline list formula longer than this
PROMPT_LIMIT = 255  # Excel's limit on an input or error message
TITLE_LIMIT = 32  # and on its title
BOOL_VALUES = ("true", "false")
# loader-added columns, not the user's: never written back as a column of a table
DERIVED_COLUMNS = {"measurements": ("unit_original",)}


_NUMBER_FORMATS = {STR: "@", BOOL: "@", DATE: "yyyy-mm-dd", INT: "0", FLOAT: "General"}
_TYPE_NAMES = {STR: "text", BOOL: "yes/no", DATE: "date (YYYY-MM-DD)", INT: "whole number", FLOAT: "number"}


def formula_like(text: str) -> bool:
    """True for text a spreadsheet would run as a formula (the rule of ``spreadsheet_safety``)."""
    return neutral_text(text) != text


# --------------------------------------------------------------------------- choices


def vocabulary_values(name: str) -> list[str]:
    """The canonical values of a vocabulary, in the vocabulary's order."""
    return list(dict.fromkeys(VOCABULARIES[name].values()))


def unit_values() -> list[str]:
    """Every unit spelling some analyte accepts, in the analyte table's order."""
    return list(dict.fromkeys(u for units in UNIT_CONVERSIONS.values() for u in units))


@dataclass(frozen=True)
class Choices:
    """The values a drop-down offers for one column."""

    name: str  # list name: the vocabulary, "yes_no" or "unit"
    values: tuple[str, ...]
    strict: bool  # refuse other values (else warn)


def column_choices(table: Table, col: Column) -> Choices | None:
    if col.vocabulary is not None:
        # a study may add adverse-event terms (plan.extra_ae_terms): warn, do not refuse
        return Choices(col.vocabulary, tuple(vocabulary_values(col.vocabulary)), col.vocabulary != "ae_term")
    if col.dtype == BOOL:
        return Choices("yes_no", BOOL_VALUES, True)
    if table.name == "measurements" and col.name == "unit":
        return Choices("unit", tuple(unit_values()), True)
    return None


def _inline(values: tuple[str, ...]) -> str | None:
    """The inline list formula, or None when Excel cannot hold it inline."""
    if any("," in v or '"' in v for v in values):
        return None
    text = '"' + ",".join(values) + '"'
    return text if len(text) <= INLINE_LIST_LIMIT else None


# --------------------------------------------------------------------------- README text


def conventions() -> list[str]:
    """The bullet points of the schema's "Conventions" (``cartkit.study.schema.__doc__``), one
    paragraph each: the day-0 convention, dates, units."""
    doc = _schema.__doc__ or ""
    _, _, rest = doc.partition("Conventions")
    bullets = re.split(r"\n\s*\*\s+", "\n" + rest.split("\n", 1)[-1])
    text = [re.sub(r"\s+", " ", b).strip().replace("``", "") for b in bullets if b.strip()]
    return [t.replace("(see vocabulary.ANALYTES)", "(see 'Analytes and units' below)") for t in text]


def _bounds_text(col: Column) -> str:
    if col.dtype == DATE:
        return f"from {EARLIEST_PLAUSIBLE_DATE.isoformat()} to the day of validation"
    if col.min is not None and col.max is not None:
        return f"{col.min:g} to {col.max:g}"
    if col.min is not None:
        return f"at least {col.min:g}"
    if col.max is not None:
        return f"at most {col.max:g}"
    return ""


def _allowed_text(table: Table, col: Column) -> str:
    choices = column_choices(table, col)
    if choices is None:
        return ""
    text = ", ".join(choices.values)
    if col.vocabulary is not None:
        aliases = sorted(k for k, v in VOCABULARIES[col.vocabulary].items() if k != v.lower() and k != v)
        if aliases:
            text += f" (also read: {', '.join(aliases)})"
    if col.vocabulary == "ae_term":
        text += '; other terms: add them to study.toml, [plan] extra_ae_terms = ["..."]'
    if choices.name == "unit":
        text = "the unit the value is written in; accepted units per analyte: see 'Analytes and units' below"
    return text


def readme_rows() -> list[list[object]]:
    """The README sheet, row by row, generated from the schema, the vocabularies and the analytes."""
    rows: list[list[object]] = [
        ["cartkit study workbook"],
        [],
        ["How to fill it in"],
        ["Each sheet after this one is a table of the study; row 1 holds its column names. Keep the sheet "
         "and column names as they are, write one row per fact from row 2 on, and leave a cell empty when "
         "the value is not known. Optional tables may stay empty."],
        ["Cells with a drop-down take one of its values; numbers and dates are checked against the bounds "
         "below as you type. Selecting a cell shows what its column means."],
        ["Put the workbook in a folder with a study.toml (the study's id and analysis plan, with "
         "[files] workbook = \"<this file's name>\"; cartkit template writes one when the folder has none). "
         "Then: cartkit validate FOLDER, fix what it lists (each problem names the sheet and the row "
         "number you see here), and cartkit run FOLDER --out REPORT."],
        [f"cartkit ignores this {README_SHEET} sheet and the hidden {LISTS_SHEET} sheet (the longer drop-down lists)."],
        [],
        ["Conventions"],
        *[[c] for c in conventions()],
        [],
        ["Tables"],
        ["table", "column", "type", "required", "allowed values", "range", "description"],
    ]
    for table in TABLES.values():
        need = "required table" if table.required else "optional table"
        extra = " Give day or date (or both) on each row." if table.day_or_date else ""
        rows.append([table.name, "", "", need, f"one row per {', '.join(table.key)}", "",
                     table.description + extra])
        for col in table.columns:
            rows.append(["", col.name, _TYPE_NAMES[col.dtype], "yes" if col.required else "",
                         _allowed_text(table, col), _bounds_text(col), col.description])
    rows += [
        [],
        ["Analytes and units"],
        ["Each measurements row names its analyte and the unit its value is written in; the value is "
         "converted to the analyte's canonical unit at load, and any other unit is refused."],
        ["analyte", "label", "group", "canonical unit", "accepted units", "range (canonical unit)"],
    ]
    for a in ANALYTES.values():
        bounds = f"{a.min:g} to {a.max:g}" if a.max is not None else f"at least {a.min:g}"
        rows.append([a.code, a.label, a.group, a.unit, ", ".join(UNIT_CONVERSIONS.get(a.code, {})), bounds])
    return rows


# --------------------------------------------------------------------------- the workbook


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _validation(table: Table, col: Column, letter: str, list_refs: dict[str, str]):
    """The data validation of one column (rows 2 to the last row), or None."""
    from openpyxl.worksheet.datavalidation import DataValidation

    area = f"{letter}2:{letter}{LAST_ROW}"
    prompt = _short(col.description or _TYPE_NAMES[col.dtype], PROMPT_LIMIT)
    common = dict(allow_blank=True, showInputMessage=True, promptTitle=_short(col.name, TITLE_LIMIT), prompt=prompt)
    choices = column_choices(table, col)
    dv = None
    if choices is not None:
        formula = _inline(choices.values) or list_refs[choices.name]
        shown = _short(f"{col.name}: one of {', '.join(choices.values)}", PROMPT_LIMIT)
        dv = DataValidation(type="list", formula1=formula, showErrorMessage=True,
                            errorStyle="stop" if choices.strict else "warning",
                            errorTitle=_short(f"{col.name}: not in the list", TITLE_LIMIT), error=shown, **common)
    elif col.dtype in (INT, FLOAT) and (col.min is not None or col.max is not None):
        kind = "whole" if col.dtype == INT else "decimal"
        if col.min is not None and col.max is not None:
            bounds = dict(operator="between", formula1=f"{col.min:g}", formula2=f"{col.max:g}")
        elif col.min is not None:
            bounds = dict(operator="greaterThanOrEqual", formula1=f"{col.min:g}")
        else:
            bounds = dict(operator="lessThanOrEqual", formula1=f"{col.max:g}")
        dv = DataValidation(type=kind, showErrorMessage=True, errorTitle=_short(f"{col.name}: out of range", TITLE_LIMIT),
                            error=_short(f"{col.name}: {_TYPE_NAMES[col.dtype]}, {_bounds_text(col)}", PROMPT_LIMIT),
                            **bounds, **common)
    elif col.dtype == DATE:
        d = EARLIEST_PLAUSIBLE_DATE
        dv = DataValidation(type="date", operator="greaterThanOrEqual", formula1=f"DATE({d.year},{d.month},{d.day})",
                            showErrorMessage=True, errorTitle=_short(f"{col.name}: not a date", TITLE_LIMIT),
                            error=f"{col.name}: a date from {d.isoformat()} on (YYYY-MM-DD)", **common)
    elif col.description:
        dv = DataValidation(**common)  # any value: the input message only
    if dv is not None:
        dv.add(area)
    return dv


def written_columns(table: Table, frame: pl.DataFrame | None) -> list[str]:
    """The schema's columns, then any extra column of the user's (not those the loader adds)."""
    names = list(table.column_names)
    if frame is not None:
        skip = set(DERIVED_COLUMNS.get(table.name, ()))
        names += [c for c in frame.columns if c not in names and c not in skip]
    return names


def _cells(ws, frame: pl.DataFrame, names: list[str]):
    """The rows of ``frame`` as openpyxl values: dates as dates, flags as true/false text, formula-like
    text as quote-prefixed text cells."""
    from openpyxl.cell import WriteOnlyCell

    columns = []
    for name in names:
        if name not in frame.columns:
            columns.append([None] * frame.height)
            continue
        s = frame[name]
        if s.dtype == pl.Boolean:
            s = s.cast(pl.String)
        elif isinstance(s.dtype, pl.Datetime):
            s = s.dt.date()
        elif s.dtype.is_float():
            s = s.fill_nan(None)
        elif not (s.dtype.is_numeric() or s.dtype == pl.Date or s.dtype == pl.String):
            s = s.cast(pl.String)
        values = s.to_list()
        if s.dtype == pl.String:
            risky = s.str.contains(FORMULA_START) & ~s.str.contains(PLAIN_NUMBER)
            for i in risky.fill_null(False).arg_true().to_list():
                cell = WriteOnlyCell(ws, values[i])
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True
                values[i] = cell
        elif s.dtype == pl.Date:
            for i, v in enumerate(values):
                if v is not None:
                    cell = WriteOnlyCell(ws, v)
                    cell.number_format = "yyyy-mm-dd"
                    values[i] = cell
        columns.append(values)
    return zip(*columns, strict=True) if columns else iter(())


def study_workbook(tables: dict[str, pl.DataFrame] | None = None):
    """The workbook (write-only openpyxl ``Workbook``, not yet saved): README, one sheet per table
    with validations, the hidden lists sheet; filled with ``tables`` (table -> frame) when given."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.workbook.defined_name import DefinedName

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")

    readme = wb.create_sheet(README_SHEET)
    for letter, width in zip("ABCDEFG", (22, 22, 18, 14, 60, 22, 90), strict=True):
        readme.column_dimensions[letter].width = width
    headings = {"cartkit study workbook", "How to fill it in", "Conventions", "Tables", "Analytes and units"}
    for row in readme_rows():
        cells = []
        for j, value in enumerate(row):
            cell = WriteOnlyCell(readme, value)
            if isinstance(value, str) and formula_like(value):
                cell.data_type, cell.quotePrefix = "s", True
            if (j == 0 and value in headings) or row[:2] in (["table", "column"], ["analyte", "label"]) or (
                    j == 0 and value in TABLES and len(row) > 1):
                cell.font = bold
            if len(row) == 1:
                cell.alignment = Alignment(wrap_text=False)
            cells.append(cell)
        readme.append(cells)

    # the long lists, one column each of the lists sheet, referenced by a defined name
    long_lists: dict[str, tuple[str, ...]] = {}
    for table in TABLES.values():
        for col in table.columns:
            choices = column_choices(table, col)
            if choices is not None and _inline(choices.values) is None:
                long_lists.setdefault(choices.name, choices.values)
    list_refs: dict[str, str] = {}
    for j, (name, values) in enumerate(long_lists.items(), start=1):
        letter = get_column_letter(j)
        ref = f"list_{name}"
        wb.defined_names[ref] = DefinedName(ref, attr_text=f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}")
        list_refs[name] = ref

    for table in TABLES.values():
        ws = wb.create_sheet(table.name)
        ws.freeze_panes = "A2"
        frame = (tables or {}).get(table.name)
        names = written_columns(table, frame)
        for j, name in enumerate(names, start=1):
            letter = get_column_letter(j)
            dim = ws.column_dimensions[letter]
            dim.width = max(12, len(name) + 3)
            if name in table.column_names:
                col = table.column(name)
                dim.number_format = _NUMBER_FORMATS[col.dtype]
                dv = _validation(table, col, letter, list_refs)
                if dv is not None:
                    ws.data_validations.append(dv)
        header = []
        for name in names:
            cell = WriteOnlyCell(ws, name)
            if formula_like(name):
                cell.data_type, cell.quotePrefix = "s", True
            cell.font, cell.fill = bold, header_fill
            header.append(cell)
        ws.append(header)
        if frame is not None:
            for row in _cells(ws, frame, names):
                ws.append(list(row))

    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    width = len(long_lists)
    if width:
        columns = list(long_lists.items())
        lists.append([name for name, _ in columns])
        for i in range(max(len(v) for _, v in columns)):
            lists.append([values[i] if i < len(values) else None for _, values in columns])
    return wb


# --------------------------------------------------------------------------- writing


def save_atomically(wb, out: Path) -> Path:
    """Save ``wb`` to ``out`` through a temporary file in the same folder, renamed into place."""
    return replace_atomically(out, wb.save)


def write_text_new(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` only if no such file exists (atomically); True when written."""
    if path.exists():
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)  # fails if the file appeared meanwhile: never replaces one
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: the check above is the guard
            if path.exists():
                return False
            os.replace(tmp, path)
    except FileExistsError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
    return True


@dataclass
class TemplateWritten:
    workbook: Path
    study_toml: Path | None  # the study.toml written beside it (None: one was there already)


def write_template(out: str | Path, example: str | Path | None = None, force: bool = False) -> TemplateWritten:
    """Write the workbook to ``out`` (an ``.xlsx`` path); pre-filled with the study folder ``example``
    (loaded and validated first) when given. An existing ``out`` is replaced only when ``force``.

    A study.toml is written beside the workbook when its folder has none: the example's own (its
    ``[files]`` pointing at the workbook), else one with the study id and the plan's defaults, so
    that the folder is a study once the sheets are filled in. Raises ``FileExistsError``,
    ``ValueError`` or ``cartkit.StudyError`` (the example does not load)."""
    from cartkit.interop.study_toml import relocated_study_toml, skeleton_study_toml

    target = Path(out)
    if target.suffix.lower() != ".xlsx":
        raise ValueError(f"{target}: the template is an Excel workbook; give a name ending in .xlsx")
    if target.is_dir():
        raise ValueError(f"{target} is a folder; give the workbook's file name")
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; choose another name or pass --force to replace it")
    tables = None
    toml_text = None
    if example is not None:
        from cartkit.study.load import load_study

        study = load_study(example)
        tables = study.tables
        toml_text = relocated_study_toml((Path(example) / "study.toml").read_text(encoding="utf-8-sig"),
                                         workbook=target.name)
    else:
        study_id = re.sub(r"[^A-Za-z0-9_.-]+", "-", target.stem).strip("-") or "study"
        toml_text = skeleton_study_toml(study_id, target.name)
    save_atomically(study_workbook(tables), target)
    toml_path = target.parent / "study.toml"
    written = write_text_new(toml_path, toml_text)
    if written and example is not None and (Path(example) / "published.toml").is_file():
        write_text_new(target.parent / "published.toml", (Path(example) / "published.toml").read_text("utf-8"))
    return TemplateWritten(target, toml_path if written else None)


def seed_study_folder() -> Path | None:
    """The seed study, examples/seed-study, of the source checkout cartkit runs from (an editable
    install) or of the current folder (``pip install .`` in a checkout, then commands run there, as the
    README does); None when neither has it."""
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        folder = root / "examples" / "seed-study"
        if (folder / "study.toml").is_file():
            return folder
    return None

