"""What is not ready, each with its fix, in Romanian and English: the console's home banners.

One :class:`Banner` per component that is not ready: the webhook secret, the Stripe API key
(degraded mode), webhooks silent for days, the ANAF authorisation (missing or expiring within
30 days), SMTP (emails go to the outbox folder), the validation files, the worker, and
invoices near their 5-working-day ANAF deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..errors import EfacturaError
from ..store import db
from ..store import listings as rows_store
from ..ubl import artifacts
from . import anaf_admin, anaf_tokens, listings
from .context import AppContext

WEBHOOK_SILENCE_DAYS = 7
ANAF_EXPIRY_DAYS = 30
WORKER_LATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Banner:
    component: str
    severity: str
    """``bad`` (invoices stop) or ``warn`` (works, worse)."""
    message_ro: str
    message_en: str
    fix_ro: str
    fix_en: str
    link: str | None = None


_WEBHOOK_SECRET = Banner(
    "webhook_secret",
    "bad",
    "Lipsește secretul webhook-ului Stripe: nicio plată nu este primită.",
    "The Stripe webhook secret is missing: no payment is received.",
    "Creați endpoint-ul /webhooks/stripe în Stripe (Developers → Webhooks) și "
    "setați EFACTURA_STRIPE_WEBHOOK_SECRET=whsec_….",
    "Create the /webhooks/stripe endpoint in Stripe (Developers → Webhooks) and "
    "set EFACTURA_STRIPE_WEBHOOK_SECRET=whsec_….",
    "/settings",
)
_STRIPE_API_KEY = Banner(
    "stripe_api_key",
    "warn",
    "Mod degradat: fără cheie API Stripe, facturile se fac doar din webhook-uri "
    "(fără liniile detaliate ale comenzii).",
    "Degraded mode: without a Stripe API key invoices are built from webhooks "
    "alone (no detailed order lines).",
    "Creați o cheie restricționată (citire) în Stripe și setați EFACTURA_STRIPE_API_KEY=rk_live_….",
    "Create a restricted (read) key in Stripe and set EFACTURA_STRIPE_API_KEY=rk_live_….",
    "/settings",
)
_SMTP = Banner(
    "smtp",
    "warn",
    "SMTP nu este configurat: emailurile se scriu în dosarul outbox, nu pleacă.",
    "SMTP is not configured: emails are written to the outbox folder, not sent.",
    "Setați EFACTURA_SMTP_HOST, EFACTURA_SMTP_USER, EFACTURA_SMTP_PASSWORD și EFACTURA_MAIL_FROM.",
    "Set EFACTURA_SMTP_HOST, EFACTURA_SMTP_USER, EFACTURA_SMTP_PASSWORD and EFACTURA_MAIL_FROM.",
    "/settings",
)
_VALIDATION = Banner(
    "validation",
    "bad",
    "Fișierele oficiale de validare (XSD UBL + schematron CIUS-RO) lipsesc: nu se "
    "emite nicio factură.",
    "The official validation files (UBL XSD + CIUS-RO schematron) are missing: "
    "no invoice is issued.",
    "Rulați `stripe-efactura validation fetch`.",
    "Run `stripe-efactura validation fetch`.",
)


def _config_banners(ctx: AppContext) -> list[Banner]:
    s = ctx.settings
    missing = (
        (not s.stripe_webhook_secrets, _WEBHOOK_SECRET),
        (not s.stripe_api_key and ctx.stripe is None, _STRIPE_API_KEY),
        (not s.smtp_host and ctx.mail_sender is None, _SMTP),
        (not artifacts.is_installed(s.validation_dir), _VALIDATION),
    )
    return [banner for absent, banner in missing if absent]


def _anaf_banner(ctx: AppContext) -> Banner | None:
    try:
        status = anaf_tokens.token_status(ctx)
    except EfacturaError as exc:
        return Banner(
            "anaf",
            "bad",
            f"Configurația ANAF nu este completă: {exc.message}",
            f"The ANAF configuration is incomplete: {exc.message}",
            "Completați [company] cui în efactura.toml.",
            "Fill in [company] cui in efactura.toml.",
            "/settings",
        )
    if not status.authorised:
        return Banner(
            "anaf",
            "bad",
            "Aplicația nu este autorizată la ANAF: facturile nu se transmit.",
            "The service is not authorised at ANAF: invoices are not uploaded.",
            "Apăsați „Autorizează la ANAF” pe pagina ANAF, pe calculatorul cu certificatul.",
            "Press “Authorise at ANAF” on the ANAF page, on the computer with the certificate.",
            "/anaf",
        )
    days = status.reauthorize_in_days
    if days is not None and days <= ANAF_EXPIRY_DAYS:
        return Banner(
            "anaf",
            "warn",
            f"Autorizarea ANAF expiră în {days} zile.",
            f"The ANAF authorisation expires in {days} days.",
            "Autorizați din nou de pe pagina ANAF înainte de expirare.",
            "Authorise again from the ANAF page before it expires.",
            "/anaf",
        )
    return None


def _activity_banners(ctx: AppContext) -> list[Banner]:
    out: list[Banner] = []
    silence = listings.webhook_silence(ctx)
    if silence is not None and silence > timedelta(days=WEBHOOK_SILENCE_DAYS):
        days = silence.days
        out.append(
            Banner(
                "webhooks",
                "warn",
                f"Niciun webhook Stripe primit de {days} zile.",
                f"No Stripe webhook received for {days} days.",
                "Verificați în Stripe (Developers → Webhooks) că endpoint-ul este activ și "
                "livrările reușesc; apoi rulați `stripe-efactura reconcile`.",
                "Check in Stripe (Developers → Webhooks) that the endpoint is enabled and "
                "deliveries succeed; then run `stripe-efactura reconcile`.",
            )
        )
    with db.read(ctx.engine) as conn:
        waited = rows_store.oldest_due_job_age(conn)
    late = None if waited is None else timedelta(seconds=waited)
    if late is not None and late > WORKER_LATE:
        out.append(
            Banner(
                "worker",
                "bad",
                f"Lucrările așteaptă de {int(late.total_seconds() // 60)} minute: worker-ul "
                "nu rulează.",
                f"Jobs have waited {int(late.total_seconds() // 60)} minutes: the worker is "
                "not running.",
                "Porniți `stripe-efactura serve` (fără --no-worker) sau `stripe-efactura worker`.",
                "Start `stripe-efactura serve` (without --no-worker) or `stripe-efactura worker`.",
            )
        )
    due = anaf_admin.invoices_listing(ctx, overdue=True)
    if due:
        numbers = ", ".join(str(r["number"]) for r in due[:5])
        out.append(
            Banner(
                "deadlines",
                "bad",
                f"{len(due)} facturi sunt aproape de termenul ANAF sau l-au depășit: {numbers}.",
                f"{len(due)} invoices are near or past their ANAF deadline: {numbers}.",
                "Deschideți factura, corectați ce a raportat ANAF și retrimiteți-o.",
                "Open the invoice, fix what ANAF reported and send it again.",
                "/invoices?deadline=1",
            )
        )
    return out


def banners(ctx: AppContext) -> list[Banner]:
    """Every component that is not ready, the ones that stop invoicing first."""
    out = _config_banners(ctx)
    anaf = _anaf_banner(ctx)
    if anaf is not None:
        out.append(anaf)
    out += _activity_banners(ctx)
    return sorted(out, key=lambda b: b.severity != "bad")
