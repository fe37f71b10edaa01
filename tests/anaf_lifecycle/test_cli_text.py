"""The text of ``invoices list`` and ``invoices show`` (issue 14): a header, one money format,
the upload index and the download id the README promises, a readable timeline (not JSON);
``--json`` keeps the JSON."""

from __future__ import annotations

from datetime import date

from stripe_efactura import cli


def test_invoices_list_and_show_as_text(cli_env, capsys) -> None:  # type: ignore[no-untyped-def]
    env = cli_env
    ok_id, ok = env.issue(issued=date(2026, 3, 2))
    env.drive([ok_id])
    capsys.readouterr()
    assert cli.main(["invoices", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        (
            "NUMBER           ISSUED                TOTAL  ANAF STATE         INDEX        "
            "DOWNLOAD ID  DEADLINE"
        ),
        (
            "SEF000001        2026-03-02       121,00 RON  ok                 5001130147   "
            "3001474424   2026-03-09"
        ),
    ]
    assert cli.main(["invoices", "show", ok]) == 0
    lines = capsys.readouterr().out.splitlines()
    archive = env.ctx.settings.data_dir / "archive" / "2026" / "SEF000001.zip"
    assert lines[:7] == [
        "SEF000001 (invoice, live) issued 2026-03-02, total 121,00 RON",
        "  payment: pi_SEF000001",
        ("  ANAF: ok   upload index 5001130147   download id 3001474424   deadline 2026-03-09"),
        "  email: waiting for the PDF",
        f"  signed ZIP: {archive}",
        "  timeline:",
        lines[6],
    ]
    timeline = lines[6:]
    assert timeline[0].endswith("number=SEF000001")  # the first entry: issued, readable
    assert any(
        ln.split()[1] == "anaf_ok" and ln.endswith("download_id=3001474424") for ln in timeline
    )
    assert not any("{" in ln for ln in lines)  # no JSON
