"""CPU time of drawing and writing the seed report's figures, per figure kind: before and after the port
to cartkit's own SVG writer (issue 16, target 1: the figures well under 0.5 s CPU in all).

Each round runs two fresh processes, one on this tree's code and one on a "before" revision (default:
the commit before the first port, extracted with ``git archive`` into a temporary folder), alternating. Each
process loads and analyses the seed study (not timed), then for every figure of the registry times
``cartkit.report.write._draw_one`` (draw, SVG text; the imports a figure pulls in, matplotlib's
among them, count for the first figure that needs them) plus writing the SVG file, by
``time.process_time``. With ``--png`` the PNGs are timed too. Medians over the rounds go to
``results/figures.json``.

    python benchmarks/bench_figures.py [--before REV] [--rounds 3] [--png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "c2f0c57"  # main before the first figure was ported (all eleven figures by matplotlib)


def worker(png: bool) -> None:
    from cartkit import load_study
    from cartkit.analysis import analyse
    from cartkit.derive import derive
    from cartkit.report.figures import FIGURES
    from cartkit.report.write import _draw_one

    study = load_study(ROOT / "examples" / "seed-study")
    results = analyse(study, derive(study))
    out = Path(tempfile.mkdtemp(prefix="bench-figures-"))
    cpu: dict[str, float] = {}
    engine: dict[str, str] = {}
    size: dict[str, int] = {}
    start = time.process_time()
    for spec in FIGURES:
        t0 = time.process_time()
        fid, drawn = _draw_one(spec, results, png)
        if not isinstance(drawn, str):
            png_data, svg = drawn
            (out / f"{fid}.svg").write_text(svg, encoding="utf-8")
            if png_data is not None:
                (out / f"{fid}.png").write_bytes(png_data)
            size[fid] = len(svg)
        cpu[fid] = time.process_time() - t0
        engine[fid] = getattr(spec, "engine", "matplotlib")
    total = time.process_time() - start
    print(json.dumps({"cpu": cpu, "engine": engine, "svg_chars": size, "total": total,
                      "matplotlib_imported": "matplotlib" in sys.modules}))


def run(src: Path, png: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker"] + (["--png"] if png else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", default=BEFORE)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--png", action="store_true")
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.png)
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-figures-before-"))
    tree = tmp / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before, "src"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    try:
        rounds: dict[str, list[dict]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            rounds["before"].append(run(tree / "src", args.png))
            rounds["after"].append(run(ROOT / "src", args.png))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    doc: dict = {"what": "CPU seconds (time.process_time) to draw each figure of the seed report and write its "
                         "SVG" + (" and PNG" if args.png else "") + ", in one process after the analysis; "
                         f"medians of {args.rounds} rounds, before and after alternating in fresh processes",
                 "before": args.before, "after": head, "load_average": os.getloadavg(), "png": args.png,
                 "figures": {}}
    ids = list(rounds["after"][0]["cpu"])
    for fid in ids:
        b = statistics.median(r["cpu"].get(fid, 0.0) for r in rounds["before"])
        a = statistics.median(r["cpu"][fid] for r in rounds["after"])
        doc["figures"][fid] = {"engine": rounds["after"][0]["engine"][fid], "before_s": round(b, 4),
                               "after_s": round(a, 4), "svg_chars_before": rounds["before"][0]["svg_chars"].get(fid),
                               "svg_chars_after": rounds["after"][0]["svg_chars"].get(fid)}
    tb = statistics.median(r["total"] for r in rounds["before"])
    ta = statistics.median(r["total"] for r in rounds["after"])
    ported = [f for f in ids if doc["figures"][f]["engine"] == "svg"]
    doc["total"] = {"before_s": round(tb, 3), "after_s": round(ta, 3), "ratio_before_over_after": round(tb / ta, 2),
                    "rounds_before": [round(r["total"], 3) for r in rounds["before"]],
                    "rounds_after": [round(r["total"], 3) for r in rounds["after"]]}
    doc["ported"] = {"figures": ported,
                     "before_s": round(sum(doc["figures"][f]["before_s"] for f in ported), 4),
                     "after_s": round(sum(doc["figures"][f]["after_s"] for f in ported), 4)}
    doc["matplotlib_imported_after"] = rounds["after"][0]["matplotlib_imported"]
    out = ROOT / "benchmarks" / "results" / ("figures_png.json" if args.png else "figures.json")
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(doc["total"]), json.dumps(doc["ported"]))
    for fid, row in doc["figures"].items():
        print(f"{fid:24s} {row['engine']:10s} before {row['before_s']:.3f} s  after {row['after_s']:.3f} s")


if __name__ == "__main__":
    main()
