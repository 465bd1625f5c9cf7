"""Resident memory of processes, read from /proc (the benches' one way to measure it)."""

from __future__ import annotations

from pathlib import Path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def descendants(pid: int) -> list[int]:
    """The child processes of ``pid``, recursively (the NFIQ 2 workers, their forkserver)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found.extend(children)
        frontier = children
    return found


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(RSS of ``pid`` and all its child processes, RSS of ``pid`` alone)."""
    own = rss_mb(pid)
    total = own
    for child in descendants(pid):
        try:
            total += rss_mb(child)
        except (OSError, RuntimeError):
            continue
    return total, own
