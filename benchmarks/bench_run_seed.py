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

The figure floor: in the same in-process run, CPU time of drawing the figures (building the
matplotlib artists), of exporting them as SVG as the report does (the constrained-layout
solve, then the SVG draw), and of exporting them with no layout engine at all (the least matplotlib can
do for these figures), beside the CPU time of the baseline's imports. It says how far
matplotlib alone is from the target.

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
t0 = time.perf_counter()
from cartkit.analysis import analyse
from cartkit.derive import derive
from cartkit.report.write import write_report
from cartkit.study.load import load_study
t1 = time.perf_counter(); study = load_study("examples/seed-study")
t2 = time.perf_counter(); derived = derive(study)
t3 = time.perf_counter(); results = analyse(study, derived)
t4 = time.perf_counter(); write_report(results, sys.argv[1])
t5 = time.perf_counter()
stages = {"imports": t1 - t0, "load": t2 - t1, "derive": t3 - t2, "analyse": t4 - t3, "report": t5 - t4}
from cartkit.report.figures import FIGURES
from cartkit.report.style import figure_style, svg_text
cpu = {"draw": 0.0, "svg_export": 0.0, "svg_export_no_layout": 0.0}
for spec in FIGURES:
    with figure_style():
        a = time.process_time(); fig = spec.draw(results); cpu["draw"] += time.process_time() - a
        a = time.process_time(); svg_text(fig, spec.id); cpu["svg_export"] += time.process_time() - a
        fig = spec.draw(results)
        fig.set_layout_engine("none")
        a = time.process_time(); svg_text(fig, spec.id); cpu["svg_export_no_layout"] += time.process_time() - a
print(json.dumps({"stages": stages, "figures_cpu": cpu}))
"""

BASELINE = "import polars, numpy, matplotlib.pyplot"
BASELINE_CPU = "import time; t = time.process_time(); " + BASELINE + "; print(time.process_time() - t)"


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""), "MPLBACKEND": "Agg"}


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
                           "baseline_import_cpu_seconds": round(float(base_cpu.stdout), 3),
                           "figures_cpu_seconds": {k: round(v, 3) for k, v in inproc["figures_cpu"].items()}})
            print(json.dumps(rounds[-1]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

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
        "baseline_import_cpu_seconds_median": med("baseline_import_cpu_seconds"),
        "figures_cpu_seconds_median": {k: round(statistics.median(r["figures_cpu_seconds"][k] for r in rounds), 3)
                                       for k in rounds[0]["figures_cpu_seconds"]},
        "figures_floor_note": "draw + svg_export_no_layout is the least matplotlib can do for these 9 figures "
                              "(no layout solve, one SVG draw); compare with baseline_import_cpu_seconds "
                              "x the target ratio",
        "seconds_target_met": run_s < TARGET_SECONDS,
        "ratio_target_met": ratio <= TARGET_RATIO,
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
