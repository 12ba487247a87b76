"""Files that commands write where the user points them (`--out`, `--output`)."""

from __future__ import annotations

from pathlib import Path

from assay.errors import UsageError


def write_output(path: Path, text: str, option: str = "--out") -> None:
    """Write `text` to `path`, creating its parent folders.

    Raises UsageError naming `option` and the path when the path is a folder
    or cannot be written, so the user sees one line instead of a traceback.
    """
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name inside it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write: {exc.strerror}") from exc
