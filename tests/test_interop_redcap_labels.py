"""A REDCap export with field labels as column headers ("CSV (labels)", label headers) imports as the same
export with field names; labels that several fields share are resolved by REDCap's column order, or are a
located problem."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from cartkit.interop.redcap_dictionary import read_dictionary
from cartkit.interop.redcap_import import IMPORT_PROBLEMS_CSV, RedcapImportError, import_records
from cartkit.study.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "redcap-study"
_SPECIAL = {"redcap_event_name": "Event Name", "redcap_repeat_instrument": "Repeat Instrument",
            "redcap_repeat_instance": "Repeat Instance"}


def _label_headers(records: Path, out: Path, drop: str | None = None, spaces: bool = False) -> Path:
    """``records`` with the headers REDCap writes in a label-header export (written here by hand from the
    dictionary, independently of cartkit's code), optionally without column ``drop``."""
    dictionary, problems = read_dictionary(EXAMPLE / "dictionary.csv")
    assert problems == []
    rows = list(csv.reader(io.StringIO(records.read_text(encoding="utf-8"))))
    keep = [i for i, name in enumerate(rows[0]) if name != drop]
    header = []
    for name in rows[0]:
        if name in _SPECIAL:
            header.append(_SPECIAL[name])
        elif name.endswith("_complete"):
            header.append("Complete?")
        elif "___" in name:
            field, code = name.split("___")
            f = dictionary.fields[field]
            header.append(f"{f.label} (choice={f.choices[code]})")
        else:
            label = dictionary.fields[name].label
            header.append(f"  {label.replace(' ', '   ')} " if spaces else label)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([[row[i] for i in keep] for row in [header, *rows[1:]]])
    out.write_text(buffer.getvalue(), encoding="utf-8")
    return out


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.name != ".cartkit-redcap-import"}


@pytest.mark.parametrize("spaces", [False, True])
def test_label_header_export_imports_as_the_field_name_export(tmp_path, spaces):
    labelled = _label_headers(EXAMPLE / "records.csv", tmp_path / "records.csv", spaces=spaces)
    assert labelled.read_text(encoding="utf-8").splitlines()[0].startswith(("Patient ID,", "  Patient   ID ,"))
    with pytest.raises(RedcapImportError) as by_labels:
        import_records(labelled, EXAMPLE / "dictionary.csv", tmp_path / "a")
    with pytest.raises(RedcapImportError) as by_names:
        import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "b")
    # every broken value located the same way (record, event, instance, field, line), nothing written
    assert by_labels.value.record_problems == by_names.value.record_problems
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.csv"]
    import_records(labelled, EXAMPLE / "dictionary.csv", tmp_path / "a", keep_going=True)
    (tmp_path / "names").mkdir()
    (tmp_path / "names" / "records.csv").write_bytes((EXAMPLE / "records.csv").read_bytes())
    import_records(tmp_path / "names" / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "b", keep_going=True)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert IMPORT_PROBLEMS_CSV in a and a == b


def test_a_shared_label_the_header_holds_fewer_times_than_the_fields_is_a_located_problem(tmp_path):
    # every serial instrument labels its day "Day"; without the events' one, which is which is unknown
    labelled = _label_headers(EXAMPLE / "records.csv", tmp_path / "records.csv", drop="ev_day")
    header = next(csv.reader(io.StringIO(labelled.read_text(encoding="utf-8"))))
    days = [i + 1 for i, h in enumerate(header) if h == "Day"]
    assert len(days) == sum("day" in t.column_names for t in TABLES.values()) - 1
    with pytest.raises(RedcapImportError) as info:
        import_records(labelled, EXAMPLE / "dictionary.csv", tmp_path / "study")
    located = [p for p in info.value.record_problems if p.field == "Day"]
    assert [p.rule.split(":")[0] for p in located] == [f"column {n}" for n in days]
    assert all(p.line == 1 and p.severity == "error" and "lab_day, sup_day, neu_day, asm_day, les_day, ifx_day, ev_day"
               in p.rule and f"found {len(days)} time(s)" in p.rule for p in located)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["records.csv"]


def test_field_name_headers_are_not_touched_and_a_header_of_neither_keeps_its_message(tmp_path):
    bad = tmp_path / "records.csv"
    bad.write_text("Record,Age\nP1,40\n", encoding="utf-8")  # no field name, and not the record ID's label
    with pytest.raises(RedcapImportError, match="no column 'patient_id'"):
        import_records(bad, EXAMPLE / "dictionary.csv", tmp_path / "study")
