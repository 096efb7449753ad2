"""A centre's own headers, codes and wide tables, declared in study.toml (docs/column-mapping.md).

Three top-level tables of ``study.toml`` let a study folder keep the files a centre already has::

    [columns.patients]              # our column = the centre's header
    patient_id = "Patient No."
    age = "Age (years)"

    [values.sex]                    # the centre's code = our value (every table with a column 'sex')
    1 = "male"
    2 = "female"

    [values.events.kind]            # the same, for one table's column only
    D = "death"

    [wide.measurements]             # serial measurements written one column per day
    file = "cytokines.csv"          # or sheet = "IL-6", or table = "infusions"; default: measurements
    columns = [
      { pattern = "IL6_d{day}", analyte = "il6", unit = "pg/mL" },
    ]

Nothing of the user's files changes: each table is read as written (``cartkit.study.readers``), its
mapped headers are renamed to ours, its codes replaced by our values, and the wide columns turned into
long measurement rows, before the table is typed and checked like any other. Every problem found later
is then put back where the user sees it (``MappedStudy.relocate``): a mapped column by its header as the
file writes it ("Age (years)", not "age"), a value of a wide column at its row and its header
("IL6_d7"), not at a row of a long table that no file holds.

Every bad mapping is a problem located in study.toml (``columns.patients.age``) or, for a header that
the file does not have, in the file. The REDCap and SDTM importers write study folders in our own
layout and need none of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from cartkit.study.coerce import BOOL_WORDS, MISSING_TOKENS, cast_column, vocabulary_mapping
from cartkit.study.problems import Problem
from cartkit.study.readers import LABELLED_READERS, READERS, ROW, RawTable
from cartkit.study.schema import BOOL, TABLES
from cartkit.study.vocabulary import UNIT_CONVERSIONS, canonical_unit

STUDY_TOML = "study.toml"  # as cartkit.study.plan.STUDY_TOML (that module imports this one)
MAPPING_TABLES = ("columns", "values", "wide")  # the top-level tables of study.toml read here
WIDE_TABLES = ("measurements",)  # tables that may be written wide
# tables whose file may hold the wide columns as extra columns: read before measurements is
WIDE_HOSTS = ("patients", "infusions", "measurements")
DAY = "{day}"
# the day of a wide column: an optionally signed whole number ("d-1", "d+3", "d07")
_DAY_NUMBER = r"([+-]?\d+)"
# row numbers given to the long rows made from wide cells: far above any real row, so that every
# problem at one of them is known to come from a wide cell (and is put back where that cell is)
WIDE_ROW_BASE = 10**12
_ROW_TEXT = re.compile(r"\brow (\d+)\b")  # a row named in a rule's text: "same as row 12"
_COLUMN_NAMES = {name for t in TABLES.values() for name in t.column_names}
# a [values.<key>] key is a table name or a column name, never both (tested)
assert not _COLUMN_NAMES & set(TABLES)


def _normal(header: str) -> str:
    """A header as the readers name a column: trimmed, lower-case."""
    return header.strip().lower()


@dataclass(frozen=True)
class WidePattern:
    """One wide column pattern: ``IL6_d{day}`` with its analyte and unit."""

    pattern: str  # as written in study.toml
    analyte: str  # canonical analyte code
    unit: str  # as written (converted at load like the unit of any row)
    key: str  # where it is written: "wide.measurements.columns[1]"

    @property
    def regex(self) -> re.Pattern[str]:
        before, after = self.pattern.split(DAY)  # spaces next to {day} are part of the header
        return re.compile(re.escape(before.lstrip().lower()) + _DAY_NUMBER + re.escape(after.rstrip().lower()) + r"\Z")


@dataclass(frozen=True)
class WideRule:
    """``[wide.measurements]``: where the wide columns are and what they hold."""

    patterns: tuple[WidePattern, ...]
    file: str | None = None  # a file of the study folder
    sheet: str | None = None  # a sheet of ``file``, or of the study workbook
    table: str | None = None  # a table whose own file holds the wide columns as extra columns
    patient_id: str = "patient_id"  # header of the patient column of the wide source
    episode: str | int = "episode"  # header of its episode column, or the one episode of every row
    key: str = "wide.measurements"  # where it is written: "wide.measurements[2]" for the second of several

    @property
    def place(self) -> tuple:
        """Where its columns are, ignoring case: two rules may not read the same place."""
        return tuple((v or "").lower() for v in (self.file, self.sheet, self.host))

    @property
    def host(self) -> str | None:
        """The study table whose file holds the wide columns (None: a file or sheet of their own)."""
        if self.file is None and self.sheet is None:
            return self.table or "measurements"
        return None


@dataclass
class ColumnMapping:
    """Everything ``[columns.*]``, ``[values.*]`` and ``[wide.*]`` say (empty: files in our layout)."""

    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> our column -> header
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # table -> column -> code
    wide: tuple[WideRule, ...] = ()  # one or more [wide.measurements] rules, each for one place

    def __bool__(self) -> bool:
        return bool(self.columns or self.values or self.wide)


# --------------------------------------------------------------------------- study.toml


def read_column_mapping(data: dict[str, Any], extra_ae_terms: object, problems: list[Problem]) -> ColumnMapping:
    """The mapping tables of a parsed study.toml (``data`` holds each of ``MAPPING_TABLES`` that is
    written there, already checked to be tables); every bad key is a problem naming it."""
    terms = tuple(t for t in extra_ae_terms if isinstance(t, str)) if isinstance(extra_ae_terms, list) else ()
    return ColumnMapping(
        columns=_read_columns(data.get("columns", {}), problems),
        values=_read_values(data.get("values", {}), terms, problems),
        wide=_read_wide(data.get("wide", {}), problems),
    )


def _problem(key: str, value: object, rule: str) -> Problem:
    return Problem(STUDY_TOML, None, key, value, rule)


def _read_columns(data: dict[str, Any], problems: list[Problem]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, entries in data.items():
        if table not in TABLES:
            problems.append(_problem(f"columns.{table}", None,
                                     f"unknown table '{table}': expected one of {', '.join(TABLES)}"))
            continue
        if not isinstance(entries, dict):
            problems.append(_problem(f"columns.{table}", entries, 'expected a table: our_column = "their header"'))
            continue
        names = TABLES[table].column_names
        taken: dict[str, str] = {}  # normalised header -> our column
        mapped: dict[str, str] = {}
        for ours, header in entries.items():
            key = f"columns.{table}.{ours}"
            if ours not in names:
                problems.append(_problem(key, header, f"not a column of {table}: the columns are {', '.join(names)}"))
            elif not isinstance(header, str) or not header.strip():
                problems.append(_problem(key, header, "expected the header of the column in the file, as text"))
            elif _normal(header) in taken:
                problems.append(_problem(key, header, f"header '{header}' is already mapped to "
                                         f"'{taken[_normal(header)]}': one header holds one column"))
            else:
                taken[_normal(header)] = ours
                mapped[ours] = header.strip()
        if mapped:
            out[table] = mapped
    return out


def _value_columns(table: str, column: str) -> bool:
    col = TABLES[table].column(column)
    return col.vocabulary is not None or col.dtype == BOOL


def _read_codes(key: str, table: str, column: str, codes: object, terms: tuple[str, ...],
                problems: list[Problem]) -> dict[str, str] | None:
    """``{code lower-case: our value}`` of one ``[values...]`` table, or None when it is refused."""
    col = TABLES[table].column(column)
    if not isinstance(codes, dict) or not codes:
        problems.append(_problem(key, None, 'expected a table of "their code" = "our value"'))
        return None
    if col.dtype == BOOL:
        allowed = {k: ("true" if v else "false") for k, v in BOOL_WORDS.items()}
        what = "yes/no value: expected true or false"
    else:
        allowed = vocabulary_mapping(col.vocabulary, terms)
        what = f"{col.vocabulary} value; allowed: {', '.join(sorted(set(allowed.values())))}"
    out: dict[str, str] = {}
    for code, value in codes.items():
        ours = allowed.get(value.strip().lower()) if isinstance(value, str) else None
        if ours is None:
            problems.append(_problem(f"{key}.{code}", value, f"not a {what}"))
        elif code.strip().lower() in out:
            problems.append(_problem(f"{key}.{code}", value, "code given twice (codes are matched without case)"))
        else:
            out[code.strip().lower()] = ours
    return out


def _read_values(data: dict[str, Any], terms: tuple[str, ...],
                 problems: list[Problem]) -> dict[str, dict[str, dict[str, str]]]:
    """``[values.<column>]`` (every table with that column) and ``[values.<table>.<column>]`` (one
    table; its codes take precedence over the column-wide ones)."""
    wide: dict[str, dict[str, dict[str, str]]] = {}
    one: dict[str, dict[str, dict[str, str]]] = {}
    for name, entries in data.items():
        if name in TABLES:
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                problems.append(_problem(f"values.{name}", None,
                                         f'expected [values.{name}.<column>] tables of "their code" = "our value"'))
                continue
            for column, codes in entries.items():
                key = f"values.{name}.{column}"
                if column not in TABLES[name].column_names:
                    problems.append(_problem(key, None, f"not a column of {name}"))
                elif not _value_columns(name, column):
                    problems.append(_problem(key, None, f"{name}.{column} has no vocabulary: its values are "
                                             "read as written (only vocabulary and yes/no columns take codes)"))
                elif (codes := _read_codes(key, name, column, codes, terms, problems)) is not None:
                    one.setdefault(name, {})[column] = codes
            continue
        key = f"values.{name}"
        holders = [t for t, table in TABLES.items() if name in table.column_names]
        if not holders:
            problems.append(_problem(key, None, f"'{name}' is neither a column nor a table of the study"))
            continue
        coded = [t for t in holders if _value_columns(t, name)]
        if not coded:
            problems.append(_problem(key, None, f"'{name}' has no vocabulary: its values are read as written "
                                     "(only vocabulary and yes/no columns take codes)"))
            continue
        kinds = {TABLES[t].column(name).vocabulary or BOOL for t in coded}
        if len(kinds) > 1:
            problems.append(_problem(key, None, f"'{name}' has a different vocabulary in each of "
                                     f"{', '.join(coded)}: write [values.<table>.{name}], e.g. "
                                     f"[values.{coded[0]}.{name}]"))
            continue
        codes = _read_codes(key, coded[0], name, entries, terms, problems)
        if codes is not None:
            for t in coded:
                wide.setdefault(t, {})[name] = codes
    for table, columns in one.items():
        for column, codes in columns.items():
            wide.setdefault(table, {})[column] = {**wide.get(table, {}).get(column, {}), **codes}
    return wide


def _read_wide(data: dict[str, Any], problems: list[Problem]) -> tuple[WideRule, ...]:
    """``[wide.measurements]`` (one rule), or ``[[wide.measurements]]`` (one rule per place)."""
    rules: list[WideRule] = []
    for table, entries in data.items():
        key = f"wide.{table}"
        if table not in WIDE_TABLES:
            problems.append(_problem(key, None, f"only {', '.join(WIDE_TABLES)} can be written one column per day"))
            continue
        if isinstance(entries, dict):
            items = [(key, entries)]
        elif isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries):
            items = [(f"{key}[{i}]", e) for i, e in enumerate(entries, start=1)]
        else:
            problems.append(_problem(key, None, "expected a table with columns = [{ pattern = ..., ... }], or "
                                     "[[wide.measurements]] tables, one per file, sheet or table"))
            continue
        places: dict[tuple, str] = {}
        for where, item in items:
            rule = _read_wide_rule(where, item, problems)
            if rule is None:
                continue
            if rule.place in places:
                problems.append(_problem(where, None, f"reads the same place as {places[rule.place]}: give "
                                         "all the patterns of one file, sheet or table in one rule"))
                continue
            places[rule.place] = where
            rules.append(rule)
    return tuple(rules)


def _text(entries: dict, key: str, name: str, problems: list[Problem]) -> str | None:
    value = entries.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(_problem(f"{key}.{name}", value, "expected text"))
        return None
    return value.strip()


def _read_wide_rule(key: str, entries: dict, problems: list[Problem]) -> WideRule | None:
    before = len(problems)
    known = ("columns", "file", "sheet", "table", "patient_id", "episode")
    for name in entries:
        if name not in known:
            problems.append(_problem(f"{key}.{name}", entries[name],
                                     f"unknown key '{key}.{name}': expected {', '.join(known)}"))
    file = _text(entries, key, "file", problems)
    sheet = _text(entries, key, "sheet", problems)
    table = _text(entries, key, "table", problems)
    if table is not None and table not in WIDE_HOSTS:
        problems.append(_problem(f"{key}.table", table, f"the wide columns can be extra columns of "
                                 f"{', '.join(WIDE_HOSTS)}; or give their own file or sheet"))
        table = None
    if table is not None and (file is not None or sheet is not None):
        problems.append(_problem(f"{key}.table", table, "give the table that holds the wide columns, or their "
                                 "file or sheet, not both"))
    if file is not None and Path(file).suffix.lower() not in READERS:
        problems.append(_problem(f"{key}.file", file, f"unsupported file type: use {', '.join(READERS)}"))
    if file is not None and sheet is not None and Path(file).suffix.lower() != ".xlsx":
        problems.append(_problem(f"{key}.sheet", sheet, "a sheet needs an .xlsx file"))
    patient_id = _text(entries, key, "patient_id", problems) or "patient_id"
    for name in ("patient_id", "episode"):
        if file is None and sheet is None and isinstance(entries.get(name), str):
            problems.append(_problem(f"{key}.{name}", entries[name], f"the wide columns are read with their "
                                     f"table's own {name} column: map its header in [columns.<table>] instead"))
    episode = entries.get("episode", "episode")
    if isinstance(episode, bool) or not (isinstance(episode, str) and episode.strip()
                                         or isinstance(episode, int) and episode >= 1):
        problems.append(_problem(f"{key}.episode", episode,
                                 "expected the header of the episode column, or the episode number (1, 2, ...)"))
        episode = "episode"
    host = table or ("measurements" if file is None and sheet is None else None)
    if host is not None and isinstance(episode, str) and "episode" not in TABLES[host].column_names:
        problems.append(_problem(f"{key}.episode", None, f"{host} has no episode column: give the episode of "
                                 "its rows, e.g. episode = 1"))
    patterns = _read_patterns(key, entries.get("columns"), problems)
    if not patterns or len(problems) > before:
        return None  # not read at all rather than read wrongly
    return WideRule(patterns, file, sheet, table, patient_id,
                    episode.strip() if isinstance(episode, str) else episode, key)


def _read_patterns(key: str, columns: object, problems: list[Problem]) -> tuple[WidePattern, ...]:
    if not isinstance(columns, list) or not columns:
        problems.append(_problem(f"{key}.columns", columns, 'expected a list such as '
                                 '[{ pattern = "IL6_d{day}", analyte = "il6", unit = "pg/mL" }]'))
        return ()
    analytes = vocabulary_mapping("analyte")
    out: list[WidePattern] = []
    for i, item in enumerate(columns, start=1):
        where = f"{key}.columns[{i}]"
        if not isinstance(item, dict):
            problems.append(_problem(where, item, "expected { pattern = ..., analyte = ..., unit = ... }"))
            continue
        bad = False
        for name in item:
            if name not in ("pattern", "analyte", "unit"):
                problems.append(_problem(f"{where}.{name}", item[name], "unknown key: expected pattern, analyte, unit"))
                bad = True
        pattern, analyte, unit = (item.get(k) for k in ("pattern", "analyte", "unit"))
        if not isinstance(pattern, str) or pattern.count(DAY) != 1:
            problems.append(_problem(f"{where}.pattern", pattern, "a column pattern holds {day} once, where the "
                                     "day number is written: \"IL6_d{day}\" matches IL6_d0, IL6_d7, IL6_d-1"))
            bad = True
        elif "{" in pattern.replace(DAY, "") or "}" in pattern.replace(DAY, ""):
            problems.append(_problem(f"{where}.pattern", pattern, "only {day} may be written in braces"))
            bad = True
        code = analytes.get(analyte.strip().lower()) if isinstance(analyte, str) else None
        if code is None:
            problems.append(_problem(f"{where}.analyte", analyte, "unknown analyte; allowed: "
                                     + ", ".join(sorted(set(analytes.values())))))
            bad = True
        if not isinstance(unit, str) or not unit.strip():
            problems.append(_problem(f"{where}.unit", unit, "expected the unit of the values, e.g. \"pg/mL\""))
            bad = True
        elif code is not None and canonical_unit(unit) not in UNIT_CONVERSIONS.get(code, {}):
            accepted = ", ".join(UNIT_CONVERSIONS.get(code, {}))
            problems.append(_problem(f"{where}.unit", unit, f"unknown or mismatched unit for {code}; "
                                     f"accepted: {accepted}"))
            bad = True
        if not bad:
            out.append(WidePattern(pattern, code, unit.strip(), where))
    taken: dict[str, str] = {}
    for p in out:
        shape = _normal(p.pattern)
        if shape in taken:
            problems.append(_problem(f"{p.key}.pattern", p.pattern, f"the same pattern as {taken[shape]}"))
        taken.setdefault(shape, p.key)
    return tuple(out)


# --------------------------------------------------------------------------- applying it


def raw_names(mapped: dict[str, str] | None) -> dict[str, str]:
    """The file's header (trimmed, lower-case) -> our column, of one table's ``[columns.<table>]``."""
    return {_normal(header): ours for ours, header in (mapped or {}).items()}


def _text_column(s: pl.Series) -> pl.Series:
    """A column as the text of its cells, trimmed: typed cells as the loader reads them as text
    (``cartkit.study.coerce.cast_column``: a whole float 2.0 is "2")."""
    if s.dtype == pl.String:
        return s.str.strip_chars()
    return cast_column(s, "str")[0].alias(s.name)


@dataclass
class _Wide:
    """The long rows made from the wide cells, and where each cell is."""

    frame: pl.DataFrame  # patient_id, episode, day, analyte, value, unit (text), one row per cell
    file: str  # the wide file (or sheet) as shown to the user
    rows: pl.Series  # the cell's row in that file, by i
    columns: pl.Series  # the cell's header index, by i
    headers: list[str]  # header of each index, as written
    id_headers: dict[str, str]  # patient_id / episode -> their header as written
    start: int = 0  # the first cell's row in the measurements table is WIDE_ROW_BASE + start


class MappedStudy:
    """Reads the tables of one study folder through its ``ColumnMapping`` and puts every problem
    back where the user sees it. Used by ``cartkit.study.validate`` once per study."""

    def __init__(self, mapping: ColumnMapping, folder: Path, sources: dict[str, Any]):
        self.mapping = mapping
        self.folder = folder
        self.sources = sources
        self.headers: dict[tuple[str, str], str] = {}  # (file, our column) -> header as written
        self.missing: set[tuple[str, str]] = set()  # (file, our column) mapped to a header it lacks
        self.wides: list[_Wide] = []
        self.wide_file: str | None = None  # the measurements file the wide rows were added to
        self._cells: tuple[list[int], list[int], list[int]] | None = None  # (wide, row, header) per cell
        self.paths: list[Path] = []  # files read for the wide rule alone (for provenance)
        self.ignored_notes: set[str] = set()
        self.wide_notes: list[str] = []  # notes of a wide file or sheet of its own
        self.placed: set[int] = set()  # ids of problems that name a header as written (not relocated)

    def supplies(self, table: str) -> bool:
        """Whether a wide rule may give ``table`` rows with no file of its own: from a wide file or
        sheet, or from extra columns of patients or infusions."""
        return table == "measurements" and any(w.host != "measurements" for w in self.mapping.wide)

    def read(self, table: str, source: Any) -> tuple[RawTable | None, list[Problem]]:
        """``table`` read from ``source`` (None: only the wide rule gives it), mapped."""
        problems: list[Problem] = []
        raw = None
        labelled = source is not None and source.sheet is None and source.refused is None and (
            source.path.suffix.lower() in LABELLED_READERS and raw_names(self.mapping.columns.get(table)))
        if labelled:  # value labels are applied as the file is read: by our names, which the mapping gives
            reader = LABELLED_READERS[source.path.suffix.lower()]
            raw, problems = reader(source.path, table, source.file, raw_names(self.mapping.columns[table]))
        elif source is not None:
            raw, problems = source.read()
        if not self.mapping:
            return raw, problems
        if raw is not None:
            raw = self._rename(raw, problems)
            raw = self._recode(raw)
            for wide in self.mapping.wide:
                if wide.host == table:
                    raw = self._take_wide(raw, wide, problems)
        if table == "measurements":
            for wide in self.mapping.wide:
                if wide.host is None:
                    self._read_wide_source(wide, problems)
            if self.wides:
                raw = self._add_wide(raw)
        return raw, problems

    # ----------------------------------------------------------------- headers and codes

    def _rename(self, raw: RawTable, problems: list[Problem]) -> RawTable:
        mapped = self.mapping.columns.get(raw.table)
        if not mapped:
            return raw
        present = set(raw.frame.columns)
        renames: dict[str, str] = {}
        for ours, header in mapped.items():
            name = _normal(header)
            if name not in present:
                self.missing.add((raw.file, ours))
                problems.append(Problem(raw.file, None, header, None,
                                        f"no column for '{ours}': [columns.{raw.table}] maps it to '{header}', "
                                        f"which is not in {raw.file}"))
                continue
            renames[name] = ours
            self.headers[(raw.file, ours)] = raw.headers.get(name, header)
        for ours in renames.values():
            if ours in present and ours not in renames:
                twice = Problem(raw.file, None, raw.headers.get(ours, ours), None,
                                f"column given twice: [columns.{raw.table}] reads "
                                f"'{self.headers[(raw.file, ours)]}' as {ours}; this one is not read")
                self.placed.add(id(twice))  # names the file's own header already
                problems.append(twice)
        drop = [ours for ours in renames.values() if ours in present and ours not in renames]
        frame = raw.frame.drop(drop).rename(renames)
        headers = {renames.get(k, k): v for k, v in raw.headers.items() if k not in drop}
        return replace(raw, frame=frame, headers=headers)

    def _recode(self, raw: RawTable) -> RawTable:
        codes = self.mapping.values.get(raw.table)
        if not codes:
            return raw
        frame = raw.frame
        changed = []
        for column, mapping in codes.items():
            if column not in frame.columns:
                continue
            text = _text_column(frame[column])
            distinct = text.drop_nulls().unique()
            ours = distinct.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.String)
            if ours.is_null().all():
                continue
            out = text.replace_strict(distinct, ours.fill_null(distinct), default=None, return_dtype=pl.String)
            changed.append(out.alias(column))
        return replace(raw, frame=frame.with_columns(changed)) if changed else raw

    # ----------------------------------------------------------------- wide columns

    def _read_wide_source(self, wide: WideRule, problems: list[Problem]) -> None:
        from cartkit.study.sources import Source

        source = None
        where = f"{wide.key}.file" if wide.file is not None else f"{wide.key}.sheet"
        if wide.file is not None:
            path = next((p for p in self.folder.iterdir() if p.name.lower() == wide.file.lower()), None)
            if path is None:
                problems.append(_problem(where, wide.file, "file not found in the study folder"))
                return
            shown = path.name if wide.sheet is None else f"{path.name}[{wide.sheet}]"
            if path.suffix.lower() not in READERS or (wide.sheet is not None and path.suffix.lower() != ".xlsx"):
                return  # the study.toml problem says why
            if wide.sheet is None and path.suffix.lower() == ".xlsx":
                source = Source("measurements", path, path.name)
            else:
                source = Source("measurements", path, shown, sheet=wide.sheet)
            self.ignored_notes.add(f"{path.name}: not a table of the study; ignored")
        else:
            book = next((s for s in self.sources.values() if s.sheet is not None), None)
            if book is None:
                problems.append(_problem(where, wide.sheet, "no study workbook ([files] workbook) to hold the sheet"))
                return
            sheet = next((n for n in book.workbook.sheetnames if n.strip().lower() == wide.sheet.lower()), None)
            if sheet is None:
                problems.append(_problem(where, wide.sheet, f"no sheet named '{wide.sheet}' in {book.path.name}"))
                return
            source = Source("measurements", book.path, f"{book.path.name}[{sheet}]", sheet=sheet,
                            workbook=book.workbook)
            self.ignored_notes.add(f"{book.path.name}: sheet '{sheet}' is not a table of the study; ignored")
        table = next((t for t, s in self.sources.items()
                      if s.path == source.path and (s.sheet or "").lower() == (source.sheet or "").lower()), None)
        if table is not None:
            problems.append(_problem(where, wide.file or wide.sheet, f"{source.file} is read as the {table} "
                                     f"table: for wide columns among its own, write table = \"{table}\""))
            return
        from cartkit.study.links import refused_link

        refused = refused_link(source.path, self.folder)
        if refused is not None:
            problems.append(Problem(source.file, None, None, None, refused))
            return
        raw, read_problems = source.read()
        problems += read_problems
        if source.path not in self.paths:
            self.paths.append(source.path)
        if raw is not None:
            self._take_wide(raw, wide, problems, own_file=True)
            self.wide_notes += raw.notes

    def _take_wide(self, raw: RawTable, wide: WideRule, problems: list[Problem], own_file: bool = False
                   ) -> RawTable:
        """The wide columns of ``raw`` as long rows (kept in ``self.wides``); ``raw`` without them."""
        frame = raw.frame
        matched: list[tuple[str, WidePattern, int]] = []
        for name in frame.columns:
            if name == ROW:
                continue
            hits = [(p, m) for p in wide.patterns if (m := p.regex.match(name)) is not None]
            if len(hits) > 1:
                problems.append(Problem(raw.file, None, raw.headers.get(name, name), None,
                                        f"matches more than one wide pattern ({', '.join(p.pattern for p, _ in hits)})"))
            if hits:
                matched.append((name, hits[0][0], int(hits[0][1].group(1))))
        for p in wide.patterns:
            if not any(m[1] is p for m in matched):
                problems.append(Problem(raw.file, None, None, p.pattern,
                                        f"no column matches the pattern of {p.key} ('{p.pattern}')"))
        ids: dict[str, str] = {}
        id_problem = False
        for ours, header in (("patient_id", wide.patient_id), ("episode", wide.episode)):
            if not isinstance(header, str):
                continue
            name = _normal(header) if own_file else ours
            if name not in frame.columns:
                id_problem = True
                how = f"name it in {wide.key}: {ours} = \"its header\"" if own_file else (
                    f"map it with [columns.{raw.table}]")
                problems.append(Problem(raw.file, None, header, None,
                                        f"no column for '{ours}' of the wide measurements: {how}"))
            else:
                ids[ours] = name
        if not matched:
            return raw
        kept = raw.frame.drop([m[0] for m in matched])
        if own_file:
            others = [raw.headers.get(c, c) for c in kept.columns if c != ROW and c not in ids.values()]
            if others:
                raw.notes.append(f"{raw.file}: column(s) that match no wide pattern, ignored: {', '.join(others)}")
        if id_problem:
            return replace(raw, frame=kept)
        headers = [raw.headers.get(m[0], m[0]) for m in matched]
        # as text, the way a typed (Parquet, SPSS) cell is read as text: patient 7.0 is patient "7"
        frame = frame.with_columns(_text_column(frame[c]) for c in [*ids.values(), *(m[0] for m in matched)])
        episode = pl.col(ids["episode"]) if "episode" in ids else pl.lit(str(wide.episode))
        parts = [
            frame.select(
                pl.col(ROW).alias("__cell_row"),
                pl.lit(j, dtype=pl.Int32).alias("__cell_column"),
                pl.col(ids["patient_id"]).alias("patient_id"),
                episode.alias("episode"),
                pl.lit(str(day)).alias("day"),
                pl.lit(p.analyte).alias("analyte"),
                pl.col(name).alias("value"),
                pl.lit(p.unit).alias("unit"),
            )
            for j, (name, p, day) in enumerate(matched)
        ]
        long = pl.concat(parts)
        value = long["value"].str.strip_chars()
        long = long.filter(value.is_not_null() & ~value.str.to_lowercase().is_in(list(MISSING_TOKENS)))
        if raw.decimal_comma:
            long = long.with_columns(pl.col("value").str.replace(",", ".", literal=True))
        self.wides.append(_Wide(
            frame=long.drop("__cell_row", "__cell_column"),
            file=raw.file, rows=long["__cell_row"], columns=long["__cell_column"], headers=headers,
            id_headers={ours: raw.headers.get(name, name) for ours, name in ids.items()},
        ))
        if not own_file:
            # a row of a long table that gives only wide values is not also a long row
            rest = [c for c in kept.columns if c != ROW and c not in ids.values()]
            if raw.table == "measurements" and rest:
                given = pl.any_horizontal(pl.col(c).is_not_null() & (pl.col(c).cast(pl.String).str.strip_chars()
                                                                     != "") for c in rest)
                kept = kept.filter(given)
        return replace(raw, frame=kept)

    def _add_wide(self, raw: RawTable | None) -> RawTable:
        """The measurements with the long rows of every wide table after the file's own rows."""
        start = 0
        for wide in self.wides:
            wide.start = start
            start += wide.frame.height
        cells = pl.concat([w.frame for w in self.wides]).with_columns(
            pl.int_range(WIDE_ROW_BASE, WIDE_ROW_BASE + start, dtype=pl.Int64).alias(ROW))
        if raw is None:
            self.wide_file = self.wides[0].file
            frame = cells.select(ROW, *[c for c in cells.columns if c != ROW])
            return RawTable("measurements", self.wide_file, frame)
        self.wide_file = raw.file
        # the wide values have a decimal point (made so above), which a decimal-comma table also reads
        return replace(raw, frame=pl.concat([raw.frame, cells], how="diagonal_relaxed", rechunk=True))

    # ----------------------------------------------------------------- problems

    def _cell(self, row: int) -> tuple[_Wide, int, int] | None:
        """(wide table, its row, its header index) of a measurements row made from a wide cell."""
        if self._cells is None:
            owner = [k for k, w in enumerate(self.wides) for _ in range(w.frame.height)]
            rows = [r for w in self.wides for r in w.rows.to_list()]
            columns = [c for w in self.wides for c in w.columns.to_list()]
            self._cells = (owner, rows, columns)
        owner, rows, columns = self._cells
        i = row - WIDE_ROW_BASE
        if not 0 <= i < len(rows):
            return None
        return self.wides[owner[i]], rows[i], columns[i]

    def relocate(self, problems: list[Problem]) -> list[Problem]:
        """Each problem at the column, row and file the user sees (see the module docs)."""
        if not self.mapping:
            return problems
        seen: set[tuple] = set()
        out = []
        for p in problems:
            if p.row is None and (p.file, p.column) in self.missing and p.rule.startswith("missing"):
                continue  # said better by the mapping's own "no column for ..." problem
            cell = (self._cell(p.row) if self.wides and p.file == self.wide_file and p.row is not None
                    and p.row >= WIDE_ROW_BASE else None)
            if cell is not None:
                wide, row, header = cell
                column = wide.id_headers.get(p.column, wide.headers[header]) if p.column else None
                p = replace(p, file=wide.file, row=row, column=column)
                if p.column in wide.id_headers.values():  # one row's patient, once for all its cells
                    key = (p.file, p.row, p.column, p.rule, p.severity)
                    if key in seen:
                        continue
                    seen.add(key)
            elif p.column is not None and (p.file, p.column) in self.headers and id(p) not in self.placed:
                p = replace(p, column=self.headers[(p.file, p.column)])
            if self.wides and p.rule != (rule := self._rows_in_text(p.rule, p.file)):
                p = replace(p, rule=rule)
            out.append(p)
        return out

    def _rows_in_text(self, rule: str, file: str) -> str:
        """The rows a rule's text names, for a problem now at ``file``: a row made from a wide cell
        ("row 1000000000003") as the cell, its row and header; a row of the measurements file, in a
        problem moved to a wide file, with the measurements file's name."""
        if "row " not in rule:
            return rule

        def text(m: re.Match) -> str:
            number = int(m.group(1))
            if number < WIDE_ROW_BASE:
                return m.group(0) if file == self.wide_file else f"{m.group(0)} of {self.wide_file}"
            cell = self._cell(number)
            if cell is None:
                return m.group(0)
            wide, row, header = cell
            where = "" if file == wide.file else f" of {wide.file}"
            return f"row {row}{where} (column '{wide.headers[header]}')"
        return _ROW_TEXT.sub(text, rule)

    def notes(self, notes: list[str]) -> list[str]:
        """The notes of the load, without "ignored" for a file the wide rule read, with its own notes."""
        return [n for n in notes if n not in self.ignored_notes] + self.wide_notes

