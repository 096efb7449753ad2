"""Provenance: the exact input files a study was loaded from (size and SHA-256), the cartkit
version and the plan as run, so that a report can be traced to the data it came from.

The files are hashed when the study is loaded, right after they are read, so the digests are
those of the data analysed. ``results.json`` carries ``Provenance.to_json()`` under
``"provenance"`` and the Methods list the same files (docs/output.md).

    >>> import tempfile, pathlib
    >>> from cartkit.study.provenance import file_digest
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "patients.csv"
    >>> _ = path.write_bytes(b"patient_id\\nP1\\n")
    >>> file_digest(path)                # size in bytes, SHA-256 (`sha256sum patients.csv`)
    (14, '9273e36fcd659d6f5a594ea2fe9304bb704b1237a9730ee737d852a9dcc1f357')
    >>> import shutil; shutil.rmtree(path.parent)
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cartkit.study.plan import STUDY_TOML

# Files of the study folder that cartkit reads besides the tables (study.toml: metadata and plan;
# published.toml: the published numbers of the reproduction appendix, read by cartkit.analysis).
STUDY_FILES = (STUDY_TOML, "published.toml")


def file_digest(path: str | Path) -> tuple[int, str]:
    """(size in bytes, SHA-256 hex digest) of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


@dataclass(frozen=True)
class InputFile:
    file: str  # as named in the study folder (relative to it)
    path: Path  # resolved (symbolic links followed); not written to results.json
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "bytes": self.bytes, "sha256": self.sha256}


def input_files(folder: Path, table_files: Iterable[Path]) -> tuple[InputFile, ...]:
    """study.toml, published.toml (when present) and the files the tables were read from (a
    workbook once), each with its size and SHA-256, in that order (tables sorted by name)."""
    paths = [folder / name for name in STUDY_FILES if (folder / name).is_file()]
    paths += sorted({Path(p) for p in table_files}, key=lambda p: p.name.lower())
    files = []
    for path in paths:
        try:
            size, digest = file_digest(path)
        except OSError:  # unreadable: loading it was already a problem, and the study is not analysed
            continue
        try:
            name = path.relative_to(folder).as_posix()
        except ValueError:
            name = str(path)
        files.append(InputFile(name, path.resolve(), size, digest))
    return tuple(files)


@dataclass(frozen=True)
class Provenance:
    """Where a Results came from. ``folder`` is kept for checking where a report may be written;
    results.json names the folder only (a report is shared; the digests identify the data)."""

    folder: Path
    inputs: tuple[InputFile, ...]
    cartkit_version: str
    plan: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"cartkit_version": self.cartkit_version, "study_folder": self.folder.name,
                "inputs": [f.to_json() for f in self.inputs], "plan": self.plan}


def plan_as_run(plan: Any, **used: Any) -> dict[str, Any]:
    """Every option of the plan (defaults included) as JSON-ready data; ``used`` overrides the
    options the analysis filled in from the data (e.g. the products compared when none was named)."""
    data = dataclasses.asdict(plan)
    data.update(used)

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(data)


def study_provenance(study: Any, **used: Any) -> Provenance:
    import cartkit

    return Provenance(Path(study.path).resolve(), tuple(getattr(study, "inputs", ())), cartkit.__version__,
                      plan_as_run(study.plan, **used))


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def methods_text(provenance: Provenance) -> tuple[str, str]:
    """(input data, plan as run) sentences for the Methods."""
    files = "; ".join(f"{f.file} ({f.bytes:,} bytes, SHA-256 {f.sha256})" for f in provenance.inputs)
    data = (f"Analysed with cartkit {provenance.cartkit_version} from {len(provenance.inputs)} input "
            f"file(s) of the study folder {provenance.folder.name}: {files or 'none recorded'}.")
    plan = "; ".join(f"{k} = {_shown(v)}" for k, v in provenance.plan.items()) + "."
    return data, plan
