"""Read the SDTM datasets of a folder: XPT (v5/v8, with pyreadstat), Parquet, CSV, Dataset-JSON v1.1.

``read_sdtm_folder(folder)`` returns one :class:`Domain` per dataset found, keyed by the lower-case
domain name taken from the file name (``lb.xpt`` -> ``lb``). Every column is read as it is stored
(names upper-cased); a Dataset-JSON file gives its columns' declared types. Each domain carries
the 1-based record number of each row in ``__record`` and the way a row is named to the user
(:meth:`Domain.row_of`): the data-row number for XPT, Parquet and Dataset-JSON (record 1 is the
first row), the line number for CSV (the header is line 1). The folder is only read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from cartkit.study.problems import Problem

RECORD = "__record"
SUFFIXES = (".xpt", ".parquet", ".csv", ".json", ".ndjson", ".dsjc")


@dataclass
class Domain:
    name: str  # lower-case domain, e.g. "lb"
    file: str  # file name as the user sees it, e.g. "lb.xpt"
    frame: pl.DataFrame  # columns upper-cased, plus RECORD (1-based)
    csv: bool = False

    def row_of(self, record: int | None) -> int | None:
        """The row number a problem names: the CSV line (header = line 1) or the data row."""
        if record is None:
            return None
        return int(record) + 1 if self.csv else int(record)

    def has(self, column: str) -> bool:
        return column in self.frame.columns


def _read_xpt(path: Path) -> pl.DataFrame:
    import pyreadstat

    df, _meta = pyreadstat.read_xport(str(path))
    return pl.from_pandas(df)


_JSON_TYPES = {
    "string": pl.String, "integer": pl.Int64, "float": pl.Float64, "double": pl.Float64,
    "decimal": pl.Float64, "boolean": pl.Boolean, "date": pl.String, "datetime": pl.String,
    "time": pl.String, "URI": pl.String,
}


def _decompressed(data: bytes) -> bytes:
    """A compressed Dataset-JSON file (``.dsjc``): deflate with a zlib or gzip header, or raw deflate."""
    import zlib

    for wbits in (47, -15):  # 47: zlib or gzip header, detected; -15: raw deflate
        try:
            return zlib.decompress(data, wbits)
        except zlib.error:
            continue
    raise ValueError("not a compressed Dataset-JSON file (no zlib, gzip or deflate stream)")


def _document(text: str) -> dict:
    """The Dataset-JSON document of ``text``: one JSON object, or NDJSON (Dataset-JSON v1.1's
    line form: the metadata object on the first line, then one array of values per row)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise
        head = json.loads(lines[0])
        if not isinstance(head, dict):
            raise ValueError("not Dataset-NDJSON: the first line is not the metadata object") from None
        return {**head, "rows": [json.loads(line) for line in lines[1:]]}


def _read_dataset_json(path: Path) -> pl.DataFrame:
    """Dataset-JSON v1.1: top-level ``columns`` (name, dataType) and ``rows`` (lists of values); the
    NDJSON form (``.ndjson``) and the compressed form (``.dsjc``) of either."""
    data = path.read_bytes()
    if path.suffix.lower() == ".dsjc":
        data = _decompressed(data)
    doc = _document(data.decode("utf-8-sig"))
    if not isinstance(doc, dict) or not isinstance(doc.get("columns"), list) or not isinstance(
            doc.get("rows"), list):
        raise ValueError("not a Dataset-JSON v1.1 file (expected top-level 'columns' and 'rows')")
    names = [str(c["name"]) for c in doc["columns"]]
    schema = {n: _JSON_TYPES.get(str(c.get("dataType", "string")), pl.String) for n, c in zip(
        names, doc["columns"], strict=True)}
    columns = list(zip(*doc["rows"], strict=True)) if doc["rows"] else [[] for _ in names]
    if len(columns) != len(names):
        raise ValueError(f"rows have {len(columns)} values, columns lists {len(names)}")
    return pl.DataFrame({n: list(v) for n, v in zip(names, columns, strict=True)}, schema=schema, strict=False)


def read_domain(path: Path) -> Domain:
    suffix = path.suffix.lower()
    if suffix == ".xpt":
        frame = _read_xpt(path)
    elif suffix == ".parquet":
        frame = pl.read_parquet(path)
    elif suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    elif suffix in (".json", ".ndjson", ".dsjc"):
        frame = _read_dataset_json(path)
    else:
        raise ValueError(f"not an SDTM dataset file this importer reads ({', '.join(SUFFIXES)})")
    frame = frame.rename({c: c.strip().upper() for c in frame.columns})
    frame = frame.with_row_index(RECORD, offset=1).with_columns(pl.col(RECORD).cast(pl.Int64))
    return Domain(path.stem.lower(), path.name, frame, csv=suffix == ".csv")


def read_sdtm_folder(folder: Path, wanted: tuple[str, ...]) -> tuple[dict[str, Domain], list[Problem]]:
    """The ``wanted`` domains found in ``folder`` (one file per domain) and the problems met."""
    problems: list[Problem] = []
    found: dict[str, Domain] = {}
    by_domain: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in SUFFIXES and path.stem.lower() in wanted:
            by_domain.setdefault(path.stem.lower(), []).append(path)
    for name, paths in by_domain.items():
        if len(paths) > 1:
            problems.append(Problem(paths[0].name, None, None, None,
                                    f"domain {name.upper()} is given by several files "
                                    f"({', '.join(p.name for p in paths)}): keep one"))
            continue
        try:
            found[name] = read_domain(paths[0])
        except Exception as exc:  # an unreadable file is a located problem, never a traceback
            problems.append(Problem(paths[0].name, None, None, None,
                                    f"cannot read the dataset: {type(exc).__name__}: {exc}"))
    return found, problems
