"""``bench/pipeline.py --turns``: the workers' SQLite write turns, timed by the job that took
them. Not a benchmark: nothing here is timed against a threshold; the counts and the summary's
arithmetic are exact."""

from __future__ import annotations

from pathlib import Path

import pytest

import support
from stripe_efactura.store import db
from stripe_efactura.store.writer_turns import WriterTurns


def test_each_write_turn_is_counted_for_the_job_that_took_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = support.bench_script("pipeline")
    # the originals come back at teardown
    monkeypatch.setattr(WriterTurns, "_flock", WriterTurns._flock)
    monkeypatch.setattr(WriterTurns, "_unlock", WriterTurns._unlock)
    turns: dict[str, list[float]] = {}
    current = ["issue_invoice"]
    pipeline.watch_turns(turns, current)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    try:
        with db.write(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (0)")
        current[0] = "render_pdf"
        for x in (1, 2):
            with db.write(engine) as conn:
                conn.exec_driver_sql(f"INSERT INTO t VALUES ({x})")
        with db.read(engine) as conn:  # a read takes no turn
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 3
    finally:
        engine.dispose()
    assert {task: row[0] for task, row in turns.items()} == {"issue_invoice": 1, "render_pdf": 2}
    for _count, waited, held, cpu in turns.values():
        assert waited >= 0 and held > 0 and cpu >= 0


def test_the_summary_gives_turns_and_times_per_invoice() -> None:
    pipeline = support.bench_script("pipeline")
    split = [
        {"turns": {"issue_invoice": [2, 0.004, 0.012, 0.008]}},
        {
            "turns": {
                "issue_invoice": [2, 0.0, 0.008, 0.004],
                "render_pdf": [1, 0.002, 0.003, 0.001],
            }
        },
        {"turns": {}},
    ]
    assert pipeline.summarise_turns(split, 2) == {
        "write_turns_per_invoice": 2.5,
        "turn_wait_ms_per_invoice": 3.0,
        "turn_held_ms_per_invoice": 11.5,
        "turn_cpu_ms_per_invoice": 6.5,
        "turns_by_job": {
            "issue_invoice": {"per_invoice": 2.0, "held_ms": 5.0, "cpu_ms": 3.0},
            "render_pdf": {"per_invoice": 0.5, "held_ms": 3.0, "cpu_ms": 1.0},
        },
    }
    assert pipeline.summarise_turns([{"turns": {}}, {}], 2) == {}
