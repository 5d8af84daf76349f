"""Writing output files without ever damaging what is already there.

One helper for every command that writes a file (``runs export``, ``sweep export``, reports,
figures), so they all follow the same rules:

- ``--out DIR/`` (ending in a separator) or an existing directory names a directory: the file
  gets its default name inside it, and missing directories are created. Anything else names
  the file itself.
- Only a *regular* file is ever replaced, and only when the user asked for it (``--force``).
  A directory, a device (``/dev/null``), a FIFO, a socket or a symbolic link is never replaced.
- A new file gets the mode the umask gives any new file (``0666 & ~umask``), not ``0600``.
- The content goes to an unnamed file (Linux ``O_TMPFILE``) that is linked into place only when
  complete: a killed writer (even by SIGKILL) leaves nothing behind, and a reader never sees a
  half-written file. Where the filesystem has no ``O_TMPFILE``, a hidden ``.NAME.*.part`` file
  is used instead and removed on every error (only a SIGKILL can leave one there).

Every failure is a :class:`~theoryscope.errors.ConfigError` naming the option (one line).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from theoryscope.errors import ConfigError

__all__ = ["check_target", "output_path", "write_output"]

#: the modes a new file gets before the umask (what ``open(path, "w")`` does)
_NEW_FILE_MODE = 0o666


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def output_path(raw: str | os.PathLike[str], default_name: str, *, option: str = "out") -> Path:
    """The file that ``raw`` names: ``raw/default_name`` when ``raw`` ends in a separator or is
    an existing directory, else ``raw`` itself."""
    text = os.fspath(raw)
    if not text.strip():
        raise ConfigError(option, "is empty; allowed: a file or directory path")
    if "\x00" in text:
        raise ConfigError(option, f"got {text!r} (a NUL byte); allowed: a file or directory path")
    seps = (os.sep, os.altsep) if os.altsep else (os.sep,)
    if text.endswith(seps) or os.path.isdir(text):
        return Path(text) / default_name
    return Path(text)


def check_target(path: str | os.PathLike[str], *, option: str = "out", force: bool = False) -> None:
    """Raise ConfigError unless ``path`` may be written: it does not exist, or it is a regular
    file and ``force`` is set. Nothing but a regular file is ever replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise ConfigError(
            option, f"{path}: a parent is a file, not a directory; allowed: a path in a directory"
        ) from None
    except OSError as err:
        raise ConfigError(option, f"cannot use {path}: {_reason(err)}") from None
    if stat.S_ISREG(st.st_mode):
        if force:
            return
        raise ConfigError(
            option,
            f"{path} exists; allowed: a new file name, a directory, or --force to replace it",
        )
    raise ConfigError(
        option,
        f"{path} exists and is {_kind(st.st_mode)}; allowed: a new file name or a directory "
        "(only a regular file is ever replaced)",
    )


def _make_dirs(directory: Path, option: str) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(
            option, f"{directory} is a file, not a directory; allowed: a path in a directory"
        ) from None
    except NotADirectoryError:
        raise ConfigError(
            option, f"{directory}: a parent is a file, not a directory; allowed: a directory path"
        ) from None
    except OSError as err:
        raise ConfigError(
            option, f"cannot create the directory {directory}: {_reason(err)}"
        ) from None


def ensure_directory(directory: str | os.PathLike[str], *, option: str = "out") -> Path:
    """Create ``directory`` if needed and make sure files can be written in it, before any work
    starts (a run checks where its figure will go before it runs and is stored)."""
    path = Path(directory)
    if "\x00" in os.fspath(path):
        raise ConfigError(option, "has a NUL byte; allowed: a directory path")
    _make_dirs(path, option)
    if not path.is_dir():
        raise ConfigError(option, f"{path} is not a directory; allowed: a directory path")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(option, f"cannot write in {path} (permission denied); allowed: a "
                          "directory you can write in")  # fmt: skip
    return path


def _open_unnamed(directory: Path) -> int | None:
    """An O_TMPFILE descriptor in ``directory``, or None where the system has none."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, _NEW_FILE_MODE)
    except OSError as err:
        if err.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return None  # a filesystem without O_TMPFILE
        raise


def _link_fd(fd: int, target: Path) -> None:
    """Give the unnamed file ``fd`` the name ``target`` (fails with FileExistsError if taken)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # linkat(..., AT_SYMLINK_FOLLOW): plain link() would link the /proc symlink itself
        os.link(str(fd), target, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def _hidden_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")


def _write_fd(fd: int, write: Callable[[BinaryIO], object]) -> None:
    with os.fdopen(fd, "wb", closefd=False) as fh:
        write(fh)
        fh.flush()
    os.fsync(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _replace(tmp: Path, target: Path, option: str) -> None:
    """Rename ``tmp`` over ``target`` if that is still a regular file (or absent)."""
    check_target(target, option=option, force=True)
    os.replace(tmp, target)


def _write_unnamed(
    target: Path, write: Callable[[BinaryIO], object], force: bool, option: str
) -> bool:
    """Write through an O_TMPFILE; False where the system cannot (nothing was created then)."""
    fd = _open_unnamed(target.parent)
    if fd is None:
        return False
    try:
        _write_fd(fd, write)
        if not force:
            try:
                _link_fd(fd, target)  # atomic, and refuses a name taken meanwhile
            except FileExistsError:
                raise
            except OSError:
                return False  # /proc linking refused (some sandboxes): use a named file
            return True
        tmp = _hidden_name(target)
        try:
            _link_fd(fd, tmp)
        except OSError:
            return False
        try:
            _replace(tmp, target, option)
        finally:
            _unlink_quietly(tmp)
        return True
    finally:
        os.close(fd)


def _write_named(
    target: Path, write: Callable[[BinaryIO], object], force: bool, option: str
) -> None:
    """Write through a hidden ``.NAME.*.part`` file in the same directory, removed on any error."""
    tmp = _hidden_name(target)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _NEW_FILE_MODE)
        try:
            _write_fd(fd, write)
        finally:
            os.close(fd)
        if force:
            _replace(tmp, target, option)
            return
        try:
            os.link(tmp, target)  # refuses a name taken meanwhile
        except FileExistsError:
            raise
        except OSError:  # a filesystem without hard links
            check_target(target, option=option)
            os.replace(tmp, target)
    finally:
        _unlink_quietly(tmp)


def write_output(
    path: str | os.PathLike[str],
    write: Callable[[BinaryIO], object],
    *,
    option: str = "out",
    force: bool = False,
) -> Path:
    """Write the bytes that ``write(file)`` produces to ``path`` (see the module rules).

    ``write`` may be called a second time (on a fresh file) if the system refuses to link an
    unnamed file, so it must only produce bytes.
    """
    target = Path(path)
    check_target(target, option=option, force=force)
    _make_dirs(target.parent, option)
    try:
        if not _write_unnamed(target, write, force, option):
            _write_named(target, write, force, option)
    except FileExistsError:
        check_target(target, option=option, force=force)  # says what took the name
        raise ConfigError(option, f"{target} appeared while it was written; try again") from None
    except OSError as err:
        raise ConfigError(option, f"cannot write {target}: {_reason(err)}") from None
    return target
