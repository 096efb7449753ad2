"""Time `cartkit run` on the bundled seed study, cold (a fresh interpreter), figures in-process.

Target (issue 16, target 1): under 2.5 s wall on 2 cores and at most 3.5x the baseline of
starting Python and importing polars, numpy and matplotlib.pyplot, the libraries the report
cannot do without. The ratio is what counts: the baseline and the run are timed in the same
round, one after the other, and each round gives one ratio; the result is the median over
the rounds (the machine is shared, so absolute times move by 2x between runs).

The timed run is the default report (SVG figures; PNGs are opt-in since issue 16). Each round
also times `cartkit run --png` (the cost of the PNGs), runs the pipeline once in-process with
the stages timed (imports, load, derive, analyse, report), to say where the time goes, and
times `cartkit --help` (the CLI's imports must stay lazy).

In the same in-process run: the CPU time of each stage, the figures' CPU time by engine (those
drawn by cartkit's own SVG writer, ``FigureSpec.engine == "svg"``, and those still drawn by
matplotlib), and whether the default run imported matplotlib, scipy.stats, scipy.special, scipy.optimize, statsmodels or pandas
at all. Run CPU time minus the figures' is what the rest of the pipeline costs.

Byte code: the interpreter writes and reads cached byte code for cartkit's modules (in a
temporary PYTHONPYCACHEPREFIX, warmed by one untimed run), as an installed package has it; the
project's environment sets PYTHONDONTWRITEBYTECODE, which would make every timed run compile
the cartkit modules it imports (~130) from source (about 0.6 s CPU) while the baseline's libraries load
their installed byte code.

    python benchmarks/bench_run_seed.py [--repeat 3]

Writes benchmarks/results/run_seed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 2.5
TARGET_RATIO = 3.5

STAGES = r"""
import json, sys, time
wall, cpu = [time.perf_counter()], [time.process_time()]
def mark():
    wall.append(time.perf_counter()); cpu.append(time.process_time())
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.report.write import write_report
from cartkit.study.load import load_study
mark(); study = load_study("examples/seed-study")
mark(); derived = derive(study)
mark(); results = analyse(study, derived)
mark(); write_report(results, sys.argv[1])
mark()
names = ("imports", "load", "derive", "analyse", "report")
stages = {k: wall[i + 1] - wall[i] for i, k in enumerate(names)}
stages_cpu = {k: cpu[i + 1] - cpu[i] for i, k in enumerate(names)}
imported = sorted(m for m in ("matplotlib", "scipy.stats", "scipy.special", "scipy.optimize", "statsmodels", "pandas") if m in sys.modules)
from cartkit.report.figures import FIGURES
from cartkit.report.write import _draw_one
figures = {"svg": 0.0, "matplotlib": 0.0}
count = {"svg": 0, "matplotlib": 0}
for spec in FIGURES:  # the figures again, one by one, as write_report draws them (SVG only)
    a = time.process_time(); _draw_one(spec, results); figures[spec.engine] += time.process_time() - a
    count[spec.engine] += 1
print(json.dumps({"stages": stages, "stages_cpu": stages_cpu, "figures_cpu": figures, "figures_count": count,
                  "imported_by_the_run": imported}))
"""

BASELINE = "import polars, numpy, matplotlib.pyplot"
BASELINE_CPU = "import time; t = time.process_time(); " + BASELINE + "; print(time.process_time() - t)"
# what importing matplotlib adds to a process that has polars and numpy (a run whose figures are all
# drawn by cartkit's own writer does not import it)
MATPLOTLIB_CPU = ("import time, polars, numpy; t = time.process_time(); import matplotlib.pyplot; "
                  "print(time.process_time() - t)")


PYCACHE = Path(tempfile.mkdtemp(prefix="cartkit-bench-pycache-"))


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), "MPLBACKEND": "Agg",
           "PYTHONPYCACHEPREFIX": str(PYCACHE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # see the module docstring: byte code as an installed package
    return env


def _wall(cmd: list[str]) -> float:
    return _timed(cmd)[0]


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one fresh process running ``cmd``.

    The CPU time is what the process itself used, so it moves much less than the wall time
    when the shared machine is busy; the ratio of CPU times says what the wall-time ratio
    would be on a quiet machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=_env())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cartkit-bench-"))
    rounds = []
    try:
        # untimed: writes cartkit's byte code (and warms the OS file cache for both sides)
        subprocess.run([sys.executable, "-m", "cartkit.cli", "run", "examples/seed-study", "--png", "--out",
                        str(tmp / "warm-up")], check=True, capture_output=True, cwd=ROOT, env=_env())
        subprocess.run([sys.executable, "-c", BASELINE], check=True, capture_output=True, cwd=ROOT, env=_env())
        for i in range(args.repeat):
            baseline, baseline_cpu = _timed([sys.executable, "-c", BASELINE])
            run, run_cpu = _timed([sys.executable, "-m", "cartkit.cli", "run", "examples/seed-study",
                                   "--out", str(tmp / f"report-{i}")])
            baseline_after, baseline_after_cpu = _timed([sys.executable, "-c", BASELINE])
            run_png, run_png_cpu = _timed([sys.executable, "-m", "cartkit.cli", "run", "examples/seed-study",
                                           "--png", "--out", str(tmp / f"report-png-{i}")])
            help_ = _wall([sys.executable, "-m", "cartkit.cli", "--help"])
            base_cpu = subprocess.run([sys.executable, "-c", BASELINE_CPU], check=True, capture_output=True,
                                      text=True, cwd=ROOT, env=_env())
            staged = subprocess.run([sys.executable, "-c", STAGES, str(tmp / f"staged-{i}")], check=True,
                                    capture_output=True, text=True, cwd=ROOT, env=_env())
            inproc = json.loads(staged.stdout.strip().splitlines()[-1])
            mpl_cpu = float(subprocess.run([sys.executable, "-c", MATPLOTLIB_CPU], check=True, capture_output=True,
                                           text=True, cwd=ROOT, env=_env()).stdout)
            rest = run_cpu - sum(inproc["figures_cpu"].values())
            rest_no_mpl = rest - (mpl_cpu if "matplotlib" in inproc["imported_by_the_run"] else 0.0)
            base = (baseline + baseline_after) / 2  # one before, one after the run: load drifts
            base_cpu_s = (baseline_cpu + baseline_after_cpu) / 2
            rounds.append({"baseline_import_seconds": round(base, 3), "cartkit_run_seed_seconds": round(run, 3),
                           "run_over_baseline_ratio": round(run / base, 2),
                           "baseline_process_cpu_seconds": round(base_cpu_s, 3),
                           "cartkit_run_seed_cpu_seconds": round(run_cpu, 3),
                           "run_over_baseline_cpu_ratio": round(run_cpu / base_cpu_s, 2),
                           "cartkit_run_seed_png_seconds": round(run_png, 3),
                           "run_png_over_baseline_ratio": round(run_png / base, 2),
                           "cartkit_run_seed_png_cpu_seconds": round(run_png_cpu, 3),
                           "run_png_over_baseline_cpu_ratio": round(run_png_cpu / base_cpu_s, 2),
                           "cartkit_help_seconds": round(help_, 3),
                           "stages_seconds": {k: round(v, 3) for k, v in inproc["stages"].items()},
                           "stages_cpu_seconds": {k: round(v, 3) for k, v in inproc["stages_cpu"].items()},
                           "baseline_import_cpu_seconds": round(float(base_cpu.stdout), 3),
                           "figures_cpu_seconds": {k: round(v, 3) for k, v in inproc["figures_cpu"].items()},
                           "figures_count": inproc["figures_count"],
                           "imported_by_the_run": inproc["imported_by_the_run"],
                           "matplotlib_import_cpu_seconds": round(mpl_cpu, 3),
                           "run_cpu_without_figures_seconds": round(rest, 3),
                           "run_without_figures_over_baseline_cpu_ratio": round(rest / base_cpu_s, 2),
                           "run_cpu_without_figures_or_matplotlib_seconds": round(rest_no_mpl, 3),
                           "run_without_figures_or_matplotlib_over_baseline_cpu_ratio": round(
                               rest_no_mpl / base_cpu_s, 2)})
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(PYCACHE, ignore_errors=True)

    def med(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    run_s, ratio = med("cartkit_run_seed_seconds"), med("run_over_baseline_ratio")
    result = {
        "target": f"seed report cold, in-process figures: < {TARGET_SECONDS} s wall and <= {TARGET_RATIO}x baseline",
        "cartkit_run_seed_seconds_median": run_s,
        "baseline_import_seconds_median": med("baseline_import_seconds"),
        "run_over_baseline_ratio_median": ratio,
        "baseline_process_cpu_seconds_median": med("baseline_process_cpu_seconds"),
        "cartkit_run_seed_cpu_seconds_median": med("cartkit_run_seed_cpu_seconds"),
        "run_over_baseline_cpu_ratio_median": med("run_over_baseline_cpu_ratio"),
        "cartkit_run_seed_png_seconds_median": med("cartkit_run_seed_png_seconds"),
        "run_png_over_baseline_ratio_median": med("run_png_over_baseline_ratio"),
        "cartkit_run_seed_png_cpu_seconds_median": med("cartkit_run_seed_png_cpu_seconds"),
        "run_png_over_baseline_cpu_ratio_median": med("run_png_over_baseline_cpu_ratio"),
        "cartkit_help_seconds_median": med("cartkit_help_seconds"),
        "stages_seconds_median": {k: round(statistics.median(r["stages_seconds"][k] for r in rounds), 3)
                                  for k in rounds[0]["stages_seconds"]},
        "stages_cpu_seconds_median": {k: round(statistics.median(r["stages_cpu_seconds"][k] for r in rounds), 3)
                                      for k in rounds[0]["stages_cpu_seconds"]},
        "baseline_import_cpu_seconds_median": med("baseline_import_cpu_seconds"),
        "figures_cpu_seconds_median": {k: round(statistics.median(r["figures_cpu_seconds"][k] for r in rounds), 3)
                                       for k in rounds[0]["figures_cpu_seconds"]},
        "figures_count": rounds[0]["figures_count"],
        "run_cpu_without_figures_seconds_median": med("run_cpu_without_figures_seconds"),
        "run_without_figures_over_baseline_cpu_ratio_median": med("run_without_figures_over_baseline_cpu_ratio"),
        "matplotlib_import_cpu_seconds_median": med("matplotlib_import_cpu_seconds"),
        "run_cpu_without_figures_or_matplotlib_seconds_median": med("run_cpu_without_figures_or_matplotlib_seconds"),
        "run_without_figures_or_matplotlib_over_baseline_cpu_ratio_median": med(
            "run_without_figures_or_matplotlib_over_baseline_cpu_ratio"),
        "imported_by_the_run": rounds[0]["imported_by_the_run"],
        "figures_note": "figures_cpu_seconds: CPU time of drawing the figures again in-process, by engine "
                        "(svg: cartkit's own writer; matplotlib: not yet ported); run_cpu_without_figures: "
                        "the default run's CPU time minus all of them; ..._or_matplotlib: minus matplotlib's import "
                        "too where the run imported it (what the run would cost with every figure ported, "
                        "before the ported figures' own few hundredths of a second)",
        "seconds_target_met": run_s < TARGET_SECONDS,
        "ratio_target_met": ratio <= TARGET_RATIO,
        "cpu_ratio_target_met": med("run_over_baseline_cpu_ratio") <= TARGET_RATIO,
        "rounds": rounds,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "run_seed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=2))


if __name__ == "__main__":
    main()
