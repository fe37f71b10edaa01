"""The demo's constants, options and the result of a run (what the account is made of)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

from ..errors import EfacturaError
from ..invoicing.model import Invoice
from ..jsontypes import JsonObject
from .sample_parts import Delivery, SamplePayment

DEMO_EUR_RATE = Decimal("5.0875")
"""The demo feed's EUR rate (RON per euro). A demo value, not a BNR publication."""
DEMO_USD_RATE = Decimal("4.3912")
WEBHOOK_SECRET = "whsec_demo_not_a_real_secret"
ANAF_CLIENT = ("fake-client-id", "fake-client-secret")
FAKE_ANAF_BASE = "https://fake-anaf.invalid"
FAKE_VIES_URL = "https://fake-vies.invalid/rest-api"
"""``.invalid`` never resolves: every ANAF call goes to the in-process fake."""
REPO_ROOT = Path(__file__).resolve().parents[3]

ANAF_EVENTS = {
    "anaf_upload_intent": "uploading",
    "anaf_uploaded": "uploaded",
    "anaf_in_processing": "in_processing",
    "anaf_ok": "ok",
    "anaf_archived": "archived",
}


class DemoError(EfacturaError):
    """The demo could not run (missing validation files, a folder that is not empty…)."""

    code = "E-DEMO"


@dataclass(frozen=True)
class DemoOptions:
    directory: Path | None = None
    """Where to put everything; a new temporary folder when None. Must be empty or absent."""
    timeout: float = 50.0
    """Seconds to wait for every invoice to be ``ok`` at ANAF and emailed."""
    anaf_polls: int = 1
    """``stareMesaj`` answers of the fake ANAF that say ``in prelucrare`` before ``ok``."""
    env: Mapping[str, str] | None = None
    """Environment for finding installed validation files (default ``os.environ``)."""


@dataclass(frozen=True)
class DeliveryResult:
    delivery: Delivery
    status: int
    body: JsonObject

    @property
    def answer(self) -> str:
        if self.status != 200:
            return f"{self.status} {self.body.get('error', '')}".strip()
        return "200 duplicate" if self.body.get("duplicate") else "200 stored"

    @property
    def short(self) -> str:
        return self.answer.removeprefix("200 ")


@dataclass(frozen=True)
class CapturedMail:
    path: Path
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def subject(self) -> str:
        # a long subject is folded when written; reading it back keeps the space before the
        # fold as well as the one the fold stands for
        return " ".join(str(self.message.get("Subject", "")).split())

    @property
    def message_id(self) -> str:
        return str(self.message.get("Message-ID", ""))

    def attachments(self) -> list[str]:
        return [str(p.get_filename()) for p in self.message.iter_attachments()]


@dataclass
class InvoiceReport:
    number: str
    payment: SamplePayment
    invoice: Invoice
    event_ids: list[str]
    validation: dict[str, list[str]]
    anaf_states: list[str]
    anaf_state: str
    upload_index: str | None
    download_id: str | None
    endpoint: str
    """The ANAF upload endpoint used: ``upload``, ``uploadb2c``, ``upload (extern=DA)``."""
    email_state: str
    mail: CapturedMail | None
    pdf: Path
    xml: Path
    signed_zip: Path | None
    anaf_uploads: int = 0
    """Uploads of this invoice the fake ANAF received (exactly once: 1)."""


@dataclass
class DemoResult:
    directory: Path
    validation_source: str
    web_url: str
    smtp: str
    rate_date: date | None
    deliveries: list[DeliveryResult]
    event_outcomes: dict[str, str]
    """Event id -> outcome (``sale pi_…``, ``ignored I-…``)."""
    invoices: list[InvoiceReport]
    mails: list[CapturedMail]
    unsent_notices: int
    elapsed: float
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems
