"""read_published parses published.toml once per text (the analysis reads it twice) and returns fresh copies."""

from __future__ import annotations

from cartkit.analysis.reproduction import read_published

TOML = """
[[number]]
key = "orr"
value = 20.0
unit = "%"
source = "Table 2"

[[number]]
key = "n"
value = 13
source = "Table 1"
"""


def test_entries_are_fresh_copies_and_a_changed_file_is_read_again(tmp_path):
    (tmp_path / "published.toml").write_text(TOML, encoding="utf-8")
    first = read_published(tmp_path)
    assert [(e["key"], e.get("decimals")) for e in first] == [("orr", 1), ("n", None)]
    first[0]["value"] = -1  # a caller changing its entries changes nobody else's
    again = read_published(tmp_path)
    assert again[0]["value"] == 20.0 and again is not first
    (tmp_path / "published.toml").write_text(TOML.replace("20.0", "21.50"), encoding="utf-8")
    changed = read_published(tmp_path)
    assert (changed[0]["value"], changed[0]["decimals"]) == (21.5, 2)
    assert read_published(tmp_path / "missing") == []
