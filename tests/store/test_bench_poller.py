"""``bench/pipeline.py``'s measuring loop counts the invoices once a second, and at every pass
only near the end of a count or when the SMTP sink has every email. Not a benchmark: the
decisions are exact."""

from __future__ import annotations

from typing import Any

import pytest

import support


def test_counts_once_a_second_and_at_every_pass_near_an_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = support.bench_script("pipeline")
    answers = iter(
        [
            {"issued": 10, "emailed": 5, "ok": 0},
            {"issued": 30, "emailed": 25, "ok": 0},  # 20 a second: 1.5 s from 100 is 70
            {"issued": 80, "emailed": 70, "ok": 10},
            {"issued": 100, "emailed": 99, "ok": 10},
        ]
    )
    counted: list[Any] = []

    def progress(engine: Any) -> dict[str, int]:
        counted.append(engine)
        return next(answers)

    monkeypatch.setattr(pipeline, "progress", progress)
    poller = pipeline.Poller(100)
    assert poller.due(0.0, 0)
    assert poller.count("db", 0.0) == {"issued": 10, "emailed": 5, "ok": 0}
    assert [poller.due(t, 5) for t in (0.2, 0.4, 0.8)] == [False, False, False]
    assert poller.due(1.0, 25)
    poller.count("db", 1.0)
    assert poller.pace == {"issued": 20.0, "emailed": 20.0, "ok": 0.0}
    assert not poller.due(1.2, 25)  # 30 + 1.5 * 20 < 100
    assert poller.due(2.0, 70)
    poller.count("db", 2.0)  # 80 + 1.5 * 50 >= 100: every pass from here
    assert poller.due(2.2, 70)
    poller.count("db", 2.2)  # too soon to measure a pace: the last one stays
    assert poller.pace == {"issued": 50.0, "emailed": 45.0, "ok": 10.0}
    assert poller.seen == {"issued": 100, "emailed": 99, "ok": 10}
    assert poller.due(2.9, 99)  # emailed 99 + 1.5 * 45 >= 100
    poller.seen = {"issued": 100, "emailed": 90, "ok": 10}
    poller.pace = {"issued": 0.0, "emailed": 0.0, "ok": 0.0}
    assert not poller.due(3.0, 99)
    assert poller.due(3.0, 100)  # the sink has every email, the database not yet
    assert len(counted) == 4
