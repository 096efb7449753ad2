"""``cartkit convert STUDY OUT --to csv|xlsx|parquet|sav``: a study folder written in another format.

The study is loaded and validated first (a study with errors is not converted: the problems are
raised as ``StudyError``), then each table is written as loaded: vocabulary values in their
canonical spelling, measurements in their analyte's canonical unit, both ``day`` and ``date``, the
schema's columns and then any extra column of the user's. ``study.toml`` is copied with its
``[files]`` table replaced (``cartkit.interop.study_toml``), and ``published.toml`` is copied when
the study has one; other files of the study folder are not.

* ``csv``: ``<table>.csv``, UTF-8, ISO dates, ``true``/``false``; text a spreadsheet would run as a
  formula is prefixed with ``'`` (``cartkit.study.spreadsheet_safety``, as for the report's tables);
* ``parquet``: ``<table>.parquet`` with the loaded types;
* ``xlsx``: one workbook ``study.xlsx`` in the layout of ``cartkit template`` (README, drop-downs,
  checks), named in the new study.toml's ``[files] workbook``;
* ``sav``: ``<table>.sav`` with variable and value labels (``cartkit.interop.spss.write_sav``).

Optional tables with no rows are not written (a folder without them loads the same). The output
folder is never the study folder, inside it or around it, nor holds one of its input files; an
existing one is replaced only when it is empty or a converted study cartkit wrote, unchanged: the
rule of ``cartkit.report.output_folder`` with its own manifest (``CONVERTED_STUDY``,
``.cartkit-convert.json``: every file with its size and SHA-256). A file the user put there or
changed since is kept and the conversion refused; the old files are deleted one by one from the
manifest's list, never recursively. Everything is written to a temporary sibling folder first and
moved into place at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import polars as pl

from cartkit.report.output_folder import (
    FolderKind,
    OutputFolderError,
    check_output_folder,
    install,
    manifest_text,
)

FORMATS = ("csv", "xlsx", "parquet", "sav")
MARKER = ".cartkit-convert.json"
# the folder cartkit convert writes, replaced only by its manifest (cartkit.report.output_folder)
CONVERTED_STUDY = FolderKind(MARKER, "cartkit_convert", "a study converted by cartkit", "", {}, None)
WORKBOOK = "study.xlsx"


class ConvertError(ValueError):
    """The conversion was refused (where it would write, or the format); nothing was written."""


def _check_out(src: Path, out: Path, inputs: tuple = ()) -> None:
    if out == src or out.is_relative_to(src) or src.is_relative_to(out):
        raise ConvertError(f"{out}: the converted study must go outside the study folder {src} "
                           "(cartkit only reads a study folder)")
    try:
        check_output_folder(out, study_folder=src, inputs=inputs, kind=CONVERTED_STUDY)
    except OutputFolderError as exc:
        raise ConvertError(str(exc)) from exc


def _manifest(folder: Path, src: Path, fmt: str) -> str:
    """The folder's manifest (files with size and SHA-256), with where it was converted from."""
    import cartkit

    doc = json.loads(manifest_text(folder, cartkit.__version__, CONVERTED_STUDY))
    return json.dumps({**doc, "source": str(src), "format": fmt}, indent=1)


def _written_frame(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    from cartkit.interop.template import written_columns
    from cartkit.study.schema import TABLES

    return frame.select(written_columns(TABLES[name], frame))


def convert_study(study_dir: str | Path, out_dir: str | Path, to: str) -> Path:
    """Write the study at ``study_dir`` to the folder ``out_dir`` in format ``to`` (see ``FORMATS``);
    returns ``out_dir``. Raises ``ConvertError`` or ``cartkit.StudyError``; writes nothing then."""
    from cartkit.interop.study_toml import relocated_study_toml
    from cartkit.study.load import load_study
    from cartkit.study.schema import TABLES
    from cartkit.study.spreadsheet_safety import neutralise_formulas

    fmt = to.strip().lower()
    if fmt not in FORMATS:
        raise ConvertError(f"--to must be one of {', '.join(FORMATS)}, not {to!r}")
    src = Path(study_dir).resolve()
    out = Path(out_dir).resolve()
    _check_out(src, out)
    study = load_study(src)
    inputs = tuple(f.path for f in study.inputs)
    _check_out(src, out, inputs)
    try:
        toml = relocated_study_toml((src / "study.toml").read_text(encoding="utf-8-sig"),
                                    workbook=WORKBOOK if fmt == "xlsx" else None)
    except ValueError as exc:
        raise ConvertError(str(exc)) from exc

    tables = {name: _written_frame(name, frame) for name, frame in study.tables.items()
              if frame.height or TABLES[name].required}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        (tmp / "study.toml").write_text(toml, encoding="utf-8")
        if (src / "published.toml").is_file():
            shutil.copyfile(src / "published.toml", tmp / "published.toml")
        if fmt == "xlsx":
            from cartkit.interop.template import save_atomically, study_workbook

            save_atomically(study_workbook(tables), tmp / WORKBOOK)
        for name, frame in tables.items() if fmt != "xlsx" else ():
            if fmt == "csv":
                neutralise_formulas(frame).write_csv(tmp / f"{name}.csv")
            elif fmt == "parquet":
                frame.write_parquet(tmp / f"{name}.parquet")
            else:
                from cartkit.interop.spss import write_sav

                write_sav(frame, tmp / f"{name}.sav", table=name, file_label=f"{study.meta.id}: {name}")
        (tmp / MARKER).write_text(_manifest(tmp, src, fmt), encoding="utf-8")
        try:  # checked again just before the move: a file added meanwhile is kept
            install(tmp, out, study_folder=src, inputs=inputs, kind=CONVERTED_STUDY)
        except OutputFolderError as exc:
            raise ConvertError(str(exc)) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
