"""Every endpoint × every role (and token scope): each may do exactly what it may."""

from __future__ import annotations

from typing import Any

import pytest

ANY, READ, DOWNLOAD, OPERATE, ADMIN = "any", "read", "download", "operate", "admin"
ALLOWED = {
    "admin": {ANY, READ, DOWNLOAD, OPERATE, ADMIN},
    "accountant": {ANY, READ, DOWNLOAD, OPERATE},
    "viewer": {ANY, READ},
    "read:admin": {ANY, READ, DOWNLOAD},
    "read:accountant": {ANY, READ, DOWNLOAD},
    "read:viewer": {ANY, READ},
}
STORNO = {"reason": "test"}
BUYER = {"name": "Firma SRL"}
# (method, OpenAPI path, concrete path, JSON body, what it needs)
TABLE: list[tuple[str, str, str, Any, str]] = [
    ("get", "/payments", "/payments", None, READ),
    ("get", "/payments/{payment_key}", "/payments/pi_none", None, READ),
    ("post", "/payments/{payment_key}/retry", "/payments/pi_none/retry", None, OPERATE),
    ("put", "/payments/{payment_key}/buyer", "/payments/pi_none/buyer", BUYER, OPERATE),
    ("post", "/payments/{payment_key}/dispute-decision", "/payments/dp_none/dispute-decision",
     {"storno": False}, OPERATE),
    ("get", "/invoices", "/invoices", None, READ),
    ("get", "/invoices/{number}", "/invoices/X1", None, READ),
    ("get", "/invoices/{number}/{document}", "/invoices/X1/pdf", None, DOWNLOAD),
    ("post", "/invoices/{number}/resend-email", "/invoices/X1/resend-email", None, OPERATE),
    ("post", "/invoices/{number}/retry", "/invoices/X1/retry", None, OPERATE),
    ("post", "/invoices/{number}/storno", "/invoices/X1/storno", STORNO, OPERATE),
    ("post", "/invoices/{number}/reissue", "/invoices/X1/reissue",
     {**STORNO, "buyer": BUYER}, OPERATE),
    ("get", "/notices", "/notices", None, READ),
    ("post", "/notices/{notice_id}/acknowledge", "/notices/1/acknowledge", None, OPERATE),
    ("get", "/anaf", "/anaf", None, READ),
    ("post", "/anaf/authorize", "/anaf/authorize", None, OPERATE),
    ("get", "/system/readiness", "/system/readiness", None, READ),
    ("get", "/me", "/me", None, ANY),
    ("get", "/users", "/users", None, ADMIN),
    ("post", "/users", "/users",
     {"email": "new@example.ro", "password": "a long enough password"}, ADMIN),
    ("get", "/users/{user_id}", "/users/1", None, ADMIN),
    ("patch", "/users/{user_id}", "/users/3", {"name": "Vio"}, ADMIN),
    ("get", "/tokens", "/tokens", None, ANY),
    ("post", "/tokens", "/tokens", {"name": "x", "scope": "read"}, "write-token"),
    ("delete", "/tokens/{token_id}", "/tokens/999", None, "write-token"),
    ("get", "/audit-log", "/audit-log", None, ADMIN),
    ("post", "/audits", "/audits", {"period": "2026-11", "spv": False}, OPERATE),
    ("get", "/audits/{run_id}", "/audits/none", None, READ),
    ("get", "/journal", "/journal?period=2026-11", None, DOWNLOAD),
    ("get", "/journal/{fmt}", "/journal/csv?period=2026-11", None, DOWNLOAD),
    ("get", "/period-archive", "/period-archive?period=2026-11", None, DOWNLOAD),
]  # fmt: skip


def test_the_table_covers_every_operation(api) -> None:  # type: ignore[no-untyped-def]
    document = api.client.get("/api/v1/openapi.json", headers=api.headers("viewer")).json()
    operations = {(m, p) for p, item in document["paths"].items() for m in item}
    assert operations == {(m, p) for m, p, *_ in TABLE}


@pytest.mark.parametrize("who", list(ALLOWED))
def test_each_role_can_do_exactly_what_it_may(api, who: str) -> None:  # type: ignore[no-untyped-def]
    for method, _spec, path, body, needs in TABLE:
        answer = api.client.request(method, f"/api/v1{path}", headers=api.headers(who), json=body)
        write_token = not who.startswith("read:")
        allowed = write_token if needs == "write-token" else needs in ALLOWED[who]
        assert answer.status_code != 401, (method, path, who)
        if allowed:
            assert answer.status_code != 403, (method, path, who, answer.json())
            assert answer.status_code < 500, (method, path, who, answer.text)
        else:
            assert (answer.status_code, answer.json()["code"]) == (403, "E-FORBIDDEN"), (
                method,
                path,
                who,
            )


def test_without_credentials_every_operation_is_401(api) -> None:  # type: ignore[no-untyped-def]
    for method, _spec, path, body, _needs in TABLE:
        answer = api.client.request(method, f"/api/v1{path}", json=body)
        assert (answer.status_code, answer.headers["content-type"]) == (
            401,
            "application/problem+json",
        ), (method, path)
        assert answer.json()["code"] == "E-AUTH-REQUIRED"
    for extra in ("/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/reference.js"):
        assert api.client.get(extra).status_code == 401
    assert (
        api.client.get("/api/v1/me", headers={"Authorization": "Bearer sef_nope"}).json()["code"]
        == "E-AUTH-TOKEN"
    )
