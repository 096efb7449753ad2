"""A REDCap export with field *labels* as column headers ("CSV (labels)" with label headers) -> the
same file with field names as headers, which the import then reads as any other.

REDCap writes a label-header export's columns in the data dictionary's order, each field's header
being its Field Label; a checkbox's columns are ``Label (choice=Choice label)``; REDCap's own columns
are ``Event Name``, ``Repeat Instrument``, ``Repeat Instance``, ``Data Access Group``, ``Survey
Identifier``, ``Survey Timestamp`` and ``Complete?`` (one per instrument). A header names a field when
it equals the field's label after white space is collapsed (case and punctuation count). A label that
several fields share ("Day" of each serial instrument) is resolved by that order: when the header holds
it as many times as the dictionary has fields with it, its k-th column is the k-th such field; otherwise
which column is which field cannot be told, and each such column is a located problem. A header that
is no label stays as written (the import then warns that nothing reads it).

Only the header line is rewritten (in a private temporary file); the values are read by the
import's own reader, with the same line numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

from cartkit.interop.redcap_dictionary import Dictionary
from cartkit.study.readers import decode_text, sniff_delimiter

_SPECIAL = {"event name": "redcap_event_name", "repeat instrument": "redcap_repeat_instrument",
            "repeat instance": "redcap_repeat_instance", "data access group": "redcap_data_access_group",
            "survey identifier": "redcap_survey_identifier"}
_NUMBERED = {"complete?": "redcap_complete", "survey timestamp": "redcap_survey_timestamp"}  # one per form
_CHOICE = re.compile(r"^(.*) \(choice=(.*)\)$", re.S)


def _norm(text: str) -> str:
    return " ".join(text.split())


def label_header(header: list[str], dictionary: Dictionary) -> tuple[list[str], list[tuple[int, str, str]]] | None:
    """The field names for a label header, and its problems as (column number, header, rule); None when
    ``header`` is not a label header (it holds the record ID's field name, or not its label)."""
    names = [_norm(h) for h in header]
    rid = dictionary.fields[dictionary.record_id]
    if dictionary.record_id in (n.lower() for n in names) or _norm(rid.label) not in names:
        return None
    by_label: dict[str, list[str]] = defaultdict(list)
    by_choice: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in dictionary.fields.values():
        if f.type == "checkbox":
            for code, choice in f.choices.items():
                by_choice[(_norm(f.label), _norm(choice))].append(f"{f.name}___{code.lower()}")
        elif f.type != "descriptive":
            by_label[_norm(f.label)].append(f.name)
    keys: list[tuple[str, str] | str | None] = []
    out = list(names)
    counters: dict[str, int] = defaultdict(int)
    for i, name in enumerate(names):
        special = name.lower()
        if special in _SPECIAL:
            out[i], key = _SPECIAL[special], None
        elif special in _NUMBERED:
            counters[special] += 1
            out[i], key = f"{_NUMBERED[special]}_{counters[special]}", None
        elif name in by_label:
            key = name
        else:
            m = _CHOICE.match(name)
            key = (_norm(m.group(1)), _norm(m.group(2))) if m and (_norm(m.group(1)), _norm(m.group(2))) in \
                by_choice else None
        keys.append(key)
    problems = []
    positions: dict[tuple[str, str] | str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        if key is not None:
            positions[key].append(i)
    for key, where in positions.items():
        fields = by_label[key] if isinstance(key, str) else by_choice[key]
        if len(fields) == 1 or len(where) == len(fields):
            for k, i in enumerate(where):
                out[i] = fields[min(k, len(fields) - 1)]
            continue
        shown = ", ".join(fields)
        for i in where:
            problems.append((i + 1, header[i], f"the label of {len(fields)} fields ({shown}), found {len(where)} "
                            "time(s) in the header: which column is which field cannot be told; export with "
                            "field names as column headers (raw headers)"))
    return out, problems


def relabel_file(path: Path, dictionary: Dictionary, out: Path) -> tuple[bool, list[tuple[int, str, str]]]:
    """Write ``path`` to ``out`` with field names for its label header; returns (rewritten, problems).
    Not rewritten (False, []) when the header is not a label header or the file cannot be decoded (the
    import's reader then reports the file as it is)."""
    try:
        text, _ = decode_text(path.read_bytes())
    except (OSError, UnicodeDecodeError):
        return False, []
    body = text.lstrip("\r\n")
    leading = text[: len(text) - len(body)]
    end = body.find("\n")
    line = body if end < 0 else body[:end]
    sep = sniff_delimiter(line)
    try:
        header = next(csv.reader([line.rstrip("\r")], delimiter=sep))
    except (csv.Error, StopIteration):
        return False, []
    found = label_header(header, dictionary)
    if found is None:
        return False, []
    names, problems = found
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="").writerow(names)
    out.write_text(leading + buffer.getvalue() + ("" if end < 0 else body[end:]), encoding="utf-8", newline="")
    return True, problems
