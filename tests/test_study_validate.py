"""Each validation rule: the problem names the file, the row as the user sees it, the column,
the value and the rule. Rows of ``base_tables()`` lists sit on CSV line index + 2."""

from __future__ import annotations

import pytest
from test_study_builders import STUDY_TOML, base_tables, write_study

from cartkit.study.problems import Problem
from cartkit.study.validate import validate_study


def check(tmp_path, mutate=None, fmt="csv", toml=STUDY_TOML):
    tables = base_tables()
    if mutate is not None:
        mutate(tables)
    return validate_study(write_study(tmp_path, tables, fmt=fmt, toml=toml))


def one(problems, start):
    """The single problem whose rule starts with ``start``."""
    found = [p for p in problems if p.rule.startswith(start)]
    assert len(found) == 1, (start, problems)
    return found[0]


def test_clean_study_has_no_problems(tmp_path):
    assert check(tmp_path) == []


# --------------------------------------------------------------------------- files and columns


def test_missing_required_table(tmp_path):
    problems = check(tmp_path, lambda t: t.pop("adverse_events"))
    p = one(problems, "missing required table 'adverse_events'")
    assert (p.file, p.row, p.column, p.value) == ("adverse_events", None, None, None)


def test_two_files_for_one_table(tmp_path):
    folder = write_study(tmp_path)
    (folder / "patients.parquet").write_bytes(b"not really parquet")
    p = one(validate_study(folder), "two files for table 'patients'")
    assert (p.file, p.row, p.column) == ("patients.parquet", None, None)
    assert "patients.csv, patients.parquet" in p.rule


def test_workbook_sheet_and_separate_file_for_one_table(tmp_path):
    folder = write_study(tmp_path, fmt="workbook")
    (folder / "events.csv").write_text("patient_id\n")
    p = one(validate_study(folder), "two files for table 'events'")
    assert "study.xlsx[events], events.csv" in p.rule


def test_files_mapping_to_a_missing_file(tmp_path):
    toml = STUDY_TOML.replace("[plan]\n", '[files]\npatients = "baseline.csv"\nlabs = "x.csv"\n\n[plan]\n', 1)
    problems = check(tmp_path, toml=toml)
    assert Problem("study.toml", None, "files.patients", "baseline.csv", "file not found in the study folder") in problems
    p = one(problems, "unknown key 'files.labs'")
    assert (p.file, p.column, p.value) == ("study.toml", "files.labs", "x.csv")


def test_missing_required_column(tmp_path):
    def drop_sex(t):
        for row in t["patients"]:
            del row["sex"]

    problems = check(tmp_path, drop_sex)
    assert Problem("patients.csv", None, "sex", None, "missing required column") in problems


def test_no_day_and_no_date_column(tmp_path):
    def drop(t):
        for row in t["assessments"]:
            row.pop("day", None)
            row.pop("date", None)

    p = one(check(tmp_path, drop), "missing column: give a 'day' or a 'date' column")
    assert (p.file, p.row, p.column) == ("assessments.csv", None, "day")


def test_column_given_twice(tmp_path):
    folder = write_study(tmp_path)
    path = folder / "adverse_events.csv"
    lines = path.read_text().splitlines()
    lines[0] = lines[0] + ",Grade"
    lines[1:] = [line + ",9" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    p = one(validate_study(folder), "column given twice")
    assert (p.file, p.row, p.column, p.value) == ("adverse_events.csv", 1, "grade", "Grade")


def test_ragged_csv_row_is_named_by_its_line(tmp_path):
    folder = write_study(tmp_path)
    with open(folder / "events.csv", "a") as fh:
        fh.write("P1,death,,,2020-01-01,x,y,z,extra\n")
    problems = validate_study(folder)
    p = one(problems, "line 5 has 9 fields, header has 6")
    assert (p.file, p.row, p.severity) == ("events.csv", 5, "error")
    assert not [q for q in problems if "Schema" in q.rule or q.rule.startswith("cannot read")]
    # the rest of the file is still read and checked: the death on the ragged line is seen
    assert any(q.rule == "dated after the patient's death on 2020-01-01" for q in problems)


def test_empty_file(tmp_path):
    folder = write_study(tmp_path)
    (folder / "events.csv").write_bytes(b"")
    p = one(validate_study(folder), "the file is empty")
    assert p.file == "events.csv"


# --------------------------------------------------------------------------- cells


def test_required_value_empty(tmp_path):
    problems = check(tmp_path, lambda t: t["patients"][1].update(sex=None))
    assert problems == [Problem("patients.csv", 3, "sex", None, "required value is empty")]


@pytest.mark.parametrize(
    ("table", "index", "column", "value", "rule"),
    [
        ("infusions", 0, "episode", "one", "not a whole number"),
        ("patients", 0, "ipi", "2.5", "not a whole number"),
        ("patients", 1, "age", "old", "not a number"),
        ("patients", 1, "age", "inf", "not a number"),
        ("measurements", 6, "blq", "maybe", "not a yes/no value: expected true/false, yes/no, 1/0 or y/n"),
        ("infusions", 2, "infusion_date", "31/08/2019", "unparseable date, expected YYYY-MM-DD"),
        ("infusions", 2, "infusion_date", "2019-02-30", "unparseable date, expected YYYY-MM-DD"),
        ("events", 0, "date", "Aug 1 2020", "unparseable date, expected YYYY-MM-DD"),
    ],
)
def test_wrong_types(tmp_path, table, index, column, value, rule):
    problems = check(tmp_path, lambda t: t[table][index].update({column: value}))
    assert Problem(f"{table}.csv", index + 2, column, value, rule) in problems
    assert len([p for p in problems if (p.file, p.row, p.column) == (f"{table}.csv", index + 2, column)]) == 1


def test_unknown_vocabulary(tmp_path):
    problems = check(tmp_path, lambda t: t["patients"][0].update(sex="unknown"))
    assert problems == [Problem("patients.csv", 2, "sex", "unknown", "unknown sex value; allowed: female, male")]


def test_unknown_analyte_and_ae_term(tmp_path):
    def mutate(t):
        t["measurements"][2]["analyte"] = "IL-99"
        t["adverse_events"][0]["term"] = "hiccups"

    problems = check(tmp_path, mutate)
    p = one(problems, "unknown analyte value; allowed:")
    assert (p.file, p.row, p.column, p.value) == ("measurements.csv", 4, "analyte", "IL-99")
    p = one(problems, "unknown ae_term value; allowed:")
    assert (p.file, p.row, p.column, p.value) == ("adverse_events.csv", 2, "term", "hiccups")


def test_extra_ae_terms_come_from_the_plan(tmp_path):
    toml = STUDY_TOML.replace('extra_ae_terms = ["hypogammaglobulinemia"]', "extra_ae_terms = []")
    p = one(check(tmp_path, toml=toml), "unknown ae_term value")
    assert (p.row, p.value) == (3, "Hypogammaglobulinemia")


def test_unknown_unit(tmp_path):
    problems = check(tmp_path, lambda t: t["measurements"][2].update(unit="furlongs"))
    assert problems == [
        Problem("measurements.csv", 4, "unit", "furlongs", "unknown unit 'furlongs' for analyte il6 (accepted: pg/mL, ng/L)")
    ]


def test_unit_not_valid_for_analyte(tmp_path):
    problems = check(tmp_path, lambda t: t["measurements"][2].update(unit="g/dL"))
    assert problems == [
        Problem("measurements.csv", 4, "unit", "g/dL", "unit 'g/dL' is not valid for analyte il6 (accepted: pg/mL, ng/L)")
    ]


def test_schema_ranges(tmp_path):
    def mutate(t):
        t["adverse_events"][0]["grade"] = 7
        t["patients"][0]["age"] = -3
        t["infusions"][1]["transduction_pct"] = 140

    problems = check(tmp_path, mutate)
    assert Problem("adverse_events.csv", 2, "grade", "7", "impossible value: must be between 0 and 5") in problems
    assert Problem("patients.csv", 2, "age", "-3", "impossible value: must be between 0 and 120") in problems
    assert Problem("infusions.csv", 3, "transduction_pct", "140", "impossible value: must be between 0 and 100") in problems
    assert len(problems) == 3


def test_analyte_ranges_after_conversion(tmp_path):
    def mutate(t):
        t["measurements"][1]["value"] = 150  # CAR-T 150 % of CD3+
        t["measurements"][4]["value"] = -20  # negative neutrophils, in cells/uL
        t["measurements"][5]["value"] = 212  # 212 F = 100 C

    problems = check(tmp_path, mutate)
    assert problems == [
        Problem("measurements.csv", 3, "value", 150.0,
                "impossible value for car_t_pct_cd3: must be between 0 and 100 % (value in %: 150.0)"),
        Problem("measurements.csv", 6, "value", -20.0,
                "impossible value for anc: must be between 0 and 1000 10^9/L (value in 10^9/L: -0.02)"),
        Problem("measurements.csv", 7, "value", 212.0,
                "impossible value for temperature: must be between 25 and 45 C (value in C: 100.0)"),
    ]


def test_empty_value_without_blq_is_a_warning(tmp_path):
    def mutate(t):
        t["measurements"][0]["value"] = None
        t["measurements"][6]["blq"] = "n"

    problems = check(tmp_path, mutate)
    rule = "value is empty and blq is not true: read as not measured, the row is left out"
    assert problems == [
        Problem("measurements.csv", 2, "value", None, rule, "warning"),
        Problem("measurements.csv", 8, "value", None, rule, "warning"),
    ]


# --------------------------------------------------------------------------- days and dates


def test_row_needs_day_or_date(tmp_path):
    problems = check(tmp_path, lambda t: t["measurements"][1].update(day=None))
    assert problems == [Problem("measurements.csv", 3, "day", None, "needs a day or a date")]


def test_day_and_date_disagree(tmp_path):
    problems = check(tmp_path, lambda t: t["measurements"][4].update(date="2019-02-06"))
    assert problems == [
        Problem("measurements.csv", 6, "date", "2019-02-06",
                "day and date disagree: the date is day 5 of episode 1 (infused 2019-02-01) but day is 4")
    ]


def test_date_far_from_infusion(tmp_path):
    problems = check(tmp_path, lambda t: t["measurements"][2].update(date="2018-01-01"))
    assert problems == [
        Problem("measurements.csv", 4, "date", "2018-01-01",
                "day out of range: must be between -60 and 3650; the date is day -374 of episode 1 "
                "(infused 2019-01-10)")
    ]


def test_event_needs_date_or_episode_and_day(tmp_path):
    problems = check(tmp_path, lambda t: t["events"][1].update(episode=None))
    assert problems == [Problem("events.csv", 3, "date", None, "needs a date, or an episode and a day")]


# --------------------------------------------------------------------------- keys and references


def test_duplicate_keys_name_the_first_row(tmp_path):
    def mutate(t):
        t["measurements"].append(dict(t["measurements"][1]))  # line 9 repeats line 3
        t["measurements"].append({**t["measurements"][0], "day": None, "date": "2019-01-10"})  # line 10 = line 2

    problems = check(tmp_path, mutate)
    key = "patient_id, episode, analyte, day, time"
    assert problems == [
        Problem("measurements.csv", 9, key, "P1, 1, car_t_pct_cd3, 7, (empty)", f"duplicate key ({key}): same as row 3"),
        Problem("measurements.csv", 10, key, "P1, 1, car_t_pct_cd3, 0, (empty)", f"duplicate key ({key}): same as row 2"),
    ]


def test_duplicate_patient(tmp_path):
    problems = check(tmp_path, lambda t: t["patients"].append(dict(t["patients"][0])))
    assert problems == [Problem("patients.csv", 4, "patient_id", "P1", "duplicate key (patient_id): same as row 2")]


def test_empty_optional_key_is_a_value(tmp_path):
    def mutate(t):
        t["support"].append({**t["support"][1], "o2_flow_l_min": 3})

    problems = check(tmp_path, mutate)
    key = "patient_id, episode, day, kind, agent"
    assert problems == [
        Problem("support.csv", 4, key, "P1, 1, 3, oxygen, (empty)", f"duplicate key ({key}): same as row 3")
    ]


def test_orphan_patient_and_episode(tmp_path):
    def mutate(t):
        t["measurements"][0]["patient_id"] = "P9"
        t["measurements"][1]["episode"] = 3
        t["adverse_events"][1]["episode"] = 4

    problems = check(tmp_path, mutate)
    assert Problem("measurements.csv", 2, "patient_id", "P9", "unknown patient: not in patients") in problems
    assert Problem("measurements.csv", 3, "episode", 3,
                   "unknown episode: no infusion of patient P1 episode 3 in infusions") in problems
    assert Problem("adverse_events.csv", 3, "episode", 4,
                   "unknown episode: no infusion of patient P2 episode 4 in infusions") in problems
    assert len(problems) == 3


def test_plan_products_and_diseases_must_occur_in_the_data(tmp_path):
    toml = STUDY_TOML.replace('products = ["CD19 CAR-T", "CD22 CAR-T"]', 'products = ["CD19 CAR-T", "CD30 CAR-T"]')
    toml = toml.replace('diseases = ["DLBCL", "B-ALL"]', 'diseases = ["DLBCL", "MCL"]')
    toml = toml.replace('from_product = "CD22 CAR-T"', 'from_product = "CD30 CAR-T"')
    problems = check(tmp_path, toml=toml)
    assert problems == [
        Problem("study.toml", None, "plan.products", "CD30 CAR-T",
                "product not found in infusions.product (CD19 CAR-T, CD22 CAR-T)"),
        Problem("study.toml", None, "plan.diseases", "MCL", "disease not found in patients.diagnosis (B-ALL, DLBCL)"),
        # the recorded CD22 episodes are outside the plan: left out of the analysis, and said so
        Problem("study.toml", None, "plan.products", "CD22 CAR-T", "infusions.product 'CD22 CAR-T' (2 episodes) is "
                "not in plan.products: those episodes are left out of the analysis", "warning"),
    ]


# --------------------------------------------------------------------------- order of events


def test_second_infusion_before_the_first(tmp_path):
    problems = check(tmp_path, lambda t: t["infusions"][3].update(infusion_date="2019-01-15"))
    p = one(problems, "episode 2 is infused on")
    assert p == Problem("infusions.csv", 5, "infusion_date", "2019-01-15",
                        "episode 2 is infused on 2019-01-15, not after episode 1 (2019-02-01)")


def test_death_before_first_infusion(tmp_path):
    problems = check(tmp_path, lambda t: t["events"][2].update(date="2019-01-20"))
    assert Problem("events.csv", 4, "date", "2019-01-20", "death before the first infusion (2019-02-01)") in problems


def test_records_after_death(tmp_path):
    def mutate(t):
        t["measurements"].append({"patient_id": "P2", "episode": 2, "day": 200, "analyte": "il6",
                                  "value": 10, "unit": "pg/mL"})  # 2019-06-15 + 200 = 2020-01-01

    problems = check(tmp_path, mutate)
    assert problems == [
        Problem("measurements.csv", 9, "date", "2020-01-01", "dated after the patient's death on 2019-12-01"),
    ]


def test_event_after_death_and_second_death(tmp_path):
    def mutate(t):
        t["events"].append({"patient_id": "P2", "kind": "death", "date": "2019-12-20"})
        t["events"].append({"patient_id": "P2", "kind": "last_contact", "date": "2019-12-10"})

    problems = check(tmp_path, mutate)
    assert problems == [
        Problem("events.csv", 5, "kind", "death", "more than one death for patient P2 (first in row 4)"),
        Problem("events.csv", 6, "date", "2019-12-10", "dated after the patient's death on 2019-12-01"),
    ]


def test_event_after_data_cutoff(tmp_path):
    problems = check(tmp_path, lambda t: t["events"][0].update(date="2020-09-15"))
    assert problems == [Problem("events.csv", 2, "date", "2020-09-15", "after the data cut-off 2020-08-31")]


def test_adverse_event_resolves_before_onset(tmp_path):
    problems = check(tmp_path, lambda t: t["adverse_events"][0].update(onset_day=5, resolution_day=2))
    assert problems == [
        Problem("adverse_events.csv", 2, "resolution_day", 2, "resolves before its onset (onset_day 5)")
    ]


# --------------------------------------------------------------------------- study.toml


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("alpha = 0.05", "alpah = 0.05", Problem("study.toml", None, "plan.alpah", 0.05, "unknown key 'plan.alpah'")),
        ("alpha = 0.05", 'alpha = "0.05"', Problem("study.toml", None, "plan.alpha", "0.05", "expected a number")),
        ("alpha = 0.05", "alpha = 5", Problem("study.toml", None, "plan.alpha", 5.0, "must be between 0 and 1")),
        ('crs_system = "ctcae4.03"', 'crs_system = "penn"',
         Problem("study.toml", None, "plan.crs_system", "penn", "must be one of: ctcae4.03, astct2019, lee2014")),
        ("landmark_day = 180", "landmark_day = 180.5",
         Problem("study.toml", None, "plan.survival.landmark_day", 180.5, "expected an integer")),
        ("censor_at_hsct = true", 'censor_at_hsct = "yes"',
         Problem("study.toml", None, "plan.survival.censor_at_hsct", "yes", "expected true or false")),
        ("kinetics_window = [0, 28]", "kinetics_window = [0]",
         Problem("study.toml", None, "plan.kinetics_window", [0], "expected a list of two integers [first, last]")),
        ("all = [14]", "ball = [14]",
         Problem("study.toml", None, "plan.response_days.ball", [14],
                 "unknown disease family 'ball': expected one of all, cll, lymphoma, myeloma")),
        ('id = "mini"', 'id = "mini"\nsponsor = "x"',
         Problem("study.toml", None, "study.sponsor", "x", "unknown key 'study.sponsor'")),
        ("data_cutoff = 2020-08-31", 'data_cutoff = "31/08/2020"',
         Problem("study.toml", None, "study.data_cutoff", "31/08/2020", "expected a date (2020-08-31)")),
        ('kinetic_analytes = ["car_t_pct_cd3", "il6"]', 'kinetic_analytes = ["car_t_pct_cd3", "il-66"]',
         Problem("study.toml", None, "plan.kinetic_analytes", "il-66",
                 "unknown analyte; allowed: alc, alt, anc, ast, bilirubin, car_dna, car_t_pct_cd3, creatinine, ...")),
    ],
)
def test_study_toml_rules(tmp_path, old, new, expected):
    assert old in STUDY_TOML
    problems = check(tmp_path, toml=STUDY_TOML.replace(old, new, 1))
    assert problems == [expected]


def test_study_toml_missing_or_broken(tmp_path):
    folder = write_study(tmp_path / "a")
    (folder / "study.toml").unlink()
    problems = validate_study(folder)
    assert problems[0] == Problem("study.toml", None, None, None, "missing study.toml (study metadata and plan)")
    # without the plan's extra_ae_terms the fixture's extra term is unknown; the tables are still checked
    assert [(p.file, p.row, p.column) for p in problems[1:]] == [("adverse_events.csv", 3, "term")]
    folder = write_study(tmp_path / "b", toml="[study\nid=1")
    p = one(validate_study(folder), "not valid TOML")
    assert p.file == "study.toml"
    problems = validate_study(write_study(tmp_path / "c", toml="[plan]\n"))
    assert Problem("study.toml", None, "study.id", None, "missing study id") in problems


# --------------------------------------------------------------------------- rows in XLSX and Parquet


def test_xlsx_rows_are_sheet_rows(tmp_path):
    problems = check(tmp_path, lambda t: t["patients"][1].update(sex="x"), fmt="workbook")
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [("study.xlsx[patients]", 3, "sex", "x")]
    problems = check(tmp_path / "per-table", lambda t: t["patients"][1].update(sex="x"), fmt="xlsx")
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [("patients.xlsx[patients]", 3, "sex", "x")]


def test_xlsx_header_not_on_first_row(tmp_path):
    import openpyxl

    folder = write_study(tmp_path, fmt="xlsx")
    wb = openpyxl.load_workbook(folder / "patients.xlsx")
    ws = wb.active
    ws.insert_rows(1, amount=2)
    ws["A1"] = None
    ws.cell(row=5, column=3, value="?")  # sex of P2, now on sheet row 5
    wb.save(folder / "patients.xlsx")
    problems = validate_study(folder)
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [("patients.xlsx[patients]", 5, "sex", "?")]


def test_parquet_rows_are_one_based_data_rows(tmp_path):
    problems = check(tmp_path, lambda t: t["adverse_events"][1].update(grade=9), fmt="parquet")
    assert problems == [Problem("adverse_events.parquet", 2, "grade", "9", "impossible value: must be between 0 and 5")]


# --------------------------------------------------------------------------- all at once


def test_all_problems_across_all_files_at_once(tmp_path):
    def mutate(t):
        t["patients"][0]["sex"] = "?"
        t["infusions"][1]["infusion_date"] = "next week"
        t["measurements"][2]["unit"] = "furlongs"
        t["adverse_events"][1]["grade"] = "high"
        t["events"][0]["date"] = "2021-01-01"

    problems = check(tmp_path, mutate)
    assert sorted((p.file, p.row, p.column) for p in problems) == [
        ("adverse_events.csv", 3, "grade"),
        ("events.csv", 2, "date"),
        ("infusions.csv", 3, "infusion_date"),
        ("measurements.csv", 4, "unit"),
        ("patients.csv", 2, "sex"),
    ]


def test_values_with_unknown_unit_are_not_range_checked(tmp_path):
    # 1500 cells/uL is not an impossible neutrophil count: without a unit it cannot be judged
    def drop_unit(t):
        for row in t["measurements"]:
            del row["unit"]

    problems = check(tmp_path, drop_unit)
    assert problems == [Problem("measurements.csv", None, "unit", None, "missing required column")]
