"""BNR exchange rates: fetched from the official feed, cached in ``fx_rates``.

``EFACTURA_BNR_URL`` names the daily feed (default ``https://www.bnr.ro/nbrfxrates.xml``);
the yearly archive is ``<origin>/files/xml/years/nbrfxrates<YYYY>.xml`` on the same host.
The rate an invoice uses is chosen by :func:`invoicing.fx.choose_rate`; with no provable
rate the invoice waits — it never guesses.

The wait is event-driven: ``issue_invoice`` asks for the rates (job ``fetch_bnr``) and
raises :class:`RateWait` (:func:`wait_for_rate`), which puts its job back without counting
an attempt, with the reason ``[E-FX-WAIT] waiting for the BNR rate of EUR for 2026-01-02 …``
in ``jobs.last_error``; the transaction that stores fetched rates wakes every job waiting so
(:func:`store_rates`), so the first EUR invoice is issued as soon as the feed answered.
:data:`RATE_RETRY_DELAY` is only a safety net (BNR has not published yet, or a fetch finished
while the job was still deciding to wait).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx

from ..errors import Problem, RetryLater
from ..invoicing import deadlines, fx
from ..invoicing.model import FxInfo
from ..invoicing.problems import problem
from ..jobs import queue
from ..store import db
from ..store import fx_rates as fx_store
from ..store import registry as payment_log
from .context import AppContext

log = logging.getLogger("stripe_efactura.fx")


def archive_url(feed_url: str, year: int) -> str:
    parts = urlsplit(feed_url)
    return f"{parts.scheme}://{parts.netloc}/files/xml/years/nbrfxrates{year}.xml"


def cached_rates(ctx: AppContext, around: date) -> dict[date, dict[str, Decimal]]:
    with db.read(ctx.engine) as conn:
        return fx_store.between(conn, around - timedelta(days=20), around + timedelta(days=7))


def rate_for(ctx: AppContext, currency: str, issue_date: date) -> FxInfo | None:
    holidays = deadlines.romanian_holidays(issue_date.year) | deadlines.romanian_holidays(
        issue_date.year - 1
    )
    return fx.choose_rate(cached_rates(ctx, issue_date), currency, issue_date, holidays=holidays)


def store_rates(ctx: AppContext, rates: dict[date, dict[str, Decimal]]) -> int:
    """Cache the rates (existing ones are kept) and, in the same transaction, wake every job
    waiting for a rate (:class:`RateWait`). Returns how many rates were new."""
    with db.write(ctx.engine) as conn:
        n = fx_store.add_new(conn, rates, db.db_now(conn))
        woken = queue.wake(conn, f"[{RateWait.code}]")
    if woken:
        log.info("BNR rates stored: %d job(s) waiting for a rate woken", woken)
    return n


def fetch_bnr(ctx: AppContext, year: int | None = None) -> int:
    """Job ``fetch_bnr``: download the feed (or a yearly archive) and cache it."""
    url = ctx.settings.bnr_url if year is None else archive_url(ctx.settings.bnr_url, year)
    transport = ctx.bnr_transport
    try:
        with httpx.Client(timeout=20, transport=transport, follow_redirects=True) as client:
            resp = client.get(url)
    except httpx.HTTPError as exc:
        raise RetryLater(f"BNR unreachable ({url}): {exc}", delay_seconds=600) from exc
    if resp.status_code != 200:
        raise RetryLater(f"BNR answered {resp.status_code} for {url}", delay_seconds=600)
    stored = store_rates(ctx, fx.parse_bnr_xml(resp.content))
    log.info("BNR %s: %d new rates", url, stored)
    return stored


def request_rates(ctx: AppContext, issue_date: date, today: date) -> None:
    """Ask the worker to fetch what the issue date needs (deduplicated per hour)."""
    year = issue_date.year if (today - issue_date).days > 5 else None
    with db.write(ctx.engine) as conn:
        stamp = db.db_now(conn).strftime("%Y%m%d%H")
        queue.enqueue(
            conn,
            "fetch_bnr",
            {"year": year},
            dedupe_key=f"fetch_bnr:{year or 'latest'}:{stamp}",
            max_attempts=50,
        )


# ---- a payment waiting for its rate -------------------------------------------------------

#: How long a payment waits for a BNR rate before it needs attention (BNR publishes each
#: working day around 13:00; two days cover a late feed and a holiday).
MAX_RATE_WAIT = timedelta(hours=48)
#: Seconds between two tries while the rate is missing, when no fetch wakes the job first
#: (storing rates wakes every waiting job: :func:`store_rates`).
RATE_RETRY_DELAY = 1800.0


class RateWait(RetryLater):
    """The invoice waits for a BNR rate; the job runs again without counting an attempt
    (the wait is bounded by :data:`MAX_RATE_WAIT`, not by the job's attempts)."""

    code = "E-FX-WAIT"
    count_attempt = False


def _waiting_since(ctx: AppContext, payment_key: str) -> datetime | None:
    with db.read(ctx.engine) as conn:
        events = payment_log.payment_timeline(conn, payment_key, ("fx_waiting", "fx_gave_up"))
    start: datetime | None = None
    for e in events:
        if e.event == "fx_gave_up":
            start = None
        elif start is None:
            start = e.at
    return start


def wait_for_rate(ctx: AppContext, payment_key: str, currency: str, day: date) -> Problem:
    """The payment has no BNR rate for ``day`` yet. The first time its timeline says why it
    waits (``fx_waiting``); then :class:`RateWait` until :data:`MAX_RATE_WAIT` has passed,
    after which the returned problem (``P-FX-RATE-MISSING``) makes it need attention (and a
    later ``payments retry`` waits afresh)."""
    now = db.utc_naive(ctx.clock())
    since = _waiting_since(ctx, payment_key)
    detail = {"currency": currency.upper(), "day": day.isoformat()}
    if since is None:
        with db.write(ctx.engine) as conn:
            payment_log.log_payment(conn, payment_key, "fx_waiting", detail, now=now)
        since = now
    if now - since < MAX_RATE_WAIT:
        raise RateWait(
            f"waiting for the BNR rate of {currency} for {day} (since {since:%Y-%m-%d %H:%M} UTC)",
            delay_seconds=RATE_RETRY_DELAY,
        )
    with db.write(ctx.engine) as conn:
        payment_log.log_payment(
            conn, payment_key, "fx_gave_up", {**detail, "since": since.isoformat()}, now=now
        )
    return problem(
        "P-FX-RATE-MISSING",
        currency=currency.upper(),
        day=day.isoformat(),
        since=f"{since:%Y-%m-%d %H:%M} UTC",
    )
