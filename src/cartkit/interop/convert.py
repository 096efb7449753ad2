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
folder is never the study folder, inside it or around it; an existing one is replaced only when it
is empty or a converted study cartkit wrote (its ``.cartkit-convert.json`` lists every file in it).
Everything is written to a temporary sibling folder first and moved into place at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import polars as pl

FORMATS = ("csv", "xlsx", "parquet", "sav")
MARKER = ".cartkit-convert.json"
WORKBOOK = "study.xlsx"


class ConvertError(ValueError):
    """The conversion was refused (where it would write, or the format); nothing was written."""


def _check_out(src: Path, out: Path) -> None:
    if out == src or out.is_relative_to(src) or src.is_relative_to(out):
        raise ConvertError(f"{out}: the converted study must go outside the study folder {src} "
                           "(cartkit only reads a study folder)")
    if out.exists() and not out.is_dir():
        raise ConvertError(f"{out} exists and is not a folder")
    if out.is_dir():
        entries = {p.name for p in out.iterdir()}
        if not entries:
            return
        try:
            listed = set(json.loads((out / MARKER).read_text(encoding="utf-8"))["files"])
        except (OSError, ValueError, KeyError, TypeError):
            listed = None
        if listed is None or entries - listed - {MARKER}:
            raise ConvertError(f"{out} is not empty and is not a study cartkit converted; choose an empty "
                               "or new folder (cartkit never replaces files it did not write)")


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
        files = sorted(p.name for p in tmp.iterdir())
        (tmp / MARKER).write_text(json.dumps({"generator": "cartkit convert", "source": str(src), "format": fmt,
                                              "files": files}, indent=1), encoding="utf-8")
        old = None
        if out.exists():
            _check_out(src, out)  # still empty or ours
            old = out.parent / f".{out.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
