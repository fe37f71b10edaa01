"""What every use-case needs: settings, the database engine and the edge adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from ..config import Settings
from ..store.db import make_engine

if TYPE_CHECKING:
    from ..intake.correlate import StripeReader


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    stripe: StripeReader | None = None
    """None: degraded mode, sales are built from webhook payloads alone."""
    clock: Callable[[], datetime] = _utcnow
    anaf_transport: Any = None
    """An ``httpx.BaseTransport`` for ANAF (tests/demo: the fake); None = the network."""
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.engine.dispose()


def build_context(
    settings: Settings,
    *,
    stripe: StripeReader | None = None,
    anaf_transport: Any = None,
    engine: Engine | None = None,
) -> AppContext:
    """Wire the adapters from settings. A Stripe API key enables the API reader."""
    if stripe is None and settings.stripe_api_key:
        from ..intake.stripe_api import StripeApi

        stripe = StripeApi(settings.stripe_api_key, api_base=settings.stripe_api_base)
    return AppContext(
        settings=settings,
        engine=engine or make_engine(settings.database_url),
        stripe=stripe,
        anaf_transport=anaf_transport,
    )
