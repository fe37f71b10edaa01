"""Delivering a composed email over SMTP, with failures classified for retrying.

:class:`SmtpSender` connects (plain, STARTTLS or implicit TLS), authenticates when a user is
configured and hands the message over. With ``keep_open`` it keeps that connection for the
next message sent within that many seconds (a burst of invoices pays one TLS handshake and one
log-in, not one per message); a kept connection is checked with ``RSET`` before it is used
again and replaced when that fails (nothing of the message was sent yet). Any failure raises
:class:`SmtpError` (code ``E-SMTP``) whose ``retryable`` says whether trying again later can
help: connection refused, timeouts, dropped connections and 4xx replies are retryable; 5xx
replies, a rejected password, a server certificate that does not verify and a server that will
not do TLS before AUTH are permanent (the merchant must fix the settings or the address).

A failure while saying ``QUIT`` after the server accepted the message is ignored: the message
was delivered, and reporting an error would make the caller send it twice.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import smtplib
import ssl
import threading
import time
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path
from typing import Protocol

from ..config import Settings
from ..errors import ConfigError, EfacturaError
from ..files import PRIVATE, write_atomic
from . import wire

__all__ = ["DirectorySender", "MailSender", "SmtpError", "SmtpSender", "classify_smtp_code"]

log = logging.getLogger(__name__)


class SmtpError(EfacturaError):
    """Sending failed. ``retryable``: try again later; otherwise a person must act."""

    code = "E-SMTP"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        smtp_code: int | None = None,
        code: str | None = None,
        message_ro: str | None = None,
        **context: object,
    ) -> None:
        super().__init__(message, code=code, message_ro=message_ro, smtp_code=smtp_code, **context)
        self.retryable = retryable
        self.smtp_code = smtp_code


class MailSender(Protocol):
    """Anything that can deliver a composed message (``SmtpSender``, a test double)."""

    def send(self, msg: EmailMessage) -> None: ...


def classify_smtp_code(code: int) -> bool:
    """Whether an SMTP reply code is worth retrying: 4xx yes, 5xx no, anything odd yes."""
    return not 500 <= code <= 599


def _reply_text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _prepare(msg: EmailMessage) -> None:
    """Add ``Date`` and ``Message-ID`` (domain of ``From``) when the message has none."""
    if msg["Date"] is None:
        msg["Date"] = formatdate(localtime=False, usegmt=True)
    if msg["Message-ID"] is None:
        senders = getaddresses([str(msg.get("From", ""))])
        domain = senders[0][1].rpartition("@")[2] if senders and "@" in senders[0][1] else None
        msg["Message-ID"] = make_msgid(domain=domain or "stripe-efactura.invalid")


class DirectorySender:
    """Writes every message to ``directory`` as an ``.eml`` file instead of sending it.

    For the demo and for installations without SMTP: the files open in any mail client. The
    file name is derived from the ``Message-ID``, so sending the same message twice writes
    the same file once. Files are written atomically (temporary file + rename).
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path_for(self, msg: EmailMessage) -> Path:
        digest = hashlib.sha256(str(msg["Message-ID"]).encode("utf-8")).hexdigest()[:20]
        return self.directory / f"{digest}.eml"

    def send(self, msg: EmailMessage) -> None:
        _prepare(msg)
        target = self.path_for(msg)
        try:
            write_atomic(target, msg.as_bytes(policy=policy.SMTP), mode=PRIVATE)
        except OSError as exc:
            raise SmtpError(
                f"cannot write the message to {self.directory}: {exc}",
                retryable=True,
                code="E-MAIL-WRITE",
            ) from exc


class SmtpSender:
    """Sends messages through one SMTP server.

    ``starttls``: upgrade with STARTTLS when the server offers it. When it does not, a
    configured ``user`` makes it a permanent error (the password is never sent in clear);
    without a user the message goes out unencrypted (a local relay). ``implicit_tls``
    (default: port 465) connects with TLS from the first byte instead. ``ssl_context``
    defaults to the system's trusted CAs with hostname checking.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout: float = 30.0,
        *,
        implicit_tls: bool | None = None,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        keep_open: float = 0.0,
    ) -> None:
        if not host:
            raise ConfigError("SMTP host is not set (EFACTURA_SMTP_HOST)")
        self.host = host
        self.port = port
        self.user = user or None
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        self.implicit_tls = port == 465 if implicit_tls is None else implicit_tls
        self.ssl_context = ssl_context
        self.local_hostname = local_hostname
        self.keep_open = keep_open
        self._kept: smtplib.SMTP | None = None
        self._kept_at = 0.0
        self._keeping = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, timeout: float = 30.0, keep_open: float = 0.0
    ) -> SmtpSender:
        """The sender configured by ``EFACTURA_SMTP_*``; ``ConfigError`` without a host."""
        if not settings.smtp_host:
            raise ConfigError("email is not configured: set EFACTURA_SMTP_HOST")
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_user,
            settings.smtp_password,
            settings.smtp_starttls,
            timeout,
            keep_open=keep_open,
        )

    def __repr__(self) -> str:
        return (
            f"SmtpSender({self.host!r}, {self.port}, user={self.user!r}, "
            f"starttls={self.starttls}, implicit_tls={self.implicit_tls})"
        )

    # ----------------------------------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )

    def _deliver(self, smtp: smtplib.SMTP, msg: EmailMessage) -> None:
        self._handshake(smtp)
        self._transfer(smtp, msg)

    def _handshake(self, smtp: smtplib.SMTP) -> None:
        """EHLO, STARTTLS when configured and offered, AUTH when a user is set."""
        smtp.ehlo()
        if not self.implicit_tls and self.starttls:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self._context())
                smtp.ehlo()
            elif self.user:
                raise SmtpError(
                    f"{self.host}:{self.port} does not offer STARTTLS; refusing to send the "
                    "SMTP password unencrypted (use port 465 or fix the server)",
                    retryable=False,
                )
        if self.user:
            if not smtp.has_extn("auth"):
                raise SmtpError(
                    f"{self.host}:{self.port} does not offer AUTH but a user is configured",
                    retryable=False,
                )
            self._login(smtp, self.user, self.password or "")

    @staticmethod
    def _transfer(smtp: smtplib.SMTP, msg: EmailMessage) -> None:
        wired = wire.envelope(msg)  # send_message's envelope and bytes, at less CPU
        if wired is None:
            refused = smtp.send_message(msg)
        else:
            refused = smtp.sendmail(wired.sender, wired.recipients, wired.data)
        if refused:
            # Some recipients got it; retrying would send it to them again.
            log.warning(
                "SMTP server refused some recipients of %s: %s",
                msg.get("Message-ID"),
                {rcpt: (code, _reply_text(text)) for rcpt, (code, text) in refused.items()},
            )

    @staticmethod
    def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
        if user.isascii() and password.isascii():
            smtp.login(user, password)
            return
        # smtplib encodes credentials as ASCII; AUTH PLAIN is UTF-8 by definition (RFC 4616)
        mechanisms = (smtp.esmtp_features.get("auth") or "").upper().split()
        if "PLAIN" not in mechanisms:
            raise SmtpError(
                "the SMTP user or password has non-ASCII characters and the server does not "
                "offer AUTH PLAIN",
                retryable=False,
            )
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, reply)

    def send(self, msg: EmailMessage) -> None:
        """Deliver ``msg`` (adding ``Date`` and ``Message-ID`` in place when missing).

        Raises :class:`SmtpError`; see the module docstring for what is retryable.
        """
        _prepare(msg)
        if self.keep_open > 0 and self._keeping.acquire(blocking=False):
            try:
                self._send_kept(msg)
            finally:
                self._keeping.release()
            return
        self._send_once(msg)

    def _send_once(self, msg: EmailMessage) -> None:
        """One connection for ``msg``: connect, hand over, ``QUIT``."""
        where = f"{self.host}:{self.port}"
        try:
            smtp = self._connect()
        except OSError as exc:  # smtplib.SMTPException and ssl.SSLError are OSErrors
            raise self._classify(exc, where) from exc
        try:
            self._deliver(smtp, msg)
        except SmtpError:
            raise
        except OSError as exc:
            raise self._classify(exc, where) from exc
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _send_kept(self, msg: EmailMessage) -> None:
        """Hand ``msg`` over on the kept connection (or a new one, then kept); a connection
        that failed in any way is closed, never used again."""
        where = f"{self.host}:{self.port}"
        smtp = self._take_kept()
        fresh = smtp is None
        try:
            if smtp is None:
                smtp = self._connect()
                self._handshake(smtp)
            self._transfer(smtp, msg)
        except SmtpError:
            _close(smtp)
            raise
        except OSError as exc:
            _close(smtp)
            raise self._classify(exc, where) from exc
        self._kept, self._kept_at = smtp, time.monotonic()
        if fresh:
            log.debug("SMTP connection to %s kept for %.0f s", where, self.keep_open)

    def _take_kept(self) -> smtplib.SMTP | None:
        """The kept connection if it is recent and answers ``RSET``; else None (closed)."""
        smtp, self._kept = self._kept, None
        if smtp is None:
            return None
        if time.monotonic() - self._kept_at <= self.keep_open:
            try:
                code, _reply = smtp.rset()
                if code == 250:
                    return smtp
            except (smtplib.SMTPException, OSError):
                pass
        _close(smtp, quit_first=True)
        return None

    def close(self) -> None:
        """Say ``QUIT`` on the kept connection, if any."""
        with self._keeping:
            smtp, self._kept = self._kept, None
            if smtp is not None:
                _close(smtp, quit_first=True)

    @staticmethod
    def _classify(exc: OSError, where: str) -> SmtpError:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = {rcpt: code for rcpt, (code, _text) in exc.recipients.items()}
            retryable = all(classify_smtp_code(code) for code in codes.values())
            first = next(iter(exc.recipients.values()), (0, b""))
            return SmtpError(
                f"{where} refused every recipient: "
                + "; ".join(
                    f"{rcpt}: {code} {_reply_text(text)}"
                    for rcpt, (code, text) in exc.recipients.items()
                ),
                retryable=retryable,
                smtp_code=first[0],
                recipients=codes,
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            text = _reply_text(exc.smtp_error)
            kind = type(exc).__name__
            return SmtpError(
                f"{where} answered {exc.smtp_code} {text} ({kind})",
                retryable=classify_smtp_code(exc.smtp_code),
                smtp_code=exc.smtp_code,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return SmtpError(f"{where} closed the connection: {exc}", retryable=True)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return SmtpError(f"{where} does not support what is needed: {exc}", retryable=False)
        if isinstance(exc, smtplib.SMTPException):
            return SmtpError(f"SMTP error with {where}: {exc}", retryable=True)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SmtpError(
                f"the TLS certificate of {where} does not verify: {exc.verify_message}",
                retryable=False,
            )
        if isinstance(exc, ssl.SSLError):
            return SmtpError(f"TLS failed with {where}: {exc}", retryable=True)
        if isinstance(exc, TimeoutError):
            return SmtpError(f"{where} timed out: {exc}", retryable=True)
        if isinstance(exc, ConnectionRefusedError):
            return SmtpError(f"{where} refused the connection (is it down?)", retryable=True)
        return SmtpError(f"cannot reach {where}: {exc}", retryable=True)


def _close(smtp: smtplib.SMTP | None, *, quit_first: bool = False) -> None:
    """Close a connection that is not used again (``QUIT`` first when it may still answer)."""
    if smtp is None:
        return
    if quit_first:
        try:
            smtp.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass
    smtp.close()
