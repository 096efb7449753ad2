"""Property tests: whatever is in the files, loading ends in a Study or a StudyError, never a traceback.

Malformed input is generated into the small valid study of ``test_study_builders``:
random text, numbers and missing cells in any column, random header names,
garbage bytes inside or instead of a CSV, random bytes as Parquet/XLSX, random
study.toml text. Problems must not be the loader's own "internal error".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_study_builders import STUDY_TOML, base_tables, write_study

from cartkit.study.load import load_study
from cartkit.study.model import Study
from cartkit.study.problems import StudyError

# more examples: CARTKIT_HYPOTHESIS_EXAMPLES=300 pytest tests/test_study_properties.py
SETTINGS = settings(
    max_examples=int(os.environ.get("CARTKIT_HYPOTHESIS_EXAMPLES", "25")),
    deadline=None, suppress_health_check=[HealthCheck.too_slow])
TABLE_NAMES = sorted(base_tables())

cells = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "NA", "2020-02-30", "1,5", "yes", "01/02/2020", "1e400", "-0", "0x10", "P1", "%",
                     "<5", "< 0,5", "<", "<1e400", "1900-01-01", "2999-12-31", "2020-09-01"]),
)


def _outcome(folder: Path) -> Study | StudyError:
    try:
        return load_study(folder)
    except StudyError as error:
        assert error.problems, "a StudyError always carries its problems"
        for p in error.problems:
            assert not p.rule.startswith("internal error"), p
            assert isinstance(p.file, str) and isinstance(p.rule, str)
            assert p.row is None or (isinstance(p.row, int) and p.row >= 1)
        str(error)  # the message renders
        return error


@SETTINGS
@given(data=st.data())
def test_random_cells_never_traceback(data):
    tables = base_tables()
    for _ in range(data.draw(st.integers(1, 4))):
        name = data.draw(st.sampled_from(TABLE_NAMES))
        rows = tables[name]
        index = data.draw(st.integers(0, len(rows) - 1))
        column = data.draw(st.sampled_from(sorted({c for r in rows for c in r})))
        rows[index][column] = data.draw(cells)
    fmt = data.draw(st.sampled_from(["csv", "parquet", "workbook"]))
    with tempfile.TemporaryDirectory() as tmp:
        if fmt == "parquet":
            # Parquet columns hold one type: write the mutated tables as text
            folder = write_study(Path(tmp), tables, fmt="csv")
            for csv in folder.glob("*.csv"):
                pl.read_csv(csv, infer_schema=False).write_parquet(csv.with_suffix(".parquet"))
                csv.unlink()
        else:
            folder = write_study(Path(tmp), tables, fmt=fmt)
        _outcome(folder)


@SETTINGS
@given(name=st.sampled_from(TABLE_NAMES), bom=st.sampled_from([b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00",
                                                               b"\x00\x00\xfe\xff", b""]),
       codec=st.sampled_from(["utf-16-le", "utf-16-be", "utf-32-le", "utf-8"]), cut=st.integers(0, 7))
def test_any_byte_order_mark_and_encoding_never_traceback(name, bom, codec, cut):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp))
        path = folder / f"{name}.csv"
        data = bom + path.read_text().encode(codec)
        path.write_bytes(data[: len(data) - cut])
        _outcome(folder)


@SETTINGS
@given(name=st.sampled_from(TABLE_NAMES), headers=st.lists(st.text(max_size=10), min_size=1, max_size=12))
def test_random_headers_never_traceback(name, headers):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp))
        path = folder / f"{name}.csv"
        lines = path.read_text().splitlines()
        lines[0] = pl.DataFrame({f"c{i}": [h] for i, h in enumerate(headers)}).write_csv(include_header=False).strip()
        path.write_text("\n".join(lines) + "\n")
        _outcome(folder)


@SETTINGS
@given(
    name=st.sampled_from(TABLE_NAMES),
    garbage=st.binary(max_size=40),
    where=st.floats(min_value=0, max_value=1),
    replace_all=st.booleans(),
)
# a header "*" (or any regex-looking name) once made Polars read it as a column pattern
@example(name="adverse_events", garbage=b"*", where=0.0, replace_all=True)
@example(name="measurements", garbage=b"*", where=0.0, replace_all=True)
@example(name="patients", garbage=b"^patient_id$,age\n", where=0.0, replace_all=True)
def test_garbage_bytes_in_csv_never_traceback(name, garbage, where, replace_all):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp))
        path = folder / f"{name}.csv"
        data = path.read_bytes()
        cut = int(where * len(data))
        path.write_bytes(garbage if replace_all else data[:cut] + garbage + data[cut:])
        _outcome(folder)


@SETTINGS
@given(garbage=st.binary(max_size=64), fmt=st.sampled_from(["parquet", "xlsx"]))
def test_garbage_parquet_and_xlsx_never_traceback(garbage, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp), fmt=fmt)
        (folder / f"infusions.{fmt}").write_bytes(garbage)
        outcome = _outcome(folder)
        assert isinstance(outcome, StudyError)
        assert any(p.file == f"infusions.{fmt}" for p in outcome.problems)


@SETTINGS
@given(
    toml=st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda line, cut: STUDY_TOML[:cut] + line + STUDY_TOML[cut:],
            st.sampled_from(["x = 1\n", "[plan]\n", "alpha = []\n", "products = 3\n", "[plan.survival.x]\n",
                             "data_cutoff = 2020-13-01\n", "endpoints = ['dfs']\n", "\x00"]),
            st.integers(0, len(STUDY_TOML)),
        ),
    )
)
def test_random_study_toml_never_traceback(toml):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_study(Path(tmp))
        (folder / "study.toml").write_text(toml, encoding="utf-8", errors="surrogateescape")
        _outcome(folder)
