"""``bench/webhook_scale.py`` creates its database next to ``--pg-url``'s: the URL of that
database keeps the query, so a Unix-socket URL (``?host=...``) reaches the same server."""

from __future__ import annotations

import pytest

import support


@pytest.mark.parametrize(
    ("pg_url", "expected"),
    [
        (
            "postgresql://root@127.0.0.1:5432/test",
            "postgresql://root@127.0.0.1:5432/bench_scale_7",
        ),
        (
            "postgresql://root@/test?host=/var/run/postgresql",
            "postgresql://root@/bench_scale_7?host=/var/run/postgresql",
        ),
    ],
)
def test_the_bench_database_is_on_the_server_of_pg_url(pg_url: str, expected: str) -> None:
    scale = support.bench_script("webhook_scale")
    assert scale.database_url(pg_url, "bench_scale_7") == expected
