"""The main job: ``report(analyse(derive(load(DIR))))``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def run_study(study_dir: str | Path, out: str | Path, progress: Callable[[str], None] | None = None,
              force: bool = False, spss: bool = False, engine: str = "local", master: str | None = None,
              png: bool = False) -> Path:
    """Run the whole analysis of a study folder and write the report; returns OUT/index.html.

    ``out`` is checked first, before the study is loaded: a folder the report may not be written
    to raises ``cartkit.report.output_folder.OutputFolderError`` (a ValueError) at once.
    ``force`` writes the report into a non-empty folder beside what is there (docs/output.md).
    ``spss`` also writes the derived per-episode tables as OUT/spss/*.sav (docs/template.md).
    A sharded study folder is loaded, validated and derived shard by shard; ``engine="spark"`` runs
    that on Spark (``master``), started only then (cartkit.engine, docs/scale.md).
    ``png`` also writes every figure as a 200-dpi OUT/figures/<id>.png beside its SVG (docs/output.md).
    """
    from cartkit.analysis import analyse
    from cartkit.engine import derive_study
    from cartkit.report.output_folder import check_output_folder
    from cartkit.report.write import write_report

    check_output_folder(out, study_folder=study_dir, force=force)
    say = progress or (lambda _name: None)
    say("loading and validating the study")
    study, derived = derive_study(study_dir, engine=engine, master=master, progress=say)
    # an input table linked from elsewhere may not be inside --out either; still before the analysis
    check_output_folder(out, study_folder=study_dir, inputs=[f.path for f in study.inputs], force=force)
    say("running the analysis plan")
    results = analyse(study, derived)
    say("writing the report")
    spss_tables = None
    if spss:
        from cartkit.interop.spss import episode_tables

        spss_tables = episode_tables(study, derived)
    # the report reads only the results: the study's tables and the derived ones (at registry size most of the
    # memory, docs/scale.md) go before it is written
    del study, derived
    return Path(write_report(results, out, progress=say, force=force, spss_tables=spss_tables,
                             png=png)) / "index.html"
