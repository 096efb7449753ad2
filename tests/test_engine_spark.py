"""--engine spark (issue 16, target 4): the same derive on Spark executors in local mode (local[2]),
on the seed and on a 2,000-patient simulated study in shards; every derived table equals the
default engine's. Skipped, with the reason, only where pyspark or Java is missing (.ci/run installs
both: the extra cartkit[spark] and Debian's default-jre-headless)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from cartkit.engine import derive_study

sys.path.insert(0, str(Path(__file__).parent))
from test_engine_shards import assert_same_derived  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'cartkit[spark]')")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (apt-get install default-jre-headless): Spark cannot start")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("cartkit-test")
               .config("spark.ui.enabled", "false").getOrCreate())
    assert pyspark.__version__
    yield session
    session.stop()


def test_spark_engine_derives_the_seed_as_the_default_engine(spark):
    from cartkit.engine.spark import run_on_spark

    folder = ROOT / "examples" / "seed-study"
    study, expected = derive_study(folder)
    gathered, derived = run_on_spark(folder, spark=spark)
    assert_same_derived(expected, derived)
    assert gathered.tables["patients"].equals(study.tables["patients"])


def test_spark_engine_derives_a_sharded_study_as_the_default_engine(spark, tmp_path):
    from cartkit.engine.spark import run_on_spark
    from cartkit.simulate import simulate_study

    folder = simulate_study(tmp_path / "sim", patients=2000, seed=16, shards=4)
    _, expected = derive_study(folder)
    gathered, derived = run_on_spark(folder, spark=spark)
    assert_same_derived(expected, derived)
    assert gathered.tables["patients"].height == 2000
    assert any("4 patient shards" in note for note in gathered.notes)
