"""A REDCap data dictionary for cartkit's schema, and the reading of any REDCap data dictionary.

The dictionary has REDCap's 18 columns (``DICTIONARY_COLUMNS``, spelt as REDCap's
"Download the current Data Dictionary" writes them) and one instrument per table of
``cartkit.study.schema.TABLES``: ``patients`` (not repeating; its first field,
``patient_id``, is the record ID) and one repeating instrument per serial table.
Field names follow REDCap's rules (REDCap Data Dictionary help, Vanderbilt University
2015, "Column A - Variable/Field Name"; UCLA CTSI REDCap training, "Important project
development concepts": only lower-case letters, numbers and underscores, unique in the
project; the first field of the first instrument is the record ID). cartkit also keeps
every name starting with a letter, at most 26 characters (the length commonly recommended
for REDCap field names, so that exports to SAS/Stata/SPSS keep them whole; not verified
here against a primary REDCap source) and free of three underscores, which REDCap's
exports use for the ``field___code`` columns of checkbox fields. Each table's columns get
a short table prefix (``lab_value``, ``inf_infusion_date``), the patients columns none.

Values: a vocabulary column is a dropdown whose choices are the vocabulary's canonical
values, coded 1..n in vocabulary order (``1, male | 2, female``); a flag is a
``yesno`` field (1 = Yes, 0 = No); numbers are text fields validated as ``integer``
or ``number`` with the schema's bounds as Text Validation Min/Max; dates ``date_ymd``
(min 1990-01-01, cartkit's earliest plausible date); the clock time ``time`` (HH:MM).
Date fields are flagged as identifiers (dates are identifiers under the HIPAA Safe
Harbor rule, 45 CFR 164.514(b)(2)), so that REDCap's de-identified exports leave them out.

Repeating instruments are not part of a data dictionary: REDCap sets them in Project
Setup ("Repeating instruments and events"); ``REPEATING_FORMS`` lists them and
docs/redcap.md says how.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from cartkit.study.coerce import EARLIEST_PLAUSIBLE_DATE
from cartkit.study.problems import Problem
from cartkit.study.readers import decode_text
from cartkit.study.schema import BOOL, DATE, FLOAT, INT, TABLES, Column
from cartkit.study.vocabulary import AE_TERMS, VOCABULARIES

DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
# the same columns as REDCap's API "Export Metadata" names them (a dictionary may come from either)
API_COLUMNS = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)

RECORD_ID = "patient_id"
PREFIXES = {
    "patients": "",
    "infusions": "inf",
    "measurements": "lab",
    "support": "sup",
    "neuro": "neu",
    "assessments": "asm",
    "lesions": "les",
    "adverse_events": "ae",
    "infections": "ifx",
    "events": "ev",
}
REPEATING_FORMS = tuple(t for t in TABLES if t != "patients")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RECOMMENDED_LENGTH = 26  # see the module docstring


def field_name(table: str, column: str) -> str:
    """The REDCap field of ``table.column`` in cartkit's dictionary."""
    if column == "patient_id":
        return RECORD_ID
    prefix = PREFIXES[table]
    return f"{prefix}_{column}" if prefix else column


# field name -> (table, column), for every column of the schema but the record id
FIELD_COLUMNS: dict[str, tuple[str, str]] = {
    field_name(t, c.name): (t, c.name) for t, table in TABLES.items() for c in table.columns if c.name != "patient_id"
}


def choice_labels(column: Column, extra_ae_terms: tuple[str, ...] = ()) -> list[str]:
    """The canonical values of a vocabulary column, in vocabulary order (codes are 1..n in this order)."""
    if column.vocabulary == "ae_term":
        return list(dict.fromkeys([*AE_TERMS, *extra_ae_terms]))
    return list(dict.fromkeys(VOCABULARIES[column.vocabulary].values()))


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _label(column: Column) -> str:
    words = column.name.replace("_pct", " %").replace("_", " ")
    return words[:1].upper() + words[1:]


def dictionary_rows(extra_ae_terms: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """cartkit's data dictionary, one dict per field keyed by ``DICTIONARY_COLUMNS``."""
    rows: list[dict[str, str]] = []
    for t, table in TABLES.items():
        first = True
        for c in table.columns:
            if c.name == "patient_id" and t != "patients":
                continue  # the record id links every instrument to its patient
            row = dict.fromkeys(DICTIONARY_COLUMNS, "")
            row["Variable / Field Name"] = field_name(t, c.name)
            row["Form Name"] = t
            if first:
                row["Section Header"] = table.description
                first = False
            row["Field Label"] = "Patient ID" if c.name == "patient_id" else _label(c)
            row["Field Note"] = c.description
            row["Field Annotation"] = f"cartkit: {t}.{c.name}"
            if c.vocabulary is not None:
                row["Field Type"] = "dropdown"
                labels = choice_labels(c, extra_ae_terms)
                row["Choices, Calculations, OR Slider Labels"] = " | ".join(
                    f"{i}, {label}" for i, label in enumerate(labels, start=1))
            elif c.dtype == BOOL:
                row["Field Type"] = "yesno"
            else:
                row["Field Type"] = "text"
                validation = {INT: "integer", FLOAT: "number", DATE: "date_ymd"}.get(c.dtype)
                if c.name == "time":
                    validation = "time"
                if validation is not None:
                    row["Text Validation Type OR Show Slider Number"] = validation
                if c.min is not None:
                    row["Text Validation Min"] = _number(c.min)
                if c.max is not None:
                    row["Text Validation Max"] = _number(c.max)
                if c.dtype == DATE:
                    row["Text Validation Min"] = EARLIEST_PLAUSIBLE_DATE.isoformat()
                    row["Identifier?"] = "y"
            if c.required and c.name != "patient_id":
                row["Required Field?"] = "y"
            rows.append(row)
    return rows


def dictionary_csv(extra_ae_terms: tuple[str, ...] = ()) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DICTIONARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(dictionary_rows(extra_ae_terms))
    return buffer.getvalue()


def name_problems(names: list[str]) -> list[str]:
    """What is wrong with these field names by REDCap's rules (empty when nothing)."""
    out = []
    seen: set[str] = set()
    for n in names:
        if not FIELD_NAME.match(n):
            out.append(f"{n}: only lower-case letters, digits and _, starting with a letter")
        if "___" in n:
            out.append(f"{n}: three underscores are reserved for checkbox columns")
        if len(n) > RECOMMENDED_LENGTH:
            out.append(f"{n}: longer than {RECOMMENDED_LENGTH} characters")
        if n in seen:
            out.append(f"{n}: given twice")
        seen.add(n)
    return out


# --------------------------------------------------------------------------- reading a dictionary


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    type: str
    label: str
    choices: dict[str, str] = field(default_factory=dict)  # code -> label, in order
    validation: str = ""


@dataclass
class Dictionary:
    fields: dict[str, Field]  # in dictionary order
    record_id: str

    def form_of(self, table: str) -> str | None:
        """The instrument holding ``table``'s fields (the first one found), None when none is there."""
        for name, (t, _) in FIELD_COLUMNS.items():
            if t == table and name in self.fields:
                return self.fields[name].form
        return None


def parse_choices(text: str) -> dict[str, str]:
    """``"1, male | 2, female"`` -> {"1": "male", "2": "female"} (the label may hold commas)."""
    choices: dict[str, str] = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        code, _, label = part.partition(",")
        choices[code.strip()] = label.strip() if _ else code.strip()
    return choices


def read_dictionary(path: str | Path) -> tuple[Dictionary | None, list[Problem]]:
    """A REDCap data dictionary CSV (as downloaded, or from the API's metadata export)."""
    path = Path(path)
    file = path.name
    try:
        text, _ = decode_text(path.read_bytes())
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, None, None, None, f"cannot read the data dictionary: {exc}")]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return None, [Problem(file, None, None, None, "the data dictionary is empty")]
    header = [h.strip() for h in rows[0]]
    for names in (DICTIONARY_COLUMNS, API_COLUMNS):
        if names[0] in header and names[1] in header and names[3] in header:
            index = {n: header.index(n) for n in names if n in header}
            keys = names
            break
    else:
        return None, [Problem(file, 1, None, ", ".join(header[:4]), "not a REDCap data dictionary: expected the "
                              "columns 'Variable / Field Name', 'Form Name', 'Field Type', ...")]

    def get(row: list[str], i: int) -> str:
        j = index.get(keys[i])
        return row[j].strip() if j is not None and j < len(row) else ""

    fields: dict[str, Field] = {}
    problems: list[Problem] = []
    for line, row in enumerate(rows[1:], start=2):
        name = get(row, 0)
        if not name:
            continue
        if name in fields:
            problems.append(Problem(file, line, keys[0], name, "field given twice in the data dictionary"))
            continue
        ftype = get(row, 3).lower()
        choices = parse_choices(get(row, 5)) if ftype in ("dropdown", "radio", "checkbox") else {}
        fields[name] = Field(name, get(row, 1), ftype, get(row, 4), choices, get(row, 7).lower())
    if not fields:
        return None, problems + [Problem(file, None, None, None, "the data dictionary has no fields")]
    return Dictionary(fields, next(iter(fields))), problems
