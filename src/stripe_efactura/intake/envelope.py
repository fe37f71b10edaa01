"""Stripe event envelopes: the one way a stored or received event body is read (pure).

Every body goes through :func:`stripe_efactura.intake.payload.load` (JSON with Stripe's limits)
first: :func:`event_meta` takes the header stored beside the raw payload on receipt, and
:func:`envelope_from_dict` the whole :class:`~.events.Envelope` the worker classifies.
Snapshot events (``object: "event"``) carry the resource in ``data.object``; thin events
(``object: "v2.core.event"``, types prefixed ``v1.``) carry only ``related_object`` and the
resource must be fetched from the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .events import Envelope, EventMalformed, RelatedObject
from .payload import load
from .plain import as_dict, as_int


@dataclass(frozen=True)
class EventMeta:
    """The envelope fields stored beside the raw payload when an event is received."""

    id: str
    type: str
    livemode: bool
    api_version: str | None
    account: str | None


def event_meta(data: object) -> EventMeta:
    """The envelope header of an event read by ``intake.payload.load`` (the same reader the
    worker uses before :func:`envelope_from_dict`). Raises :class:`EventMalformed`."""
    if not isinstance(data, dict):
        raise EventMalformed("event payload is not a JSON object")
    event_id = data.get("id")
    event_type = data.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise EventMalformed("event payload has no id or type")
    api_version = data.get("api_version")
    account = data.get("account") or data.get("context")
    return EventMeta(
        id=event_id,
        type=event_type,
        livemode=bool(data.get("livemode", False)),
        api_version=api_version if isinstance(api_version, str) else None,
        account=account if isinstance(account, str) else None,
    )


def parse_envelope(raw: bytes | str) -> Envelope:
    """Parse a webhook body (snapshot or thin) with the limits of :func:`.payload.load`; raise
    :class:`EventMalformed` when it is not one."""
    return envelope_from_dict(load(raw))


def envelope_from_dict(data: object) -> Envelope:
    """Like :func:`parse_envelope`, for an event already decoded from JSON (``events`` list)."""
    if not isinstance(data, dict):
        raise EventMalformed("The webhook body is not a JSON object")
    kind = data.get("object")
    eid, etype = data.get("id"), data.get("type")
    if not isinstance(eid, str) or not isinstance(etype, str):
        raise EventMalformed("The event has no id or no type")
    account = data.get("account") if isinstance(data.get("account"), str) else None
    if kind == "v2.core.event":
        return _thin_envelope(data, eid, etype, account)
    if kind != "event":
        raise EventMalformed(f"Not a Stripe event: object is {kind!r}")
    body = as_dict(data.get("data"))
    obj = body.get("object")
    prev = body.get("previous_attributes")
    return Envelope(
        id=eid,
        type=etype,
        api_version=_str_or_none(data.get("api_version")),
        livemode=bool(data.get("livemode", False)),
        created=as_int(data.get("created")),
        account=account,
        object=obj if isinstance(obj, dict) else None,
        previous_attributes=prev if isinstance(prev, dict) else None,
    )


def _thin_envelope(data: dict[str, Any], eid: str, etype: str, account: str | None) -> Envelope:
    rel = as_dict(data.get("related_object"))
    related = None
    if isinstance(rel.get("id"), str) and isinstance(rel.get("type"), str):
        related = RelatedObject(str(rel["id"]), str(rel["type"]), _str_or_none(rel.get("url")))
    context = data.get("context")
    return Envelope(
        id=eid,
        type=etype.removeprefix("v1."),
        api_version=_str_or_none(data.get("api_version")),
        livemode=bool(data.get("livemode", False)),
        created=_created(data.get("created")),
        account=account or (context if isinstance(context, str) and context else None),
        object=None,
        thin=True,
        related_object=related,
    )


def _created(value: object) -> int | None:
    number = as_int(value)
    if number is not None:
        return number
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
