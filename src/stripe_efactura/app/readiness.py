"""What is ready and what is not: one computation for ``/readyz``, ``system status``, the
API's ``/system/readiness`` and the console's home banners (which render these checks and the
deadlines at risk); and the ANAF overview (authorisation, quota used today, deadlines at risk).

Each readiness check says ``ok``, ``warning`` (works, degraded) or ``error`` (something does
not work), with the reason and the fix in English and Romanian.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypedDict

from ..errors import EfacturaError
from ..invoicing.deadlines import working_days_after
from ..store import db
from ..store import queries as q
from ..tz import BUCHAREST
from ..ubl.artifacts import is_installed
from . import anaf_tokens, browse, supervision
from .context import AppContext

WORKER_LATE = timedelta(minutes=15)
WEBHOOK_QUIET_DAYS = 7
REAUTH_WARN_DAYS = 30


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    reason_en: str
    reason_ro: str
    fix: str = ""
    code: str = ""
    """The E-*/W-* code of what is not ok (``docs/errors.md``); empty when ok."""
    fix_ro: str = ""
    """The fix in Romanian (``fix`` when it is a command, the same in both languages)."""

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "code": self.code,
            "status": self.status,
            "reason_en": self.reason_en,
            "reason_ro": self.reason_ro,
            "fix": self.fix,
        }


def _database(ctx: AppContext) -> Check:
    try:
        with db.read(ctx.engine) as conn:
            q.oldest_due_job(conn)
    except Exception as exc:  # the database itself is what is checked
        return Check(
            "database",
            "error",
            f"The database does not answer: {type(exc).__name__}.",
            "Baza de date nu răspunde.",
            "Check EFACTURA_DATABASE_URL and the disk.",
            code="E-STORAGE",
            fix_ro="Verificați EFACTURA_DATABASE_URL și discul.",
        )
    return Check("database", "ok", "The database answers.", "Baza de date răspunde.")


_RUN_WORKER = "Run `stripe-efactura serve` (with its worker) or `stripe-efactura worker`."
_RUN_WORKER_RO = "Porniți `stripe-efactura serve` (cu worker-ul) sau `stripe-efactura worker`."


def _worker(ctx: AppContext) -> Check:
    status = supervision.worker_status(ctx)
    if not status.running:
        return Check(
            "worker",
            "error",
            status.reason_en,
            status.reason_ro,
            _RUN_WORKER,
            code="E-WORKER-DOWN",
            fix_ro=_RUN_WORKER_RO,
        )
    now = db.utc_naive(ctx.clock())
    with db.read(ctx.engine) as conn:
        late = q.late_schedules(conn, now - WORKER_LATE)
        oldest = q.oldest_due_job(conn)
    if late or (oldest is not None and oldest < now - WORKER_LATE):
        return Check(
            "worker",
            "error",
            "No worker has run the periodic jobs for 15 minutes: invoices wait.",
            "Niciun worker nu a rulat sarcinile periodice de 15 minute: facturile așteaptă.",
            _RUN_WORKER,
            code="E-WORKER-LATE",
            fix_ro=_RUN_WORKER_RO,
        )
    return Check("worker", "ok", "A worker runs the jobs.", "Un worker rulează sarcinile.")


def _validation(ctx: AppContext) -> Check:
    if is_installed(ctx.settings.validation_dir):
        return Check(
            "validation_artifacts",
            "ok",
            "The official UBL XSD and CIUS-RO schematron are installed.",
            "Fișierele oficiale de validare sunt instalate.",
        )
    return Check(
        "validation_artifacts",
        "error",
        "The UBL XSD / CIUS-RO schematron are missing: no invoice can be numbered.",
        "Lipsesc fișierele oficiale de validare: nicio factură nu poate fi numerotată.",
        "stripe-efactura validation fetch (offline: --from DIR)",
        code="E-VALIDATION-ARTIFACTS",
        fix_ro="stripe-efactura validation fetch (fără internet: --from DOSAR)",
    )


def _webhook(ctx: AppContext) -> Check:
    if not ctx.settings.stripe_webhook_secrets:
        return Check(
            "webhook_secret",
            "error",
            "No Stripe webhook secret: every webhook is refused.",
            "Nu există secretul webhook Stripe: toate webhook-urile sunt refuzate.",
            "Set EFACTURA_STRIPE_WEBHOOK_SECRET (whsec_…) from the Stripe dashboard.",
            code="E-SIG-NO-SECRET",
            fix_ro="Setați EFACTURA_STRIPE_WEBHOOK_SECRET (whsec_…) din panoul Stripe "
            "(Developers → Webhooks, endpoint-ul /webhooks/stripe).",
        )
    with db.read(ctx.engine) as conn:
        last = q.last_webhook_at(conn)
    quiet = db.utc_naive(ctx.clock()) - timedelta(days=WEBHOOK_QUIET_DAYS)
    if last is None or last < quiet:
        return Check(
            "webhook_secret",
            "warning",
            f"No webhook received for {WEBHOOK_QUIET_DAYS} days.",
            f"Niciun webhook primit în ultimele {WEBHOOK_QUIET_DAYS} zile.",
            "Check the endpoint URL and events in Stripe; `stripe-efactura reconcile`.",
            code="W-WEBHOOK-QUIET",
            fix_ro="Verificați în Stripe adresa endpoint-ului și evenimentele; apoi "
            "`stripe-efactura reconcile`.",
        )
    return Check("webhook_secret", "ok", "Webhooks arrive.", "Webhook-urile sosesc.")


def _stripe_key(ctx: AppContext) -> Check:
    if ctx.settings.stripe_api_key or ctx.stripe is not None:
        return Check(
            "stripe_api_key", "ok", "The Stripe API key is set.", "Cheia API Stripe este setată."
        )
    return Check(
        "stripe_api_key",
        "warning",
        "No Stripe API key: degraded mode, invoices are built from webhooks alone.",
        "Fără cheie API Stripe: mod degradat, facturile se fac doar din webhook-uri.",
        "Set EFACTURA_STRIPE_API_KEY (a restricted key with read access).",
        code="W-STRIPE-DEGRADED",
        fix_ro="Setați EFACTURA_STRIPE_API_KEY (o cheie restricționată, cu drept de citire).",
    )


def _anaf(ctx: AppContext) -> Check:
    try:
        status = anaf_tokens.token_status(ctx)
    except EfacturaError as exc:
        return Check(
            "anaf_authorisation",
            "error",
            exc.message,
            exc.message_ro or exc.message,
            "Fix [company] cui in efactura.toml.",
            code=exc.code,
            fix_ro="Corectați [company] cui în efactura.toml.",
        )
    if not status.authorised:
        return Check(
            "anaf_authorisation",
            "error",
            "ANAF is not authorised: nothing is sent.",
            "ANAF nu este autorizat: nu se trimite nimic.",
            "Authorise with the qualified certificate (`stripe-efactura anaf login`).",
            code="E-ANAF-NOT-AUTHORISED",
            fix_ro="Autorizați cu certificatul calificat (butonul de pe pagina ANAF sau "
            "`stripe-efactura anaf login`).",
        )
    days = status.reauthorize_in_days
    if days is not None and days < REAUTH_WARN_DAYS:
        return Check(
            "anaf_authorisation",
            "warning" if days > 0 else "error",
            f"The ANAF authorisation expires in {days} days.",
            f"Autorizarea ANAF expiră în {days} zile.",
            "stripe-efactura anaf login",
            code="W-ANAF-REAUTH-SOON" if days > 0 else "E-ANAF-EXPIRED",
            fix_ro="Autorizați din nou (pagina ANAF sau `stripe-efactura anaf login`).",
        )
    if not status.access_expiry_known:
        return Check(
            "anaf_authorisation",
            "ok",
            "ANAF is authorised; access token expiry unknown (refreshed when ANAF refuses it).",
            "ANAF este autorizat; token de acces cu expirare necunoscută (se reînnoiește când "
            "ANAF îl refuză).",
        )
    return Check("anaf_authorisation", "ok", "ANAF is authorised.", "ANAF este autorizat.")


def _smtp(ctx: AppContext) -> Check:
    if ctx.settings.smtp_host or ctx.mail_sender is not None:
        return Check("smtp", "ok", "E-mails go out by SMTP.", "E-mailurile pleacă prin SMTP.")
    return Check(
        "smtp",
        "warning",
        "No SMTP server: e-mails are written to the outbox folder.",
        "Fără server SMTP: e-mailurile sunt scrise în dosarul outbox.",
        "Set EFACTURA_SMTP_HOST (and _PORT, _USER, _PASSWORD, EFACTURA_MAIL_FROM).",
        code="W-SMTP-OUTBOX",
        fix_ro="Setați EFACTURA_SMTP_HOST (și _PORT, _USER, _PASSWORD, EFACTURA_MAIL_FROM).",
    )


def _profile(ctx: AppContext) -> Check:
    if ctx.settings.template:
        return Check(
            "company_profile",
            "error",
            "efactura.toml is the starter template: live payments wait, unnumbered (test-mode "
            "payments are invoiced in the TEST series).",
            "efactura.toml este fișierul de pornire: plățile live așteaptă, nenumerotate (plățile "
            "de test se facturează în seria TEST).",
            "Fill in [company] and delete the `template = true` line (or `stripe-efactura init "
            "--cui YOUR_CUI`), then restart the service after completing the company block.",
            code="E-PROFILE-TEMPLATE",
            fix_ro="Completați [company] și ștergeți rândul `template = true` (sau "
            "`stripe-efactura init --cui CUI_UL_FIRMEI`), apoi reporniți serviciul după "
            "completarea blocului [company].",
        )
    company = ctx.settings.company
    return Check(
        "company_profile",
        "ok",
        f"Invoices are issued as {company.name} (CUI {company.cui}).",
        f"Facturile se emit ca {company.name} (CUI {company.cui}).",
    )


def readiness(ctx: AppContext) -> list[Check]:
    """Every component, in a fixed order."""
    checks = [_database(ctx)]
    if checks[0].status == "error":
        return [*checks, _profile(ctx)]
    return [
        *checks,
        _profile(ctx),
        _worker(ctx),
        _validation(ctx),
        _webhook(ctx),
        _stripe_key(ctx),
        _anaf(ctx),
        _smtp(ctx),
    ]


class AnafOverview(TypedDict):
    """``GET /anaf`` and the console's ANAF page."""

    authorisation: anaf_tokens.TokenStatusJson
    quota_today: dict[str, int]
    calls_last_minute: int
    deadlines_at_risk: list[browse.InvoiceView]


def anaf_overview(ctx: AppContext) -> AnafOverview:
    """Authorisation and expiry, ANAF calls counted today, invoices whose deadline is near."""
    from ..store.anaf_quota import GLOBAL_BUCKET_SECONDS, GLOBAL_BUCKETS

    now = ctx.clock()
    on = now.astimezone(BUCHAREST).date()
    try:
        auth = anaf_tokens.token_status(ctx).to_dict()
    except EfacturaError as exc:
        auth = {"authorised": False, "error": str(exc)}
    current = int(now.timestamp()) // GLOBAL_BUCKET_SECONDS
    with db.read(ctx.engine) as conn:
        counts = q.quota_counts(conn, on.isoformat())
        minute = q.global_calls_since(conn, current - GLOBAL_BUCKETS + 1)
    return {
        "authorisation": auth,
        "quota_today": counts,
        "calls_last_minute": minute,
        "deadlines_at_risk": deadlines_at_risk(ctx),
    }


def deadlines_at_risk(ctx: AppContext) -> list[browse.InvoiceView]:
    """Live invoices not accepted by ANAF due within one working day, or late (invoice views
    with ``deadline_status``)."""
    on = browse.today(ctx)
    with db.read(ctx.engine) as conn:
        risky = q.deadlines_at_risk(conn, working_days_after(on, 1))
    return [browse.invoice_view(row, on) for row in risky]
