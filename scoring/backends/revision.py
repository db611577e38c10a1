"""A model directory's revision: sha256 over its files (DESIGN 6.1). Plain hashlib."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

BLOCK = 1 << 20


def directory_revision(path: str | os.PathLike) -> str:
    """sha256 over every file under ``path`` (symlinks followed, as in a Hugging Face cache
    snapshot), in sorted relative-path order: for each, its path, its size and its content's
    sha256. Any added, removed, renamed or changed file changes the revision.

    Raises FileNotFoundError for a missing directory or one without files.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    if not files:
        raise FileNotFoundError(f"{root} holds no files")
    digest = hashlib.sha256()
    for name in files:
        content = hashlib.sha256()
        size = 0
        with open(root / name, "rb") as fh:
            while block := fh.read(BLOCK):
                content.update(block)
                size += len(block)
        digest.update(f"{name}\0{size}\0{content.hexdigest()}\n".encode())
    return digest.hexdigest()
