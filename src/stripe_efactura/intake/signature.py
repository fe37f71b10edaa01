"""Verify the ``Stripe-Signature`` header of a webhook against the raw request body.

The header is ``t=<unix>,v1=<hex>[,v1=<hex>…][,v0=<hex>]``; ``v1`` is
HMAC-SHA256(endpoint secret, ``f"{t}.{raw_body}"``). Stripe sends two ``v1`` values while an
endpoint secret is being rolled, and the merchant may configure two secrets for the same reason
(``EFACTURA_STRIPE_WEBHOOK_SECRET=whsec_new,whsec_old``): the body is accepted when any configured
secret matches any ``v1``.

The HMAC comparison itself is done by the SDK (``stripe.WebhookSignature.verify_header``, constant
time). Apart from :mod:`stripe_efactura.intake.stripe_api`, this is the only module that imports
the ``stripe`` package, and it uses only its webhook helpers, never the API client. The header's
shape and the timestamp tolerance are checked here, so that every failure gets its own code and
the clock can be injected in tests:

- ``E-SIG-MISSING``: no ``Stripe-Signature`` header (or an empty one);
- ``E-SIG-MALFORMED``: no ``t=`` (decimal digits), more than one ``t=``, or no ``v1=`` entry;
- ``E-SIG-MISMATCH``: no ``v1`` matches any configured secret (wrong secret, altered or
  re-serialised body);
- ``E-SIG-STALE``: a signature matches but ``t`` is older than ``tolerance`` seconds;
- ``E-SIG-NO-SECRET``: no endpoint secret is configured.

Like the SDK, a timestamp in the future is accepted: forging one needs the secret.
The age and the HMAC are checked against the same, single ``t`` (issue 16: a captured body
with a fresh `` t=<now>`` added to its header was accepted, because the age check read one
``t`` and the SDK verified the other).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import stripe

from stripe_efactura.errors import SignatureError

# the SDK's own class and error, bound once: ``stripe`` resolves its public names lazily, and
# each ``stripe.WebhookSignature`` went through its module ``__getattr__`` and
# ``importlib.import_module`` again (3 us of every webhook, issue 17)
_SDK_SIGNATURE = stripe.WebhookSignature
_SDK_MISMATCH = stripe.SignatureVerificationError

DEFAULT_TOLERANCE = 300
"""Seconds a signature stays valid, as in the Stripe SDKs."""


def _parse_header(header: str) -> tuple[int, list[str]]:
    """Return ``(timestamp, v1 signatures)``; raise E-SIG-MALFORMED unless the header has
    exactly one ``t`` (decimal digits only) and at least one non-empty ``v1``.

    Item keys are compared after stripping blanks, so `` t=…`` counts as a second ``t``:
    the age check and the HMAC must use the same timestamp, and a header that names two
    can only be a replay attempt (a captured signature with a fresh ``t`` added)."""
    stamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key == "t":
            stamps.append(value)
        elif key == "v1" and value:
            signatures.append(value)
    if len(stamps) > 1:
        raise SignatureError(
            "Stripe-Signature header is malformed: it names more than one t= timestamp",
            code="E-SIG-MALFORMED",
        )
    stamp = stamps[0] if stamps else ""
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12) or not signatures:
        raise SignatureError(
            "Stripe-Signature header is malformed: it needs t=<unix time> and at least one v1=",
            code="E-SIG-MALFORMED",
        )
    return int(stamp), signatures


def verify(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: int | None = None,
) -> None:
    """Accept ``payload`` (the raw request body) or raise :class:`SignatureError`.

    ``secrets`` are the endpoint secrets (``whsec_…``), newest first; any match is enough.
    ``now`` (unix seconds) defaults to the system clock. ``tolerance <= 0`` disables the
    staleness check. With no secret configured nothing can be trusted: ``E-SIG-NO-SECRET``.
    """
    usable = [s for s in secrets if s and s.strip()]
    if not usable:
        raise SignatureError(
            "No Stripe webhook secret is configured (EFACTURA_STRIPE_WEBHOOK_SECRET)",
            code="E-SIG-NO-SECRET",
        )
    if not header or not header.strip():
        raise SignatureError("The Stripe-Signature header is missing", code="E-SIG-MISSING")
    timestamp, v1s = _parse_header(header)
    # the SDK is given a header rebuilt from what was parsed here, so that it checks the HMAC
    # against the very timestamp whose age is checked below (never another ``t`` item)
    canonical = ",".join([f"t={timestamp}", *(f"v1={v}" for v in v1s)])
    try:
        text = payload.decode("utf-8")  # decoded once: the SDK takes the str as it is
    except UnicodeDecodeError as exc:
        raise SignatureError(
            "The webhook body is not UTF-8, so it cannot be what Stripe signed",
            code="E-SIG-MISMATCH",
        ) from exc
    if not any(_matches(text, canonical, secret) for secret in usable):
        raise SignatureError(
            "No v1 signature in Stripe-Signature matches the body for any configured secret "
            "(wrong secret, or the body was altered or re-serialised)",
            code="E-SIG-MISMATCH",
        )
    current = int(time.time()) if now is None else now
    if tolerance > 0 and timestamp < current - tolerance:
        raise SignatureError(
            f"The signature timestamp {timestamp} is more than {tolerance} s old",
            code="E-SIG-STALE",
            timestamp=timestamp,
        )


def _matches(payload: str, header: str, secret: str) -> bool:
    """True when the SDK finds a ``v1`` for ``secret``; the tolerance is checked by the caller.

    ``payload`` is the body already decoded (the SDK would decode bytes once more)."""
    try:
        _SDK_SIGNATURE.verify_header(payload, header, secret, tolerance=None)
    except _SDK_MISMATCH:
        return False
    return True


def sign(payload: bytes, secret: str, *, timestamp: int) -> str:
    """Build a ``Stripe-Signature`` header for ``payload`` (tests, the demo, ``ingest``)."""
    header: str = stripe.WebhookSignature.generate_signature_header(
        payload.decode("utf-8"), secret, timestamp=timestamp
    )
    return header
