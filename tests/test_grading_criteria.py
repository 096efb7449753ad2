"""Every criteria file cites its source and records what was checked; unknown versions fail clearly."""

from pathlib import Path

import pytest

import cartkit.grading
import cartkit.response
from cartkit.grading.criteria_data import load_criteria, read_criteria_file

FILES = sorted(
    [*Path(cartkit.grading.__file__).with_name("criteria").glob("*.toml")]
    + [*Path(cartkit.response.__file__).with_name("criteria").glob("*.toml")]
)


def test_there_are_criteria_files():
    names = {p.name for p in FILES}
    assert {"ctcae_4.03.toml", "ctcae_5.0.toml", "ctcae_6.0.toml", "crs_astct2019.toml", "lugano_2014.toml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_cites_a_source(path):
    text = path.read_text()
    assert read_criteria_file(path).get("source")
    assert text.lstrip().startswith("#")  # the header comment says what the file encodes and its source


def test_unknown_version_names_the_choices():
    with pytest.raises(ValueError, match=r"available: 4\.03, 5\.0, 6\.0"):
        load_criteria("ctcae", "7.0")
