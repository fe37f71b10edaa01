"""Registry lookups: ANAF's taxpayer registry and VIES, cached in the database.

- :func:`taxpayer` answers a CUI for a day. A cached, unexpired answer makes no call. Otherwise
  the CUI joins the wanted list and, when the shared throttle has a slot (one call per second
  for all processes of the service), one call asks ANAF for up to 100 wanted CUIs at once;
  without a slot the caller waits (:class:`LookupWait`, a retry that does not count as a failed
  attempt) and usually finds its answer cached by someone else's call.
- :func:`check_vat` asks VIES about one EU VAT id (cached the same way).
- An answer about day D expires at the end of D, or at the end of the day it was fetched on
  when that is later (Europe/Bucharest): a registry answer is valid for the day it was asked
  about.
- Every lookup and answer is recorded on the payment's timeline (``payment_log``) when a
  payment asked for it; :func:`timeline` reads it for the CLI.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from typing import TypedDict

from ..config import STARTER_TOML, parse_toml
from ..config_check import TEMPLATE_LINE
from ..errors import RetryLater, UserInputError
from ..files import write_atomic
from ..invoicing import ro
from ..jsontypes import JsonObject, json_object
from ..registry.anaf_public import (
    MAX_CUIS_PER_CALL,
    MIN_INTERVAL_SECONDS,
    AnafPublicClient,
    Taxpayer,
)
from ..registry.http import RegistryUnavailable
from ..registry.profile import profile_differences, update_company_toml
from ..registry.vies import VatCheck, ViesClient
from ..store import db
from ..store import registry as store
from ..tz import BUCHAREST
from .context import AppContext

_log = logging.getLogger("stripe_efactura.lookups")
ANAF = "anaf"
VIES = "vies"
#: How long an invoice waits for a registry that is down before it becomes a problem.
MAX_WAIT = timedelta(hours=24)
#: Seconds between two tries while a registry is down.
RETRY_DELAY = 300.0


class LookupWait(RetryLater):
    """Wait for a registry answer; the job runs again without counting a failed attempt."""

    code = "E-REGISTRY-WAIT"
    count_attempt = False


def now_utc(ctx: AppContext) -> datetime:
    return db.utc_naive(ctx.clock())


def expires_at(day: date, now: datetime) -> datetime:
    """The end (Europe/Bucharest midnight) of ``day`` or of the fetch day, whichever is
    later, as naive UTC."""
    fetched_day = now.replace(tzinfo=UTC).astimezone(BUCHAREST).date()
    last = max(day, fetched_day) + timedelta(days=1)
    midnight = datetime(last.year, last.month, last.day, tzinfo=BUCHAREST)
    return db.utc_naive(midnight)


class _SharedThrottle:
    """The database slot as the client's throttle: the first call uses the slot the caller
    already took; every later attempt (a retry) waits for a slot of its own."""

    def __init__(self, ctx: AppContext, service: str, interval: float) -> None:
        self.ctx, self.service, self.interval = ctx, service, interval
        self._first = True

    def wait(self) -> float:
        if self._first:
            self._first = False
            return 0.0
        waited = 0.0
        while True:
            with db.write(self.ctx.engine) as conn:
                wait = store.take_slot(conn, self.service, now_utc(self.ctx), self.interval)
            if wait <= 0:
                return waited
            self.ctx.sleep(wait)
            waited += wait


def anaf_client(ctx: AppContext) -> AnafPublicClient:
    return AnafPublicClient(
        ctx.settings.anaf_public_base,
        transport=ctx.registry_transport,
        throttle=_SharedThrottle(ctx, ANAF, MIN_INTERVAL_SECONDS),
        sleep=ctx.sleep,
    )


def vies_client(ctx: AppContext) -> ViesClient:
    return ViesClient(
        ctx.settings.vies_url,
        transport=ctx.registry_transport,
        clock=lambda: ctx.clock().timestamp(),
        sleep=ctx.sleep,
    )


def log(ctx: AppContext, payment_key: str | None, event: str, detail: JsonObject) -> None:
    if payment_key is None:
        return
    with db.write(ctx.engine) as conn:
        store.log_payment(conn, payment_key, event, detail, now=now_utc(ctx))


# --- ANAF's taxpayer registry -----------------------------------------------------------------


def run_anaf_batch(ctx: AppContext) -> int:
    """One call for up to 100 wanted CUIs (the caller holds the throttle slot); the answers
    are cached. Returns how many CUIs were answered."""
    with db.read(ctx.engine) as conn:
        pairs = store.wanted(conn, ANAF, MAX_CUIS_PER_CALL)
    if not pairs:
        return 0
    with anaf_client(ctx) as client:
        answer = client.lookup_pairs(pairs)
    now = now_utc(ctx)
    by_day: dict[date, list[tuple[str, str, JsonObject]]] = {}
    for cui, day in pairs:
        if cui in answer.found:
            row = (cui, "found", answer.found[cui].to_json())
        elif cui in answer.not_found:
            row = (cui, "not_found", {"cui": cui})
        else:
            continue  # a repeated CUI asked for another day: next batch
        by_day.setdefault(day, []).append(row)
    stored = 0
    with db.write(ctx.engine) as conn:
        for day, rows in by_day.items():
            stored += store.put_answers(
                conn, ANAF, day, rows, now=now, expires_at=expires_at(day, now)
            )
    return stored


def taxpayer(
    ctx: AppContext, cui: str, day: date, *, payment_key: str | None = None
) -> Taxpayer | None:
    """The registry's record of ``cui`` as of ``day``; None when ANAF does not know the CUI.

    Raises :class:`LookupWait` while the call waits for its slot, and
    :class:`~stripe_efactura.registry.http.RegistryUnavailable` when ANAF could not answer.
    """
    now = now_utc(ctx)
    with db.read(ctx.engine) as conn:
        cached = store.get_answer(conn, ANAF, cui, day, now)
    from_cache = cached is not None
    if cached is None:
        with db.write(ctx.engine) as conn:
            store.want(conn, ANAF, cui, day, now)
            wait = store.take_slot(conn, ANAF, now, MIN_INTERVAL_SECONDS)
        if wait > 0:
            raise LookupWait(
                f"CUI {cui}: waiting {wait:.1f} s for the next call to ANAF's registry",
                delay_seconds=wait + 0.05,
            )
        try:
            run_anaf_batch(ctx)
        except RegistryUnavailable as exc:
            log(ctx, payment_key, "registry_unavailable", _failure(ANAF, cui, day, exc))
            raise
        with db.read(ctx.engine) as conn:
            cached = store.get_answer(conn, ANAF, cui, day, now_utc(ctx))
        if cached is None:  # more than 100 CUIs were waiting before this one
            raise LookupWait(f"CUI {cui}: queued for ANAF's registry", delay_seconds=1.0)
    found = cached.outcome == "found"
    record = Taxpayer.from_json(cached.answer) if found else None
    detail: JsonObject = {
        "service": ANAF,
        "cui": cui,
        "day": day.isoformat(),
        "outcome": cached.outcome,
        "cached": from_cache,
    }
    if record is not None:
        detail |= {
            "name": record.name,
            "address": record.address_text,
            "vat_payer": record.vat_payer,
            "vat_on_collection": record.vat_on_collection,
            "inactive": record.inactive,
            "deregistered_on": record.deregistered_on,
        }
    log(ctx, payment_key, "registry_lookup", detail)
    return record


def _failure(service: str, key: str, day: date, exc: RegistryUnavailable) -> JsonObject:
    return {
        "service": service,
        "key": key,
        "day": day.isoformat(),
        "reason": exc.reason,
        "message": str(exc),
    }


# --- VIES ----------------------------------------------------------------------------------


def check_vat(
    ctx: AppContext, vat_id: str, day: date, *, payment_key: str | None = None
) -> VatCheck:
    """VIES' answer about ``vat_id`` (cached for the day). Raises
    :class:`~stripe_efactura.registry.http.RegistryUnavailable` while VIES cannot check it."""
    now = now_utc(ctx)
    with db.read(ctx.engine) as conn:
        cached = store.get_answer(conn, VIES, vat_id, day, now)
    if cached is not None:
        check = VatCheck.from_json(cached.answer)
    else:
        try:
            with vies_client(ctx) as client:
                check = client.check(vat_id)
        except RegistryUnavailable as exc:
            log(ctx, payment_key, "registry_unavailable", _failure(VIES, vat_id, day, exc))
            raise
        now = now_utc(ctx)
        outcome = "valid" if check.valid else "invalid"
        with db.write(ctx.engine) as conn:
            store.put_answers(
                conn,
                VIES,
                day,
                [(vat_id, outcome, check.to_json())],
                now=now,
                expires_at=expires_at(day, now),
            )
    log(
        ctx,
        payment_key,
        "vies_check",
        {
            "service": VIES,
            "vat_id": vat_id,
            "day": day.isoformat(),
            "valid": check.valid,
            "name": check.name,
            "address": check.address,
            "request_identifier": check.request_identifier,
            "cached": cached is not None,
        },
    )
    return check


# --- waiting for a service that is down ----------------------------------------------------


def outage_started(ctx: AppContext, payment_key: str, service: str) -> datetime | None:
    """When this payment first found ``service`` down, counting from its last give-up."""
    with db.read(ctx.engine) as conn:
        events = store.payment_timeline(
            conn, payment_key, ("registry_unavailable", "registry_gave_up")
        )
    start: datetime | None = None
    for e in events:
        if not isinstance(e.detail, dict) or e.detail.get("service") != service:
            continue
        if e.event == "registry_gave_up":
            start = None
        elif start is None:
            start = e.at
    return start


def give_up_since(ctx: AppContext, payment_key: str, service: str) -> datetime | None:
    """When the payment has waited :data:`MAX_WAIT` for ``service``: the moment the outage
    began (and the give-up is recorded, so a later retry waits afresh); else None."""
    start = outage_started(ctx, payment_key, service)
    if start is None or now_utc(ctx) - start < MAX_WAIT:
        return None
    log(ctx, payment_key, "registry_gave_up", {"service": service, "since": start.isoformat()})
    return start


class TimelineEvent(TypedDict):
    """One event of a payment's timeline. ``detail`` is the JSON object the event logged, its
    shape the event's own (registry, VIES, BNR waits)."""

    at: str
    event: str
    detail: JsonObject


def timeline(ctx: AppContext, payment_key: str) -> list[TimelineEvent]:
    """The payment's timeline (lookups, answers, waits) for ``payments timeline``. Every event
    is logged with a JSON object (:func:`log`, ``fx``); anything else reads as ``{}``."""
    with db.read(ctx.engine) as conn:
        events = store.payment_timeline(conn, payment_key)
    return [
        {"at": e.at.isoformat(), "event": e.event, "detail": json_object(e.detail) or {}}
        for e in events
    ]


def timeline_entries(ctx: AppContext, payment_key: str) -> list[JsonObject]:
    """The same, as entries of a payment's whole timeline (API, console): ``registry:<event>``
    (``registry:registry_lookup``, ``registry:vies_check``, ``registry:registry_unavailable``…)."""
    return [
        {"at": e["at"], "event": f"registry:{e['event']}", "detail": e["detail"]}
        for e in timeline(ctx, payment_key)
    ]


# --- the seller ------------------------------------------------------------------------------


def lookup_now(ctx: AppContext, cui: str, day: date, *, tries: int = 20) -> Taxpayer | None:
    """:func:`taxpayer` for a command or start-up: waits for the call slot here instead of
    rescheduling a job."""
    for _ in range(tries - 1):
        try:
            return taxpayer(ctx, cui, day)
        except LookupWait as wait:
            ctx.sleep(wait.delay_seconds or 1.0)
    return taxpayer(ctx, cui, day)


def today(ctx: AppContext) -> date:
    return ctx.clock().astimezone(BUCHAREST).date()


def without_template_line(text: str) -> str:
    """``text`` without :data:`~stripe_efactura.config.TEMPLATE_LINE` (the profile is
    completed from the registry)."""
    return text.replace(TEMPLATE_LINE + "\n", "", 1).replace(TEMPLATE_LINE, "", 1)


def fill_company_profile(ctx: AppContext, cui_text: str) -> Taxpayer:
    """``init --cui``: look the company up and write its ``[company]`` block (name, CUI,
    address and county, VAT status, VAT on collection, trade register number) into
    ``efactura.toml``, keeping every other setting. Raises ``UserInputError`` for a CUI that
    is not valid or not in the registry, ``RegistryUnavailable`` when ANAF does not answer."""
    cui = ro.validate_cui(cui_text)
    if cui is None:
        raise UserInputError(
            f"{cui_text!r} is not a valid CUI / {cui_text!r} nu este un CUI valid",
            code="E-INPUT-INVALID",
        )
    record = lookup_now(ctx, cui, today(ctx))
    if record is None:
        raise UserInputError(
            f"CUI {cui} is not in ANAF's taxpayer registry / CUI-ul {cui} nu figurează în "
            "registrul ANAF",
            code="E-INPUT-INVALID",
        )
    path = ctx.settings.config_path
    text = path.read_text(encoding="utf-8") if path.exists() else STARTER_TOML
    updated = without_template_line(update_company_toml(text, record))
    parse_toml(updated)  # never write a file the service cannot read
    write_atomic(path, updated)
    return record


def seller_profile_warnings(ctx: AppContext) -> list[str]:
    """Where ``efactura.toml``'s company profile disagrees with the registry today (one
    bilingual ``W-SELLER-REGISTRY`` line each); a registry that does not answer is one
    ``W-SELLER-REGISTRY-UNCHECKED`` line."""
    company = ctx.settings.company
    day = today(ctx)
    if ro.validate_cui(company.cui) is None:
        return []
    try:
        record = lookup_now(ctx, company.cui, day, tries=5)
    except (RegistryUnavailable, LookupWait) as exc:
        return [
            (
                f"[W-SELLER-REGISTRY-UNCHECKED] the company profile could not be checked "
                f"in ANAF's registry ({exc}) / profilul firmei nu a putut fi verificat în "
                "registrul ANAF"
            )
        ]
    if record is None:
        return [
            (
                f"[W-SELLER-REGISTRY] CUI {company.cui} from efactura.toml is not in ANAF's "
                f"registry / CUI-ul {company.cui} din efactura.toml nu figurează în registrul ANAF"
            )
        ]
    diffs = profile_differences(
        company.name,
        company.vat_payer,
        company.vat_on_collection,
        company.trade_register,
        company.address,
        record,
    )
    return [d.message(day.isoformat()) for d in diffs]


def warn_seller_profile(ctx: AppContext) -> threading.Thread:
    """Start-up check in the background (never delays or stops the service): each difference
    is logged as a warning."""

    def run() -> None:
        try:
            for line in seller_profile_warnings(ctx):
                _log.warning("%s", line)
        except Exception:
            _log.warning("the company profile check failed", exc_info=True)

    thread = threading.Thread(target=run, name="seller-profile-check", daemon=True)
    thread.start()
    return thread
