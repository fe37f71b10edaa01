"""The knobs of the ANAF lifecycle (``AppContext.anaf_tuning``), in a module of their own so
that ``app.context`` can name them without importing the lifecycle (which imports it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..anaf.quotas import QuotaPolicy


@dataclass(frozen=True)
class Tuning:
    """Knobs of the lifecycle (``AppContext.anaf_tuning``; tests and the demo set their own)."""

    policy: QuotaPolicy = field(default_factory=QuotaPolicy.default)
    inflight_seconds: float = 120.0
    """An ``uploading`` intent younger than this may still be waiting for its answer."""
    reconcile_grace_seconds: float = 900.0
    """How long a lost upload may take to show in the message list before re-uploading."""
    reconcile_every_seconds: float = 120.0
    list_lag_seconds: float = 30.0
    """The list window ends this long before now (ANAF refuses an end in its future)."""
    timeout: float = 30.0
    upload_timeout: float = 60.0
    retry_seconds: float = 60.0
    """Wait after a transient failure (5xx, timeout, technical error)."""
    poll_scale: float = 1.0
    """Multiplies :func:`quotas.poll_delay`; the demo uses 0 (poll at once). Polls stay
    capped by the per-message daily quota whatever the scale."""
    list_status: bool = True
    """The job chain learns ``ok``/``nok`` from one shared sweep of the message list
    (:mod:`app.anaf_status_list`) instead of a ``stareMesaj`` per invoice. Off when
    ``poll_scale`` is 0 (the demo polls at once)."""
    list_status_min_waiting: int = 20
    """The sweep is used only in a burst: when at least this many uploaded invoices (the new
    one included) wait for their answer, or the global window (the last minute) already
    counts this many ANAF calls. Below that an invoice polls ``stareMesaj`` from 5 s
    and its signed archive follows at once, so a single sale is ``ok`` and archived within
    seconds, whatever the message list does."""
    list_status_seconds: float = 30.0
    """How long after its upload an invoice waits for the list before its own
    ``stareMesaj`` polls start (the fallback, on the usual schedule)."""
    list_sweep_seconds: float = 5.0
    """Pause between two sweeps while invoices wait for the list."""
    list_status_lag_seconds: float = 2.0
    """The sweep's list window ends this long before now (ANAF refuses an end in its
    future)."""
    archive_hour: int | None = 2
    """Romanian hour at which the signed archives of invoices found ``ok`` in the list are
    downloaded (off-peak); None: at once, as after a ``stareMesaj`` ``ok``."""
    archive_spacing_seconds: float = 1.0
    """Deferred archive downloads are spread this far apart (by invoice id) ..."""
    archive_window_seconds: float = 3 * 3600.0
    """... over this long a window from :attr:`archive_hour` on."""
