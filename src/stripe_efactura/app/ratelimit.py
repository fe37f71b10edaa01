"""Failed log-in and token attempts, limited per client address and per account.

The counts live in the process (one limiter per :class:`AppContext`): with several web
machines behind a load balancer each enforces its own limit, which still bounds guessing to
a few attempts per minute per machine. Only failures count; a success clears the account's
count (not the address's).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from .refusals import TooManyAttempts

WINDOW_SECONDS = 600
MAX_PER_ADDRESS = 20
MAX_PER_ACCOUNT = 10


class AttemptLimiter:
    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        window: int = WINDOW_SECONDS,
        per_address: int = MAX_PER_ADDRESS,
        per_account: int = MAX_PER_ACCOUNT,
    ) -> None:
        self._clock = clock
        self._window = window
        self._limits = {"ip": per_address, "account": per_account}
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self._clock().timestamp()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def check(self, ip: str | None, account: str | None = None) -> None:
        """Raise :class:`TooManyAttempts` when the address or the account is over its limit."""
        now = self._now()
        with self._lock:
            for key in self._keys(ip, account):
                times = self._recent(key, now)
                if len(times) >= self._limits[key[0]]:
                    raise TooManyAttempts(max(1, int(times[0] + self._window - now) + 1))

    def failed(self, ip: str | None, account: str | None = None) -> None:
        now = self._now()
        with self._lock:
            for key in self._keys(ip, account):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str | None) -> None:
        if account:
            with self._lock:
                self._failures.pop(("account", account), None)

    @staticmethod
    def _keys(ip: str | None, account: str | None) -> list[tuple[str, str]]:
        keys = [("ip", ip or "-")]
        if account:
            keys.append(("account", account))
        return keys
