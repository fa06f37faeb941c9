"""This test process's PDF rendering processes, read from /proc: multiprocessing's fork server (a child of ours
that lives as long as we do and renders nothing, like the resource tracker) and the renders forked from it.
Other children, such as the browser of the journey tests, are not counted."""

from __future__ import annotations

import os
from pathlib import Path


def processes() -> dict[int, tuple[int, bytes]]:
    """{pid: (parent pid, command line)} of every live process we can read (zombies left out)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if fields[0] != "Z":
                found[int(entry.name)] = (int(fields[1]), command)
    return found


def fork_server(seen: dict[int, tuple[int, bytes]]) -> int | None:
    """The pid of our fork server, if it runs."""
    found = [pid for pid, (parent, command) in seen.items()
             if parent == os.getpid() and b"multiprocessing.forkserver" in command]
    assert len(found) <= 1, found
    return found[0] if found else None


def rendering_processes(seen: dict[int, tuple[int, bytes]] | None = None) -> list[int]:
    """Our rendering processes still alive: those forked by the fork server, and any other multiprocessing child
    of ours but the fork server and the resource tracker."""
    seen = processes() if seen is None else seen
    server = fork_server(seen)
    return [pid for pid, (parent, command) in seen.items() if b"multiprocessing" in command and pid != server
            and ((parent == os.getpid() and b"resource_tracker" not in command) or parent == server)]
