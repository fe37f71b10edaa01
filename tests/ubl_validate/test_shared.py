"""The shared validator process (ubl/shared.py, ubl/validator_server.py): its wire format,
the same findings as the in-process validator, one process for many clients, restart after
it dies, and the coded states when it cannot answer (nothing passes unvalidated)."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree

from stripe_efactura.errors import RetryLater, ValidationArtifactsMissing
from stripe_efactura.ubl import artifacts, shared, validator_server
from stripe_efactura.ubl.validate import Finding, ValidationReport, Validator


def _mutations() -> dict[str, tuple[Callable[[etree._Element], None], object]]:
    spec = importlib.util.spec_from_file_location(
        "ubl_validate_mutations_shared", Path(__file__).with_name("mutations.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mutations: dict[str, tuple[Callable[[etree._Element], None], object]] = module.MUTATIONS
    return mutations


MUTATIONS = _mutations()


def _stop(client: shared.SharedValidator) -> None:
    """SIGTERM to the validator serving ``client`` (if one does) and wait for it to go."""
    if not client.socket_file.exists():
        return
    probe = shared.SharedValidator(client.validation_dir, client.socket_file, command=["false"])
    try:
        pid = int(str(probe.info()["pid"]))
    except RetryLater:
        return
    finally:
        probe.close()
        client.close()
    os.kill(pid, signal.SIGTERM)
    _wait_gone(pid)


def _wait_gone(pid: int) -> None:
    """Wait for a validator to have exited, all its threads (and so its socket) gone."""
    try:
        os.waitpid(pid, 0)  # our child: returns once the whole process has exited
        return
    except ChildProcessError:
        pass
    while Path(f"/proc/{pid}").exists():
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
        if stat.rsplit(")", 1)[1].split()[0] == "Z":  # a zombie: exited
            return
        time.sleep(0.05)


@pytest.fixture
def client(installed: artifacts.ArtifactSet, tmp_path: Path) -> Iterator[shared.SharedValidator]:
    validator = shared.SharedValidator(installed.root, shared.socket_path(tmp_path))
    yield validator
    _stop(validator)


def _pid(client: shared.SharedValidator) -> int:
    return int(str(client.info()["pid"]))


# --- the wire format ------------------------------------------------------------------------


def test_frames_round_trip_and_a_cut_frame_is_an_error() -> None:
    left, right = socket.socketpair()
    with left, right:
        shared.send_frame(left, b"V", b"<Invoice/>")
        shared.send_frame(left, b"I", b"")
        assert shared.recv_frame(right) == (b"V", b"<Invoice/>")
        assert shared.recv_frame(right) == (b"I", b"")
        left.sendall(b"V\x00\x00\x00\x10abc")  # 16 bytes announced, 3 sent
        left.shutdown(socket.SHUT_WR)
        with pytest.raises(shared.ProtocolError, match="middle of a frame"):
            shared.recv_frame(right)
    left, right = socket.socketpair()
    with left, right:
        left.close()
        assert shared.recv_frame(right) is None  # closed between frames


def test_an_oversized_frame_is_refused_unread() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"V" + (shared.MAX_FRAME + 1).to_bytes(4, "big"))
        with pytest.raises(shared.ProtocolError, match="over the limit"):
            shared.recv_frame(right)


def test_a_report_survives_the_wire_field_by_field() -> None:
    report = ValidationReport(
        (
            Finding("BR-RO-010", "fatal", "/Invoice/x", "count(x) = 1", "ro # text", "en"),
            Finding("BR-CO-26", "warning", "", "", "", "English only"),
            Finding("XSD", "xsd", "/Invoice", "", "schema ro", "schema en"),
        ),
        "Invoice",
    )
    assert shared.decode_report(shared.encode_report(report)) == report
    empty = ValidationReport((), None)
    assert shared.decode_report(shared.encode_report(empty)) == empty


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"document": "Invoice"}',
        b'{"document": "Invoice", "findings": [["BR-1", "fatal"]]}',
        b'{"document": "Invoice", "findings": [["BR-1", "severe", "", "", "", ""]]}',
    ],
)
def test_a_malformed_report_is_a_protocol_error(payload: bytes) -> None:
    with pytest.raises(shared.ProtocolError):
        shared.decode_report(payload)


def test_error_frames_keep_the_missing_artifacts_class() -> None:
    missing = shared.encode_error("E-VALIDATION-ARTIFACTS", "ubl-2.1/x.xsd is missing")
    with pytest.raises(ValidationArtifactsMissing, match=r"x\.xsd is missing"):
        shared.raise_error(missing)
    crash = shared.encode_error("E-VALIDATOR-CRASH", "RuntimeError: boom")
    with pytest.raises(shared.ValidatorUnavailable, match="boom") as caught:
        shared.raise_error(crash)
    assert caught.value.code == "E-VALIDATOR-UNAVAILABLE"
    assert isinstance(caught.value, RetryLater)


def test_the_server_answers_an_unknown_request_with_a_coded_error(tmp_path: Path) -> None:
    state = validator_server._State(Validator(tmp_path))
    kind, payload = validator_server.answer(state, b"X", b"")
    assert kind == b"E" and b"E-VALIDATOR-PROTOCOL" in payload
    kind, payload = validator_server.answer(state, b"V", b"<Invoice/>")  # no artifacts here
    assert kind == b"E" and b"E-VALIDATION-ARTIFACTS" in payload


def test_a_long_data_folder_gets_a_socket_path_that_fits(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 120)
    path = shared.socket_path(deep)
    assert len(str(path).encode()) < 100
    assert path == shared.socket_path(deep)  # the same for every worker of that folder
    assert shared.socket_path(tmp_path) == tmp_path.resolve() / "validator.sock"


# --- the process --------------------------------------------------------------------------


def _variants(make_invoice: Callable[[int], bytes]) -> list[bytes]:
    clean = make_invoice(3)
    return [clean, make_invoice(20), b"<Invoice", b"<a/>", clean.replace(b"RON", b"XXX", 1)]


def test_the_shared_validator_reports_exactly_what_the_in_process_one_does(
    client: shared.SharedValidator, validator: Validator, make_invoice: Callable[[int], bytes]
) -> None:
    client.load()
    variants = _variants(make_invoice)
    reports = [client.validate(xml) for xml in variants]
    assert reports == [validator.validate(xml) for xml in variants]
    assert reports[0].ok and not reports[4].ok  # the gate still blocks


def test_every_mutation_fires_the_same_rules_through_the_shared_validator(
    client: shared.SharedValidator, validator: Validator, make_invoice: Callable[[int], bytes]
) -> None:
    clean = make_invoice(3)
    for mutate, _expected in MUTATIONS.values():
        root = etree.fromstring(clean)
        mutate(root)
        xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        assert client.validate(xml) == validator.validate(xml)


def test_one_validator_process_serves_every_client_of_a_socket(
    client: shared.SharedValidator, make_invoice: Callable[[int], bytes]
) -> None:
    other = shared.SharedValidator(client.validation_dir, client.socket_file)
    try:
        assert other.validate(make_invoice(1)).ok
        assert client.validate(make_invoice(1)).ok
        assert _pid(client) == _pid(other)
    finally:
        other.close()


def test_a_second_server_for_a_served_socket_gives_way(client: shared.SharedValidator) -> None:
    client.load()
    second = subprocess.run(client.command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0
    assert "another validator serves" in second.stderr


def test_a_validator_that_dies_is_replaced_and_the_document_validated(
    client: shared.SharedValidator, make_invoice: Callable[[int], bytes]
) -> None:
    first = _pid(client)
    os.kill(first, signal.SIGKILL)
    _wait_gone(first)
    report = client.validate(make_invoice(2).replace(b"RON", b"XXX", 1))
    assert not report.ok and "BR-CO-15" in {f.rule_id for f in report.findings}
    assert _pid(client) != first


def test_missing_artifacts_are_the_same_error_as_in_process(tmp_path: Path) -> None:
    empty = tmp_path / "validation"
    empty.mkdir()
    client = shared.SharedValidator(empty, shared.socket_path(tmp_path))
    try:
        with pytest.raises(ValidationArtifactsMissing, match="is missing"):
            client.load()
        with pytest.raises(ValidationArtifactsMissing, match="is missing"):
            client.validate(b"<Invoice/>")
    finally:
        _stop(client)


def test_a_validator_that_cannot_start_is_a_coded_wait(tmp_path: Path) -> None:
    broken = [sys.executable, "-c", "raise SystemExit(3)"]
    client = shared.SharedValidator(tmp_path, shared.socket_path(tmp_path), command=broken)
    with pytest.raises(shared.ValidatorUnavailable, match="exited with status 3") as caught:
        client.validate(b"<Invoice/>")
    assert caught.value.code == "E-VALIDATOR-UNAVAILABLE"
    assert caught.value.count_attempt  # counted: a validator that never starts ends the job


def test_the_validator_exits_when_no_client_is_left(
    installed: artifacts.ArtifactSet, tmp_path: Path
) -> None:
    path = shared.socket_path(tmp_path)
    command = [*shared.server_command(installed.root, path), "--idle-exit", "0"]
    client = shared.SharedValidator(installed.root, path, command=command)
    client.load()
    pid = _pid(client)
    client.close()
    _wait_gone(pid)
    assert not path.exists()  # it removed its socket
