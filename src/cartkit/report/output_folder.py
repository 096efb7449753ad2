"""Where a report may be written, and how it replaces an earlier one: cartkit deletes or replaces
only what it wrote itself.

A report folder carries a manifest, ``.cartkit-report.json``, listing every file cartkit wrote
there with its size and SHA-256 (and the cartkit version). ``check_output_folder`` decides, before
any analysis, what writing to ``--out`` would do:

* ``new``: the folder does not exist or is empty -- the report is moved into place whole;
* ``replace``: the folder is an earlier cartkit report (a valid manifest, every listed file
  unchanged, nothing else in it) -- the new report replaces it whole, atomically; the old
  files are then deleted one by one from the manifest's list, never recursively;
* ``merge`` (only with ``force``): the folder holds other files -- the report's files are
  written into it, replacing only files with the same names as the report's own outputs;
  anything else stays, including stale files of an earlier report that were changed since.

Any other non-empty folder is refused with one line naming what is in it. An ``--out`` that is,
contains or is inside the study folder (symbolic links resolved), or that holds one of the
study's input files, is refused even with ``force``. docs/output.md states the rule for users.

The same rule, with its own manifest (``FolderKind``), guards the study folder ``cartkit simulate``
writes (``SIMULATED_STUDY``, used by ``cartkit.simulate.folder``) and the ADaM folder ``cartkit adam
export`` writes (``ADAM_EXPORT``, ``.cartkit-adam.json``), the SDTM folder ``cartkit sdtm export`` writes
(``SDTM_EXPORT``, ``.cartkit-sdtm.json``) and the study folder ``cartkit sdtm import`` writes
(``IMPORTED_STUDY``, ``.cartkit-study.json``): only a folder whose manifest is valid and
whose listed files are unchanged is replaced.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cartkit.study.provenance import file_digest

MANIFEST = ".cartkit-report.json"
MANIFEST_FORMAT = 1
# Fixed names of the report's own outputs: with --force, a folder (not a file) of one of these names
# would have to be deleted to write the report, so it is refused before the analysis.
OUTPUT_NAMES = {"index.html": "file", "results.json": "file", MANIFEST: "file", "tables": "folder",
                "figures": "folder"}
# Folder metadata an operating system's file browser writes on its own when a folder is viewed
# (macOS Finder, Windows Explorer). They are not user data: an earlier report that only gained one
# of these is still replaced, and they are deleted with it.
OS_METADATA = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_SHOWN = 3  # foreign files named in a refusal


@dataclass(frozen=True)
class FolderKind:
    """A kind of folder cartkit writes whole and may later replace: its manifest and its wording."""

    manifest: str  # file name of the manifest in the folder
    key: str  # the manifest's JSON key holding MANIFEST_FORMAT
    noun: str  # what such a folder is, in messages ("a cartkit report")
    option: str  # how the user named the folder, in messages ("--out"); "" to show the path alone
    outputs: dict[str, str]  # fixed output names -> "file" | "folder" (checked before a merge)
    force_hint: str | None  # how to write beside foreign files; None: no such option


REPORT = FolderKind(MANIFEST, "cartkit_report", "a cartkit report", "--out", OUTPUT_NAMES,
                    "pass --force to write the report beside")
SIMULATE_MANIFEST = ".cartkit-simulate.json"
SIMULATED_STUDY = FolderKind(SIMULATE_MANIFEST, "cartkit_simulate", "a study simulated by cartkit", "", {}, None)
ADAM_MANIFEST = ".cartkit-adam.json"
# the ADaM datasets of ``cartkit adam export`` (cartkit.interop.adam_export, docs/adam.md)
ADAM_EXPORT = FolderKind(ADAM_MANIFEST, "cartkit_adam", "an ADaM export by cartkit", "", {}, None)
SDTM_MANIFEST = ".cartkit-sdtm.json"
# the SDTM datasets of ``cartkit sdtm export`` (cartkit.interop.sdtm_export, docs/sdtm.md)
SDTM_EXPORT = FolderKind(SDTM_MANIFEST, "cartkit_sdtm", "an SDTM export by cartkit", "", {}, None)
STUDY_MANIFEST = ".cartkit-study.json"
# the study folder ``cartkit sdtm import`` writes (cartkit.interop.sdtm_import, docs/sdtm.md)
IMPORTED_STUDY = FolderKind(STUDY_MANIFEST, "cartkit_study", "a study imported by cartkit", "", {}, None)


class OutputFolderError(ValueError):
    """``--out`` cannot be used: the message is one line saying why and what to do."""


@dataclass(frozen=True)
class Target:
    """What writing the report to ``path`` will do (see the module docstring)."""

    path: Path  # resolved
    mode: str  # "new" | "replace" | "merge"
    # files of an earlier report that are unchanged since cartkit wrote them (relative posix paths)
    ours: frozenset[str] = field(default_factory=frozenset)
    # OS folder metadata beside them (deleted with a replaced report)
    metadata: frozenset[str] = field(default_factory=frozenset)
    # folders the earlier report's manifest lists (removed with it when empty)
    folders: frozenset[str] = field(default_factory=frozenset)
    kind: FolderKind = REPORT


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _safe_relative(name: object, manifest: str = MANIFEST) -> bool:
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and "." not in p.parts and name != manifest


@dataclass(frozen=True)
class Manifest:
    files: dict[str, tuple[int, str]]  # relative posix path -> (bytes, sha256)
    folders: frozenset[str]  # relative posix paths of the folders cartkit made (tables, figures)


def read_manifest(folder: Path, kind: FolderKind = REPORT) -> Manifest | None:
    """What a report folder's manifest (or ``kind``'s) lists; None when it has no valid manifest
    (missing, unreadable, not JSON, another format, or an unsafe path in it)."""
    path = folder / kind.manifest
    if path.is_symlink() or not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get(kind.key) != MANIFEST_FORMAT:
        return None
    files, folders = doc.get("files"), doc.get("folders", [])
    if not isinstance(files, dict) or not isinstance(folders, list):
        return None
    listed: dict[str, tuple[int, str]] = {}
    for name, entry in files.items():
        if not _safe_relative(name, kind.manifest) or not isinstance(entry, dict):
            return None
        size, digest = entry.get("bytes"), entry.get("sha256")
        if not isinstance(size, int) or isinstance(size, bool) or not isinstance(digest, str) or len(digest) != 64:
            return None
        listed[name] = (size, digest)
    if not all(_safe_relative(name, kind.manifest) for name in folders):
        return None
    return Manifest(listed, frozenset(folders))


def manifest_text(folder: Path, version: str, kind: FolderKind = REPORT) -> str:
    """The manifest of the report (or ``kind`` of folder) written in ``folder``: every file in it
    with its size and SHA-256, and every folder."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != kind.manifest):
        size, digest = file_digest(path)
        files[path.relative_to(folder).as_posix()] = {"bytes": size, "sha256": digest}
    folders = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())
    doc = {kind.key: MANIFEST_FORMAT, "generator": f"cartkit {version}",
           "note": "Files cartkit wrote here. cartkit replaces this folder only while it holds "
                   "nothing but these files, unchanged; see docs/output.md.",
           "files": files, "folders": folders}
    return json.dumps(doc, indent=1)


def _entries(folder: Path) -> tuple[list[str], list[str]]:
    """(files and symbolic links, empty folders) under ``folder``, as relative posix paths.
    Symbolic links are entries, never followed."""
    files: list[str] = []
    empty: list[str] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        rel = Path(root).relative_to(folder)
        links = [d for d in dirs if (Path(root) / d).is_symlink()]
        dirs[:] = [d for d in dirs if d not in links]
        files += [(rel / n).as_posix() for n in names + links]
        if not names and not dirs and not links and Path(root) != folder:
            empty.append(rel.as_posix())
    return files, empty


def _unchanged(folder: Path, name: str, size: int, digest: str) -> bool:
    path = folder / name
    if path.is_symlink() or not path.is_file():
        return False
    try:
        return path.stat().st_size == size and file_digest(path) == (size, digest)
    except OSError:
        return False


def _listing(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


@contextmanager
def _one_swap_at_a_time(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder that holds ``path`` (``flock`` on the directory itself, so
    no lock file is left behind), so that concurrent runs into one folder, in threads or processes,
    never look at it halfway through another run's swap. Where the file system has no such lock the
    retries in ``install`` are the only guard."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    base = _nearest_existing(path.parent)
    try:
        fd = os.open(base, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks on this file system
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def check_output_folder(out: str | Path, *, study_folder: str | Path | None = None,
                        inputs: Iterable[str | Path] = (), force: bool = False,
                        kind: FolderKind = REPORT) -> Target:
    """Decide what writing a report (or ``kind`` of folder) to ``out`` would do, or raise
    ``OutputFolderError`` (see ``_check``); never while another run swaps a report into place."""
    with _one_swap_at_a_time(Path(out).expanduser().resolve()):
        return _check(out, study_folder=study_folder, inputs=inputs, force=force, kind=kind)


def _check(out: str | Path, *, study_folder: str | Path | None = None,
           inputs: Iterable[str | Path] = (), force: bool = False,
           kind: FolderKind = REPORT) -> Target:
    """Decide what writing a report (or ``kind`` of folder) to ``out`` would do, or raise
    ``OutputFolderError``.

    ``study_folder`` and ``inputs`` (the study's input files) are protected: ``out`` may not be,
    contain or be inside the study folder, nor contain an input file (symbolic links resolved),
    whatever ``force`` says. ``force`` allows a non-empty folder that is not an unchanged cartkit
    report; the report is then written beside what is there (mode ``merge``); a ``kind`` without a
    ``force_hint`` has no such mode.
    """
    if force and kind.force_hint is None:
        raise ValueError(f"force: {kind.noun} is never written beside other files")
    given = Path(out)
    where = f"{kind.option} {given}" if kind.option else str(given)
    path = given.expanduser().resolve()
    if study_folder is not None:
        study = Path(study_folder).expanduser().resolve()
        if path == study:
            raise OutputFolderError(f"{where} is the study folder; write the report elsewhere")
        if _inside(path, study):
            raise OutputFolderError(f"{where} is inside the study folder {study_folder}; "
                                    "write the report outside it")
        if _inside(study, path):
            raise OutputFolderError(f"{where} contains the study folder {study_folder}; "
                                    "write the report to a folder of its own")
    for item in inputs:
        source = Path(item).resolve()
        if _inside(source, path):
            raise OutputFolderError(f"{where} holds the study's input file {item}; "
                                    "write the report elsewhere")
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"{where} exists and is not a folder")
    if not path.exists():
        base = _nearest_existing(path.parent)
        if not base.is_dir():
            raise OutputFolderError(f"{where}: {base} is a file, not a folder")
        if not os.access(base, os.W_OK | os.X_OK):
            raise OutputFolderError(f"{where}: no permission to create a folder in {base}")
        return Target(path, "new")
    if not os.access(path.parent, os.W_OK | os.X_OK) or not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise OutputFolderError(f"{where}: no permission to replace it")
    listed = read_manifest(path, kind)
    if listed is None:
        # not a report: only the first few entries are looked at (--out may be a large folder)
        top = sorted(p.name + ("/" if p.is_dir() and not p.is_symlink() else "")
                     for _, p in zip(range(_SHOWN + 1), path.iterdir(), strict=False))
        if not top:
            return Target(path, "new")
        if not force:
            shown = ", ".join(top[:_SHOWN]) + (" ..." if len(top) > _SHOWN else "")
            raise OutputFolderError(
                f"{where} is not empty and is not {kind.noun} (no valid {kind.manifest}; it holds "
                f"{shown}); choose an empty or new folder" + _beside(kind, "these files"))
        ours: set[str] = set()
        folders: frozenset[str] = frozenset()
    else:
        files, empty = _entries(path)
        ours = {n for n, (size, digest) in listed.files.items() if _unchanged(path, n, size, digest)}
        folders = listed.folders
        metadata = {n for n in files if PurePosixPath(n).name in OS_METADATA}
        foreign = [n for n in files if n not in ours and n not in metadata and n != kind.manifest] + \
            [n + "/" for n in empty if n not in folders]
        if not foreign:
            return Target(path, "replace", frozenset(ours), frozenset(metadata), folders, kind)
        if not force:
            raise OutputFolderError(
                f"{where} is {kind.noun} that now also holds files cartkit did not write or that "
                f"changed since ({_listing(foreign)}); move them out" + _beside(kind, "them"))
    for name, what in kind.outputs.items():
        p = path / name
        wrong = p.is_symlink() or (p.exists() and (p.is_dir() if what == "file" else not p.is_dir()))
        if wrong:
            raise OutputFolderError(f"{where}: {name} there is not a {what} cartkit can replace "
                                    "(a link or the wrong kind); move it out first")
    return Target(path, "merge", frozenset(ours), folders=folders, kind=kind)


def _beside(kind: FolderKind, them: str) -> str:
    """The end of a refusal: how to write beside foreign files, where the kind allows it."""
    if kind.force_hint is None:
        return f"; cartkit replaces only a folder holding nothing but what it wrote there ({kind.manifest})"
    return f", or {kind.force_hint} {them} (same-named files are replaced, nothing else is deleted)"


def _remove_listed(folder: Path, names: Iterable[str], folders: Iterable[str] = ()) -> None:
    """Delete the named files of ``folder``, then the folders left empty (those holding the files
    and those named), then ``folder`` itself if empty. Nothing else is touched: a file not named
    stays, and so do the folders holding it."""
    names = list(names)
    for name in names:
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass
    subs = {p for n in names for p in PurePosixPath(n).parents if str(p) != "."}
    subs |= {PurePosixPath(f) for f in folders}
    for sub in sorted(subs, key=lambda p: len(p.parts), reverse=True):
        try:
            (folder / sub).rmdir()
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass


def _move_into(tmp: Path, target: Target) -> None:
    """--force: move each file of the new report into the folder (same-named files replaced), the
    report's pages last and the manifest at the very end; stale unchanged files of an earlier
    report are deleted. Each file is replaced atomically; the folder as a whole is not."""
    out = target.path
    written = [p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()]
    last = {"results.json": 1, "index.html": 2, target.kind.manifest: 3}
    for name in sorted(written, key=lambda n: (last.get(n, 0), n)):
        dest = out / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_dir() and not dest.is_symlink():
            raise OutputFolderError(f"--out {out}: {name} there is a folder; move it out first")
        os.replace(tmp / name, dest)
    stale = sorted(target.ours - set(written))
    for name in stale:
        (out / name).unlink(missing_ok=True)
    for sub in sorted((p for p in tmp.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        sub.rmdir()
    tmp.rmdir()


def install(tmp: Path, out: str | Path, *, study_folder: str | Path | None = None,
            inputs: Iterable[str | Path] = (), force: bool = False, kind: FolderKind = REPORT) -> Path:
    """Move the finished report (or ``kind`` of folder) in ``tmp`` (a sibling of ``out``) into
    place by ``out``'s rule.

    The folder is checked again here, just before the move, so that a file added while the
    analysis ran is not lost. With ``new`` and ``replace`` the report appears whole in one rename
    (an interrupted or concurrent run leaves the old report or the other run's whole report).
    """
    inputs = tuple(inputs)
    with _one_swap_at_a_time(Path(out).expanduser().resolve()):
        return _install(tmp, out, study_folder, inputs, force, kind)


def _install(tmp: Path, out: str | Path, study_folder: str | Path | None, inputs: tuple,
             force: bool, kind: FolderKind) -> Path:
    for _attempt in range(5):
        target = _check(out, study_folder=study_folder, inputs=inputs, force=force, kind=kind)
        path = target.path
        try:
            if target.mode == "new":
                os.rename(tmp, path)  # replaces an empty folder; fails if one appeared meanwhile
                return path
            if target.mode == "merge":
                _move_into(tmp, target)
                return path
            stamp = tmp.name.rsplit("-", 1)[-1]
            old = path.parent / f".{path.name}.old-{stamp}"
            os.rename(path, old)
            try:
                os.rename(tmp, path)
                placed = True
            except OSError:
                if not path.exists():
                    os.rename(old, path)  # put the old report back
                    raise
                placed = False  # another run put its whole report here meanwhile: replace it next try
            _remove_listed(old, sorted(target.ours | target.metadata | {kind.manifest}), target.folders)
            if old.exists():  # a file appeared in the old report during the swap: keep it in sight
                os.rename(old, path.parent / f"{path.name}.kept-{stamp}")
            if placed:
                return path
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                raise
    where = f"{kind.option} {out}" if kind.option else str(out)
    raise OutputFolderError(f"{where}: other runs kept changing the folder; try again")
