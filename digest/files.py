"""Writing files so that a reader sees the old bytes or the new ones, never a part.

Every writer of the project (builds, exports, the importer, the web archive)
goes through here: a temporary file beside the target, flushed to disk, then
renamed over it (or linked, when an existing file must never be replaced).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def default_mode() -> int:
    """The permissions a plain `open()` would give a new file (0o666 less the umask).

    Temporary files start as 0o600; outputs are meant to be read by other
    programs (a web server, an upload tool), so they get the usual mode.
    """
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_temp(target: Path, data: bytes, mode: int | None = None) -> str:
    """Write `data` to a new temporary file beside `target`, flushed to disk; returns its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, default_mode() if mode is None else mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False, mode: int | None = None) -> None:
    """Write one file atomically.

    :param exclusive: never replace an existing file (FileExistsError instead).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = write_temp(path, data, mode)
    try:
        if not exclusive:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # fails if `path` exists: an existing file is never replaced
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            if path.exists():
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
