"""How the derive stage is run: in process on a whole study, by patient shards, or on Spark.

Every derivation is a function of one patient's rows (cartkit.derive), so a study split into
patient shards can be loaded, validated and derived shard by shard and the derived tables
gathered for the analysis (``cartkit.engine.shards``); the same shard function runs on Spark
executors (``cartkit.engine.spark``). docs/scale.md describes the sharded layout and both engines.
"""

ENGINES = ("local", "spark")


def derive_study(study_dir, engine: str = "local", master: str | None = None, progress=None):
    """(Study, Derived) of the study folder ``study_dir``: an ordinary folder loaded and derived whole
    (``engine="local"``), a sharded one shard by shard in this process, or either on Spark
    (``engine="spark"``: started here, because the caller asked for it; ``master`` as for
    ``spark-submit``, ``local[*]`` when None). Raises ``StudyError`` listing every problem."""
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is not known: use one of {', '.join(ENGINES)}")
    if engine == "spark":
        from cartkit.engine.spark import run_on_spark

        return run_on_spark(study_dir, master=master, progress=progress)
    from cartkit.engine.shards import is_sharded, run_shards

    if is_sharded(study_dir):
        return run_shards(study_dir, progress=progress)
    from cartkit.derive import derive
    from cartkit.study.load import load_study

    study = load_study(study_dir)
    if progress is not None:
        progress("deriving grades, responses, kinetics and event times")
    return study, derive(study)
