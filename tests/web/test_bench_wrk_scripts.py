"""The wrk scripts written by bench/webhook.py post the real signed body (issue 17).

JSON's ``\\uXXXX`` escapes are not Lua: a script holding them is refused by wrk's LuaJIT, and
wrk then sends its default request (a bodyless GET), which is what the empty endpoint of the
bench measured before. Not a benchmark: nothing here is timed. With ``luajit`` installed (the
Lua wrk embeds) the scripts are also run, with a stub ``wrk`` table, and must hand back the
exact bytes and the signature the bench signed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import support
from stripe_efactura.intake import signature

WEBHOOK = support.bench_script("webhook")
LUAJIT = shutil.which("luajit")


def test_empty_script_is_a_post_of_the_body_as_a_lua_long_string() -> None:
    sample: bytes = WEBHOOK.make_event(0)
    assert "ă".encode() in sample  # non-ASCII text, which json.dumps would \u-escape
    script: str = WEBHOOK.empty_script(sample)
    assert "\\u" not in script
    assert 'wrk.method = "POST"' in script
    found = re.search(r"wrk\.body = \[(=*)\[(.*)\]\1\]\n", script, re.DOTALL)
    assert found is not None
    assert found.group(2).encode() == sample
    assert not found.group(2).startswith("\n")  # Lua drops a newline right after the opening


def test_empty_script_long_string_level_outgrows_the_body() -> None:
    body = b'{"a": "]]", "b": "]=]"}'
    script: str = WEBHOOK.empty_script(body)
    assert "wrk.body = [==[" + body.decode() + "]==]" in script


@pytest.mark.skipif(LUAJIT is None, reason="luajit is not installed (Debian: luajit)")
def test_luajit_reads_the_empty_script_body_byte_for_byte(tmp_path: Path) -> None:
    sample: bytes = WEBHOOK.make_event(7)
    (tmp_path / "empty.lua").write_text(WEBHOOK.empty_script(sample), encoding="utf-8")
    harness = 'wrk = {headers = {}}\ndofile(arg[1])\nio.write(wrk.method, "\\n", wrk.body)\n'
    (tmp_path / "harness.lua").write_text(harness)
    out = _luajit(tmp_path / "harness.lua", tmp_path / "empty.lua")
    assert out == b"POST\n" + sample


@pytest.mark.skipif(LUAJIT is None, reason="luajit is not installed (Debian: luajit)")
def test_luajit_posts_each_event_with_a_signature_that_verifies(tmp_path: Path) -> None:
    bodies = [WEBHOOK.make_event(n) for n in range(3)]
    (tmp_path / "events.tsv").write_text(
        "".join(WEBHOOK.events_line(b, 1_763_700_000) for b in bodies), encoding="utf-8"
    )
    (tmp_path / "events.lua").write_text(WEBHOOK.events_script())
    harness = (
        "wrk = {}\n"
        "function wrk.format(method, path, headers, body)\n"
        '  return method .. "\\0" .. headers["Stripe-Signature"] .. "\\0" .. body .. "\\0"\n'
        "end\n"
        "dofile(arg[1])\n"
        "tid = 1\n"
        'init({arg[2], "1"})\n'
        "for _ = 1, 3 do io.write(request()) end\n"
    )
    (tmp_path / "harness.lua").write_text(harness)
    out = _luajit(tmp_path / "harness.lua", tmp_path / "events.lua", tmp_path / "events.tsv")
    fields = out.split(b"\0")[:-1]
    assert len(fields) == 9
    for n, body in enumerate(bodies):
        method, header, sent = fields[3 * n : 3 * n + 3]
        assert method == b"POST"
        assert sent == body
        signature.verify(sent, header.decode(), [WEBHOOK.SECRET], now=1_763_700_000)


def _luajit(*args: Path) -> bytes:
    assert LUAJIT is not None
    done = subprocess.run([LUAJIT, *map(str, args)], capture_output=True, check=True, timeout=30)
    return done.stdout
