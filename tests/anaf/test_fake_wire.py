"""The fake's raw wire format (exact bodies), checked with a plain httpx client."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from stripe_efactura.anaf import fake as fake_module
from stripe_efactura.anaf.fake import (
    FakeAnafState,
    FakeAnafTransport,
    FaultKind,
    sample_invoice,
)

REST = "http://anaf.fake/test/FCTEL/rest"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@pytest.fixture
def http(transport: FakeAnafTransport, token: dict[str, str]) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {token['access']}"}
    with httpx.Client(transport=transport, headers=headers) as client:
        yield client


def test_upload_and_status_bodies(http: httpx.Client) -> None:
    up = http.post(
        f"{REST}/upload", params={"standard": "UBL", "cif": "12345678"}, content=sample_invoice()
    )
    assert (up.status_code, up.headers["content-type"]) == (200, "application/xml")
    assert up.text == (
        DECL + '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202603021200" '
        'ExecutionStatus="0" index_incarcare="5001130147"/>'
    )
    first = http.get(f"{REST}/stareMesaj", params={"id_incarcare": "5001130147"})
    assert first.text == (
        DECL + '<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="in prelucrare"/>'
    )
    second = http.get(f"{REST}/stareMesaj", params={"id_incarcare": "5001130147"})
    assert second.text == (
        DECL + '<header xmlns="mfp:anaf:dgti:efactura:stareMesajFactura:v1" stare="ok" '
        'id_descarcare="3001474424"/>'
    )


def test_upload_error_body(http: httpx.Client) -> None:
    response = http.post(f"{REST}/upload", params={"standard": "XX", "cif": "1"}, content=b"<a/>")
    assert response.text == (
        DECL + '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202603021200" '
        'ExecutionStatus="1">\n    <Errors errorMessage="Valorile acceptate pentru parametrul '
        'standard sunt UBL, CN, CII sau RASP"/>\n</header>'
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"standard": "UBL", "cif": "1", "extern": "NU"},
            "Daca parametrul extern trebuie completat, valoarea acceptata este DA",
        ),
        (
            {"standard": "UBL", "cif": "1", "autofactura": "x"},
            "Daca parametrul autofacturare trebuie completat, valoarea acceptata este DA",
        ),
    ],
)
def test_upload_flag_errors(http: httpx.Client, params: dict[str, str], message: str) -> None:
    response = http.post(f"{REST}/upload", params=params, content=sample_invoice())
    assert f'<Errors errorMessage="{message}"/>' in response.text


def test_missing_params_are_http_400_json(http: httpx.Client) -> None:
    upload = http.post(f"{REST}/upload", params={"cif": "1"}, content=b"<a/>")
    assert upload.status_code == 400
    assert upload.json() == {
        "timestamp": "02-03-2026 12:00:00",
        "status": 400,
        "error": "Bad Request",
        "message": "Parametrii standard si cif sunt obligatorii",
    }
    assert (
        http.get(f"{REST}/stareMesaj").json()["message"]
        == "Parametrul id_incarcare este obligatoriu"
    )
    assert http.get(f"{REST}/descarcare").json()["message"] == "Parametrul id este obligatoriu"
    assert (
        http.get(f"{REST}/listaMesajeFactura").json()["message"]
        == "Parametrii zile si cif sunt obligatorii"
    )
    assert (
        http.get(f"{REST}/listaMesajePaginatieFactura").json()["message"]
        == "Parametrii startTime, endTime, cif si pagina sunt obligatorii"
    )


@pytest.mark.parametrize(
    ("params", "eroare"),
    [
        ({"zile": "aaa", "cif": "1"}, "Numarul de zile introdus= aaa nu este un numar intreg"),
        ({"zile": "61", "cif": "1"}, "Numarul de zile trebuie sa fie intre 1 si 60"),
        ({"zile": "1", "cif": "aaa"}, "CIF introdus= aaa nu este un numar"),
        (
            {"zile": "1", "cif": "1", "filtru": "X"},
            "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R",
        ),
        ({"zile": "15", "cif": "1"}, "Nu exista mesaje in ultimele 15 zile"),
    ],
)
def test_simple_list_errors(http: httpx.Client, params: dict[str, str], eroare: str) -> None:
    response = http.get(f"{REST}/listaMesajeFactura", params=params)
    assert response.json() == {"eroare": eroare, "titlu": "Lista Mesaje"}


def test_paged_list_error_texts(http: httpx.Client) -> None:
    base = {"startTime": "1772442000000", "endTime": "1772445600000", "cif": "1", "pagina": "1"}
    cases = [
        (
            {"startTime": "aaa"},
            "startTime = aaa nu este un numar sau nu are o valoare acceptata de sistem",
        ),
        ({"pagina": "aa"}, "pagina = aa nu este un numar sau nu are o valoare acceptata de sistem"),
        (
            {"cif": "aaa"},
            "CIF introdus= aaa nu este un numar sau nu are o valoare acceptata de sistem",
        ),
        (
            {"endTime": "1772442000000"},
            "endTime = 02-03-2026 11:00:00 nu poate fi <= startTime = 02-03-2026 11:00:00",
        ),
        ({}, "Nu exista mesaje in intervalul selectat"),
    ]
    for override, eroare in cases:
        body = http.get(f"{REST}/listaMesajePaginatieFactura", params={**base, **override}).json()
        assert body == {"eroare": eroare, "titlu": "Lista Mesaje"}


def test_download_error_bodies(http: httpx.Client) -> None:
    assert http.get(f"{REST}/descarcare", params={"id": "123a"}).json() == {
        "eroare": "Id descarcare introdus= 123a nu este un numar intreg",
        "titlu": "Descarcare mesaj",
    }


def test_zip_layout(http: httpx.Client, state: FakeAnafState) -> None:
    state.processing_polls = 0
    http.post(
        f"{REST}/upload", params={"standard": "UBL", "cif": "12345678"}, content=sample_invoice()
    )
    http.get(f"{REST}/stareMesaj", params={"id_incarcare": "5001130147"})
    response = http.get(f"{REST}/descarcare", params={"id": "3001474424"})
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["5001130147.xml", "semnatura_5001130147.xml"]
        assert archive.read("5001130147.xml") == sample_invoice()
        assert archive.getinfo("5001130147.xml").date_time == (2026, 3, 2, 12, 0, 0)
    # Deterministic: the same message downloads to the same bytes.
    assert http.get(f"{REST}/descarcare", params={"id": "3001474424"}).content == response.content


def test_nok_error_file_body(http: httpx.Client, state: FakeAnafState) -> None:
    state.processing_polls = 0
    state.inject_nok("[BR-RO-010]-Numarul facturii#The invoice number")
    http.post(
        f"{REST}/upload", params={"standard": "UBL", "cif": "12345678"}, content=sample_invoice()
    )
    http.get(f"{REST}/stareMesaj", params={"id_incarcare": "5001130147"})
    data = http.get(f"{REST}/descarcare", params={"id": "3001474424"}).content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("5001130147.xml").decode() == (
            DECL + '<header xmlns="mfp:anaf:dgti:efactura:mesajEroriFactuta:v1" '
            'Index_incarcare="5001130147" Cif_emitent="12345678">\n'
            '  <Error errorMessage="[BR-RO-010]-Numarul facturii#The invoice number"/>\n</header>\n'
        )


def test_waf_page_and_204(http: httpx.Client, state: FakeAnafState) -> None:
    state.inject(FaultKind.WAF, "stareMesaj")
    waf = http.get(f"{REST}/stareMesaj", params={"id_incarcare": "1"})
    assert (waf.status_code, waf.headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert waf.text.startswith("<html><head><title>Request Rejected</title></head>")
    state.inject(FaultKind.QUOTA_204, "stareMesaj")
    empty = http.get(f"{REST}/stareMesaj", params={"id_incarcare": "1"})
    assert (empty.status_code, empty.content) == (204, b"")


def test_validare_test_host_404_and_unknown_env(http: httpx.Client) -> None:
    response = http.post(f"{REST}/validare/FACT1", content=sample_invoice())
    assert response.status_code == 404
    assert response.json()["path"] == "/FCTEL/rest/validare/"
    assert http.get("http://anaf.fake/dev/FCTEL/rest/stareMesaj").status_code == 404


def test_module_level_app_for_uvicorn() -> None:
    app = fake_module.app
    assert isinstance(app.state.fake, FakeAnafState)
    assert fake_module.app is app
