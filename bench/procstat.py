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
