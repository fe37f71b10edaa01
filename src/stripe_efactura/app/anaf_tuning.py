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
