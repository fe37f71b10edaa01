"""CPU seconds of processes and threads from ``/proc`` (Linux), for the benches.

``/proc/PID/stat`` (and ``/proc/PID/task/TID/stat``) hold the times in clock ticks; the
command name, field 2, is in parentheses and may contain spaces, so the fields are counted
after its closing ``)``: utime and stime are fields 14 and 15 of proc(5), cutime and cstime
(the reaped children's) 16 and 17.
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
"""Clock ticks per second."""

_UTIME = 11
"""utime's index among the fields after the ``)``: field 14 of proc(5) (field 3 is [0])."""


def _times(stat: Path, first: int) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[first]) + int(fields[first + 1])) / TICK


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process ``pid`` (all its threads) so far."""
    return _times(Path(f"/proc/{pid}/stat"), _UTIME)


def reaped_children_seconds(pid: int) -> float:
    """User + system CPU of the children ``pid`` has waited for (cutime + cstime)."""
    return _times(Path(f"/proc/{pid}/stat"), _UTIME + 2)


def thread_seconds(pid: int) -> dict[int, float]:
    """User + system CPU of each thread of process ``pid`` so far, by thread id."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out[int(task.name)] = _times(task / "stat", _UTIME)
        except OSError:  # the thread ended meanwhile
            continue
    return out


def machine_cpu() -> tuple[float, float, float]:
    """Busy, total and stolen CPU seconds of the whole machine (all cores), from /proc/stat.
    Busy counts the steal (the time the hypervisor gave this VM's cores to another)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) / TICK, total / TICK, fields[7] / TICK


def machine_share(
    start: tuple[float, float, float], end: tuple[float, float, float], *, stolen: bool = False
) -> float | None:
    """The share of the machine's CPU (all cores) that was busy, or (``stolen``) taken away
    by the hypervisor, between two readings of :func:`machine_cpu`."""
    part = 2 if stolen else 0
    total = end[1] - start[1]
    return round((end[part] - start[part]) / total, 2) if total > 0 else None
