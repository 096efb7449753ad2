"""Read one table of a study from CSV, Parquet, an XLSX sheet, SPSS or SAS, as the user wrote it.

A reader does not interpret cells: CSV and XLSX cells arrive as strings (Excel
date cells as ISO ``YYYY-MM-DD``; a number cell in a percent format as the percent
Excel shows, 0.28 in "0%" as ``28``, with a warning naming the cell), Parquet
columns keep their stored types.
Column names are trimmed and lower-cased. Every frame carries ``__row__``, the
row number as the user sees it (see ``Problem``): the 1-based line of a CSV
(header = line 1), the sheet row of an XLSX sheet, the 1-based data row of a
Parquet file. Rows with no value at all are dropped (European Excel exports
end with lines of bare ``;``). Anything that goes wrong while reading becomes a
``Problem`` naming the file; a reader never raises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from cartkit.study.problems import WARNING, Problem

ROW = "__row__"


@dataclass
class RawTable:
    """One table as read from its file, before typing and validation."""

    table: str
    file: str  # as shown to the user: "measurements.csv", "study.xlsx[measurements]"
    frame: pl.DataFrame  # normalised column names + ROW
    decimal_comma: bool = False  # semicolon CSV from a European Excel: "1,5" means 1.5
    notes: list[str] = field(default_factory=list)
    # normalised column name -> the header as the file writes it ("age (years)" -> "Age (years)"), so
    # that a problem can name a column as the user sees it (cartkit.study.column_mapping)
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- headers


def _name_columns(
    header: list[object], columns: list[pl.Series], file: str, header_row: int | None,
    headers: dict[str, str] | None = None, positions: dict[int, str] | None = None,
) -> tuple[dict[str, pl.Series], list[Problem], list[str]]:
    """Normalise header names (trim, lower-case); drop unnamed empty columns; flag duplicates.

    ``headers``, when given, receives each kept name's header as written (trimmed); ``positions``
    each kept column's 0-based position -> its name."""
    named: dict[str, pl.Series] = {}
    first_seen: dict[str, str] = {}
    problems: list[Problem] = []
    notes: list[str] = []
    for i, (raw_name, col) in enumerate(zip(header, columns, strict=True)):
        name = "" if raw_name is None else str(raw_name).strip().lower()
        if name == "":
            if col.null_count() == len(col) or (
                col.dtype == pl.String and col.str.strip_chars().fill_null("").eq("").all()
            ):
                continue  # trailing empty column of a spreadsheet export
            name = f"column_{i + 1}"
            notes.append(f"{file}: column {i + 1} has no header; kept as '{name}'")
        if name == ROW or name == "*" or (name.startswith("^") and name.endswith("$")):
            # a name Polars would read as a pattern ("*", "^...$") or our own row column: kept, renamed
            notes.append(f"{file}: column {i + 1} header '{raw_name}' kept as '_{name}'")
            name = f"_{name}"
        if name in named:
            problems.append(
                Problem(
                    file,
                    header_row,
                    name,
                    None if raw_name is None else str(raw_name),
                    f"column given twice (first as '{first_seen[name]}'); only the first is read",
                )
            )
            continue
        first_seen[name] = str(raw_name)
        named[name] = col.alias(name)
        if positions is not None:
            positions[i] = name
        if headers is not None:
            headers[name] = "" if raw_name is None else str(raw_name).strip()
    return named, problems, notes


def _frame(named: dict[str, pl.Series], rows: pl.Series, text: bool = True) -> pl.DataFrame:
    """The table with its row numbers; rows with no value at all (blank lines, ";;;;" lines,
    empty sheet rows) dropped. Only text sources (CSV, XLSX) are checked for blank-only cells."""
    frame = pl.DataFrame([rows.alias(ROW), *named.values()])
    # by position, not name: a user's header may be "*" or "^x$", which pl.col reads as a pattern
    values = [i for i, c in enumerate(frame.columns) if c != ROW]
    if not values:
        return frame.clear()
    dtypes = frame.dtypes
    if not text and any(frame.to_series(i).null_count() == 0 for i in values):
        return frame  # a column with no null cell: no row is without a value
    empty = frame.select(
        pl.all_horizontal(
            [
                (
                    pl.nth(i).is_null() | (pl.nth(i).str.strip_chars() == "")
                    if text and dtypes[i] == pl.String
                    else pl.nth(i).is_null()
                )
                for i in values
            ]
        )
    ).to_series()
    return frame.filter(~empty) if empty.any() else frame


# --------------------------------------------------------------------------- CSV


# byte-order marks, longest first (the UTF-32 LE mark begins with the UTF-16 LE one)
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the first bytes look like UTF-16 text with no byte-order mark
    (every other byte NUL, as ASCII text saved as "Unicode text" without a BOM), else None."""
    head = data[:4096]
    if len(head) < 8:
        return None
    half = len(head) // 2
    even_nul = head[0::2].count(0) / half
    odd_nul = head[1::2].count(0) / half
    if odd_nul > 0.9 and even_nul < 0.1:
        return "utf-16-le"
    if even_nul > 0.9 and odd_nul < 0.1:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: UTF-32 or UTF-16 by their byte-order mark (or UTF-16
    without one, recognised by its NUL bytes), UTF-8 (with or without BOM), else cp1252, else Latin-1.

    Raises ``UnicodeDecodeError`` when a file marked as UTF-16/32 does not decode as such."""
    for bom, codec, _ in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(codec), codec
    codec = _utf16_without_bom(data)
    if codec is not None:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: the NUL bytes are reported where they are
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a CSV from its header line: ';' (European Excel), tab or ','."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > 0 else ","


_NUL_SHOWN = 100  # NUL bytes located one by one; beyond that, one problem counts the rest


def _nul_problems(body: bytes, sep: str, header: list[str], first_line: int, file: str) -> list[Problem]:
    """A located problem (line, column) for each NUL byte of ``body`` (the text from the header on)."""
    import numpy as np

    raw = np.frombuffer(body, dtype=np.uint8)
    nuls = np.flatnonzero(raw == 0)
    newlines = np.flatnonzero(raw == ord("\n"))
    lines = np.searchsorted(newlines, nuls[:_NUL_SHOWN])  # 0 = the header line
    problems = []
    sep_byte = sep.encode()
    for pos, line in zip(nuls[:_NUL_SHOWN].tolist(), lines.tolist(), strict=True):
        start = 0 if line == 0 else int(newlines[line - 1]) + 1
        field = body[start:pos].count(sep_byte)  # without regard to quotes: a close enough column
        column = header[field] if field < len(header) else f"field {field + 1}"
        problems.append(Problem(file, first_line + line, column or f"field {field + 1}", None,
                                "NUL byte (\\x00) in the text: not a character of a CSV file; remove it "
                                "(is the file binary, or saved in another encoding?)", kind="NUL byte"))
    if len(nuls) > _NUL_SHOWN:
        problems.append(Problem(file, None, None, None,
                                f"{len(nuls) - _NUL_SHOWN:,} more NUL bytes (\\x00) in the file", kind="NUL byte"))
    return problems


def _long_rows(text: str, sep: str, first_line: int, file: str) -> list[Problem]:
    """Each row with more fields than the header, named by its line ("line 12 has 9 fields, header has 8")."""
    import csv

    reader = csv.reader(text.splitlines(), delimiter=sep)
    problems = []
    width = None
    start = 1
    for fields in reader:
        if width is None:
            width = len(fields)
        elif len(fields) > width:
            line = first_line + start - 1
            problems.append(Problem(file, line, None, None,
                                    f"line {line} has {len(fields)} fields, header has {width}",
                                    kind="more fields than the header"))
        start = reader.line_num + 1
    return problems


def read_csv(path: Path, table: str, file: str) -> tuple[RawTable | None, list[Problem]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [Problem(file, None, None, None, f"cannot read the file: {exc}")]
    try:
        text, encoding = decode_text(data)
    except UnicodeDecodeError:
        name = next(n for bom, _, n in _BOMS if data.startswith(bom))
        return None, [Problem(file, None, None, None,
                              f"the file starts with a {name} byte-order mark but is not valid {name} text: "
                              "save it as 'CSV UTF-8'")]
    notes = []
    if encoding == "utf-8":
        # polars reads the bytes themselves: no second copy of a large file
        body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        del text
    else:
        if encoding.startswith("utf-"):
            notes.append(f"{file}: read as {encoding.upper()[:6]} ({encoding})")
        else:
            notes.append(f"{file}: not UTF-8; read as {encoding}")
        body = text.encode("utf-8")
        del text
    stripped = body.lstrip(b"\r\n")
    content = stripped.replace(b"\x00", b"")
    if not content or content.isspace():
        return None, [Problem(file, None, None, None, "the file is empty: expected a header row")]
    leading = body[: len(body) - len(stripped)].count(b"\n")
    header_row = leading + 1
    end = stripped.find(b"\n")
    header_line = stripped[: end if end >= 0 else len(stripped)].decode("utf-8", errors="replace")
    sep = sniff_delimiter(header_line)
    problems: list[Problem] = []
    if b"\x00" in stripped:
        # reported where each one is; the rest of the file is still read and checked
        header_names = [h.strip().strip('"').lower() for h in header_line.replace("\x00", "").split(sep)]
        problems += _nul_problems(stripped, sep, header_names, header_row, file)
        stripped = stripped.replace(b"\x00", b"")
    if sep == ";":
        notes.append(f"{file}: semicolon-separated; ',' read as the decimal separator in numeric columns")
    options = dict(has_header=False, infer_schema=False, separator=sep, raise_if_empty=False)
    try:
        raw = pl.read_csv(stripped, **options)
    except Exception as exc:  # polars reports malformed CSV as assorted exception types
        long_rows = _long_rows(stripped.decode("utf-8", errors="replace"), sep, header_row, file)
        if not long_rows:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return None, problems + [Problem(file, None, None, None, f"cannot read the CSV file: {message}")]
        problems += long_rows
        try:  # read the rest, so that every other problem of the file is found too
            raw = pl.read_csv(stripped, truncate_ragged_lines=True, **options)
        except Exception:
            return None, problems
    if raw.height == 0:
        return None, problems + [Problem(file, None, None, None, "the file is empty: expected a header row")]
    header = list(raw.row(0))
    rows_body = raw.slice(1)
    headers: dict[str, str] = {}
    named, more_problems, more = _name_columns(header, rows_body.get_columns(), file, header_row, headers)
    rows = pl.int_range(header_row + 1, header_row + 1 + rows_body.height, dtype=pl.Int64, eager=True)
    frame = _frame(named, rows)
    return (RawTable(table, file, frame, decimal_comma=sep == ";", notes=notes + more, headers=headers),
            problems + more_problems)


# --------------------------------------------------------------------------- Parquet


def read_parquet(path: Path, table: str, file: str) -> tuple[RawTable | None, list[Problem]]:
    try:
        data = pl.read_parquet(path)
    except Exception as exc:
        return None, [Problem(file, None, None, None, f"cannot read the Parquet file: {exc}")]
    return frame_table(data, table, file)


def frame_table(data: pl.DataFrame, table: str, file: str) -> tuple[RawTable, list[Problem]]:
    """A table from a typed frame (Parquet, SPSS, SAS): columns keep their types, rows are numbered
    1, 2, ... as the file's data rows."""
    problems: list[Problem] = []
    columns = []
    for col in data.get_columns():
        if isinstance(col.dtype, pl.Categorical | pl.Enum):
            col = col.cast(pl.String)
        elif isinstance(col.dtype, pl.List | pl.Struct | pl.Array | pl.Object | pl.Binary):
            problems.append(Problem(file, None, col.name, None, f"unsupported column type {col.dtype}"))
            continue
        columns.append(col)
    headers: dict[str, str] = {}
    named, more, notes = _name_columns([c.name for c in columns], columns, file, None, headers)
    rows = pl.int_range(1, data.height + 1, dtype=pl.Int64, eager=True)
    return RawTable(table, file, _frame(named, rows, text=False), notes=notes, headers=headers), problems + more


# --------------------------------------------------------------------------- XLSX


def _cell_text(value: object) -> str | None:
    """A spreadsheet cell as text: real date cells as ISO dates, whole numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return str(value)


# a located warning, one per cell (grouped by file and column when shown); the value is the stored fraction
PERCENT_CELL_RULE = "number in a percent format: read as the percent Excel shows, the stored fraction (value) x 100"


def _percent_powers(fmt: str) -> tuple[int, int, int]:
    """How many times Excel multiplies a number by 100 to show it in the number format ``fmt``: the
    unquoted ``%`` signs of the section used for a positive, a negative and a zero number (sections
    ``positive;negative;zero;text``; one section serves all, two serve >= 0 and < 0). ``"0%"`` and
    ``"0.00%"`` give (1, 1, 1); ``"0"``, ``'0" %"'`` (a quoted sign) and ``"0\\%"`` (an escaped one) 0."""
    sections = [0]
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i]
        if ch == '"':  # literal text
            j = fmt.find('"', i + 1)
            i = n if j < 0 else j + 1
            continue
        if ch == "[":  # colour, condition or locale: [Red], [>=100], [$-409]
            j = fmt.find("]", i + 1)
            i = n if j < 0 else j + 1
            continue
        if ch in "\\_*":  # an escaped character, a space the width of one, a fill character
            i += 2
            continue
        if ch == ";":
            sections.append(0)
        elif ch == "%":
            sections[-1] += 1
        i += 1
    positive = sections[0]
    negative = sections[1] if len(sections) > 1 else positive
    zero = sections[2] if len(sections) > 2 else positive
    return positive, negative, zero


def _percent_styles(wb) -> bool:
    """Whether any cell style of the workbook has a percent number format (Excel's built-in 9 "0%" and
    10 "0.00%", or a custom one such as "0.0%"): one look at the workbook's style list, so that a
    workbook without one (most, and the seed) is read as before, without looking at any cell's format.
    Read from openpyxl's own style list (``_cell_styles``, ``_number_formats``, as openpyxl's
    ReadOnlyCell.number_format reads them); if those are not there, every number cell's format is read."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE

    try:
        styles, custom = wb._cell_styles, wb._number_formats
    except AttributeError:
        return True
    for style in styles:
        fid = style.numFmtId
        if fid < BUILTIN_FORMATS_MAX_SIZE:
            fmt = BUILTIN_FORMATS.get(fid, "General")
        else:  # a custom format: openpyxl numbers them from BUILTIN_FORMATS_MAX_SIZE
            k = fid - BUILTIN_FORMATS_MAX_SIZE
            fmt = custom[k] if k < len(custom) else "General"
        if any(_percent_powers(fmt)):
            return True
    return False


def _number_format(cell) -> str:
    """A cell's number format; "General" when the workbook's style list does not have it (a malformed
    file: openpyxl's lookup fails, and a cell is not refused for its format alone)."""
    try:
        return cell.number_format or "General"
    except (IndexError, KeyError, AttributeError):
        return "General"


def _shown_percent(value: int | float, powers: tuple[int, int, int]) -> str | None:
    """The number a percent-formatted cell shows (0.28 in "0%" -> "28"), scaled in decimal so that
    0.285 gives 28.5 and not 28.499999999999996; None if the format does not scale this value (or it is
    0, which reads the same either way). The value is not rounded to the format's decimals: 0.2849 in
    "0%" shows 28% and is read as 28.49, the number the cell holds."""
    from decimal import Decimal

    power = powers[0] if value > 0 else powers[1] if value < 0 else powers[2]
    if power == 0 or value == 0:
        return None
    shown = (Decimal(repr(value)) * 100 ** power).normalize()
    return format(shown, "f")


def _read_sheet(ws, table: str, file: str) -> tuple[RawTable | None, list[Problem]]:
    header: list[object] | None = None
    header_row = 0
    values: list[list[str | None]] = []
    rows: list[int] = []
    # a percent-formatted number cell is read as Excel shows it ("28%" is stored as 0.28 and read as 28),
    # each such cell named by a warning; cell formats are only read when the workbook has a percent
    # style, and then only for number cells, each distinct format parsed once
    percent = _percent_styles(ws.parent)
    powers_of: dict[str, tuple[int, int, int]] = {}
    scaled: list[tuple[int, int, int | float]] = []  # (sheet row, column position, stored value)
    for r, row in enumerate(ws.iter_rows(min_row=1, values_only=not percent), start=1):
        if percent:
            cells, row = row, tuple(c.value for c in row)
        if header is None:
            if any(v is not None and str(v).strip() != "" for v in row):
                header = list(row)
                header_row = r
            continue
        texts = [_cell_text(v) for v in row]
        if percent:
            for j, v in enumerate(row):
                if type(v) is float or type(v) is int:  # a number cell (not a bool, a date or text)
                    fmt = _number_format(cells[j])
                    powers = powers_of.get(fmt)
                    if powers is None:
                        powers = powers_of[fmt] = _percent_powers(fmt)
                    if any(powers) and (shown := _shown_percent(v, powers)) is not None:
                        texts[j] = shown
                        scaled.append((r, j, v))
        values.append(texts)
        rows.append(r)
    if header is None:
        return None, [Problem(file, None, None, None, "the sheet is empty: expected a header row")]
    width = max([len(header), *(len(v) for v in values)])
    header = header + [None] * (width - len(header))
    columns = [
        pl.Series(f"c{j}", [v[j] if j < len(v) else None for v in values], dtype=pl.String)
        for j in range(width)
    ]
    headers: dict[str, str] = {}
    positions: dict[int, str] = {}
    named, problems, notes = _name_columns(header, columns, file, header_row, headers, positions)
    frame = _frame(named, pl.Series(ROW, rows, dtype=pl.Int64))
    problems += [
        Problem(file, r, positions[j], v, PERCENT_CELL_RULE, WARNING)
        for r, j, v in scaled if j in positions  # not a duplicate column's cells, which are not read
    ]
    return RawTable(table, file, frame, notes=notes, headers=headers), problems


def open_workbook(path: Path, file: str):
    """An openpyxl workbook opened read-only (the file is never written), or a Problem."""
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True), None
    except Exception as exc:
        return None, Problem(file, None, None, None, f"cannot read the Excel workbook: {exc}")


def read_xlsx(
    path: Path, table: str, file: str, sheet: str | None = None, workbook=None
) -> tuple[RawTable | None, list[Problem]]:
    """One sheet of a workbook: ``sheet`` (matched case-insensitively), or the sheet named after
    the table, or the first sheet."""
    wb = workbook
    if wb is None:
        wb, problem = open_workbook(path, file)
        if wb is None:
            return None, [problem]
    try:
        by_name = {name.strip().lower(): name for name in wb.sheetnames}
        wanted = (sheet or table).strip().lower()
        # problems name the sheet as well as the row: "patients.xlsx[Sheet1]"
        if wanted in by_name:
            ws = wb[by_name[wanted]]
        elif sheet is None and wb.sheetnames:
            ws = wb[wb.sheetnames[0]]
        else:
            return None, [Problem(file, None, None, sheet, f"no sheet named '{sheet}'")]
        return _read_sheet(ws, table, f"{file}[{ws.title}]")
    except Exception as exc:
        return None, [Problem(file, None, None, None, f"cannot read the Excel sheet: {exc}")]
    finally:
        if workbook is None:
            wb.close()


def read_spss(path: Path, table: str, file: str, names: dict[str, str] | None = None
              ) -> tuple[RawTable | None, list[Problem]]:
    """``names``: variable names study.toml maps to our columns (value labels are judged by them)."""
    from cartkit.interop.spss import read_sav

    return read_sav(path, table, file, names)


def read_sas(path: Path, table: str, file: str, names: dict[str, str] | None = None
             ) -> tuple[RawTable | None, list[Problem]]:
    from cartkit.interop.spss import read_sas

    return read_sas(path, table, file, names)


LABELLED_READERS = {".sav": read_spss, ".sas7bdat": read_sas, ".xpt": read_sas}  # files with value labels


READERS = {".csv": read_csv, ".parquet": read_parquet, ".xlsx": read_xlsx,
           ".sav": read_spss, ".sas7bdat": read_sas, ".xpt": read_sas}  # SPSS, SAS: cartkit.interop.spss
