"""REDCap: the data dictionary, the export of a study, the import of a REDCap export (issue 11)."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cartkit.cli import app
from cartkit.interop.redcap_dictionary import (
    DICTIONARY_COLUMNS,
    FIELD_COLUMNS,
    REPEATING_FORMS,
    dictionary_csv,
    dictionary_rows,
    parse_choices,
    read_dictionary,
)
from cartkit.interop.redcap_export import export_frame, export_study, write_dictionary
from cartkit.interop.redcap_import import IMPORT_PROBLEMS_CSV, RedcapImportError, import_records
from cartkit.study.load import load_study
from cartkit.study.schema import TABLES
from cartkit.study.vocabulary import ANALYTES

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"
EXAMPLE = ROOT / "examples" / "redcap-study"


@pytest.fixture(scope="module")
def seed():
    return load_study(SEED)


@pytest.fixture(scope="module")
def seed_export(seed, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redcap")
    write_dictionary(tmp / "dictionary.csv")
    export_study(seed, tmp / "records.csv")
    return tmp


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _same_tables(a, b) -> None:
    for name in TABLES:
        x, y = a.tables[name], b.tables[name]
        assert x.columns == y.columns, name
        assert x.height == y.height, name
        assert_frame_equal(x.sort(x.columns, nulls_last=True), y.sort(x.columns, nulls_last=True),
                           check_exact=True), name


# --------------------------------------------------------------------------- the dictionary


def test_dictionary_has_redcaps_18_columns_and_the_record_id_first():
    text = dictionary_csv()
    header = next(csv.reader(io.StringIO(text)))
    assert header == list(DICTIONARY_COLUMNS)
    assert len(header) == 18
    rows = _rows(text)
    assert rows[0]["Variable / Field Name"] == "patient_id" and rows[0]["Form Name"] == "patients"
    assert [r["Form Name"] for r in rows] == sorted((r["Form Name"] for r in rows), key=list(TABLES).index)
    assert {r["Form Name"] for r in rows} == set(TABLES)  # one instrument per table
    assert set(REPEATING_FORMS) == set(TABLES) - {"patients"}


def test_dictionary_field_names_follow_redcaps_rules():
    names = [r["Variable / Field Name"] for r in dictionary_rows()]
    assert len(names) == len(set(names))
    for n in names:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", n), n
        assert len(n) <= 26 and "___" not in n, n
    # every schema column has a field (the record id stands for every patient_id)
    expected = sum(len(t.columns) for t in TABLES.values()) - (len(TABLES) - 1)
    assert len(names) == expected == len(FIELD_COLUMNS) + 1


def test_dictionary_choices_validation_and_bounds():
    rows = {r["Variable / Field Name"]: r for r in dictionary_rows()}
    assert rows["sex"]["Field Type"] == "dropdown"
    assert rows["sex"]["Choices, Calculations, OR Slider Labels"] == "1, male | 2, female"
    analytes = parse_choices(rows["lab_analyte"]["Choices, Calculations, OR Slider Labels"])
    # 29 analytes, then the 4 of multiple myeloma (IMWG 2016) appended, so earlier codes keep their numbers
    assert list(analytes.values()) == list(ANALYTES) and list(analytes) == [str(i) for i in range(1, len(ANALYTES) + 1)]
    assert analytes["30"] == "serum_m_protein" and analytes["1"] == "car_t_pct_cd3"
    assert rows["asm_response"]["Choices, Calculations, OR Slider Labels"].startswith("1, CR | 2, CRi | 3, PR")
    assert rows["lab_day"]["Text Validation Type OR Show Slider Number"] == "integer"
    assert (rows["lab_day"]["Text Validation Min"], rows["lab_day"]["Text Validation Max"]) == ("-60", "3650")
    assert rows["lab_value"]["Text Validation Type OR Show Slider Number"] == "number"
    assert (rows["age"]["Text Validation Min"], rows["age"]["Text Validation Max"]) == ("0", "120")
    assert rows["sup_fio2_pct"]["Text Validation Min"] == "21"
    assert rows["weight_kg"]["Text Validation Min"] == "0.5"
    assert rows["inf_infusion_date"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert rows["inf_infusion_date"]["Identifier?"] == "y" and rows["inf_infusion_date"]["Required Field?"] == "y"
    assert rows["lab_time"]["Text Validation Type OR Show Slider Number"] == "time"
    assert rows["asm_new_lesions"]["Field Type"] == "yesno"
    assert rows["inf_product"]["Field Type"] == "text" and rows["inf_product"]["Required Field?"] == "y"
    assert rows["ae_grade"]["Text Validation Max"] == "5"


def test_dictionary_reads_back_and_from_the_api_metadata_header(tmp_path):
    path = write_dictionary(tmp_path / "d.csv")
    d, problems = read_dictionary(path)
    assert problems == [] and d.record_id == "patient_id"
    assert d.fields["sex"].choices == {"1": "male", "2": "female"}
    api = tmp_path / "api.csv"
    api.write_text("field_name,form_name,section_header,field_type,field_label,select_choices_or_calculations\n"
                   'record_id,demo,,text,ID,\nsex,demo,,radio,Sex,"1, Male | 2, Female, or other"\n')
    d, problems = read_dictionary(api)
    assert problems == [] and d.record_id == "record_id"
    assert d.fields["sex"].choices == {"1": "Male", "2": "Female, or other"}


# --------------------------------------------------------------------------- export and round trip


def test_export_has_one_patients_row_per_record_and_numbered_instances(seed, seed_export):
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False)
    assert flat.columns[:3] == ["patient_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    patients_rows = flat.filter(pl.col("redcap_repeat_instrument").is_null())
    assert patients_rows["patient_id"].to_list() == seed.patients["patient_id"].to_list()
    lab = flat.filter(pl.col("redcap_repeat_instrument") == "measurements")
    assert lab.height == seed.measurements.height
    p1 = lab.filter(pl.col("patient_id") == "P1")["redcap_repeat_instance"].cast(pl.Int64).to_list()
    assert p1 == list(range(1, len(p1) + 1))
    assert set(lab["lab_analyte"].unique()) <= {str(i) for i in range(1, 30)}  # raw codes
    assert set(flat["asm_new_lesions"].drop_nulls().unique()) <= {"0", "1"}


def test_round_trip_seed_redcap_export_import_gives_the_same_study(seed, seed_export, tmp_path):
    result = import_records(seed_export / "records.csv", seed_export / "dictionary.csv", tmp_path / "study",
                            study_toml=SEED / "study.toml")
    assert result.problems == [] and result.records == 13
    _same_tables(seed, load_study(tmp_path / "study"))


def _label_export(seed_export: Path) -> pl.DataFrame:
    d, _ = read_dictionary(seed_export / "dictionary.csv")
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False)
    for f in d.fields.values():
        if f.type == "dropdown":
            flat = flat.with_columns(pl.col(f.name).replace_strict(f.choices, default=None))
        elif f.type == "yesno":
            flat = flat.with_columns(pl.col(f.name).replace_strict({"1": "Yes", "0": "No"}, default=None))
    return flat


def test_label_value_export_maps_to_the_same_study(seed, seed_export, tmp_path):
    flat = _label_export(seed_export)
    assert flat.filter(pl.col("redcap_repeat_instrument").is_null())["sex"][0] == "male"
    flat = flat.with_columns(pl.col("sex").str.to_uppercase(),  # labels are matched case-insensitively
                             pl.col("redcap_repeat_instrument").str.replace_all("_", " ").str.to_titlecase())
    flat.write_csv(tmp_path / "labels.csv")
    import_records(tmp_path / "labels.csv", seed_export / "dictionary.csv", tmp_path / "study",
                   study_toml=SEED / "study.toml")
    _same_tables(seed, load_study(tmp_path / "study"))


def _checkbox_project(seed_export: Path, tmp_path: Path, ticks: str = "raw") -> tuple[Path, Path]:
    rows = dictionary_rows()
    for r in rows:
        if r["Variable / Field Name"] == "sup_kind":
            r["Field Type"] = "checkbox"
    buffer = io.StringIO()
    w = csv.DictWriter(buffer, fieldnames=DICTIONARY_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (tmp_path / "cb-dictionary.csv").write_text(buffer.getvalue())
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False)
    on, off = ("1", "0") if ticks == "raw" else ("Checked", "Unchecked")
    codes = [str(i) for i in range(1, 11)]
    support = pl.col("redcap_repeat_instrument") == "support"
    flat = flat.with_columns(
        pl.when(support).then(pl.when(pl.col("sup_kind") == c).then(pl.lit(on)).otherwise(pl.lit(off)))
        .alias(f"sup_kind___{c}") for c in codes).drop("sup_kind")
    flat.write_csv(tmp_path / "cb-records.csv")
    return tmp_path / "cb-records.csv", tmp_path / "cb-dictionary.csv"


@pytest.mark.parametrize("ticks", ["raw", "label"])
def test_checkbox_columns_map_to_the_one_ticked_choice(seed, seed_export, tmp_path, ticks):
    records, dictionary = _checkbox_project(seed_export, tmp_path, ticks)
    assert "sup_kind___6" in pl.read_csv(records, n_rows=1).columns
    import_records(records, dictionary, tmp_path / "study", study_toml=SEED / "study.toml")
    _same_tables(seed, load_study(tmp_path / "study"))


def test_checkbox_with_two_boxes_ticked_or_an_odd_tick_is_a_located_problem(seed_export, tmp_path):
    records, dictionary = _checkbox_project(seed_export, tmp_path)
    flat = pl.read_csv(records, infer_schema=False)
    first = (pl.col("redcap_repeat_instrument") == "support") & (pl.col("redcap_repeat_instance") == "1")
    flat = flat.with_columns(
        pl.when(first & (pl.col("patient_id") == "P1")).then(pl.lit("1")).otherwise(pl.col("sup_kind___1"))
        .alias("sup_kind___1"),
        pl.when(first & (pl.col("patient_id") == "P2")).then(pl.lit("x")).otherwise(pl.col("sup_kind___2"))
        .alias("sup_kind___2"))
    flat.write_csv(records)
    with pytest.raises(RedcapImportError) as info:
        import_records(records, dictionary, tmp_path / "study")
    found = {(p.record, p.instrument, p.instance, p.field, p.rule.split(" (")[0].split(":")[0])
             for p in info.value.record_problems if p.severity == "error"}
    assert ("P1", "support", "1", "sup_kind", "more than one box ticked") in found
    assert ("P2", "support", "1", "sup_kind", "not a checkbox value") in found
    assert not (tmp_path / "study").exists()


# --------------------------------------------------------------------------- the example project


def _example_script():
    spec = importlib.util.spec_from_file_location("make_redcap_example", ROOT / "scripts" / "make_redcap_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_files_are_what_the_script_writes():
    dictionary, records = _example_script().build()
    assert (EXAMPLE / "dictionary.csv").read_text(encoding="utf-8") == dictionary
    assert (EXAMPLE / "records.csv").read_text(encoding="utf-8") == records


def test_example_is_longitudinal_with_labels_a_checkbox_and_complete_columns():
    flat = pl.read_csv(EXAMPLE / "records.csv", infer_schema=False)
    assert {"baseline_arm_1", "car_t_1_arm_1", "car_t_2_arm_1", "follow_up_arm_1"} <= set(
        flat["redcap_event_name"].unique())
    assert {"Male", "Female"} >= set(flat["sex"].drop_nulls()) - {"Mle"}
    assert any(c.startswith("sup_kind___") for c in flat.columns) and "sup_kind" not in flat.columns
    assert "measurements_complete" in flat.columns


def test_every_broken_value_of_the_example_is_reported_at_once_and_nothing_written(tmp_path):
    broken = _example_script().BROKEN
    with pytest.raises(RedcapImportError) as info:
        import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "study")
    errors = [p for p in info.value.record_problems if p.severity == "error"]
    found = {(p.record, p.event, p.instrument or "", p.instance or "", p.field) for p in errors}
    expected = {b[:5] for b in broken}
    assert found == expected  # each one, and nothing else (no cascade of follow-on problems)
    assert all(p.line is not None for p in errors)
    values = {p.field: p.value for p in errors}
    assert values["sex"] == "Mle" and values["lab_value"] == "12,5" and values["neu_ice_score"] == "14"
    assert set(values["sup_kind"].split(", ")) == {"antipyretic", "steroid"}
    assert "record SIM-0003, event car_t_1_arm_1, instrument neuro, instance 2" in str(info.value)
    assert not (tmp_path / "study").exists() and list(tmp_path.iterdir()) == []
    # the README names every one of them
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    for record, event, _instrument, _instance, field, value, _ in broken:
        assert all(s in readme for s in (record, event, field, value)), field


def test_keep_going_writes_the_good_records_and_a_problems_csv(tmp_path):
    result = import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "study",
                            keep_going=True)
    assert result.left_out == ["SIM-0001", "SIM-0002", "SIM-0003"] and result.records == 1
    study = load_study(tmp_path / "study")
    assert study.patients["patient_id"].to_list() == ["SIM-0004"]
    assert study.measurements.height > 0 and study.support.height > 0
    listed = pl.read_csv(tmp_path / "study" / IMPORT_PROBLEMS_CSV, infer_schema=False)
    assert listed.filter(pl.col("severity") == "error").height == len(_example_script().BROKEN)
    assert listed.columns[:8] == ["severity", "file", "line", "record_id", "redcap_event_name",
                                  "redcap_repeat_instrument", "redcap_repeat_instance", "field"]
    # a second import replaces the folder cartkit wrote
    import_records(EXAMPLE / "records.csv", EXAMPLE / "dictionary.csv", tmp_path / "study", keep_going=True)


def test_complete_columns_are_ignored_and_other_filled_columns_are_warned(seed_export, tmp_path):
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False).with_columns(
        pl.lit("2").alias("patients_complete"), pl.lit(None, dtype=pl.String).alias("empty_extra"),
        pl.when(pl.col("redcap_repeat_instrument").is_null()).then(pl.lit("note")).alias("centre_comment"))
    flat.write_csv(tmp_path / "r.csv")
    result = import_records(tmp_path / "r.csv", seed_export / "dictionary.csv", tmp_path / "study")
    assert [(p.field, p.severity) for p in result.problems] == [("centre_comment", "warning")]
    assert "13 value(s) are not imported" in result.problems[0].rule


def test_import_never_writes_into_a_folder_cartkit_did_not_write(seed_export, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        import_records(seed_export / "records.csv", seed_export / "dictionary.csv", out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary folder left behind


def test_records_without_the_record_id_column_is_one_clear_problem(seed_export, tmp_path):
    (tmp_path / "r.csv").write_text("Record ID,Sex\nP1,Male\n")
    with pytest.raises(RedcapImportError) as info:
        import_records(tmp_path / "r.csv", seed_export / "dictionary.csv", tmp_path / "study")
    assert "no column 'patient_id'" in str(info.value) and "raw headers" in str(info.value)


def test_export_frame_writes_raw_choice_codes(seed):
    flat = export_frame(seed)
    sex = flat.filter(pl.col("redcap_repeat_instrument").is_null())["sex"].to_list()
    assert sex == ["1" if s == "male" else "2" for s in seed.patients["sex"].to_list()]


# --------------------------------------------------------------------------- command line


def test_cli_dictionary_export_import(tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["redcap", "dictionary", str(tmp_path / "d.csv")])
    assert r.exit_code == 0, r.output
    assert "measurements" in r.output  # names the instruments to make repeating
    again = runner.invoke(app, ["redcap", "dictionary", str(tmp_path / "d.csv")])
    assert again.exit_code == 1 and "exists" in again.output
    r = runner.invoke(app, ["redcap", "export", str(SEED), str(tmp_path / "r.csv")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["redcap", "import", str(tmp_path / "r.csv"), "--dictionary", str(tmp_path / "d.csv"),
                            str(tmp_path / "study"), "--study-toml", str(SEED / "study.toml")])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["validate", str(tmp_path / "study")]).exit_code == 0
    bad = runner.invoke(app, ["redcap", "import", str(EXAMPLE / "records.csv"), "-d",
                              str(EXAMPLE / "dictionary.csv"), str(tmp_path / "bad")])
    assert bad.exit_code == 1 and "nothing written" in bad.output and not (tmp_path / "bad").exists()
    assert "Traceback" not in bad.output


def test_longitudinal_non_repeating_instrument_gives_one_row_per_event(seed, seed_export, tmp_path):
    """A project where each infusion is its own event (infusions not repeating) imports the same."""
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False)
    infusion = pl.col("redcap_repeat_instrument") == "infusions"
    flat = flat.with_columns(
        pl.when(infusion).then(pl.concat_str(pl.lit("infusion_"), pl.col("inf_episode"), pl.lit("_arm_1")))
        .when(pl.col("redcap_repeat_instrument").is_null()).then(pl.lit("baseline_arm_1"))
        .otherwise(pl.lit("follow_up_arm_1")).alias("redcap_event_name"),
        pl.when(infusion).then(None).otherwise(pl.col("redcap_repeat_instrument")).alias("redcap_repeat_instrument"),
        pl.when(infusion).then(None).otherwise(pl.col("redcap_repeat_instance")).alias("redcap_repeat_instance"))
    flat.write_csv(tmp_path / "r.csv")
    import_records(tmp_path / "r.csv", seed_export / "dictionary.csv", tmp_path / "study",
                   study_toml=SEED / "study.toml")
    _same_tables(seed, load_study(tmp_path / "study"))


def _centre_project(seed_export: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The seed in a centre's own project: its own field names and diagnosis labels, label values."""
    renamed = {"sex": "gender", "lab_value": "lab_result", "diagnosis": "dx", "sup_kind": "supportive_care"}
    labels = {"DLBCL": "Diffuse large B-cell lymphoma", "B-ALL": "B-cell acute lymphoblastic leukaemia"}
    rows = dictionary_rows()
    for r in rows:
        name = r["Variable / Field Name"]
        if name == "diagnosis":
            choices = parse_choices(r["Choices, Calculations, OR Slider Labels"])
            r["Choices, Calculations, OR Slider Labels"] = " | ".join(
                f"{c}, {labels.get(v, v)}" for c, v in choices.items())
        if name == "sup_kind":
            r["Field Type"] = "radio"
        r["Variable / Field Name"] = renamed.get(name, name)
    buffer = io.StringIO()
    w = csv.DictWriter(buffer, fieldnames=DICTIONARY_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (tmp_path / "centre-dictionary.csv").write_text(buffer.getvalue())
    flat = _label_export(seed_export).with_columns(pl.col("diagnosis").replace(labels)).rename(renamed)
    flat.write_csv(tmp_path / "centre-records.csv")
    (tmp_path / "map.toml").write_text(
        '[fields]\nsex = "gender"\nlab_value = "lab_result"\ndiagnosis = "dx"\nsup_kind = "supportive_care"\n\n'
        '[values.diagnosis]\n"Diffuse large B-cell lymphoma" = "DLBCL"\n'
        '"B-cell acute lymphoblastic leukaemia" = "B-ALL"\n')
    return tmp_path / "centre-records.csv", tmp_path / "centre-dictionary.csv", tmp_path / "map.toml"


def test_mapping_file_imports_a_centres_own_project(seed, seed_export, tmp_path):
    records, dictionary, mapping = _centre_project(seed_export, tmp_path)
    with pytest.raises(RedcapImportError):  # without the mapping its fields are not cartkit's
        import_records(records, dictionary, tmp_path / "study", study_toml=SEED / "study.toml")
    import_records(records, dictionary, tmp_path / "study", study_toml=SEED / "study.toml", mapping=mapping)
    _same_tables(seed, load_study(tmp_path / "study"))


def test_mapping_problems_name_the_projects_own_fields(seed_export, tmp_path):
    records, dictionary, mapping = _centre_project(seed_export, tmp_path)
    flat = pl.read_csv(records, infer_schema=False)
    first = pl.col("redcap_repeat_instrument").is_null() & (pl.col("patient_id") == "P3")
    flat.with_columns(pl.when(first).then(pl.lit("unknown")).otherwise(pl.col("gender")).alias("gender"),
                      pl.when(first).then(pl.lit("lymphoma?")).otherwise(pl.col("dx")).alias("dx")
                      ).write_csv(records)
    with pytest.raises(RedcapImportError) as info:
        import_records(records, dictionary, tmp_path / "study", mapping=mapping)
    found = {(p.record, p.field, p.value) for p in info.value.record_problems if p.severity == "error"}
    assert found == {("P3", "gender", "unknown"), ("P3", "dx", "lymphoma?")}
    (tmp_path / "bad.toml").write_text('[fields]\nsex = "no_such_field"\nnot_ours = "dx"\n')
    with pytest.raises(RedcapImportError) as info:
        import_records(records, dictionary, tmp_path / "study", mapping=tmp_path / "bad.toml")
    text = str(info.value)
    assert "fields.sex" in text and "not a field of the project's dictionary" in text
    assert "fields.not_ours" in text and "not a field of cartkit's dictionary" in text


def test_semicolon_export_with_decimal_commas_from_a_european_excel(seed, seed_export, tmp_path):
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False)
    flat = flat.with_columns(pl.col("lab_value").str.replace(".", ",", literal=True))
    flat.write_csv(tmp_path / "r.csv", separator=";")
    import_records(tmp_path / "r.csv", seed_export / "dictionary.csv", tmp_path / "study",
                   study_toml=SEED / "study.toml")
    _same_tables(seed, load_study(tmp_path / "study"))


def test_import_problems_csv_neutralises_formulas_and_the_export_keeps_values(seed_export, tmp_path):
    flat = pl.read_csv(seed_export / "records.csv", infer_schema=False)
    first = pl.col("redcap_repeat_instrument").is_null() & (pl.col("patient_id") == "P2")
    flat.with_columns(pl.when(first).then(pl.lit("=1+1")).otherwise(pl.col("age")).alias("age")
                      ).write_csv(tmp_path / "r.csv")
    result = import_records(tmp_path / "r.csv", seed_export / "dictionary.csv", tmp_path / "study",
                            keep_going=True)
    assert result.left_out == ["P2"]
    text = (tmp_path / "study" / IMPORT_PROBLEMS_CSV).read_text()
    assert "'=1+1" in text and ",=1+1" not in text
    # a subtype is free text: kept as given, in the study and in a later export (data, not a spreadsheet)
    flat = flat.with_columns(pl.when(first).then(pl.lit("=HYPERLINK(1)")).otherwise(pl.col("subtype"))
                             .alias("subtype"))
    flat.write_csv(tmp_path / "r2.csv")
    import_records(tmp_path / "r2.csv", seed_export / "dictionary.csv", tmp_path / "s2")
    study = load_study(tmp_path / "s2")
    assert study.patients.filter(pl.col("patient_id") == "P2")["subtype"][0] == "=HYPERLINK(1)"
    export_study(study, tmp_path / "again.csv")
    assert ",=HYPERLINK(1)," in (tmp_path / "again.csv").read_text()


def test_extra_ae_terms_need_the_studys_dictionary(tmp_path, copy_seed):

    study_dir = tmp_path / "seed"
    copy_seed(study_dir)
    toml = (study_dir / "study.toml").read_text().replace("[plan]\n", '[plan]\nextra_ae_terms = ["tumour flare"]\n', 1)
    (study_dir / "study.toml").write_text(toml)
    with (study_dir / "adverse_events.csv").open("a") as fh:
        fh.write("P1,1,tumour flare,2,ctcae4.03,3,9\n")
    study = load_study(study_dir)
    runner = CliRunner()
    r = runner.invoke(app, ["redcap", "dictionary", str(tmp_path / "plain.csv")])
    r = runner.invoke(app, ["redcap", "dictionary", str(tmp_path / "d.csv"), "--study", str(study_dir)])
    assert r.exit_code == 0, r.output
    d, _ = read_dictionary(tmp_path / "d.csv")
    assert list(d.fields["ae_term"].choices.values())[-1] == "tumour flare"
    r = runner.invoke(app, ["redcap", "export", str(study_dir), str(tmp_path / "r.csv")])
    assert r.exit_code == 0, r.output
    import_records(tmp_path / "r.csv", tmp_path / "d.csv", tmp_path / "study", study_toml=study_dir / "study.toml")
    _same_tables(study, load_study(tmp_path / "study"))
    # the plain dictionary has no choice for the term: the import says so, at its record and instance
    with pytest.raises(RedcapImportError) as info:
        import_records(tmp_path / "r.csv", tmp_path / "plain.csv", tmp_path / "s2")
    (p,) = [p for p in info.value.record_problems if p.severity == "error"]
    assert (p.record, p.instrument, p.field) == ("P1", "adverse_events", "ae_term")


def test_a_projects_own_field_shadowed_by_the_mapping_is_left_out(seed, seed_export, tmp_path):
    """The centre's project has its own 'age' (age at diagnosis, a year less) and keeps cartkit's age in
    'age_at_inf'; the mapping says age = "age_at_inf". The import failed with "column 'age' is duplicate"
    (review); now the project's own 'age' is left out with a warning and cartkit's age is the mapped field."""
    records, dictionary, mapping = _centre_project(seed_export, tmp_path)
    dict_rows = list(csv.DictReader(io.StringIO(dictionary.read_text())))
    at = next(i for i, r in enumerate(dict_rows) if r["Variable / Field Name"] == "age")
    dict_rows.insert(at + 1, {**dict_rows[at], "Variable / Field Name": "age_at_inf", "Field Label": "Age at infusion"})
    buffer = io.StringIO()
    w = csv.DictWriter(buffer, fieldnames=DICTIONARY_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(dict_rows)
    dictionary.write_text(buffer.getvalue())
    flat = pl.read_csv(records, infer_schema=False)
    flat.with_columns(age_at_inf=pl.col("age"),
                      age=(pl.col("age").cast(pl.Float64, strict=False) - 1).cast(pl.String)).write_csv(records)
    mapping.write_text(mapping.read_text().replace("[fields]\n", '[fields]\nage = "age_at_inf"\n', 1))
    result = import_records(records, dictionary, tmp_path / "study", study_toml=SEED / "study.toml", mapping=mapping)
    assert any(p.severity == "warning" and p.value == "age" and "'age_at_inf'" in p.rule for p in result.problems)
    _same_tables(seed, load_study(tmp_path / "study"))  # the ages are the seed's (age_at_inf), not a year less
