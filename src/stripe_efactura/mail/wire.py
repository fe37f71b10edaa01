"""A composed message's bytes for SMTP, as ``smtplib``'s ``send_message`` would send them,
at a fraction of its CPU.

Every invoice email went through two costly steps of the standard library: composing it as an
:class:`~email.message.EmailMessage` with the default policy, whose header registry builds a
new Python class for every header it parses (:data:`POLICY` keeps one class per header name),
and ``send_message``, which copies the message, parses its addresses and runs the generic
generator that refolds every header through the header parser. :func:`wire` writes the same
bytes directly: a header whose value is ASCII and fits one line (78 characters) is written as
is, which is what folding leaves it; any other header is folded by the policy as before; bodies
are the parts' encoded payloads with CRLF line ends. ``tests/mail/test_wire.py`` holds the
bytes and the envelope to what ``send_message`` hands to ``sendmail``, byte for byte. A message
this module does not cover (a part without payload text, a preamble or epilogue, ``Resent-``
headers, an envelope address that needs SMTPUTF8, a policy other than the standard one) gets
``None`` from :func:`envelope`: the sender then uses ``send_message`` unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy as email_policy
from email.generator import Generator
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import getaddresses

__all__ = ["POLICY", "Envelope", "envelope", "wire"]


class _Registry(HeaderRegistry):
    """The standard header registry, with one class per header name: the standard one makes a
    new class (``type(...)``) each time it parses a header, a quarter of an email's
    composition (and garbage for the cycle collector). The classes it makes hold no state, so
    one per name serves every header of that name."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._classes.get(key)
        if made is None:
            made = self._classes[key] = super().__getitem__(name)
        return made


POLICY = email_policy.default.clone(header_factory=_Registry())
"""The default policy (``email.policy.default``) with :class:`_Registry`: compose with it."""

_NEWLINES = re.compile(r"\r\n|\r|\n")
_HIDDEN = frozenset({"bcc", "resent-bcc"})
"""Headers ``send_message`` removes before it sends (their addresses are only envelope)."""


@dataclass(frozen=True)
class Envelope:
    """What to hand to ``smtplib.SMTP.sendmail``: the envelope and the message's bytes."""

    sender: str
    recipients: list[str]
    data: bytes


def envelope(msg: EmailMessage) -> Envelope | None:
    """The envelope ``send_message`` would derive from ``msg`` (``Sender``, else ``From``;
    ``To``, ``Bcc``, ``Cc``) and the bytes it would send (without ``Bcc``); ``None`` for a
    message it handles in ways this module does not (see the module)."""
    if any(name.lower().startswith("resent-") for name in msg):
        return None
    origin = msg["Sender"] if "Sender" in msg else msg["From"]
    senders = getaddresses([str(origin)]) if origin is not None else []
    if not senders:
        return None
    fields = [str(v) for v in (msg["To"], msg["Bcc"], msg["Cc"]) if v is not None]
    recipients = [addr for _name, addr in getaddresses(fields)]
    sender = senders[0][1]
    if not "".join([sender, *recipients]).isascii():
        return None  # SMTPUTF8: send_message's own path
    data = wire(msg, hide=_HIDDEN)
    return None if data is None else Envelope(sender, recipients, data)


def wire(msg: Message, *, hide: frozenset[str] = frozenset()) -> bytes | None:
    """``msg`` as ``send_message`` flattens it (its policy with CRLF line ends), without the
    top-level headers named in ``hide`` (lower case); ``None`` when it has a part this module
    does not write (see the module). A multipart without a boundary gets one here, as the
    generator gives it one."""
    own = msg.policy
    if not isinstance(own, EmailPolicy) or own.mangle_from_ or own.utf8 or own.linesep != "\n":
        return None
    text = _part(msg, hide, own.clone(linesep="\r\n"))
    if text is None:
        return None
    try:
        return text.encode("ascii")
    except UnicodeEncodeError:  # an 8-bit body: the generator's own handling
        return None


def _part(msg: Message, hide: frozenset[str], policy: EmailPolicy) -> str | None:
    """``msg``'s headers, the blank line and its body; None when not covered. The body is
    written first: a multipart's boundary, when it has none yet, must not occur in it."""
    if msg.preamble is not None or msg.epilogue is not None:
        return None
    body = _multipart_body(msg, policy) if msg.is_multipart() else _text_body(msg)
    if body is None:
        return None
    headers = [_header(n, v, policy) for n, v in msg.raw_items() if n.lower() not in hide]
    return "".join(headers) + "\r\n" + body


def _text_body(msg: Message) -> str | None:
    payload = msg.get_payload()
    if not isinstance(payload, str):
        return None
    if "\r" in payload:
        return _NEWLINES.sub("\r\n", payload)
    return payload.replace("\n", "\r\n")  # the same, at a tenth of the regex's cost


def _multipart_body(msg: Message, policy: EmailPolicy) -> str | None:
    subparts = msg.get_payload()
    if not isinstance(subparts, list) or not subparts:
        return None
    texts: list[str] = []
    for sub in subparts:
        text = _part(sub, frozenset(), policy) if isinstance(sub, Message) else None
        if text is None:
            return None
        texts.append(text)
    boundary = msg.get_boundary()
    if not boundary:
        boundary = Generator._make_boundary("\r\n".join(texts))  # type: ignore[attr-defined]
        msg.set_boundary(boundary)
    inner = f"\r\n--{boundary}\r\n".join(texts)
    return f"--{boundary}\r\n{inner}\r\n--{boundary}--\r\n"


def _header(name: str, value: object, policy: EmailPolicy) -> str:
    """One header as folding writes it: as is when ASCII and on one line of at most the
    policy's 78 characters (what folding leaves of it), else folded by the policy."""
    text = str(value)
    if (
        text.isascii()
        and len(name) + len(text) + 2 <= (policy.max_line_length or 0)
        and "\n" not in text
        and "\r" not in text
        and text == text.strip()
    ):
        return f"{name}: {text}\r\n"
    folded: str = policy.fold(name, value)  # type: ignore[arg-type]
    return folded
