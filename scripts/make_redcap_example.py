"""Write examples/redcap-study/: a small synthetic study as a centre's REDCap project would export it.

    python scripts/make_redcap_example.py        # deterministic: same files every run

Source: ``cartkit simulate`` (4 patients, seed 11), loaded, written with
``cartkit redcap export`` (raw values of cartkit's dictionary), then reshaped into what
a longitudinal REDCap project's "CSV (labels)" export with raw headers looks like:

* events: ``baseline_arm_1`` (patients), ``car_t_1_arm_1`` / ``car_t_2_arm_1`` (the
  episode's infusion, measurements, support, neuro, assessments, lesions, adverse
  events), ``follow_up_arm_1`` (events); repeat instances numbered within each event;
* label values: choice labels instead of codes (sex as "Male"/"Female"), Yes/No;
* ``sup_kind`` is a checkbox field (one ``sup_kind___<code>`` column per choice,
  Checked/Unchecked);
* a ``<form>_complete`` column per instrument ("Complete");
* the broken values listed in ``BROKEN`` (and in the example's README.md).
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path

import polars as pl

from cartkit.interop.redcap_dictionary import DICTIONARY_COLUMNS, dictionary_rows, parse_choices
from cartkit.interop.redcap_export import REPEAT_INSTANCE, REPEAT_INSTRUMENT, export_frame
from cartkit.simulate import simulate_study
from cartkit.study.load import load_study
from cartkit.study.schema import TABLES

OUT = Path(__file__).resolve().parent.parent / "examples" / "redcap-study"
EVENT = "redcap_event_name"
CHECKBOX = "sup_kind"

# (record, event, instrument, instance, field, written value, what is wrong): one bad value each
BROKEN = (
    ("SIM-0002", "baseline_arm_1", "", "", "sex", "Mle", "not a choice of the dropdown (Male, Female)"),
    ("SIM-0001", "car_t_1_arm_1", "measurements", "3", "lab_value", "12,5", "not a number (decimal comma)"),
    ("SIM-0003", "car_t_1_arm_1", "neuro", "2", "neu_ice_score", "14", "ICE score above its maximum of 10"),
    ("SIM-0001", "car_t_1_arm_1", "assessments", "1", "asm_new_lesions", "Maybe", "not Yes or No"),
    ("SIM-0001", "car_t_1_arm_1", "support", "1", CHECKBOX, "antipyretic + steroid",
     "two boxes ticked in a one-value checkbox"),
    ("SIM-0003", "car_t_1_arm_1", "adverse_events", "1", "ae_onset_day", "day 3", "not a whole number"),
)


def example_dictionary() -> list[dict[str, str]]:
    rows = dictionary_rows()
    for row in rows:
        name = row["Variable / Field Name"]
        if name == "sex":
            row["Choices, Calculations, OR Slider Labels"] = "1, Male | 2, Female"
        if name == CHECKBOX:
            row["Field Type"] = "checkbox"
            row["Field Note"] = "tick one"
    return rows


def _csv(rows: list[dict[str, str]], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def build() -> tuple[str, str]:
    dictionary = example_dictionary()
    with tempfile.TemporaryDirectory() as tmp:
        simulate_study(Path(tmp) / "sim", patients=4, seed=11, format="csv")
        study = load_study(Path(tmp) / "sim")
        flat = export_frame(study)
    fields = {r["Variable / Field Name"]: r for r in dictionary}
    # events: the episode's forms in the episode's event
    episode_col = pl.coalesce([pl.col(f"{p}_episode") for p in ("inf", "lab", "sup", "neu", "asm", "les", "ae")])
    flat = flat.with_columns(
        pl.when(pl.col(REPEAT_INSTRUMENT).is_null()).then(pl.lit("baseline_arm_1"))
        .when(pl.col(REPEAT_INSTRUMENT) == "events").then(pl.lit("follow_up_arm_1"))
        .otherwise(pl.concat_str(pl.lit("car_t_"), episode_col, pl.lit("_arm_1"))).alias(EVENT))
    flat = flat.with_columns(
        pl.when(pl.col(REPEAT_INSTRUMENT).is_not_null())
        .then((pl.int_range(pl.len()).over("patient_id", EVENT, REPEAT_INSTRUMENT) + 1).cast(pl.String))
        .alias(REPEAT_INSTANCE))
    # label values
    for name, row in fields.items():
        if name not in flat.columns:
            continue
        if row["Field Type"] in ("dropdown", "checkbox"):
            choices = parse_choices(row["Choices, Calculations, OR Slider Labels"])
            if row["Field Type"] == "dropdown":
                flat = flat.with_columns(pl.col(name).replace_strict(choices, default=None))
            else:
                flat = flat.with_columns(
                    pl.when(pl.col(REPEAT_INSTRUMENT) == "support")
                    .then(pl.when(pl.col(name) == code).then(pl.lit("Checked")).otherwise(pl.lit("Unchecked")))
                    .alias(f"{name}___{code}") for code in choices).drop(name)
        elif row["Field Type"] == "yesno":
            flat = flat.with_columns(pl.col(name).replace_strict({"1": "Yes", "0": "No"}, default=None))
    for form in TABLES:
        flat = flat.with_columns(
            pl.when(pl.col(REPEAT_INSTRUMENT).fill_null("patients") == form).then(pl.lit("Complete"))
            .alias(f"{form}_complete"))
    # the broken values
    kind = parse_choices(fields[CHECKBOX]["Choices, Calculations, OR Slider Labels"])
    for record, event, instrument, instance, name, value, _ in BROKEN:
        at = (pl.col("patient_id") == record) & (pl.col(EVENT) == event) & (
            pl.col(REPEAT_INSTRUMENT).is_null() if not instrument else
            (pl.col(REPEAT_INSTRUMENT) == instrument) & (pl.col(REPEAT_INSTANCE) == instance))
        if flat.filter(at).height != 1:
            raise SystemExit(f"no single row for {record} {event} {instrument} {instance}")
        if name == CHECKBOX:
            ticked = ("antipyretic", "steroid")
            flat = flat.with_columns(
                pl.when(at).then(pl.lit("Checked" if k in ticked else "Unchecked")).otherwise(pl.col(f"{name}___{c}"))
                .alias(f"{name}___{c}") for c, k in kind.items())
        else:
            flat = flat.with_columns(pl.when(at).then(pl.lit(value)).otherwise(pl.col(name)).alias(name))
    first = ["patient_id", EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE]
    flat = flat.select(*first, *(c for c in flat.columns if c not in first))
    return _csv(dictionary, list(DICTIONARY_COLUMNS)), flat.write_csv()


def main() -> None:
    dictionary, records = build()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in (("dictionary.csv", dictionary), ("records.csv", records)):
        tmp = OUT / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        shutil.move(tmp, OUT / name)
    print(f"wrote {OUT}/dictionary.csv and records.csv")


if __name__ == "__main__":
    main()
