"""bench/smtp_sink: an SMTP sink that reads each message's DATA as one block.

``bench/pipeline.py --smtp-sink bulk`` uses it in place of aiosmtpd. Both count messages and
keep the time each arrived; neither parses nor writes them. aiosmtpd reads DATA line by line
through asyncio (``StreamReader.readuntil`` per line, then its own dot-unstuffing): about
half the bench process's CPU per invoice e-mail (two base64 attachments, about 1,000 lines;
8.2 -> 4.3 ms with this sink in session 16's runs, ``bench/README.md``) on the two cores the
workers need; in production that server is the merchant's mail relay, elsewhere. This sink
answers the same SMTP dialogue (``EHLO`` with ``SIZE``, ``8BITMIME``, ``SMTPUTF8``; ``MAIL``,
``RCPT``, ``DATA``, ``RSET``, ``NOOP``, ``QUIT``) and waits for the ``<CRLF>.<CRLF>`` end of
DATA in one ``readuntil``. It checks nothing.
"""

from __future__ import annotations

import asyncio
import threading
import time

MAX_MESSAGE = 32 * 1024 * 1024
"""The ``SIZE`` it advertises and the longest DATA it reads (aiosmtpd's default)."""

_EHLO = b"250-sink\r\n250-SIZE %d\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP\r\n" % MAX_MESSAGE
_OK = b"250 OK\r\n"
_SIMPLE = {b"MAIL": _OK, b"RCPT": _OK, b"RSET": _OK, b"NOOP": _OK, b"HELO": b"250 sink\r\n"}


class BulkSink:
    """Counts messages and keeps the time each arrived, like ``pipeline.Sink``."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()
        self.port = 0  # the one the server binds, once started
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> BulkSink:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0, limit=MAX_MESSAGE)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb == b"QUIT":
                    writer.write(b"221 Bye\r\n")
                    await writer.drain()
                    break
                writer.write(await self._answer(verb, reader, writer))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(
        self, verb: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes:
        if verb == b"EHLO":
            return _EHLO
        if verb == b"DATA":
            writer.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            await writer.drain()
            await reader.readuntil(b"\r\n.\r\n")
            with self.lock:
                self.times.append(time.monotonic())
            return b"250 Message accepted for delivery\r\n"
        return _SIMPLE.get(verb, b"502 Command not implemented\r\n")
