"""A REDCap export of cartkit's data dictionary -> a cartkit study folder that validates.

Read: the flat CSV a REDCap project exports ("CSV / Microsoft Excel (raw data)" or the
API's ``format=csv``), with raw values (choice codes, 1/0) or labels ("male", "Yes",
"Checked"); classic or longitudinal (``redcap_event_name``); repeating instruments
(``redcap_repeat_instrument``, ``redcap_repeat_instance``); checkbox fields as one
``field___code`` column per choice (1/0 or Checked/Unchecked); ``<form>_complete``,
``<form>_timestamp`` and ``redcap_*`` columns are bookkeeping and not imported. The
header holds field names (REDCap's "raw" headers, the API default) or field labels
(``redcap_labels``: the header is renamed to field names through the dictionary first).

Each REDCap row becomes one row of the table of its instrument: a repeating instrument's
row (``redcap_repeat_instrument`` = the table's form) is one row of a serial table; a
non-repeating row gives the patients row (and, in a longitudinal project where a serial
form is not repeating, a row of each serial table whose fields it fills). Values go
through the data dictionary (code -> choice label; yes/no -> true/false; exactly one
ticked box of a checkbox -> its label), then through cartkit's own validation. Every
problem, of the mapping or of the validation, is located where the user sees it in
REDCap: record, event, instrument, instance, field and value (``RecordProblem``).

Nothing is written when there is an error, unless ``keep_going``: then the records
(patients) with errors are left out, the others written, and every problem listed in
``IMPORT_PROBLEMS_CSV`` in the study folder. The folder is written atomically (a sibling
temporary folder renamed into place) and never into a folder cartkit did not write: an existing one
is replaced only when it is empty or a study this import wrote, unchanged, by the rule of
``cartkit.report.output_folder`` with its own manifest (``REDCAP_STUDY``, ``.cartkit-redcap-import``:
every file with its size and SHA-256, and the records file it came from). A file the user put
there or changed since is kept and the import refused; the old files are deleted one by one from
the manifest's list, never recursively.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from cartkit.interop.redcap_dictionary import FIELD_COLUMNS, Dictionary, Field, field_name, read_dictionary
from cartkit.interop.redcap_export import EVENT_NAME, REPEAT_INSTANCE, REPEAT_INSTRUMENT
from cartkit.interop.redcap_labels import relabel_file
from cartkit.interop.redcap_mapping import (
    Mapping,
    apply_to_columns,
    apply_to_dictionary,
    read_mapping,
    shadowed_fields,
    value_expr,
)
from cartkit.report.output_folder import (
    FolderKind,
    OutputFolderError,
    check_output_folder,
    install,
    manifest_text,
)
from cartkit.study.atomic_file import default_mode
from cartkit.study.problems import ERROR, WARNING, Problem, StudyError
from cartkit.study.readers import ROW, read_csv
from cartkit.study.schema import FLOAT, TABLES
from cartkit.study.spreadsheet_safety import neutralise_formulas
from cartkit.study.validate import check_study

MARKER = ".cartkit-redcap-import"  # the manifest of the study folder an import wrote
IMPORT_PROBLEMS_CSV = "redcap-import-problems.csv"
REDCAP_STUDY = FolderKind(MARKER, "cartkit_redcap_import", "a study imported from REDCap by cartkit", "", {},
                          None)
_CHECKED = {"1": True, "checked": True, "0": False, "unchecked": False, "": False}
_YES_NO = {"1": "true", "0": "false", "yes": "true", "no": "false", "true": "true", "false": "false"}
_REDCAP_COLUMN = re.compile(r"^redcap_")  # event, repeat, data access group, survey identifier ...


@dataclass(frozen=True)
class RecordProblem:
    """One problem, located as the user sees it in REDCap. ``line`` is the line of the records file."""

    line: int | None
    record: str | None
    event: str | None
    instrument: str | None
    instance: str | None
    field: str | None
    value: object
    rule: str
    severity: str = ERROR

    def location(self) -> str:
        parts = []
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.event:
            parts.append(f"event {self.event}")
        if self.instrument:
            parts.append(f"instrument {self.instrument}")
        if self.instance:
            parts.append(f"instance {self.instance}")
        return ", ".join(parts)

    def problem(self, file: str) -> Problem:
        where = self.location()
        return Problem(file, self.line, self.field, self.value, f"{where}: {self.rule}" if where else self.rule,
                       self.severity, kind=self.rule)


class RedcapImportError(StudyError):
    """The import found errors and wrote nothing; ``.record_problems`` locates each in REDCap terms."""

    def __init__(self, record_problems: list[RecordProblem], file: str):
        self.record_problems = list(record_problems)
        super().__init__([p.problem(file) for p in self.record_problems])


@dataclass
class ImportResult:
    path: Path
    problems: list[RecordProblem]
    records: int  # records written
    left_out: list[str] = field(default_factory=list)  # records with errors (keep_going)


# --------------------------------------------------------------------------- decoding the values


def _norm(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase()


def _form_key(expr: pl.Expr) -> pl.Expr:
    """An instrument as exported (unique name "adverse_events", or its label "Adverse Events")."""
    return _norm(expr).str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")


def _choice_rule(f: Field) -> str:
    shown = ", ".join(f"{c} = {label}" for c, label in list(f.choices.items())[:12])
    more = ", ..." if len(f.choices) > 12 else ""
    return f"not a choice of this {f.type} field ({shown}{more})"


def _decode(frame: pl.DataFrame, f: Field) -> tuple[pl.Expr | None, list[tuple[pl.Expr, pl.Expr, str]]]:
    """The field's values as cartkit text, and its checks as (failed mask, shown value, rule)."""
    if f.type == "checkbox":
        boxes = [(code, f"{f.name}___{code.lower()}") for code in f.choices]
        boxes = [(code, col) for code, col in boxes if col in frame.columns]
        if not boxes:
            return None, []
        checks = []
        ticked = []
        for code, col in boxes:
            label = f.choices[code].lower()
            value = _norm(pl.col(col)).fill_null("")
            tick = value.replace_strict({**_CHECKED, label: True}, default=None, return_dtype=pl.Boolean)
            checks.append((tick.is_null(), pl.col(col), f"not a checkbox value (expected 1/0 or Checked/Unchecked) "
                                                       f"in column {col}"))
            ticked.append(tick.fill_null(False))
        n = pl.sum_horizontal(ticked)
        names = pl.concat_str([pl.when(t).then(pl.lit(f.choices[c])) for (c, _), t in zip(boxes, ticked, strict=True)],
                              separator=", ", ignore_nulls=True)
        checks.append((n > 1, names, "more than one box ticked: the cartkit column holds one value"))
        value = pl.coalesce([pl.when(t).then(pl.lit(f.choices[c])) for (c, _), t in zip(boxes, ticked, strict=True)])
        return pl.when(n == 1).then(value), checks
    if f.name not in frame.columns:
        return None, []
    col = pl.col(f.name).str.strip_chars()
    given = col.is_not_null() & (col != "")
    if f.type in ("dropdown", "radio"):
        lookup = {code.lower(): label for code, label in f.choices.items()}
        lookup.update({label.lower(): label for label in f.choices.values()})
        value = _norm(col).replace_strict(lookup, default=None, return_dtype=pl.String)
        return pl.when(given).then(value), [(given & value.is_null(), col, _choice_rule(f))]
    if f.type in ("yesno", "truefalse"):
        value = _norm(col).replace_strict(_YES_NO, default=None, return_dtype=pl.String)
        rule = f"not a {f.type} value (expected 1/0 or {'Yes/No' if f.type == 'yesno' else 'True/False'})"
        return pl.when(given).then(value), [(given & value.is_null(), col, rule)]
    return pl.when(given).then(col), []


# --------------------------------------------------------------------------- the import


def _target_ok(out: Path) -> None:
    """``out`` is new, empty or a study this import wrote, unchanged (module docs); else ``FileExistsError``."""
    try:
        check_output_folder(out, kind=REDCAP_STUDY)
    except OutputFolderError as exc:
        raise FileExistsError(str(exc)) from exc


def _manifest(folder: Path, source: str) -> str:
    import json

    import cartkit

    doc = json.loads(manifest_text(folder, cartkit.__version__, REDCAP_STUDY))
    return json.dumps({**doc, "source": source}, indent=1)


def _minimal_toml(study_id: str) -> str:
    return f'# Written by cartkit redcap import; add the analysis plan ([plan], docs/plan.md).\n[study]\nid = "{study_id}"\n'


class _Rows:
    """The records file's rows with their REDCap location, decoded field values and the problems found."""

    def __init__(self, raw: pl.DataFrame, dictionary: Dictionary, file: str, mapping: Mapping | None = None,
                 decimal_comma: bool = False):
        self.file = file
        self.problems: list[RecordProblem] = []
        rid = dictionary.record_id
        meta = [pl.col(ROW).alias("__line__"), pl.col(rid).str.strip_chars().alias("__record__")]
        for name, alias in ((EVENT_NAME, "__event__"), (REPEAT_INSTRUMENT, "__instrument__"),
                            (REPEAT_INSTANCE, "__instance__")):
            expr = pl.col(name).str.strip_chars() if name in raw.columns else pl.lit(None, dtype=pl.String)
            meta.append(pl.when(expr != "").then(expr).alias(alias))
        located = raw.with_columns(meta)
        located = located.with_columns(_form_key(pl.col("__instrument__")).alias("__form__"))
        no_id = located.filter(pl.col("__record__").is_null() | (pl.col("__record__") == ""))
        for line in no_id["__line__"].to_list():
            self.problems.append(RecordProblem(line, None, None, None, None, rid, None, "no record ID"))
        located = located.filter(pl.col("__record__").is_not_null() & (pl.col("__record__") != ""))

        values, fields_used = [], set()
        self.columns: dict[str, tuple[str, str]] = {}  # decoded column -> (table, column)
        for name, (table, column) in FIELD_COLUMNS.items():
            f = dictionary.fields.get(name)
            if f is None:
                continue
            expr, checks = _decode(located, f)
            if expr is None:
                continue
            fields_used.add(name)
            self.columns[name] = (table, column)
            if decimal_comma and TABLES[table].column(column).dtype == FLOAT:
                expr = expr.str.replace(",", ".", literal=True)  # ';' CSV of a European Excel: 1,5 is 1.5
            values.append(value_expr(expr, name, mapping).alias(name))
            for failed, shown, rule in checks:
                bad = located.filter(failed).select("__line__", "__record__", "__event__", "__instrument__",
                                                    "__instance__", shown.cast(pl.String).alias("v"))
                self.problems += [RecordProblem(*row[:5], name, row[5], rule) for row in bad.iter_rows()]
        self.located = located
        self.values = located.select("__line__", "__record__", "__event__", "__instrument__", "__instance__",
                                     "__form__", *values)
        self._unused(raw, dictionary, fields_used)

    def _unused(self, raw: pl.DataFrame, dictionary: Dictionary, used: set[str]) -> None:
        """A warning for each column holding values that nothing imports (nothing is dropped silently)."""
        checkbox_of = {f"{f.name}___{c.lower()}": f.name for f in dictionary.fields.values()
                       if f.type == "checkbox" for c in f.choices}
        forms = {f.form for f in dictionary.fields.values()}
        bookkeeping = {f"{form}_{what}" for form in forms for what in ("complete", "timestamp")}
        for col in raw.columns:
            if col in (ROW, dictionary.record_id) or col in bookkeeping or _REDCAP_COLUMN.match(col) \
                    or checkbox_of.get(col) in used \
                    or col in used:
                continue
            filled = raw.filter(pl.col(col).str.strip_chars().fill_null("") != "")
            filled = filled.filter(~_norm(pl.col(col)).is_in(["0", "unchecked"])) if col in checkbox_of else filled
            if filled.height:
                known = col in dictionary.fields or col in checkbox_of
                why = ("a field of the data dictionary that is not a column of cartkit's schema" if known
                       else "not a field of the data dictionary")
                self.problems.append(RecordProblem(None, None, None, None, None, col, None,
                                                   f"{why}: its {filled.height:,} value(s) are not imported",
                                                   WARNING))

    def table(self, table: str, form: str | None) -> pl.DataFrame:
        """The rows of ``table``: its columns named as in the schema, with their locations."""
        cols = [(name, column) for name, (t, column) in self.columns.items() if t == table]
        frame = self.values
        repeating = pl.col("__form__") == (form or "")
        filled = pl.any_horizontal([pl.col(n).is_not_null() for n, _ in cols]) if cols else pl.lit(False)
        mask = (pl.col("__form__").is_null() & filled) if table == "patients" else \
            (repeating | (pl.col("__form__").is_null() & filled))
        return frame.filter(mask).select(
            "__line__", "__record__", "__event__", "__instrument__", "__instance__",
            pl.col("__record__").alias("patient_id"), *(pl.col(n).alias(c) for n, c in cols))


def _write_stage(stage: Path, tables: dict[str, pl.DataFrame], toml: str) -> None:
    for name, frame in tables.items():
        if frame.height == 0 and not TABLES[name].required:
            continue
        frame.drop(c for c in frame.columns if c.startswith("__")).write_csv(stage / f"{name}.csv")
    (stage / "study.toml").write_text(toml, encoding="utf-8")


def _relocate(problems: list[Problem], tables: dict[str, pl.DataFrame], forms: dict[str, str | None],
              rid: str) -> list[RecordProblem]:
    """cartkit's validation problems of the staged folder, located in the records file."""
    out = []
    for p in problems:
        table = p.file[:-4] if p.file.endswith(".csv") and p.file[:-4] in TABLES else None
        if table is None:
            out.append(RecordProblem(None, None, None, None, None, p.column and f"{p.file}: {p.column}",
                                     p.value, p.rule, p.severity))
            continue
        column = None if p.column is None else (rid if p.column == "patient_id" else
                                                 field_name(table, p.column) if p.column in
                                                 TABLES[table].column_names else p.column)
        frame = tables[table]
        if p.row is None or not 2 <= p.row < frame.height + 2:
            out.append(RecordProblem(None, None, None, forms.get(table) or table, None, column, p.value,
                                     p.rule, p.severity))
            continue
        line, record, event, instrument, instance = frame.row(p.row - 2)[:5]
        out.append(RecordProblem(line, record, event, instrument, instance, column, p.value, p.rule, p.severity))
    return out


IMPORT_PROBLEMS_HEADER = ("severity", "file", "line", "record_id", "redcap_event_name", "redcap_repeat_instrument",
                          "redcap_repeat_instance", "field", "value", "rule")


def write_import_problems(problems: list[RecordProblem], file: str, path: Path) -> None:
    """Every problem, one a line, located in REDCap terms; text a spreadsheet would run as a formula
    is neutralised (people open this list in Excel)."""
    columns = [[p.severity for p in problems], [file] * len(problems), [p.line for p in problems],
               [p.record for p in problems], [p.event for p in problems], [p.instrument for p in problems],
               [p.instance for p in problems], [p.field for p in problems],
               [None if p.value is None else str(p.value) for p in problems], [p.rule for p in problems]]
    schema = {name: (pl.Int64 if name == "line" else pl.String) for name in IMPORT_PROBLEMS_HEADER}
    frame = pl.DataFrame(dict(zip(IMPORT_PROBLEMS_HEADER, columns, strict=True)), schema=schema)
    neutralise_formulas(frame).write_csv(path, line_terminator="\n")


def import_records(records: str | Path, dictionary: str | Path, out_dir: str | Path, *, keep_going: bool = False,
                   study_toml: str | Path | None = None, study_id: str | None = None,
                   mapping: str | Path | None = None) -> ImportResult:
    """Import the REDCap export ``records`` (CSV) of the project of data dictionary ``dictionary`` as a
    cartkit study folder ``out_dir``; returns where it went and every problem (warnings, and with
    ``keep_going`` the errors of the records left out). Raises ``RedcapImportError`` (a ``StudyError``)
    listing every problem when there is an error and ``keep_going`` is False, or when an error
    concerns no single record; ``FileExistsError`` when ``out_dir`` holds files cartkit did not write.

    ``study_toml`` is copied as the study's study.toml (its plan); without it a minimal one is written
    with ``study_id`` (default: the records file's name). ``mapping`` is a mapping file for a project
    not built from cartkit's dictionary (``cartkit.interop.redcap_mapping``); problems then name the
    project's own fields."""
    names: dict[str, str] = {}  # cartkit field -> the project's field, for the problems
    try:
        result = _import(Path(records), dictionary, Path(out_dir), keep_going, study_toml, study_id, mapping, names)
    except RedcapImportError as exc:
        raise RedcapImportError(_project_names(exc.record_problems, names), Path(records).name) from None
    result.problems = _project_names(result.problems, names)
    return result


def _project_names(problems: list[RecordProblem], names: dict[str, str]) -> list[RecordProblem]:
    return [replace(p, field=names.get(p.field, p.field)) for p in problems] if names else problems


def _import(records: Path, dictionary: str | Path, out: Path, keep_going: bool, study_toml: str | Path | None,
            study_id: str | None, mapping: str | Path | None, names: dict[str, str]) -> ImportResult:
    file = records.name
    _target_ok(out)
    toml = Path(study_toml).read_text(encoding="utf-8") if study_toml is not None else \
        _minimal_toml(study_id or re.sub(r"[^A-Za-z0-9_.-]+", "-", records.stem))
    dictionary_obj, dict_problems = read_dictionary(dictionary)
    problems = [RecordProblem(p.row, None, None, None, None, p.column, p.value, f"{p.file}: {p.rule}")
                for p in dict_problems]
    if dictionary_obj is None:
        raise RedcapImportError(problems, file)
    project_dictionary = dictionary_obj  # the project's own field names: a label header names them
    mapping_obj = None
    if mapping is not None:
        mapping_obj, map_problems = read_mapping(mapping, dictionary_obj)
        problems += [RecordProblem(None, None, None, None, None, p.column, p.value, f"{p.file}: {p.rule}")
                     for p in map_problems]
        if mapping_obj is None:
            raise RedcapImportError(problems, file)
        shadowed = shadowed_fields(dictionary_obj, mapping_obj)
        problems += [RecordProblem(None, None, None, None, None, None, ours,
                                   f"the project's own field '{ours}' is not imported: the mapping file's fields "
                                   f"table takes cartkit's {ours} from '{theirs}'", WARNING)
                     for ours, theirs in shadowed.items()]
        dictionary_obj = apply_to_dictionary(dictionary_obj, mapping_obj)
        names.update(mapping_obj.fields)
    with tempfile.TemporaryDirectory(prefix="cartkit-redcap-") as tmp:  # private: patient data
        relabelled = Path(tmp) / file
        rewritten, label_problems = relabel_file(records, project_dictionary, relabelled)
        if label_problems:
            problems += [RecordProblem(1, None, None, None, None, header, None, f"column {n}: {rule}")
                         for n, header, rule in label_problems]
            raise RedcapImportError(problems, file)
        raw, read_problems = read_csv(relabelled if rewritten else records, "redcap", file)
    problems += [RecordProblem(p.row, None, None, None, None, p.column, p.value, p.rule, p.severity)
                 for p in read_problems]
    if raw is None:
        raise RedcapImportError(problems, file)
    if mapping_obj is not None:
        raw.frame = apply_to_columns(raw.frame, mapping_obj, shadowed)
    rid = dictionary_obj.record_id
    if rid not in raw.frame.columns:
        problems.append(RecordProblem(1, None, None, None, None, rid, None,
                                      f"no column '{rid}' (the record ID, first field of the data dictionary): "
                                      "export with field names as column headers (raw headers)"))
        raise RedcapImportError(problems, file)
    rows = _Rows(raw.frame, dictionary_obj, file, mapping_obj, raw.decimal_comma)
    problems += rows.problems
    forms = {t: dictionary_obj.form_of(t) for t in TABLES}
    known_forms = {f for f in forms.values() if f}
    for form, n in rows.values.filter(pl.col("__form__").is_not_null() & ~pl.col("__form__").is_in(
            list(known_forms)))["__form__"].value_counts().iter_rows():
        problems.append(RecordProblem(None, None, None, form, None, REPEAT_INSTRUMENT, form,
                                      f"a repeating instrument with no cartkit table: its {n:,} row(s) "
                                      "are not imported", WARNING))
    tables = {t: rows.table(t, forms[t]) for t in TABLES}

    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    os.chmod(stage, default_mode(folder=True))
    left_out: set[str] = set()
    seen = {(p.line, p.field) for p in problems if p.line is not None}
    try:
        while True:
            for p in stage.iterdir():
                p.unlink()
            _write_stage(stage, tables, toml)
            _, found = check_study(stage)
            # a cell the mapping already reported (a choice that is not one) is not reported again
            validated = [p for p in _relocate(found, tables, forms, rid)
                         if p not in problems and (p.line is None or (p.line, p.field) not in seen)]
            problems += validated
            pending = [p for p in errors_of(problems) if p.record not in left_out]
            if not pending:
                break
            if not keep_going or any(p.record is None for p in pending):
                raise RedcapImportError(problems, file)
            left_out |= {p.record for p in pending}
            tables = {t: f.filter(~pl.col("__record__").is_in(sorted(left_out))) for t, f in tables.items()}
        if problems:
            write_import_problems(problems, file, stage / IMPORT_PROBLEMS_CSV)
        (stage / MARKER).write_text(_manifest(stage, file), encoding="utf-8")
        _move_into_place(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage)
    written = tables["patients"].height
    return ImportResult(out, problems, written, sorted(left_out))


def errors_of(problems: list[RecordProblem]) -> list[RecordProblem]:
    return [p for p in problems if p.severity != WARNING]


def _move_into_place(stage: Path, out: Path) -> None:
    """The finished study in ``stage`` into ``out``, checked again just before the move (a file added while
    the import ran is kept): whole by one rename; an earlier import's files deleted from its manifest."""
    try:
        install(stage, out, kind=REDCAP_STUDY)
    except OutputFolderError as exc:
        raise FileExistsError(str(exc)) from exc
