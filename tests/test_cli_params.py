"""cartkit's typer apps coerce str, Path and bool values without pydantic (cli_params.FastGroup): the same
values and the same errors as typer's own coercion, and `cartkit validate` / `cartkit run` no longer import
pydantic (typer 0.29 builds a pydantic TypeAdapter per parameter; issue 16, target 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cartkit.cli_params import FastGroup

ROOT = Path(__file__).resolve().parents[1]


def _app(cls) -> tuple[typer.Typer, list[dict]]:
    app = typer.Typer(cls=cls) if cls else typer.Typer()
    seen: list[dict] = []

    @app.command()
    def one(src: Path = typer.Argument(..., help="a path"),
            out: Path = typer.Option(Path("report"), "--out", "-o"),
            name: str = typer.Option("local", "--name"),
            maybe: Path | None = typer.Option(None, "--maybe"),
            must: Path | None = typer.Option(None, "--must", exists=True, dir_okay=False),
            resolved: Path | None = typer.Option(None, "--resolved", resolve_path=True),
            text: str | None = typer.Option(None, "--text"),
            flag: bool = typer.Option(False, "--flag"),
            n: int = typer.Option(1, "--n", min=1)) -> None:
        seen.append({"src": src, "out": out, "name": name, "maybe": maybe, "must": must, "resolved": resolved,
                     "text": text, "flag": flag, "n": n})

    @app.command()
    def two() -> None:  # a second command: the app is a group, as cartkit's
        seen.append({})

    return app, seen


CASES = [
    ["one", "a"],
    ["one", "a b", "--out", "x/y", "-o", "z", "--name", "spark", "--flag", "--text", ""],
    ["one", "a", "--maybe", "m", "--resolved", "r/../s", "--must", __file__],
    ["one", "a", "--must", "/no/such/file"],          # typer's path check: exit 2 and its message
    ["one", "a", "--must", str(ROOT)],                # a folder where dir_okay=False
    ["one", "a", "--n", "0"],                         # an int keeps typer's (pydantic) coercion
    ["one"],                                          # missing argument
    ["one", "--help"],
    ["two"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(a) or "none" for a in CASES])
def test_same_values_and_errors_as_typer(args):
    runner = CliRunner()
    plain, plain_seen = _app(None)
    fast, fast_seen = _app(FastGroup)
    want, got = runner.invoke(plain, args), runner.invoke(fast, args)
    assert (got.exit_code, got.output) == (want.exit_code, want.output)
    assert fast_seen == plain_seen
    for values in fast_seen:
        assert all(type(v) is type(plain_seen[0][k]) for k, v in values.items())


def test_validate_and_run_do_not_import_pydantic(tmp_path):
    code = ("import atexit, sys; atexit.register(lambda: print('pydantic' in sys.modules)); "
            "from cartkit.cli import app; app()")
    for args in (["validate", "examples/seed-study"], ["run", "examples/seed-study", "--engine", "none"]):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
        assert out.stdout.strip().splitlines()[-1] == "False", out.stdout + out.stderr
