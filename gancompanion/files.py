"""Files written so that a reader never sees half of one, and the project folder they belong to."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it onto ``path``.

    The rename is atomic on one file system, so ``path`` is always either the old complete file or the
    new complete one; a failed ``write`` leaves the old file and no temporary behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_write``)."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def atomic_copy(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy ``src`` onto ``dest`` atomically (see ``atomic_write``)."""
    return atomic_write(dest, lambda tmp: shutil.copyfile(src, tmp))


def torch_save(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically (see ``atomic_write``)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def project_root(start: str | os.PathLike | None = None, *, required: bool = True) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working folder) holding ``_toc.yml`` and
    ``notebooks/``; ``None`` (or a FileNotFoundError when ``required``) if there is none."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists() and (folder / "notebooks").is_dir():
            return folder
    if required:
        raise FileNotFoundError(f"no gancompanion project (a folder with _toc.yml and notebooks/) at or above {here}")
    return None


# --- who owns a file: a process that other containers and hosts sharing the folder can judge ------------

def owner() -> dict:
    """This process as other processes sharing the folder see it: host, boot id, PID namespace and PID.

    A PID means something only on the same host, boot and PID namespace; elsewhere an owner is judged by
    its heartbeat (the owner file's modification time), never by whether some process has its PID.
    """
    def read(path, link=False):
        try:
            return os.readlink(path) if link else Path(path).read_text().strip()
        except OSError:
            return ""

    import socket

    return {"host": socket.gethostname(), "boot_id": read("/proc/sys/kernel/random/boot_id"),
            "pid_ns": read("/proc/self/ns/pid", link=True), "pid": os.getpid()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def owner_gone(info: dict, age_s: float, lease_s: float) -> bool:
    """True when the owner ``info`` (from ``owner()``) is certainly gone: on this host, boot and PID namespace
    its PID no longer runs (or the host has rebooted since); anywhere else its heartbeat is older than
    ``lease_s``."""
    me = owner()
    if info.get("host") == me["host"] and me["boot_id"] and info.get("boot_id") and info["boot_id"] != me["boot_id"]:
        return True  # written before this host's last boot
    if all(info.get(k) == me[k] and me[k] for k in ("host", "boot_id", "pid_ns")) and info.get("pid") is not None:
        return not _pid_alive(info["pid"])
    return age_s > lease_s


def read_owner(path: str | os.PathLike) -> tuple[dict, float]:
    """The owner recorded in ``path`` and the age of its heartbeat (s); ``({}, age)`` if unreadable,
    ``({}, inf)`` if absent."""
    import json
    import time

    try:
        age = time.time() - os.stat(path).st_mtime
    except OSError:
        return {}, float("inf")
    try:
        info = json.loads(Path(path).read_text())
        return (info if isinstance(info, dict) else {}), age
    except (OSError, ValueError):
        return {}, age


class LockTimeout(TimeoutError):
    """Another live process held a project lock for longer than we waited."""


class Lock:
    """A lock file created with ``O_EXCL`` (atomic on local disks and on NFS v3+), holding ``owner()`` and a
    heartbeat (its modification time). A holder is taken to be gone only as ``owner_gone`` says: never by
    PID alone across hosts or containers. ``with Lock(path): ...`` waits up to ``timeout_s``.
    """

    lease_s = 60.0  # a holder whose heartbeat is older than this is gone (the locked steps take well under)

    def __init__(self, path: str | os.PathLike, timeout_s: float = 120.0):
        self.path, self.timeout_s, self.text = Path(path), timeout_s, ""

    def __enter__(self):
        import json
        import time
        import uuid

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.text = json.dumps({**owner(), "token": uuid.uuid4().hex})
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder, age = read_owner(self.path)
                if (holder or age > 5) and owner_gone(holder, age, self.lease_s):
                    self._break(holder)
                    continue
                if time.monotonic() > deadline:
                    raise LockTimeout(f"{self.path} is held by {holder.get('host', '?')} pid {holder.get('pid', '?')} "
                                      f"(heartbeat {age:.0f} s ago); wait for that run to finish, or delete the file "
                                      f"if it is certainly gone") from None
                time.sleep(0.05)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(self.text)
            return self

    def _break(self, holder: dict) -> None:
        """Remove a gone holder's lock, unless it changed meanwhile (another waiter broke it first)."""
        stale = self.path.with_name(f"{self.path.name}.{os.getpid()}.stale")
        try:
            os.replace(self.path, stale)
        except FileNotFoundError:
            return
        try:
            current, _ = read_owner(stale)
            if holder and current.get("token") != holder.get("token") and not self.path.exists():
                os.replace(stale, self.path)  # not the lock judged gone (a new holder's): put it back
        finally:
            stale.unlink(missing_ok=True)

    def __exit__(self, *exc):
        try:
            if self.path.read_text() == self.text:
                self.path.unlink()
        except OSError:
            pass
