"""Stripe-Signature verification: every failure mode has its own code."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from stripe_efactura.errors import SignatureError
from stripe_efactura.intake.signature import sign, verify

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
NOW = 1_767_000_000
BODY = json.dumps(
    {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "note": "Plată țară"},
    ensure_ascii=False,
    indent=2,
).encode("utf-8")


def _v1(body: bytes, secret: str, ts: int) -> str:
    return hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()


def _code(exc: pytest.ExceptionInfo[SignatureError]) -> str:
    return exc.value.code


def test_valid_signature_with_diacritics_is_accepted() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    assert header == f"t={NOW},v1={_v1(BODY, SECRET, NOW)}"
    verify(BODY, header, [SECRET], now=NOW + 10)


def test_wrong_secret_is_a_mismatch() -> None:
    header = sign(BODY, "whsec_someone_else", timestamp=NOW)
    with pytest.raises(SignatureError) as exc:
        verify(BODY, header, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MISMATCH"


def test_stale_timestamp() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    verify(BODY, header, [SECRET], now=NOW + 300)
    with pytest.raises(SignatureError) as exc:
        verify(BODY, header, [SECRET], now=NOW + 301)
    assert _code(exc) == "E-SIG-STALE"
    assert exc.value.context == {"timestamp": NOW}


def test_tolerance_zero_disables_the_staleness_check() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    verify(BODY, header, [SECRET], tolerance=0, now=NOW + 86_400)


def test_future_timestamp_is_accepted_like_the_sdk() -> None:
    header = sign(BODY, SECRET, timestamp=NOW + 3600)
    verify(BODY, header, [SECRET], now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"t={NOW}",
        f"v1={'0' * 64}",
        f"t=notanumber,v1={'0' * 64}",
        f"t={NOW},v0={'0' * 64}",
        f"t={NOW},v1=",
    ],
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, header, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MALFORMED"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header: str | None) -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, header, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MISSING"


def test_two_v1_during_stripe_secret_roll_any_match_is_enough() -> None:
    header = f"t={NOW},v1={_v1(BODY, OLD_SECRET, NOW)},v1={_v1(BODY, SECRET, NOW)},v0=abc"
    verify(BODY, header, [SECRET], now=NOW)
    verify(BODY, header, [OLD_SECRET], now=NOW)
    with pytest.raises(SignatureError) as exc:
        verify(BODY, header, ["whsec_third"], now=NOW)
    assert _code(exc) == "E-SIG-MISMATCH"


def test_two_configured_secrets_either_matches() -> None:
    verify(BODY, sign(BODY, OLD_SECRET, timestamp=NOW), [SECRET, OLD_SECRET], now=NOW)
    verify(BODY, sign(BODY, SECRET, timestamp=NOW), [SECRET, OLD_SECRET], now=NOW)
    verify(BODY, sign(BODY, SECRET, timestamp=NOW), ["", SECRET], now=NOW)


def test_reserialised_body_fails() -> None:
    header = sign(BODY, SECRET, timestamp=NOW)
    same_data = json.dumps(json.loads(BODY)).encode("utf-8")
    assert json.loads(same_data) == json.loads(BODY)
    with pytest.raises(SignatureError) as exc:
        verify(same_data, header, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MISMATCH"


def test_altered_timestamp_fails() -> None:
    header = sign(BODY, SECRET, timestamp=NOW).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(SignatureError) as exc:
        verify(BODY, header, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MISMATCH"


def test_non_utf8_body_fails() -> None:
    header = f"t={NOW},v1={'0' * 64}"
    with pytest.raises(SignatureError) as exc:
        verify(b"\xff\xfe", header, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MISMATCH"


def test_no_secret_configured() -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, sign(BODY, SECRET, timestamp=NOW), ["", " "], now=NOW)
    assert _code(exc) == "E-SIG-NO-SECRET"


@pytest.mark.parametrize(
    "forge",
    [
        lambda h, now: f"{h},t={now}",
        lambda h, now: f"{h}, t={now}",
        lambda h, now: f" t={now},{h}",
        lambda h, now: f"t={now},{h}",
        lambda h, now: f"{h},t ={now}",
    ],
)
def test_a_second_t_is_refused_whatever_its_place(forge) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: a captured signature an hour old with a fresh ``t`` added was accepted."""
    header = sign(BODY, SECRET, timestamp=NOW - 3600)
    with pytest.raises(SignatureError) as exc:
        verify(BODY, forge(header, NOW), [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MALFORMED"
    assert "more than one t=" in exc.value.message


def test_age_and_hmac_use_the_same_timestamp() -> None:
    """A fresh ``t`` with an old signature is a mismatch; the old ``t`` is stale."""
    old = sign(BODY, SECRET, timestamp=NOW - 3600)
    v1 = old.split("v1=", 1)[1]
    with pytest.raises(SignatureError) as exc:
        verify(BODY, f"t={NOW},v1={v1}", [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MISMATCH"
    with pytest.raises(SignatureError) as exc:
        verify(BODY, old, [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-STALE"


@pytest.mark.parametrize("stamp", ["+1767000000", "1_767_000_000", "-5", "１２３", "9" * 13])
def test_timestamp_must_be_plain_decimal_digits(stamp: str) -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, f"t={stamp},v1={_v1(BODY, SECRET, NOW)}", [SECRET], now=NOW)
    assert _code(exc) == "E-SIG-MALFORMED"


def test_blanks_around_items_are_tolerated() -> None:
    verify(BODY, f" t={NOW} , v1={_v1(BODY, SECRET, NOW)} ", [SECRET], now=NOW)
