"""Stripe's ledger in neutral terms (pure): balance transactions and payouts.

A balance transaction (``GET /v1/balance_transactions``, listed with ``expand[]=data.source``)
is turned into a :class:`LedgerEntry` that says what money moved and which payment of the
books it belongs to:

- ``charge`` (types ``charge``/``payment``, reporting category ``charge``): a sale; its
  payment key is the charge's PaymentIntent (``pi_…``), else the charge (``ch_…``);
- ``refund`` (``refund``/``payment_refund``): payment key the refund (``re_…``), referring
  to the charge's payment key; ``refund_failure`` gives the money back;
- ``dispute`` (``adjustment`` with reporting category ``dispute``: funds withdrawn) and
  ``dispute_reversal`` (funds reinstated when the dispute is won): payment key the dispute
  (``dp_…``);
- ``fee`` (reporting category ``fee``: Stripe fees billed apart), ``payout``, ``other``.

``amount``/``fee``/``net`` are in the balance's (settlement) currency; ``gross`` and
``gross_currency`` are the source object's own amount and currency (what the invoice is in),
negative for money going back to the payer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plain import Json, as_dict, as_int, ref_id

_CHARGE_TYPES = frozenset({"charge", "payment"})
_REFUND_TYPES = frozenset({"refund", "payment_refund"})
_REFUND_FAILURE_TYPES = frozenset({"refund_failure", "payment_refund_failure"})


@dataclass(frozen=True)
class LedgerEntry:
    txn_id: str
    kind: str
    """charge | refund | refund_failure | dispute | dispute_reversal | fee | payout | other."""
    type: str
    """Stripe's ``type``."""
    created: int
    currency: str
    """Settlement currency, upper case."""
    amount: int
    fee: int
    net: int
    source_id: str | None
    payment_key: str | None
    """The payment of the books this money belongs to (``pi_``/``ch_``, ``re_``, ``dp_``)."""
    refers_to: str | None
    """For refunds and disputes: the original payment's key."""
    gross: int | None
    """The source object's amount in ``gross_currency`` (negative when paid back)."""
    gross_currency: str | None
    status: str | None
    """The source object's status (charge ``succeeded``, dispute ``lost``, …)."""

    def to_json(self) -> Json:
        return dict(vars(self))  # flat: no need for asdict's deep copy

    @classmethod
    def from_json(cls, data: Json) -> LedgerEntry:
        return cls(**data)


@dataclass(frozen=True)
class Payout:
    payout_id: str
    amount: int
    currency: str
    arrival_date: int
    created: int
    status: str
    automatic: bool

    def to_json(self) -> Json:
        return dict(vars(self))

    @classmethod
    def from_json(cls, data: Json) -> Payout:
        return cls(**data)


def _kind(txn: Json) -> str:
    ttype = str(txn.get("type") or "")
    category = str(txn.get("reporting_category") or "")
    if ttype in _CHARGE_TYPES:
        return "charge"
    if ttype in _REFUND_TYPES:
        return "refund"
    if ttype in _REFUND_FAILURE_TYPES:
        return "refund_failure"
    if category in ("dispute", "dispute_reversal"):
        return category
    if ttype == "payout" or category == "payout":
        return "payout"
    if category == "fee" or ttype.endswith("_fee"):
        return "fee"
    return "other"


def _original_key(source: Json) -> str | None:
    return ref_id(source.get("payment_intent")) or ref_id(source.get("charge"))


def _keys(kind: str, source: Json, source_id: str | None) -> tuple[str | None, str | None]:
    """(payment key, refers to) of an entry."""
    if kind == "charge":
        return ref_id(source.get("payment_intent")) or source_id, None
    if kind in ("refund", "refund_failure", "dispute", "dispute_reversal"):
        return source_id, _original_key(source)
    return None, None


def _gross(kind: str, source: Json) -> int | None:
    if "amount" not in source:
        return None
    amount = as_int(source.get("amount")) or 0
    if kind == "charge":
        captured = source.get("amount_captured")
        return as_int(captured) if captured is not None else amount
    if kind in ("refund", "dispute"):
        return -amount
    return amount


def ledger_entry(txn: Json) -> LedgerEntry:
    """One balance transaction (``source`` expanded or an id) as a :class:`LedgerEntry`."""
    kind = _kind(txn)
    raw_source = txn.get("source")
    source = as_dict(raw_source)
    source_id = ref_id(raw_source)
    payment_key, refers_to = _keys(kind, source, source_id)
    currency = source.get("currency")
    return LedgerEntry(
        txn_id=str(txn["id"]),
        kind=kind,
        type=str(txn.get("type") or ""),
        created=as_int(txn.get("created")) or 0,
        currency=str(txn.get("currency") or "").upper(),
        amount=as_int(txn.get("amount")) or 0,
        fee=as_int(txn.get("fee")) or 0,
        net=as_int(txn.get("net")) or 0,
        source_id=source_id,
        payment_key=payment_key,
        refers_to=refers_to,
        gross=_gross(kind, source),
        gross_currency=str(currency).upper() if isinstance(currency, str) else None,
        status=str(source["status"]) if isinstance(source.get("status"), str) else None,
    )


def payout(obj: Json) -> Payout:
    return Payout(
        payout_id=str(obj["id"]),
        amount=as_int(obj.get("amount")) or 0,
        currency=str(obj.get("currency") or "").upper(),
        arrival_date=as_int(obj.get("arrival_date")) or 0,
        created=as_int(obj.get("created")) or 0,
        status=str(obj.get("status") or ""),
        automatic=bool(obj.get("automatic", True)),
    )
