"""Why a payment or an invoice waits: every waiting one says it (issue 14).

The reason is worked out from the current state, so it is never stale: a live payment while
``efactura.toml`` is the starter template, no validation artifacts, no BNR rate yet for its
currency, an invoice due at ANAF while ANAF is not authorised. ``payments list``, ``invoices
list``/``show`` and the API's details carry it as ``waiting`` (``{code, message_en,
message_ro, fix}``; None when nothing waits).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..errors import EfacturaError, RetryLater, ValidationArtifactsMissing
from ..invoicing import build
from ..invoicing.fx import BNR_CURRENCIES
from ..store.listings import PaymentRow
from ..store.repo import PaymentRecord
from ..ubl.artifacts import is_installed
from . import anaf_tokens
from . import fx as fx_service
from .context import AppContext

__all__ = [
    "ArtifactsMissing",
    "InvoiceWaits",
    "PaymentWaits",
    "ProfileIsTemplate",
    "Reason",
    "invoice_reason",
    "require_live_profile",
    "validation_wait",
]


@dataclass(frozen=True)
class Reason:
    code: str
    message_en: str
    message_ro: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message_en": self.message_en,
            "message_ro": self.message_ro,
            "fix": self.fix,
        }


TEMPLATE = Reason(
    "W-WAIT-PROFILE",
    "waiting for the company profile: efactura.toml is still the starter template; restart "
    "the service after completing the company block",
    "așteaptă profilul firmei: efactura.toml este încă fișierul de pornire; reporniți "
    "serviciul după completarea blocului [company]",
    "Fill in [company] in efactura.toml and delete the `template = true` line (or run "
    "`stripe-efactura init --cui YOUR_CUI`), then restart the service after completing the "
    "company block (a running service keeps the settings it started with).",
)
ARTIFACTS = Reason(
    "W-WAIT-VALIDATION",
    "waiting for the validation artifacts (UBL XSD, CIUS-RO schematron)",
    "așteaptă fișierele oficiale de validare (UBL XSD, schematron CIUS-RO)",
    "stripe-efactura validation fetch (offline: --from DIR)",
)
QUEUED = Reason(
    "W-WAIT-QUEUED",
    "queued: the worker issues it on its next run",
    "în coadă: worker-ul o emite la următoarea rulare",
    "Nothing, unless no worker runs (`stripe-efactura system status`).",
)
ANAF_AUTH = Reason(
    "W-WAIT-ANAF-AUTH",
    "waiting for ANAF authorisation",
    "așteaptă autorizarea ANAF",
    "stripe-efactura anaf login (the qualified certificate, once a year)",
)


class ProfileIsTemplate(RetryLater):
    """A live payment while the profile is the template: the job waits, no attempt counted."""

    code = TEMPLATE.code
    count_attempt = False


class ArtifactsMissing(RetryLater):
    code = ARTIFACTS.code
    count_attempt = False


def require_live_profile(ctx: AppContext, livemode: bool) -> None:
    """Raise :class:`ProfileIsTemplate` before a live number is given under the template."""
    if livemode and ctx.settings.template:
        raise ProfileIsTemplate(TEMPLATE.message_en, delay_seconds=60)


def validation_wait(exc: ValidationArtifactsMissing) -> ArtifactsMissing:
    """The wait that replaces a missing-artifacts failure in the issuing job."""
    return ArtifactsMissing(f"{ARTIFACTS.message_en}: {exc.message}", delay_seconds=300)


def _bnr(ctx: AppContext, currency: str, paid_at: datetime) -> Reason | None:
    if currency.upper() not in BNR_CURRENCIES:
        return None
    day = build.issue_date_of(paid_at)
    if fx_service.rate_for(ctx, currency, day) is not None:
        return None
    return Reason(
        "W-WAIT-BNR",
        f"waiting for the BNR rate of {currency.upper()} for {day}",
        f"așteaptă cursul BNR al {currency.upper()} pentru {day}",
        "Nothing: BNR publishes around 13:00 on working days; the invoice follows at once.",
    )


class PaymentWaits:
    """Works out the waiting reasons of many payments (the artifacts are checked once)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._artifacts: bool | None = None

    def artifacts_installed(self) -> bool:
        if self._artifacts is None:
            self._artifacts = is_installed(self.ctx.settings.validation_dir)
        return self._artifacts

    def reason(self, row: PaymentRecord | PaymentRow) -> Reason | None:
        """Why a ``pending`` payment has no invoice yet (None for any other status)."""
        if row.status != "pending":
            return None
        if bool(row.livemode) and self.ctx.settings.template:
            return TEMPLATE
        if not self.artifacts_installed():
            return ARTIFACTS
        paid_at = row.paid_at
        if isinstance(paid_at, datetime) and row.kind == "payment":
            reason = _bnr(self.ctx, str(row.currency), paid_at)
            if reason is not None:
                return reason
        return QUEUED

    def as_dict(self, row: PaymentRecord | PaymentRow) -> dict[str, str] | None:
        reason = self.reason(row)
        return None if reason is None else reason.to_dict()


def anaf_authorised(ctx: AppContext) -> bool:
    try:
        return anaf_tokens.token_status(ctx).authorised
    except EfacturaError:  # no usable CUI: not authorised either
        return False


def invoice_reason(
    state: str, reason: str | None, *, livemode: bool, authorised: bool
) -> Reason | None:
    """Why an invoice waits for ANAF when the lifecycle recorded no reason of its own."""
    if reason or state != "pending_upload" or not livemode:
        return None
    return None if authorised else ANAF_AUTH


class InvoiceWaits:
    """Works out the waiting reasons of many invoices: ANAF's authorisation is read once, and
    only when some live invoice waits for its upload without a reason of its own."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._authorised: bool | None = None

    def reason(self, state: str, reason: str | None, *, livemode: bool) -> Reason | None:
        if state == "pending_upload" and not reason and livemode and self._authorised is None:
            self._authorised = anaf_authorised(self.ctx)
        authorised = True if self._authorised is None else self._authorised
        return invoice_reason(state, reason, livemode=livemode, authorised=authorised)

    def as_dict(self, state: str, reason: str | None, *, livemode: bool) -> dict[str, str] | None:
        found = self.reason(state, reason, livemode=livemode)
        return None if found is None else found.to_dict()
