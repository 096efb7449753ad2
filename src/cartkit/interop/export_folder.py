"""The folder a CDISC export writes (``sdtm export``, ``adam export``): one way for both.

    with export_folder(study_dir, out, SDTM_EXPORT) as run:
        ...write files into run.tmp, using run.study, run.version, run.created...

``out`` is checked by the rule of every folder cartkit writes (``cartkit.report.output_folder``, with
the kind's own manifest) before the study is loaded, so a foreign folder is refused before any work;
the study is loaded (a study with errors raises ``StudyError`` with every located problem) and ``out``
checked again against the study's input files; the files go into a hidden folder beside ``out``,
which gets its manifest and is swapped into place when the block ends. On any error inside the block
the hidden folder is removed and nothing in ``out`` changes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cartkit.report.output_folder import FolderKind, check_output_folder, install, manifest_text


@dataclass(frozen=True)
class ExportRun:
    study: object  # the loaded cartkit.study.model.Study
    tmp: Path  # where the files are written
    version: str  # cartkit's version, named in every file
    created: str  # the UTC time of the export, ISO 8601 ("2026-01-31T12:00:00Z")


@contextmanager
def export_folder(study_dir: str | Path, out: str | Path, kind: FolderKind) -> Iterator[ExportRun]:
    import cartkit
    from cartkit.study.load import load_study

    check_output_folder(out, study_folder=study_dir, kind=kind)
    study = load_study(study_dir)
    inputs = [f.path for f in study.inputs]
    target = check_output_folder(out, study_folder=study_dir, inputs=inputs, kind=kind).path
    version = cartkit.__version__
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes 0700; the export is an ordinary folder
        yield ExportRun(study, tmp, version, created)
        (tmp / kind.manifest).write_text(manifest_text(tmp, version, kind), encoding="utf-8")
        install(tmp, out, study_folder=study_dir, inputs=inputs, kind=kind)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
