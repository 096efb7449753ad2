"""Writing one file so that a reader sees the old file or the new one, never half of one: the content
goes to a temporary file beside the target, which is then renamed into place (``os.replace`` is atomic
within a folder). Whether an existing file may be replaced is the caller's rule, checked before."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(folder: bool = False) -> int:
    """The permissions a plain ``open``/``mkdir`` would give (temporary files are created 0600)."""
    return (0o777 if folder else 0o666) & ~_umask()


def replace_atomically(target: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``target``, give it the permissions of a plain
    new file, and rename it to ``target``; the temporary file is removed if anything fails."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, default_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomically(target: str | Path, text: str) -> Path:
    """``text`` (UTF-8, newlines as given) written to ``target`` by :func:`replace_atomically`."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    return replace_atomically(target, write)
