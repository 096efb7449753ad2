"""Symbolic links in a study folder: which may be read.

The rule (docs/validation.md): a file of the study folder that is a symbolic
link is read only when it leads to a file inside the study folder (after
resolving every link on the way). A link that leads outside the folder, or
nowhere, is refused with a problem naming the link and its target: the study
folder is the one place the data come from, so that a report can be traced to
it, and copying the folder copies the study. Copy the file into the folder
instead of linking to it.
"""

from __future__ import annotations

import os
from pathlib import Path


def refused_link(path: Path, folder: Path) -> str | None:
    """Why the symbolic link ``path`` (an entry of ``folder``) is not read; None when it is not a
    link or leads to a file inside the folder."""
    if not path.is_symlink():
        return None
    try:
        shown = os.readlink(path)
    except OSError:
        shown = "?"
    try:
        target = path.resolve(strict=True)
        root = folder.resolve(strict=True)
    except (OSError, RuntimeError):  # a broken link, or a loop of links
        return f"symbolic link to '{shown}', which does not exist"
    if not target.is_relative_to(root):
        return (f"symbolic link to '{target}', outside the study folder: not read (copy the file into "
                "the study folder instead of linking to it)")
    if not target.is_file():
        return f"symbolic link to '{shown}', which is not a file"
    return None
