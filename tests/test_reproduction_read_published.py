"""read_published parses published.toml once per text (the numbers and the cross-references share it) and returns fresh copies."""

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


def test_the_numbers_and_the_cross_references_share_one_parse(tmp_path, monkeypatch):
    import cartkit.analysis.reproduction as reproduction

    (tmp_path / "published.toml").write_text(TOML + '\n[cross_reference]\nbaseline = "Table 1"\n', encoding="utf-8")
    parses = []
    loads = reproduction.tomllib.loads
    monkeypatch.setattr(reproduction.tomllib, "loads", lambda text: parses.append(1) or loads(text))
    reproduction._PARSED.clear()
    table = reproduction.read_cross_reference(tmp_path)
    assert table == {"baseline": "Table 1"}
    table["baseline"] = "changed"  # a copy: the next reader sees the file's
    assert [e["key"] for e in read_published(tmp_path)] == ["orr", "n"]
    assert reproduction.read_cross_reference(tmp_path) == {"baseline": "Table 1"} and len(parses) == 1
    assert reproduction.read_cross_reference(tmp_path / "missing") is None
