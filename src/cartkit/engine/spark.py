"""The Spark engine: the patient shards of a study derived on Spark executors (``--engine spark``).

Nothing here is a second implementation: each executor runs ``cartkit.engine.shards.shard_frames``
(check, load and derive one shard, the same function the local engine runs) through
``DataFrame.mapInArrow`` over a DataFrame of shard folders, one shard per partition, and hands its
frames back as Arrow IPC; the driver gathers them with ``cartkit.engine.shards.gather`` and the
analysis runs on the driver as usual. An ordinary (unsharded) study folder is one shard.

The executors read the shard folders by their path, so on a cluster the study folder must be on
storage every executor sees at the same path (a shared file system or a mount of the data lake);
``master`` is the Spark master URL (``spark://host:7077``, ``yarn``, ``k8s://...``, ``local[4]``).
Spark (a JVM) is started here only because the caller asked for this engine; a session the caller
made is used as it is and left running. pyspark comes with the extra ``cartkit[spark]`` and needs
Java 17 or later (docs/scale.md).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import polars as pl

_SCHEMA = "shard string, name string, ipc binary"


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


def _frame(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))


def shard_batches(folder: str, config, today: dt.date, fraction: float):
    """The function ``mapInArrow`` runs on the executors: for each shard path in the batches, the
    shard's frames (``shard_frames``) as rows (shard, name, Arrow IPC bytes)."""

    def work(batches):
        import pyarrow as pa

        from cartkit.engine.shards import shard_frames

        for batch in batches:
            for shard in batch.column("shard").to_pylist():
                frames = shard_frames(folder, shard, config, today, fraction)
                names = list(frames)
                yield pa.RecordBatch.from_pydict({
                    "shard": [shard] * len(names), "name": names,
                    "ipc": [_ipc(frames[name]) for name in names]},
                    schema=pa.schema([("shard", pa.string()), ("name", pa.string()), ("ipc", pa.binary())]))

    return work


def run_on_spark(study_dir: str | Path, master: str | None = None,
                 progress: Callable[[str], None] | None = None, spark=None, today: dt.date | None = None):
    """(Study, Derived) of the study at ``study_dir``, its shards derived on Spark; ``StudyError``
    listing every problem, as the local engine. ``spark``: a SparkSession to use (else one is started
    with ``master``, ``local[*]`` by default, and stopped at the end)."""
    from cartkit.engine.shards import _problem_frame, gather, kinetic_fraction, shard_folders
    from cartkit.study.plan import read_study_toml
    from cartkit.study.problems import StudyError, errors

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise RuntimeError("--engine spark needs pyspark: pip install 'cartkit[spark]' (and Java 17 or later; "
                           "docs/scale.md)") from exc
    folder = Path(study_dir).resolve()
    config, toml_problems = read_study_toml(folder)
    if errors(toml_problems):
        raise StudyError(toml_problems)
    shards = shard_folders(folder)
    fraction = kinetic_fraction(folder, shards) if shards else 1.0
    paths = [str(s) for s in shards] or [str(folder)]
    today = today or dt.date.today()  # one day of validation for every executor
    say = progress or (lambda _name: None)
    session, started = spark, False
    if session is None:
        say(f"starting Spark ({master or 'local[*]'})")
        session = (SparkSession.builder.master(master or "local[*]").appName("cartkit")
                   .config("spark.ui.enabled", "false").getOrCreate())
        started = True
    try:
        say(f"deriving {len(paths)} shard(s) on Spark")
        shards_df = session.createDataFrame([(p,) for p in paths], "shard string").repartition(len(paths))
        out = shards_df.mapInArrow(shard_batches(str(folder), config, today, fraction), _SCHEMA)
        table = out.toArrow()
    finally:
        if started:
            session.stop()
    parts: dict[str, dict[str, pl.DataFrame]] = {p: {} for p in paths}
    for shard, name, data in zip(table.column("shard").to_pylist(), table.column("name").to_pylist(),
                                 table.column("ipc").to_pylist(), strict=True):
        parts[shard][name] = _frame(data)
    ordered = [parts[p] for p in paths]
    ordered[0]["problems"] = pl.concat([_problem_frame(toml_problems), ordered[0]["problems"]])
    say("gathering the derived tables")
    return gather(folder, config, ordered, fraction, sharded=bool(shards))
