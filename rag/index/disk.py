"""Disk safety for the index folder: one writer at a time, atomic writes, and checksums that catch a
damaged file before it is read."""

from __future__ import annotations

import errno
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xxhash
from filelock import FileLock, Timeout

from rag.types import IndexLockedError, IndexMismatchError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = ".lock"
# What rag itself puts in an index folder; a folder holding anything else is not ours to write into.
_OWN_NAMES = {MANIFEST, LOCK, ".gitkeep"}


class NotAnIndexError(IndexMismatchError):
    """The folder or its manifest belongs to something else: rebuilding must not overwrite it."""


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest at ``root``, or None when there is none; refuses one that is not rag's."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexMismatchError(f"{path} is unreadable ({e}): run `rag index --rebuild`") from e
    if not isinstance(manifest, dict) or "format" not in manifest or "generation" not in manifest:
        raise NotAnIndexError(
            f"{path} is not a rag index manifest: point --index-dir at an empty or new folder, or remove that file"
        )
    return manifest


def check_folder_is_ours(root: Path, rebuild: bool = False) -> None:
    """Refuse to write into a folder that holds files rag did not put there (a typo in --index-dir
    must never turn someone's folder into an index, nor prune it). A garbled manifest among our own
    files is ours to replace when rebuilding."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise IndexMismatchError(f"index path {root} is a file, not a folder: choose another --index-dir")
    if not root.is_dir():
        return
    foreign = sorted(
        p.name
        for p in root.iterdir()
        if p.name not in _OWN_NAMES
        and not (p.is_dir() and p.name.startswith("g-"))
        and not p.name.startswith(f".{MANIFEST}.")
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise NotAnIndexError(
            f"{root} is not a rag index (it holds {shown}): point --index-dir at an empty or new folder"
        )
    try:
        read_manifest(root)
    except NotAnIndexError:
        raise
    except IndexMismatchError:
        if not rebuild:
            raise


@contextmanager
def locked(root: Path, timeout: float) -> Iterator[bool]:
    """Hold ``root/.lock`` (an OS file lock: released by the kernel if this process dies) and yield True;
    yield False, holding nothing, when the folder cannot be written (a read-only mount, another user's
    index): reading needs no lock, and the caller refuses to write."""
    lock = FileLock(str(root / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:  # first: filelock's Timeout is an OSError too
        log.warning("another rag process is updating %s: waiting up to %.0fs for it", root, timeout)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexLockedError(
                f"another rag process is still updating {root} after {timeout:.0f}s: let it finish and retry, "
                "or raise lock_timeout"
            ) from None
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        log.info("%s cannot be written (%s): reading it without the lock", root, e.strerror)
    if not lock.is_locked:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl(path: Path, rows: Any) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fsync_and_sum(folder: Path, skip: set[str] = frozenset()) -> dict[str, dict[str, Any]]:  # type: ignore[assignment]
    """fsync every file of a generation and record its size and checksum for the load-time check;
    ``skip``: files (relative names) whose checksums are carried over from the previous generation."""
    sums = {}
    for p in sorted(folder.rglob("*")):
        name = p.relative_to(folder).as_posix()
        if p.is_file() and name not in skip:
            with p.open("rb") as f:
                os.fsync(f.fileno())
            sums[name] = {"size": p.stat().st_size, "xxh3": file_checksum(p)}
    return sums


def file_checksum(path: Path) -> str:
    """xxh3-128 of a file: it guards against damage, not tampering, and reads at memory speed (a 100k
    index's 700 MB in ~0.1 s here, against ~0.8 s for sha256), so every load can afford it."""
    h = xxhash.xxh3_128()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def check_sums(folder: Path, checksums: dict[str, dict[str, Any]], damaged: str) -> None:
    """Refuse a generation whose files differ from the sizes and checksums recorded when it was written.
    FileNotFoundError goes to the caller: it may be a generation swapped away meanwhile."""
    for name, want in checksums.items():
        path = folder / name
        size = path.stat().st_size
        if size != want["size"] or file_checksum(path) != want["xxh3"]:
            raise IndexMismatchError(f"{damaged} ({name} does not match its checksum): run `rag index --rebuild`")
