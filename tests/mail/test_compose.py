"""Pure composition: subjects, bodies, attachments, the merchant digest and template loading."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType

import pytest

from stripe_efactura.errors import ConfigError, Problem
from stripe_efactura.mail.compose import (
    MailAddressError,
    MerchantNotice,
    attachment_basename,
    compose_invoice_email,
    compose_merchant_digest,
)
from stripe_efactura.mail.templates import (
    INVOICE_VARIABLES,
    TemplateError,
    Templates,
    load_templates,
)

PDF = b"%PDF-1.4 test bytes \x00\xff"
XML = b'<?xml version="1.0"?><Invoice>\xc8\x99</Invoice>'


def attachments(msg: object) -> list[tuple[str | None, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in msg.iter_attachments()  # type: ignore[attr-defined]
    ]


def body(msg: object) -> str:
    part = msg.get_body(("plain",))  # type: ignore[attr-defined]
    assert part is not None
    return str(part.get_content())


def test_storno_email(factory: ModuleType) -> None:
    msg = compose_invoice_email(
        factory.storno_invoice(),
        PDF,
        XML,
        mail_from="Facturare <facturi@firma-mea.ro>",
        to=["achizitii@stefanescu.ro", "ACHIZITII@stefanescu.ro", ""],
        bcc=["arhiva@firma-mea.ro"],
        message_id="factura-SEF000124-1@firma-mea.ro",
    )
    assert msg["Subject"] == "Factura storno SEF000124 din 25.11.2026 — Firma Mea SRL"
    assert msg["From"] == "Facturare <facturi@firma-mea.ro>"
    assert msg["To"] == "achizitii@stefanescu.ro"
    assert msg["Bcc"] == "arhiva@firma-mea.ro"
    assert msg["Message-ID"] == "<factura-SEF000124-1@firma-mea.ro>"
    assert msg["X-Efactura-Invoice"] == "SEF000124"
    assert msg["Date"] is None  # the sender stamps it
    assert body(msg) == (
        "Bună ziua,\n"
        "\n"
        "Vă transmitem factura storno SEF000124 din 25.11.2026, emisă de Firma Mea SRL, "
        "în valoare totală de -121,00 RON.\n"
        "Aceasta stornează factura SEF000123 din 21.11.2026. "
        "Suma a fost rambursată prin Stripe (referință re_3QstornoXYZ).\n"
        "\n"
        "Găsiți atașate factura în format PDF (SEF000124.pdf) și fișierul XML e-Factura "
        "(SEF000124.xml), în formatul transmis la ANAF.\n"
        "\n"
        "Cu stimă,\n"
        "Firma Mea SRL\n"
        "contabilitate@firma-mea.ro · +40 21 000 0000\n"
    )
    assert attachments(msg) == [
        ("SEF000124.pdf", "application/pdf", PDF),
        ("SEF000124.xml", "application/xml", XML),
    ]


def test_email_without_payment_or_contact_leaves_no_blank_holes(factory: ModuleType) -> None:
    invoice = replace(
        factory.eur_invoice(),
        payment=None,
        seller=replace(factory.eur_invoice().seller, email=None, phone=None),
    )
    msg = compose_invoice_email(
        invoice, PDF, XML, mail_from="facturi@firma-mea.ro", to="ion.taranu@example.ro"
    )
    assert msg["Reply-To"] is None
    assert body(msg) == (
        "Bună ziua,\n"
        "\n"
        "Vă transmitem factura SEF000125 din 21.11.2026, emisă de Firma Mea SRL, "
        "în valoare totală de 242,00 EUR.\n"
        "\n"
        "Găsiți atașate factura în format PDF (SEF000125.pdf) și fișierul XML e-Factura "
        "(SEF000125.xml), în formatul transmis la ANAF.\n"
        "\n"
        "Cu stimă,\n"
        "Firma Mea SRL\n"
    )


def test_subject_cannot_inject_headers(factory: ModuleType) -> None:
    invoice = factory.standard_invoice()
    invoice = replace(invoice, seller=replace(invoice.seller, name="Firma\r\nBcc: x@evil.example"))
    msg = compose_invoice_email(
        invoice, PDF, XML, mail_from="facturi@firma-mea.ro", to="a@b.ro", reply_to="r@b.ro"
    )
    assert msg["Subject"] == "Factura SEF000123 din 21.11.2026 — Firma Bcc: x@evil.example"
    assert msg["Bcc"] is None
    assert msg["Reply-To"] == "r@b.ro"
    assert msg["From"] == '"Firma Bcc: x@evil.example" <facturi@firma-mea.ro>'


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("SEF000123", "SEF000123"),
        ("SEF/2026/7", "SEF_2026_7"),
        ("../x y", "x_y"),
        ("..", "factura"),
    ],
)
def test_attachment_names_are_safe(number: str, expected: str) -> None:
    assert attachment_basename(number) == expected


@pytest.mark.parametrize("to", ["", [], ["  "], "not-an-address"])
def test_no_valid_recipient_is_a_coded_error(factory: ModuleType, to: object) -> None:
    with pytest.raises(MailAddressError) as err:
        compose_invoice_email(
            factory.standard_invoice(),
            PDF,
            XML,
            mail_from="f@firma-mea.ro",
            to=to,  # type: ignore[arg-type]
        )
    assert err.value.code in {"E-MAIL-NO-RECIPIENT", "E-MAIL-ADDRESS"}


def test_missing_sender_is_a_coded_error(factory: ModuleType) -> None:
    with pytest.raises(MailAddressError) as err:
        compose_invoice_email(factory.standard_invoice(), PDF, XML, mail_from="", to="a@b.ro")
    assert err.value.code == "E-MAIL-ADDRESS"
    assert "EFACTURA_MAIL_FROM" in err.value.message


# ---------------------------------------------------------------------------------------------
# merchant digest

CUI_PROBLEM = Problem(
    "E-BUYER-CUI",
    "customer.tax_ids",
    "CUI-ul cumpărătorului nu este valid (cifra de control).",
    "The buyer's CUI is not valid (check digit).",
    hint="Correct the tax id on the Stripe customer, then retry the payment.",
    hint_ro="Corectați codul fiscal al clientului în Stripe, apoi reîncercați plata.",
)
COUNTY_WARNING = Problem(
    "W-ADDRESS-COUNTY",
    "customer.address",
    "Județul lipsește; am folosit București.",
    "The county is missing; București was used.",
    fatal=False,
)
ANAF_PROBLEM = Problem(
    "BR-RO-100",
    "",
    "Codul de identificare al cumpărătorului lipsește.",
    "",
    hint="Add the buyer's CUI or CNP.",
)


def notices() -> list[MerchantNotice]:
    return [
        MerchantNotice(
            "anaf_rejected",
            "Factura a fost respinsă de ANAF",
            "SEF000120",
            (ANAF_PROBLEM,),
            datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
            title_en="The invoice was rejected by ANAF",
            link="https://efactura.firma-mea.ro/invoices/SEF000120",
        ),
        MerchantNotice(
            "payment_problem",
            "Plata nu poate fi facturată",
            "pi_3QabcDEF123",
            (CUI_PROBLEM, COUNTY_WARNING),
            # 10:05 UTC = 12:05 in Bucharest (EET, UTC+2 in November)
            datetime(2026, 11, 21, 10, 5, tzinfo=UTC),
            title_en="The payment cannot be invoiced",
        ),
        MerchantNotice(
            "auth_expiry",
            "Autorizarea ANAF expiră în 7 zile",
            "CUI 18547290",
            (),
            # 14:30 at UTC+4 = 10:30 UTC = 12:30 in Bucharest
            datetime(2026, 11, 21, 14, 30, tzinfo=timezone(timedelta(hours=4))),
            title_en="The ANAF authorization expires in 7 days",
            details_ro="Reautorizați aplicația din tabloul de bord până la 28.11.2026.",
            details_en="Re-authorize the application from the dashboard by 28.11.2026.",
        ),
        MerchantNotice(
            "payment_problem",
            "Plată de test fără adresă",
            "pi_test_3Qxyz",
            (),
            datetime(2026, 7, 1, 6, 0, tzinfo=UTC),  # summer: EEST, UTC+3
            livemode=False,
        ),
    ]


EXPECTED_DIGEST = """\
Bună ziua,

stripe-efactura are 4 notificări pentru Firma Mea SRL care necesită atenția dumneavoastră.

1. Plată care nu poate fi facturată: pi_3QabcDEF123 (21.11.2026, 12:05, ora României)
   Plata nu poate fi facturată
   - [E-BUYER-CUI] customer.tax_ids: CUI-ul cumpărătorului nu este valid (cifra de control).
     Cum rezolvați: Corectați codul fiscal al clientului în Stripe, apoi reîncercați plata.
   - [W-ADDRESS-COUNTY] (avertisment) customer.address: Județul lipsește; am folosit București.

2. [TEST] Plată care nu poate fi facturată: pi_test_3Qxyz (01.07.2026, 09:00, ora României)
   Plată de test fără adresă

3. Factură respinsă de ANAF: SEF000120 (21.11.2026, 11:00, ora României)
   Factura a fost respinsă de ANAF
   - [BR-RO-100] Codul de identificare al cumpărătorului lipsește.
     Cum rezolvați: Add the buyer's CUI or CNP.
   Detalii: https://efactura.firma-mea.ro/invoices/SEF000120

4. Autorizarea ANAF expiră: CUI 18547290 (21.11.2026, 12:30, ora României)
   Autorizarea ANAF expiră în 7 zile
   Reautorizați aplicația din tabloul de bord până la 28.11.2026.

Tabloul de bord: https://efactura.firma-mea.ro/

--- English ---

Hello,

stripe-efactura has 4 notifications for Firma Mea SRL that need your attention.

1. Payment that cannot be invoiced: pi_3QabcDEF123 (21.11.2026, 12:05 Romania time)
   The payment cannot be invoiced
   - [E-BUYER-CUI] customer.tax_ids: The buyer's CUI is not valid (check digit).
     How to fix: Correct the tax id on the Stripe customer, then retry the payment.
   - [W-ADDRESS-COUNTY] (warning) customer.address: The county is missing; București was used.

2. [TEST] Payment that cannot be invoiced: pi_test_3Qxyz (01.07.2026, 09:00 Romania time)
   Plată de test fără adresă

3. Invoice rejected by ANAF: SEF000120 (21.11.2026, 11:00 Romania time)
   The invoice was rejected by ANAF
   - [BR-RO-100] Codul de identificare al cumpărătorului lipsește.
     How to fix: Add the buyer's CUI or CNP.
   Details: https://efactura.firma-mea.ro/invoices/SEF000120

4. ANAF authorization is expiring: CUI 18547290 (21.11.2026, 12:30 Romania time)
   The ANAF authorization expires in 7 days
   Re-authorize the application from the dashboard by 28.11.2026.

Dashboard: https://efactura.firma-mea.ro/
"""


def test_digest_lists_every_notice_romanian_then_english() -> None:
    msg = compose_merchant_digest(
        notices(),
        mail_from="stripe-efactura@firma-mea.ro",
        to=["contabilitate@firma-mea.ro", "emitent@firma-mea.ro", "Contabilitate@Firma-Mea.ro"],
        company_name="Firma Mea SRL",
        dashboard_url="https://efactura.firma-mea.ro/",
    )
    assert msg["Subject"] == "Firma Mea SRL — e-Factura: 4 notificări / 4 notifications"
    assert msg["From"] == "stripe-efactura <stripe-efactura@firma-mea.ro>"
    assert msg["To"] == "contabilitate@firma-mea.ro, emitent@firma-mea.ro"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert not msg.is_multipart()
    assert msg.get_content() == EXPECTED_DIGEST


@pytest.mark.parametrize(
    ("count", "subject"),
    [
        (1, "X — e-Factura: 1 notificare / 1 notification"),
        (2, "X — e-Factura: 2 notificări / 2 notifications"),
        (19, "X — e-Factura: 19 notificări / 19 notifications"),
        (20, "X — e-Factura: 20 de notificări / 20 notifications"),
        (101, "X — e-Factura: 101 notificări / 101 notifications"),
        (120, "X — e-Factura: 120 de notificări / 120 notifications"),
    ],
)
def test_digest_subject_counts_in_romanian(count: int, subject: str) -> None:
    item = notices()[2]
    msg = compose_merchant_digest(
        [item] * count, mail_from="n@firma-mea.ro", to=["m@firma-mea.ro"], company_name="X"
    )
    assert msg["Subject"] == subject


def test_digest_needs_items_and_known_kinds() -> None:
    with pytest.raises(ValueError, match="at least one notice"):
        compose_merchant_digest([], mail_from="n@firma-mea.ro", to=["m@x.ro"], company_name="X")
    with pytest.raises(ValueError, match="unknown notice kind 'other'"):
        MerchantNotice("other", "t", "r", (), datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]
    with pytest.raises(MailAddressError) as err:
        compose_merchant_digest(notices(), mail_from="n@firma-mea.ro", to=[], company_name="X")
    assert err.value.code == "E-MAIL-NO-RECIPIENT"


# ---------------------------------------------------------------------------------------------
# templates


def test_templates_dir_overrides_some_templates(tmp_path: Path, factory: ModuleType) -> None:
    (tmp_path / "invoice_subject.txt").write_text("Documentul $number ($total)\n", encoding="utf-8")
    (tmp_path / "invoice_body.txt").write_text(
        "\ufeffSalut $buyer_name,\n\nFactura: $pdf_filename. Preț în $$: nu.\n$payment_note\n",
        encoding="utf-8",
    )
    templates = load_templates(tmp_path)
    assert templates.merchant_subject == Templates().merchant_subject
    msg = compose_invoice_email(
        factory.standard_invoice(),
        PDF,
        XML,
        mail_from="f@firma-mea.ro",
        to="a@b.ro",
        templates=templates,
    )
    assert msg["Subject"] == "Documentul SEF000123 (2.046,98 RON)"
    assert body(msg) == (
        "Salut Client Ștefănescu SRL,\n"
        "\n"
        "Factura: SEF000123.pdf. Preț în $: nu.\n"
        "Plata a fost efectuată cu cardul prin Stripe (referință pi_3QabcDEF123).\n"
    )


def test_no_templates_dir_gives_the_defaults() -> None:
    assert load_templates(None) == Templates()


def test_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "merchant_subject.txt").write_text("$company_name: $numar", encoding="utf-8")
    with pytest.raises(TemplateError) as err:
        load_templates(tmp_path)
    assert isinstance(err.value, ConfigError)
    assert err.value.code == "E-MAIL-TEMPLATE"
    assert err.value.message.startswith(
        f"{tmp_path / 'merchant_subject.txt'}: unknown placeholder(s) $numar; allowed: "
        "$company_name, $count, $count_en, $count_ro, $dashboard_en, $dashboard_ro, "
        "$items_en, $items_ro"
    )


def test_invoice_placeholder_in_merchant_template_is_refused(tmp_path: Path) -> None:
    (tmp_path / "merchant_body.txt").write_text("$number", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"unknown placeholder\(s\) \$number"):
        load_templates(tmp_path)


def test_bad_syntax_unknown_file_and_missing_dir_are_refused(tmp_path: Path) -> None:
    (tmp_path / "invoice_body.txt").write_text("Total: $ 5", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"invalid placeholder syntax \(write \$\$"):
        load_templates(tmp_path)
    (tmp_path / "invoice_body.txt").unlink()
    (tmp_path / "invoice_subjet.txt").write_text("x", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"invoice_subjet\.txt: unknown template file"):
        load_templates(tmp_path)
    with pytest.raises(TemplateError, match="does not exist"):
        load_templates(tmp_path / "missing")
    (tmp_path / "invoice_subjet.txt").unlink()
    (tmp_path / "invoice_subject.txt").write_bytes(b"\xff\xfe not utf-8 \x81")
    with pytest.raises(TemplateError, match="cannot read as UTF-8"):
        load_templates(tmp_path)


def test_default_templates_use_only_documented_placeholders() -> None:
    # Every placeholder a default uses is one compose provides.
    from string import Template

    for name in ("invoice_subject", "invoice_body"):
        assert set(Template(getattr(Templates(), name)).get_identifiers()) <= INVOICE_VARIABLES


def test_a_payer_outside_romania_gets_a_romanian_and_english_email(factory: ModuleType) -> None:
    """The invoice reaches a payer outside Romania in Romanian (the legal language of the
    invoice) and English, like its PDF."""
    msg = compose_invoice_email(
        factory.reverse_charge_invoice(),
        PDF,
        XML,
        mail_from="facturi@firma-mea.ro",
        to="einkauf@mueller.example",
    )
    assert msg["Subject"] == (
        "Factura SEF000126 din 22.11.2026 / Invoice SEF000126 of 2026-11-22 — Firma Mea SRL"
    )
    assert body(msg) == (
        "Bună ziua,\n"
        "\n"
        "Vă transmitem factura SEF000126 din 22.11.2026, emisă de Firma Mea SRL, "
        "în valoare totală de 1.000,00 EUR.\n"
        "Plata a fost efectuată cu cardul prin Stripe (referință pi_3QrevCHG555).\n"
        "\n"
        "Găsiți atașate factura în format PDF (SEF000126.pdf) și fișierul XML e-Factura "
        "(SEF000126.xml), în formatul transmis la ANAF.\n"
        "\n"
        "--- English ---\n"
        "\n"
        "Hello,\n"
        "\n"
        "Please find attached Invoice SEF000126 of 2026-11-22, issued by Firma Mea SRL, "
        "for a total of 1.000,00 EUR.\n"
        "The payment was made by card via Stripe (reference pi_3QrevCHG555).\n"
        "\n"
        "The invoice is attached as a PDF (SEF000126.pdf) and as the e-Factura XML file "
        "(SEF000126.xml) reported to the Romanian tax authority (ANAF).\n"
        "\n"
        "Cu stimă / Kind regards,\n"
        "Firma Mea SRL\n"
        "contabilitate@firma-mea.ro · +40 21 000 0000\n"
    )


def _standard_composition(msg: EmailMessage, pdf: bytes, xml: bytes) -> EmailMessage:
    """``msg`` rebuilt as ``add_attachment`` builds it: its headers and text part, then the
    two attachments, with ``msg``'s boundary."""
    text = msg.get_body(("plain",))
    assert text is not None
    std = EmailMessage(policy=msg.policy)
    for name, value in msg.raw_items():
        if name.lower() not in ("content-type", "mime-version"):
            std[name] = value
    std.set_content(text.get_content(), subtype="plain", charset="utf-8", cte="quoted-printable")
    names = [part.get_filename() for part in msg.iter_attachments()]
    std.add_attachment(pdf, maintype="application", subtype="pdf", filename=names[0])
    std.add_attachment(xml, maintype="application", subtype="xml", filename=names[1])
    boundary = msg.get_boundary()
    assert boundary is not None
    std.set_boundary(boundary)
    return std


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, 114, 48_155])
def test_attachments_are_the_bytes_add_attachment_writes(factory: ModuleType, size: int) -> None:
    pdf = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    for invoice in (factory.standard_invoice(), factory.storno_invoice()):
        msg = compose_invoice_email(invoice, pdf, XML, mail_from="facturi@firma.ro", to="a@b.ro")
        assert msg.as_bytes() == _standard_composition(msg, pdf, XML).as_bytes()
        assert attachments(msg)[0][2] == pdf


def test_the_boundary_is_the_generators_kind_and_new_each_time(factory: ModuleType) -> None:
    boundaries = {
        compose_invoice_email(
            factory.standard_invoice(), PDF, XML, mail_from="facturi@firma.ro", to="a@b.ro"
        ).get_boundary()
        for _ in range(20)
    }
    assert len(boundaries) == 20
    for boundary in boundaries:
        assert boundary is not None
        assert re.fullmatch(r"={15}\d{19}==", boundary)
