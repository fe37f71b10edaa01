"""The buyer checked in the public registries before an invoice is issued (docs/registry.md).

- A company buyer with a Romanian CUI is looked up in ANAF's taxpayer registry for the issue
  date: an unknown CUI or an inactive taxpayer is a problem; otherwise the registry's name and
  registered office fill what Stripe lacks (:func:`~..registry.buyer.registry_layer`).
- An invoice that reverse-charges (AE) or exempts (K) a supply because of the buyer's EU VAT
  id is issued only once VIES says the id is valid.
- A registry that is down makes the invoice wait (:class:`.lookups.LookupWait`, every
  :data:`.lookups.RETRY_DELAY` seconds) up to :data:`.lookups.MAX_WAIT`, then a problem says
  so. Private buyers are never looked up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..errors import Problem
from ..invoicing.buyer import BuyerOverrides, resolve_buyer
from ..invoicing.draft import BuyerDraft
from ..invoicing.model import Invoice
from ..invoicing.problems import problem
from ..registry.anaf_public import Taxpayer
from ..registry.buyer import (
    needs_vies,
    registry_layer,
    romanian_cui,
    taxpayer_problems,
    vies_problems,
    with_registry,
)
from ..registry.http import RegistryUnavailable
from ..registry.vies import VatCheck
from . import lookups
from .context import AppContext

_GAVE_UP = {lookups.ANAF: "P-REGISTRY-UNAVAILABLE", lookups.VIES: "P-VIES-UNAVAILABLE"}


@dataclass(frozen=True)
class BuyerCheck:
    buyer: BuyerDraft
    """The draft, with the registry's layer last when the CUI was found."""
    day: date
    taxpayer: Taxpayer | None = None
    problems: tuple[Problem, ...] = ()


def _unavailable(
    ctx: AppContext, payment_key: str, service: str, key: str, exc: RegistryUnavailable
) -> Problem:
    """The problem once the payment has waited long enough; until then the job waits."""
    since = lookups.give_up_since(ctx, payment_key, service)
    if since is None:
        raise lookups.LookupWait(
            f"{key}: {exc} — the invoice waits and retries", delay_seconds=lookups.RETRY_DELAY
        )
    stamp = since.strftime("%Y-%m-%d %H:%M UTC")
    return problem(_GAVE_UP[service], value=key, since=stamp, reason=exc.reason)


def check_buyer(
    ctx: AppContext,
    payment_key: str,
    draft: BuyerDraft,
    overrides: BuyerOverrides | None,
    day: date,
) -> BuyerCheck:
    """Look a Romanian company buyer up (see the module docs); other buyers pass unchanged."""
    resolved = resolve_buyer(draft, overrides)
    cui = romanian_cui(resolved.party)
    if cui is None:
        return BuyerCheck(draft, day)
    try:
        record = lookups.taxpayer(ctx, cui, day, payment_key=payment_key)
    except RegistryUnavailable as exc:
        return BuyerCheck(draft, day, problems=(_unavailable(ctx, payment_key, "anaf", cui, exc),))
    problems = taxpayer_problems(cui, record, day, resolved.sources.get("legal_id", ""))
    if record is None:
        return BuyerCheck(draft, day, problems=problems)
    return BuyerCheck(draft.with_fallback(registry_layer(record)), day, record, problems)


def finish(
    ctx: AppContext, payment_key: str, invoice: Invoice, checked: BuyerCheck
) -> tuple[Invoice, tuple[Problem, ...]]:
    """The built invoice checked in VIES when it needs to be, with the registry answers on
    its snapshot and the buyer's VAT id as ANAF's registry says."""
    check: VatCheck | None = None
    problems: tuple[Problem, ...] = ()
    vat_id = needs_vies(invoice)
    if vat_id is not None:
        try:
            check = lookups.check_vat(ctx, vat_id, checked.day, payment_key=payment_key)
        except RegistryUnavailable as exc:
            return invoice, (_unavailable(ctx, payment_key, "vies", vat_id, exc),)
        problems = vies_problems(check, checked.day)
    return with_registry(invoice, checked.day, checked.taxpayer, check), problems


def check_buyer_now(
    ctx: AppContext,
    payment_key: str,
    draft: BuyerDraft,
    overrides: BuyerOverrides | None,
    day: date,
) -> BuyerCheck:
    """:func:`check_buyer` for a command (``invoices retry``): waits here for a call slot (a
    few seconds at most); an outage still raises :class:`.lookups.LookupWait`."""
    for _ in range(10):
        try:
            return check_buyer(ctx, payment_key, draft, overrides, day)
        except lookups.LookupWait as wait:
            if (wait.delay_seconds or 0) > 5:
                raise
            ctx.sleep(wait.delay_seconds or 1.0)
    return check_buyer(ctx, payment_key, draft, overrides, day)
