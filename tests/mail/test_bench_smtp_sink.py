"""``bench/smtp_sink.py``: the bench's block-reading SMTP sink speaks enough SMTP for
``smtplib`` and counts each message once, whatever its lines look like."""

from __future__ import annotations

import smtplib

import support


def test_the_bulk_sink_counts_messages_sent_by_smtplib() -> None:
    sink = support.bench_script("smtp_sink").BulkSink().start()
    try:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            code, _banner = smtp.ehlo()
            assert code == 250 and smtp.has_extn("size") and smtp.has_extn("8bitmime")
            body = b"Subject: a\r\n\r\nline one\r\n.starts with a dot\r\n.\r\nthe end\r\n"
            assert smtp.sendmail("a@firma.ro", ["b@example.ro", "c@example.ro"], body) == {}
            smtp.rset()
            assert smtp.noop()[0] == 250
            assert smtp.sendmail("a@firma.ro", ["b@example.ro"], b"Subject: b\r\n\r\nx") == {}
            assert smtp.docmd("VRFY", "b@example.ro")[0] == 502
        assert len(sink.times) == 2
        assert sink.times == sorted(sink.times)
    finally:
        sink.stop()
