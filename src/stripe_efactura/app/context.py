"""What every use case needs: settings, the database engine and the edge adapters (ports).

The ports are typed fields set once at start-up (:func:`build_context`); tests and the demo
inject fakes by passing them (or assigning the field) instead of looking anything up by name.

The types of the fields live in modules that do not import this one, not even for type
checking (``tests/architecture/test_layers.py`` checks it): no import cycle through here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.engine import Engine

from ..config import Settings
from ..store.db import make_engine

if TYPE_CHECKING:
    from ..anaf.archive import InvoiceKey
    from ..anaf.client import AnafClient
    from ..anaf.oauth import TokenSet
    from ..intake.reader import StripeReader
    from ..mail.send import MailSender, SmtpSender
    from ..mail.templates import Templates
    from .anaf_tuning import Tuning
    from .audit_run import AuditRun
    from .audit_tuning import AuditTuning
    from .ratelimit import AttemptLimiter


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Caches:
    """What a context loads once and reuses (never shared between contexts)."""

    mail_templates: tuple[str | None, Templates] | None = None
    """The templates loaded for ``[email] templates_dir`` (the key), see ``app.mailing``."""
    attempt_limiter: AttemptLimiter | None = None
    """Failed log-ins and token checks of this process (``app.accounts.limiter``)."""
    secret_key: bytes | None = None
    """The project's 32-byte key (``EFACTURA_SECRET_KEY`` or ``secret.key``): CSRF tokens and the
    encryption of the ANAF tokens."""
    anaf_tokens: TokenSet | None = None
    """The ANAF token pair last read or refreshed by this process."""
    anaf_listed: dict[str, tuple[InvoiceKey | None, str]] = field(default_factory=dict)
    """SPV filings already read while reconciling: upload index -> (its invoice key, None when
    not an invoice of ours; download id)."""
    audit_runs: dict[str, AuditRun] = field(default_factory=dict)
    """Period audits started from the API or the console (``app.audit_runs``), by id."""
    smtp_sender: tuple[tuple[object, ...], SmtpSender] | None = None
    """The SMTP sender of the settings in the key, keeping its connection between messages
    (``app.mailing.mail_sender``)."""


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    stripe: StripeReader | None = None
    """None: degraded mode, sales are built from webhook payloads alone."""
    clock: Callable[[], datetime] = _utcnow
    anaf_transport: httpx.BaseTransport | None = None
    """The transport for ANAF (tests/demo: the fake); None = the network."""
    anaf_client: AnafClient | None = None
    """Built from the settings on first use (``app.anaf_port.client``)."""
    anaf_tuning: Tuning | None = None
    """Knobs of the ANAF lifecycle; None: the defaults."""
    audit_tuning: AuditTuning | None = None
    """Pacing of the three-way audit (``app.audit_tuning``, read by ``app.audit_fetch``);
    None: the defaults."""
    bnr_transport: httpx.BaseTransport | None = None
    """The transport for the BNR rate feed (tests/demo: a mock); None = the network."""
    mail_sender: MailSender | None = None
    """None: SMTP from the settings, or the ``outbox/`` folder without ``EFACTURA_SMTP_HOST``."""
    caches: Caches = field(default_factory=Caches)
    registry_transport: httpx.BaseTransport | None = None
    """The transport for ANAF's taxpayer registry and VIES (tests/demo:
    :class:`~stripe_efactura.registry.fake.FakeRegistry`); None = the network."""
    sleep: Callable[[float], None] = time.sleep
    """How a use case pauses (waiting for a registry's call slot); tests pass a fake clock's."""

    def close(self) -> None:
        if self.caches.smtp_sender is not None:
            self.caches.smtp_sender[1].close()  # QUIT on a kept SMTP connection
        self.engine.dispose()


def build_context(
    settings: Settings,
    *,
    stripe: StripeReader | None = None,
    anaf_transport: httpx.BaseTransport | None = None,
    bnr_transport: httpx.BaseTransport | None = None,
    mail_sender: MailSender | None = None,
    registry_transport: httpx.BaseTransport | None = None,
    engine: Engine | None = None,
) -> AppContext:
    """Wire the adapters from settings. A Stripe API key enables the API reader."""
    if stripe is None and settings.stripe_api_key:
        from ..intake.stripe_api import StripeApi

        stripe = StripeApi(settings.stripe_api_key, api_base=settings.stripe_api_base)
    return AppContext(
        settings=settings,
        engine=engine
        or make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous),
        stripe=stripe,
        anaf_transport=anaf_transport,
        bnr_transport=bnr_transport,
        mail_sender=mail_sender,
        registry_transport=registry_transport,
    )
