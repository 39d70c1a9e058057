"""Small disks for fault tests: a child process in a mount namespace of its own (nothing
outside sees its mounts), where a tmpfs can be mounted small (a full disk) or read-only."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def mount_unavailable_reason(where: Path) -> str | None:
    """None if a private tmpfs can be mounted at ``where``, else why not (a skip reason)."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return "needs Linux with unshare(1)"
    probe = subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c",
         f"mount -t tmpfs -o size=64k tmpfs {shlex.quote(str(where))}"],
        capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a private namespace: {probe.stderr.strip()}"
    return None


def run_with_private_mounts(setup: str, argv: Sequence[str], *, timeout: float = 120,
                            env: dict[str, str] | None = None
                            ) -> subprocess.CompletedProcess[str]:
    """Run the shell commands ``setup`` (mounts), then exec ``argv``, in a private mount
    namespace; returns the finished process (text output captured)."""
    command = " ".join(shlex.quote(part) for part in argv)
    return subprocess.run(
        ["unshare", "--mount", "--map-root-user", "sh", "-c", f"{setup} && exec {command}"],
        capture_output=True, text=True, timeout=timeout, env=env)


def fill(folder: Path) -> Path:
    """Write a filler file until the disk is full, to the last byte; returns it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler
