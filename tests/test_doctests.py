"""The docstring examples run with the tests, and every module of the package can be collected.

`pytest` (the README's test command, which .ci/run calls) runs with ``--doctest-modules`` on the
cartkit package (pyproject.toml); these tests check that the examples are collected from the
package the tests import, that none is skipped, and that importing every module has no side effect.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import cartkit

PACKAGE = Path(cartkit.__file__).parent
ROOT = Path(__file__).resolve().parents[1]


def _files_with_examples() -> set[str]:
    """The package's files (relative to it, '/'-separated) whose docstrings hold an example."""
    return {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
            if ">>>" in path.read_text(encoding="utf-8")}


def test_pytest_config_runs_the_docstring_examples_of_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in config["addopts"].split()
    assert "cartkit" in config["testpaths"] and "tests" in config["testpaths"]
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "cartkit"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    wanted = _files_with_examples()
    assert len(wanted) >= 25
    missing = {f for f in wanted if not any(c == f or c.endswith("/" + f) for c in collected)}
    assert not missing, (missing, sorted(collected))


def test_no_docstring_example_is_skipped():
    skipped = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
               if "doctest: +SKIP" in p.read_text(encoding="utf-8")]
    assert skipped == []


def test_every_module_imports_without_side_effects(tmp_path):
    """Importing each module (as doctest collection does) writes nothing and needs no optional package."""
    names = [m.name for m in pkgutil.walk_packages([str(PACKAGE)], prefix="cartkit.")]
    assert len(names) > 100
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "print(len(sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    work = tmp_path / "cwd"
    work.mkdir()
    done = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning, no print at import
    assert list(work.iterdir()) == []


def test_ci_runs_the_readme_test_command():
    """README's test command is what .ci/run runs; with the pytest config it includes the doctests."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.strip() for b in readme.split("```bash")[1:3]]
    test_command = blocks[1].split("```")[0].strip()
    assert test_command == 'pip install ".[test,spark]" && ruff check . && pytest'
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert ci[-1] == test_command
