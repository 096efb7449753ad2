"""The report runs in the caller's process: no worker processes, so no hang in unguarded scripts.

Issue 9 item 5: figures drawn by a spawned multiprocessing pool re-ran the caller's script in every
worker; a script without ``if __name__ == "__main__":`` (or one read from standard input) started
workers without end and never finished. Here ``run_study`` is called exactly that way, in a child
Python started in its own process group with a time limit; on overrun the whole group is killed
(so a runaway pool cannot outlive the test) and the test fails.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed-study"
SRC = ROOT / "src" / "cartkit"
LIMIT_S = 300  # in-process the seed report takes seconds (~100 s on a 10-fold loaded machine)

# Three lines, no __main__ guard: what a user pastes into a file or pipes into `python -`.
UNGUARDED = (
    "from cartkit.pipeline import run_study\n"
    "print(run_study({study!r}, {out!r}))\n"
)


def _run_limited(cmd: list[str], stdin_text: str | None, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(stdin_text, timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and every worker it started
        proc.communicate()
        pytest.fail(f"run_study from an unguarded script did not finish within {LIMIT_S} s (hang)")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.skipif(not SEED.exists(), reason="examples/seed-study is not in this checkout")
@pytest.mark.parametrize("how", ["script file", "standard input"])
def test_run_study_from_an_unguarded_script_finishes(tmp_path, how):
    out = tmp_path / "report"
    code = UNGUARDED.format(study=str(SEED), out=str(out))
    if how == "script file":
        script = tmp_path / "unguarded.py"
        script.write_text(code, encoding="utf-8")
        done = _run_limited([sys.executable, str(script)], None, tmp_path)
    else:
        done = _run_limited([sys.executable, "-"], code, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("index.html")
    assert (out / "index.html").is_file() and (out / "results.json").is_file()
    assert sorted(p.name for p in (out / "figures").glob("*.svg"))  # the figures were drawn, in-process


def test_library_code_starts_no_processes():
    """No process or pool API anywhere in the package (the project rule behind item 5)."""
    banned = re.compile(r"^\s*(import|from)\s+(multiprocessing|concurrent\.futures|subprocess)\b"
                        r"|\bos\.(fork|spawn\w*|posix_spawn\w*|system|popen)\s*\(|\bProcessPool", re.M)
    hits = [f"{p.relative_to(ROOT)}:{src[:m.start()].count(chr(10)) + 1}: {m.group(0).strip()}"
            for p in sorted(SRC.rglob("*.py")) for src in [p.read_text(encoding="utf-8")]
            for m in banned.finditer(src)]
    assert hits == []
