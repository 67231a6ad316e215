"""The converted model, verified before a chapter runs.

The loader (``lab.smollm``) checks the GGUF it converts from; this checks what it converted to. At the
first check the safetensors' sha256 is noted beside them (after a fresh conversion, when no note vouches
for the cache), and every later check compares the file with the note: a file damaged on disk, or
restored from a CI cache, is converted again with a message instead of loading silently.
"""
from __future__ import annotations

import fcntl
import hashlib
import shutil
from pathlib import Path

from ..lab import smollm

WEIGHTS = "model.safetensors"
NOTE = "model.safetensors.sha256"


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verified(convert=smollm.ensure_converted) -> Path:
    """The model cache, its weights matching the sha256 noted at conversion (converted again if not)."""
    target = smollm.cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".smollm2.lock", "w") as lock:  # one conversion at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        weights, note = target / WEIGHTS, target / NOTE
        if weights.exists() and note.exists() and sha256(weights) == note.read_text().strip():
            return target
        if target.exists():
            why = ("does not match the sha256 noted at its conversion" if note.exists() else
                   "has no sha256 noted at conversion") if weights.exists() else f"lacks {WEIGHTS}"
            print(f"the converted model in {target} {why}: converting it again", flush=True)
            shutil.rmtree(target)
        convert()
        note.write_text(sha256(weights) + "\n")
        return target


def noted_sha256() -> str | None:
    """The converted weights' sha256 as noted at conversion (what ``verified`` checked), if noted yet."""
    note = smollm.cache_dir() / NOTE
    return note.read_text().strip() if note.exists() else None
