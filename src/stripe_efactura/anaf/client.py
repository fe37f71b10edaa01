"""HTTP client for the ANAF e-Factura REST API (OAuth2 host), with an injectable transport.

Every call returns a typed result or raises one of the errors drawn in
:mod:`stripe_efactura.anaf.responses` (all carry ``code`` and ``retryable``). Answers are
classified by their content, not their status (ANAF reports most errors with HTTP 200).

Upload safety: if the upload request may have reached ANAF but no readable answer came back
(timeout, dropped connection, 5xx, "eroare tehnica"), :meth:`AnafClient.upload` raises
:class:`UploadOutcomeUnknown`: record the invoice as ``unknown`` and reconcile via
:meth:`AnafClient.list_messages`; never re-upload blindly (ANAF has no idempotency key).

    client = AnafClient("https://api.anaf.ro", "test", token_provider=lambda: access_token)
    receipt = client.upload(xml, "12345678")          # UploadResult(index="5001130147", ...)
    status = client.status(receipt.index)             # StatusResult(state=MessageState.OK, ...)
    archive = parse_archive(client.download(status.download_id))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

import httpx

from stripe_efactura.anaf.errors import AnafNetworkError, AnafTimeout, UploadOutcomeUnknown
from stripe_efactura.anaf.responses import (
    MessagePage,
    StatusResult,
    UploadResult,
    ValidationAnswer,
    classify_download,
    classify_list,
    classify_status,
    classify_upload,
    classify_validation,
)

DEFAULT_API_BASE = "https://api.anaf.ro"
DEFAULT_PUBLIC_BASE = "https://webservicesp.anaf.ro"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: Upload answers can be slow; a longer read timeout lowers the number of "unknown" uploads.
DEFAULT_UPLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

Env = Literal["test", "prod"]
Standard = Literal["UBL", "CN", "CII", "RASP"]
ListFilter = Literal["E", "T", "P", "R"]


def rest_base(api_base: str, env: str) -> str:
    """``https://api.anaf.ro`` + ``test`` -> ``https://api.anaf.ro/test/FCTEL/rest``.
    A base that already ends in ``/FCTEL/rest`` is kept as is."""
    base = api_base.rstrip("/")
    if base.endswith("/FCTEL/rest"):
        return base
    return f"{base}/{env}/FCTEL/rest"


class AnafClient:
    """Synchronous client; ``token_provider`` returns the current access token for each call
    (the caller refreshes it; see :mod:`stripe_efactura.anaf.oauth`)."""

    def __init__(
        self,
        api_base: str,
        env: Env,
        token_provider: Callable[[], str],
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        *,
        upload_timeout: httpx.Timeout | float | None = None,
        public_base: str = DEFAULT_PUBLIC_BASE,
        public_transport: httpx.BaseTransport | None = None,
    ) -> None:
        if env not in ("test", "prod"):
            raise ValueError("env must be 'test' or 'prod'")
        self.env = env
        self.base = rest_base(api_base, env)
        self.public_base = rest_base(public_base, "prod")
        self._token_provider = token_provider
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        if upload_timeout is None:
            self._upload_timeout = (
                DEFAULT_UPLOAD_TIMEOUT if timeout is DEFAULT_TIMEOUT else self._timeout
            )
        elif isinstance(upload_timeout, httpx.Timeout):
            self._upload_timeout = upload_timeout
        else:
            self._upload_timeout = httpx.Timeout(upload_timeout)
        self._http = httpx.Client(transport=transport, timeout=self._timeout)
        self._public = httpx.Client(transport=public_transport or transport, timeout=self._timeout)

    def close(self) -> None:
        self._http.close()
        self._public.close()

    def __enter__(self) -> AnafClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- calls --------------------------------------------------------------------------

    def upload(
        self,
        xml: bytes,
        cif: str,
        *,
        standard: Standard = "UBL",
        b2c: bool = False,
        extern: bool = False,
        autofactura: bool = False,
        executare: bool = False,
    ) -> UploadResult:
        """POST the XML to ``upload`` (or ``uploadb2c``); ``cif`` is the numeric CUI (no RO)."""
        params: dict[str, str] = {"standard": standard, "cif": cif.removeprefix("RO")}
        if extern:
            params["extern"] = "DA"
        if autofactura:
            params["autofactura"] = "DA"
        if executare:
            params["executare"] = "DA"
        url = f"{self.base}/{'uploadb2c' if b2c else 'upload'}"
        request = self._http.build_request(
            "POST",
            url,
            params=params,
            content=xml,
            headers={**self._auth(), "Content-Type": "text/plain"},
            timeout=self._upload_timeout,
        )
        try:
            response = self._http.send(request)
        except httpx.ConnectError as exc:
            # The connection was never established: nothing reached ANAF; safe to retry.
            raise AnafNetworkError(f"Cannot connect to ANAF: {exc}") from exc
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                raise AnafTimeout(f"ANAF connection timed out: {exc}") from exc
            raise UploadOutcomeUnknown(
                "No answer from ANAF to the upload (timeout): it may have been taken",
                cause_code=AnafTimeout.code,
            ) from exc
        except httpx.TransportError as exc:
            raise UploadOutcomeUnknown(
                f"The upload connection failed mid-request ({exc}): it may have been taken",
                cause_code=AnafNetworkError.code,
            ) from exc
        return classify_upload(response.status_code, response.content)

    def status(self, upload_index: str) -> StatusResult:
        """``stareMesaj?id_incarcare=`` (counts against 100 calls/message/day)."""
        response = self._get("stareMesaj", {"id_incarcare": upload_index})
        return classify_status(response.status_code, response.content)

    def download(self, download_id: str) -> bytes:
        """``descarcare?id=``: the ZIP bytes (see :func:`responses.parse_archive`)."""
        response = self._get("descarcare", {"id": download_id})
        return classify_download(response.status_code, response.content)

    def list_messages(
        self,
        cif: str,
        start_ms: int,
        end_ms: int,
        page: int = 1,
        filter: ListFilter | None = None,
    ) -> MessagePage:
        """``listaMesajePaginatieFactura``: Unix ms, window <= 60 days back, end not in the
        future (by ANAF's clock), 500 messages per page, ``page`` 1-based."""
        params: dict[str, Any] = {
            "startTime": str(start_ms),
            "endTime": str(end_ms),
            "cif": cif.removeprefix("RO"),
            "pagina": str(page),
        }
        if filter is not None:
            params["filtru"] = filter
        response = self._get("listaMesajePaginatieFactura", params)
        return classify_list(response.status_code, response.content, page=page)

    def iter_messages(
        self, cif: str, start_ms: int, end_ms: int, filter: ListFilter | None = None
    ) -> Iterator[MessagePage]:
        """Every page of :meth:`list_messages`, one call per page."""
        page = 1
        while True:
            result = self.list_messages(cif, start_ms, end_ms, page, filter)
            yield result
            if not result.has_next:
                return
            page += 1

    def list_recent(self, cif: str, days: int, filter: ListFilter | None = None) -> MessagePage:
        """``listaMesajeFactura`` (1..60 days, max 500 messages, 1500 calls/CUI/day)."""
        params: dict[str, Any] = {"zile": str(days), "cif": cif.removeprefix("RO")}
        if filter is not None:
            params["filtru"] = filter
        response = self._get("listaMesajeFactura", params)
        return classify_list(response.status_code, response.content)

    def validate(self, xml: bytes, standard: Literal["FACT1", "FCN"] = "FACT1") -> ValidationAnswer:
        """ANAF's own validator on the public host (no token; prod only; behind the F5 WAF)."""
        url = f"{self.public_base}/validare/{standard}"
        try:
            response = self._public.post(url, content=xml, headers={"Content-Type": "text/plain"})
        except httpx.TimeoutException as exc:
            raise AnafTimeout(f"ANAF validation timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise AnafNetworkError(f"Cannot reach ANAF validation: {exc}") from exc
        return classify_validation(response.status_code, response.content)

    # ---- plumbing -----------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token_provider()}"}

    def _get(self, endpoint: str, params: dict[str, Any]) -> httpx.Response:
        try:
            return self._http.get(f"{self.base}/{endpoint}", params=params, headers=self._auth())
        except httpx.TimeoutException as exc:
            raise AnafTimeout(f"ANAF {endpoint} timed out: {exc}") from exc
        except httpx.TransportError as exc:
            raise AnafNetworkError(f"ANAF {endpoint} failed: {exc}") from exc
