"""The benches' reading of the machine's CPU (``bench/procstat.py``): busy and stolen shares."""

from __future__ import annotations

from pathlib import Path

import pytest

import support

PROCSTAT = support.bench_script("procstat")


def test_share_of_busy_and_stolen_between_two_readings() -> None:
    start = (10.0, 100.0, 2.0)  # busy (steal included), total, stolen seconds
    end = (70.0, 200.0, 27.0)
    assert PROCSTAT.machine_share(start, end) == 0.6
    assert PROCSTAT.machine_share(start, end, stolen=True) == 0.25


def test_no_time_passed_is_no_share() -> None:
    reading = (10.0, 100.0, 2.0)
    assert PROCSTAT.machine_share(reading, reading) is None


def test_machine_cpu_reads_the_first_line_of_proc_stat() -> None:
    if not Path("/proc/stat").exists():
        pytest.skip("no /proc/stat (not Linux)")
    busy, total, stolen = PROCSTAT.machine_cpu()
    assert 0 <= stolen <= busy <= total
    assert total > 0
