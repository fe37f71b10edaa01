"""`stripe-efactura demo` end to end: the exact account, the files, the database.

The demo runs once per test run (``demo_run`` in tests/conftest.py, about 20 s: the fake
ANAF answers "in prelucrare" to the first status poll, and the service polls again after 10 s,
as in production); the console tests serve a copy of the same run.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from lxml import etree

from stripe_efactura import cli
from stripe_efactura.demo import environment as demo_environment
from stripe_efactura.demo import runner
from stripe_efactura.demo.samples import SCHEDULE, build_samples, payment_times
from stripe_efactura.errors import ValidationArtifactsMissing
from stripe_efactura.invoicing.fx import choose_rate, parse_bnr_xml
from stripe_efactura.invoicing.serialize import invoice_from_json
from stripe_efactura.store.db import make_engine
from stripe_efactura.ubl import artifacts

BUCHAREST = ZoneInfo("Europe/Bucharest")

EXPECTED = """\
stripe-efactura demo: Stripe payments -> Romanian invoices -> ANAF -> email

Set-up (nothing leaves this machine)
  folder      DIR
  database    SQLite efactura.db (migrated)
  Stripe      in-process fake API holding the sample objects (livemode)
  ANAF        in-process fake of the e-Factura test API; OAuth code flow done,
              tokens stored encrypted
  BNR         demo feed: 1 EUR = 5.0875 RON on RATE_DATE (a DEMO rate, not BNR's)
  SMTP        local sink 127.0.0.1:PORT, messages saved in mail/
  validation  UBL 2.1 XSD + CIUS-RO 1.0.9 schematron, installed in VALIDATION
  web         http://127.0.0.1:PORT/webhooks/stripe

Webhooks: 18 signed deliveries (all answered 200): 15 stored, 3 duplicates
   1. evt_1Demo01 checkout.session.completed  stored    sale pi_3DemoB2CCluj   arrives first
   2. evt_1Demo02 payment_intent.succeeded    stored    sale pi_3DemoB2BBuc    session found via API
   3. evt_1Demo03 payment_intent.succeeded    stored    sale pi_3DemoB2CCluj   same payment
   4. evt_1Demo04 invoice.created             stored    ignored I-NOT-TRIGGER  a draft
   5. evt_1Demo05 invoice.finalized           stored    ignored I-NOT-PAID     open, not paid yet
   6. evt_1Demo06 invoice.paid                stored    sale pi_3DemoRenewal   before its PI events
   7. evt_1Demo07 checkout.session.completed  stored    sale pi_3DemoB2BBuc    same payment
   8. evt_1Demo08 payment_intent.created      stored    ignored I-NOT-PAID     not paid yet
   9. evt_1Demo09 charge.succeeded            stored    sale pi_3DemoB2CCluj   same payment
  10. evt_1Demo10 payment_intent.succeeded    stored    sale pi_3DemoRenewal   the invoice owns it
  11. evt_1Demo11 charge.succeeded            stored    sale pi_3DemoWooEUR    before its PI event
  12. evt_1Demo01 checkout.session.completed  duplicate sale pi_3DemoB2CCluj   Stripe redelivers it
  13. evt_1Demo12 charge.updated              stored    ignored I-NOT-TRIGGER  not a trigger
  14. evt_1Demo13 charge.succeeded            stored    sale pi_3DemoRenewal   same payment
  15. evt_1Demo14 payment_intent.succeeded    stored    sale pi_3DemoWooEUR    same payment
  16. evt_1Demo15 invoice.payment_succeeded   stored    ignored I-NOT-TRIGGER  repeats invoice.paid
  17. evt_1Demo06 invoice.paid                duplicate sale pi_3DemoRenewal   Stripe redelivers it
  18. evt_1Demo14 payment_intent.succeeded    duplicate sale pi_3DemoWooEUR    Stripe redelivers it
  => 10 events confirmed 4 payments (one sale each); 5 ignored (I-NOT-PAID x2, I-NOT-TRIGGER x3)

Invoices
  SEF000001  B2C Checkout, RON, card, Cluj
    payment     pi_3DemoB2CCluj (events evt_1Demo01, evt_1Demo03, evt_1Demo09)
    buyer       Ioana Pop (individual, CNP 0000000000000; Cluj-Napoca, RO-CJ)
    issued      DATE, 2 lines
    total       279.90 RON = net 231.32 + VAT 48.58 (S 21 %: VAT 48.58)
    validation  0 fatal, 0 warnings
    ANAF        pending_upload -> uploading -> uploaded -> in_processing -> ok -> archived
                upload index 5001130147 via uploadb2c (1 upload), download id 3001474424
    email       sent to ioana.pop@example.com
                "Factura SEF000001 din RO_DATE — Firma Mea SRL"
                mail/01-ioana.pop@example.com.eml (SEF000001.pdf + SEF000001.xml)
    files       invoices/SEF000001.pdf, invoices/SEF000001.xml
                archive/YEAR/SEF000001.zip (XML + ANAF signature, as downloaded)
  SEF000002  B2B Checkout, RON, CUI field, Bucharest
    payment     pi_3DemoB2BBuc (events evt_1Demo02, evt_1Demo07)
    buyer       Atelier Digital Nord SRL (company, VAT id RO41833563; SECTOR3, RO-B)
    issued      DATE, 2 lines
    total       1,428.00 RON = net 1,180.17 + VAT 247.83 (S 21 %: VAT 247.83)
    validation  0 fatal, 0 warnings
    ANAF        pending_upload -> uploading -> uploaded -> in_processing -> ok -> archived
                upload index 5001130148 via upload (1 upload), download id 3001474425
    email       sent to facturi@atelier-digital.example
                "Factura SEF000002 din RO_DATE — Firma Mea SRL"
                mail/02-facturi@atelier-digital.example.eml (SEF000002.pdf + SEF000002.xml)
    files       invoices/SEF000002.pdf, invoices/SEF000002.xml
                archive/YEAR/SEF000002.zip (XML + ANAF signature, as downloaded)
  SEF000003  Subscription renewal, Stripe Tax 21 % exclusive
    payment     pi_3DemoRenewal (events evt_1Demo06, evt_1Demo10, evt_1Demo13)
    buyer       Andrei Munteanu (individual, CNP 0000000000000; Timișoara, RO-TM)
    issued      DATE, 1 line
    total       180.29 RON = net 149.00 + VAT 31.29 (S 21 %: VAT 31.29)
    validation  0 fatal, 0 warnings
    ANAF        pending_upload -> uploading -> uploaded -> in_processing -> ok -> archived
                upload index 5001130149 via uploadb2c (1 upload), download id 3001474426
    email       sent to andrei.munteanu@example.com
                "Factura SEF000003 din RO_DATE — Firma Mea SRL"
                mail/03-andrei.munteanu@example.com.eml (SEF000003.pdf + SEF000003.xml)
    files       invoices/SEF000003.pdf, invoices/SEF000003.xml
                archive/YEAR/SEF000003.zip (XML + ANAF signature, as downloaded)
  SEF000004  EUR PaymentIntent (WooCommerce), EU business, reverse charge
    payment     pi_3DemoWooEUR (events evt_1Demo11, evt_1Demo14)
    buyer       Nordlicht Software GmbH (company, VAT id DE268519733; Berlin, DE)
    issued      DATE, 2 lines
    total       540.00 EUR = net 540.00 + VAT 0.00 (AE (AE_REASON): no VAT)
    in RON      VAT 0.00 RON at 5.0875 RON/EUR (RATE_DATE)
    validation  0 fatal, 0 warnings
    ANAF        pending_upload -> uploading -> uploaded -> in_processing -> ok -> archived
                upload index 5001130150 via upload (extern=DA) (1 upload), download id 3001474427
    email       sent to buchhaltung@nordlicht.example
                "Factura SEF000004 din RO_DATE / Invoice SEF000004 of DATE — Firma Mea SRL"
                mail/04-buchhaltung@nordlicht.example.eml (SEF000004.pdf + SEF000004.xml)
    files       invoices/SEF000004.pdf, invoices/SEF000004.xml
                archive/YEAR/SEF000004.zip (XML + ANAF signature, as downloaded)

Merchant digest: none (no notices: nothing needs attention)

OK: 18 webhooks -> 4 invoices SEF000001..SEF000004: validated, ANAF ok, emailed (N s).
The service's own log is demo.log in the folder.
""".replace(
    "AE_REASON", "Taxare inversă (art. 278 alin. (2) Cod fiscal; art. 196 Directiva 2006/112/CE)"
)


def _issue_dates(directory: Path) -> list[date]:
    engine = make_engine(f"sqlite:///{directory / 'efactura.db'}")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT issue_date FROM invoices ORDER BY seq")).scalars()
        out = [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in rows]
    engine.dispose()
    return out


def normalise(text: str, directory: Path, validation: Path, issue: date, rate: date) -> str:
    text = text.replace(str(validation), "VALIDATION").replace(str(directory), "DIR")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"\(\d+\.\d s\)", "(N s)", text)
    text = text.replace(f"archive/{issue.year}/", "archive/YEAR/")
    text = text.replace(issue.strftime("%d.%m.%Y"), "RO_DATE")
    return text.replace(issue.isoformat(), "DATE").replace(rate.isoformat(), "RATE_DATE")


def test_the_demo_prints_the_exact_account(
    demo_run: tuple[int, str, str, Path, float], installed_validation: Path
) -> None:
    rc, out, err, directory, _ = demo_run
    assert rc == 0, out + err
    issues = _issue_dates(directory)
    assert len(set(issues)) == 1
    rate = runner.banking_days_before(issues[0])[-1]
    assert normalise(out, directory, installed_validation, issues[0], rate) == EXPECTED
    assert err.splitlines() == [
        f"Demo folder: {directory}",
        err.splitlines()[1],
        "Waiting for the worker: invoices, PDF, ANAF (fake) and email…",
    ]
    assert re.fullmatch(
        r"Posting 18 signed webhooks to http://127\.0\.0\.1:\d+/webhooks/stripe",
        err.splitlines()[1],
    )


def test_the_issue_date_is_the_payment_day_in_bucharest(
    demo_run: tuple[int, str, str, Path, float],
) -> None:
    _, _, _, directory, started = demo_run
    today = datetime.fromtimestamp(started, BUCHAREST).date()
    issued = _issue_dates(directory)
    assert len(issued) == 4 and len(set(issued)) == 1
    # the run may start a few milliseconds before midnight
    assert issued[0] in {today, date.fromordinal(today.toordinal() + 1)}


def test_the_payments_are_paid_before_the_run_on_its_day_in_bucharest() -> None:
    noon = int(datetime(2026, 11, 21, 12, 0, tzinfo=BUCHAREST).timestamp())
    assert [noon - t for t in payment_times(noon)] == [600, 480, 360, 240]
    midnight = int(datetime(2026, 11, 21, 0, 0, tzinfo=BUCHAREST).timestamp())
    assert [t - midnight for t in payment_times(midnight + 300)] == [0, 60, 120, 180]
    assert [t - midnight for t in payment_times(midnight + 20)] == [0, 1, 2, 3]


def test_the_files_are_where_the_account_says(
    demo_run: tuple[int, str, str, Path, float],
) -> None:
    _, _, _, directory, _ = demo_run
    year = _issue_dates(directory)[0].year
    numbers = ["SEF000001", "SEF000002", "SEF000003", "SEF000004"]
    indexes = ["5001130147", "5001130148", "5001130149", "5001130150"]
    for number, index in zip(numbers, indexes, strict=True):
        pdf = (directory / "invoices" / f"{number}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-")
        xml = (directory / "invoices" / f"{number}.xml").read_bytes()
        root = etree.fromstring(xml)
        ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
        assert root.findtext("cbc:ID", namespaces=ns) == number
        with zipfile.ZipFile(directory / "archive" / str(year) / f"{number}.zip") as archive:
            assert sorted(archive.namelist()) == [f"{index}.xml", f"semnatura_{index}.xml"]
            assert archive.read(f"{index}.xml") == xml  # ANAF returns the XML as uploaded
    mails = sorted((directory / "mail").iterdir())
    assert [m.name for m in mails] == [
        "01-ioana.pop@example.com.eml",
        "02-facturi@atelier-digital.example.eml",
        "03-andrei.munteanu@example.com.eml",
        "04-buchhaltung@nordlicht.example.eml",
    ]
    for mail, number in zip(mails, numbers, strict=True):
        msg = message_from_bytes(mail.read_bytes(), policy=policy.default)
        attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
        assert sorted(str(name) for name in attached) == [f"{number}.pdf", f"{number}.xml"]
        assert attached[f"{number}.pdf"] == (directory / "invoices" / f"{number}.pdf").read_bytes()
    assert (directory / "demo.log").is_file()


def test_the_database_holds_one_sale_and_one_invoice_per_payment(
    demo_run: tuple[int, str, str, Path, float],
) -> None:
    _, _, _, directory, _ = demo_run
    engine = make_engine(f"sqlite:///{directory / 'efactura.db'}")
    with engine.connect() as conn:
        pays = conn.execute(
            sa.text("SELECT payment_key, status, currency, amount FROM payments ORDER BY 1")
        ).all()
        invs = conn.execute(
            sa.text(
                "SELECT number, payment_key, total, currency, anaf_state, email_state, livemode "
                "FROM invoices ORDER BY seq"
            )
        ).all()
        intents = conn.execute(
            sa.text("SELECT COUNT(*) FROM invoice_log WHERE event = 'anaf_upload_intent'")
        ).scalar_one()
        snapshot = conn.execute(
            sa.text("SELECT snapshot FROM invoices WHERE number = 'SEF000004'")
        ).scalar_one()
        events = conn.execute(sa.text("SELECT COUNT(*) FROM stripe_events")).scalar_one()
        notices = conn.execute(sa.text("SELECT COUNT(*) FROM notices")).scalar_one()
    engine.dispose()
    assert [tuple(p) for p in pays] == [
        ("pi_3DemoB2BBuc", "invoiced", "RON", 142800),
        ("pi_3DemoB2CCluj", "invoiced", "RON", 27990),
        ("pi_3DemoRenewal", "invoiced", "RON", 18029),
        ("pi_3DemoWooEUR", "invoiced", "EUR", 54000),
    ]
    assert [tuple(i) for i in invs] == [
        ("SEF000001", "pi_3DemoB2CCluj", "279.90", "RON", "ok", "sent", 1),
        ("SEF000002", "pi_3DemoB2BBuc", "1428.00", "RON", "ok", "sent", 1),
        ("SEF000003", "pi_3DemoRenewal", "180.29", "RON", "ok", "sent", 1),
        ("SEF000004", "pi_3DemoWooEUR", "540.00", "EUR", "ok", "sent", 1),
    ]
    assert intents == 4
    assert events == 15  # 18 deliveries, 3 of them redeliveries of a stored event
    assert notices == 0
    eur = invoice_from_json(snapshot)
    assert eur.fx is not None and str(eur.fx.rate) == "5.0875"
    assert eur.fx.rate_date == runner.banking_days_before(eur.issue_date)[-1]
    assert str(eur.totals.tax_total_ron) == "0.00"
    assert [v.tax.category.value for v in eur.vat_breakdown] == ["AE"]


def test_a_folder_that_is_not_empty_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    assert cli.main(["demo", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"demo: {tmp_path} is not an empty folder: give a new or empty --dir\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_missing_validation_files_name_the_fetch_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*_args: object, **_kwargs: object) -> None:
        raise ValidationArtifactsMissing("download failed: no network")

    monkeypatch.setattr(runner.artifacts, "fetch", offline)
    monkeypatch.setattr(demo_environment, "REPO_ROOT", tmp_path / "nowhere" / "repo")
    with pytest.raises(runner.DemoError) as caught:
        runner.find_validation(tmp_path / "demo", {}, cwd=tmp_path / "cwd")
    assert caught.value.message == (
        "The official validation files (UBL 2.1 XSD + ANAF CIUS-RO schematron) are not installed "
        "and could not be downloaded (download failed: no network). Run `stripe-efactura "
        "validation fetch --dir efactura-data/validation` (or `... --from DIR` offline) in this "
        "folder, or set EFACTURA_VALIDATION_DIR, then run the demo again."
    )


def test_validation_files_are_found_in_order(
    tmp_path: Path, validation_src: Path, installed_validation: Path
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {"EFACTURA_VALIDATION_DIR": str(installed_validation)}
    assert runner.find_validation(tmp_path / "d1", env, cwd=cwd) == (
        installed_validation,
        f"installed in {installed_validation}",
    )
    shared = tmp_path / "shared" / "validation"
    artifacts.install_from(validation_src, shared)
    found, source = runner.find_validation(tmp_path / "d2", {}, cwd=cwd)
    assert (found, source) == (tmp_path / "d2" / "validation", f"installed from {shared}")
    assert artifacts.is_installed(found)


def test_the_demo_bnr_feed_gives_the_rate_of_the_last_banking_day_before_the_issue_date() -> None:
    # 1 December (national day) and 30 November (St Andrew) are holidays; 28-29 a weekend.
    days = runner.banking_days_before(date(2026, 12, 2), 3)
    assert days == [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]
    rates = parse_bnr_xml(runner.demo_bnr_xml(days))
    fx = choose_rate(
        rates, "EUR", date(2026, 12, 2), holidays=(date(2026, 11, 30), date(2026, 12, 1))
    )
    assert fx is not None and (str(fx.rate), fx.rate_date) == ("5.0875", date(2026, 11, 27))
    assert b"NOT published by the National Bank of Romania" in runner.demo_bnr_xml(days)


def test_the_samples_deliver_every_event_once_plus_three_redeliveries() -> None:
    samples = build_samples(1_795_000_000)
    ids = [d.event_id for d in samples.deliveries]
    assert len(ids) == len(SCHEDULE) == 18
    assert len(set(ids)) == 15
    assert [i for n, i in enumerate(ids) if i in ids[:n]] == [
        "evt_1Demo01",
        "evt_1Demo06",
        "evt_1Demo14",
    ]
    assert all(d.event["livemode"] is True for d in samples.deliveries)
    # the objects are the demo's own (readable ids), each stored once
    store = samples.store()
    assert sorted(store.objects) == [
        "charge",
        "checkout.session",
        "customer",
        "invoice",
        "invoice_payment",
        "payment_intent",
        "product",
        "tax_rate",
    ]
    assert json.dumps(samples.deliveries[0].event).count("cs_live_DemoB2CCluj") == 1
