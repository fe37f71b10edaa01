"""Email templates: Romanian defaults a merchant can override with files.

Templates use :class:`string.Template` syntax (``$number``, ``${seller_name}``, ``$$`` for a
literal dollar). A merchant overrides any of them by dropping a UTF-8 file with the same name
into the directory named by ``[email] templates_dir`` in ``efactura.toml``:

==========================  ==================================================================
``invoice_subject.txt``     subject of the email that carries an invoice to the payer
``invoice_body.txt``        its plain-text body
``invoice_subject_intl.txt`` the same for a payer outside Romania (Romanian and English)
``invoice_body_intl.txt``   its body (Romanian first, English after)
``merchant_subject.txt``    subject of the digest that tells the merchant what needs attention
``merchant_body.txt``       its plain-text body (Romanian first, English after)
==========================  ==================================================================

Files are checked when loaded: an unknown ``$placeholder`` or an unknown ``*.txt`` file name is a
:class:`~stripe_efactura.errors.ConfigError` (``E-MAIL-TEMPLATE``) that lists what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from string import Template

from ..errors import ConfigError

INVOICE_VARIABLES: frozenset[str] = frozenset(
    {
        "document",
        "document_lower",
        "number",
        "issue_date",
        "seller_name",
        "seller_cui",
        "seller_email",
        "seller_phone",
        "seller_contact",
        "buyer_name",
        "total",
        "payable",
        "currency",
        "payment_reference",
        "payment_note",
        "preceding",
        "order_reference",
        "pdf_filename",
        "xml_filename",
        "document_en",
        "issue_date_en",
        "payment_note_en",
    }
)
"""Placeholders available to the ``invoice_*`` templates."""

MERCHANT_VARIABLES: frozenset[str] = frozenset(
    {
        "company_name",
        "count",
        "count_ro",
        "count_en",
        "items_ro",
        "items_en",
        "dashboard_ro",
        "dashboard_en",
    }
)
"""Placeholders available to ``merchant_subject.txt`` and ``merchant_body.txt``."""

DEFAULT_INVOICE_SUBJECT = "$document $number din $issue_date — $seller_name"

DEFAULT_INVOICE_BODY = """\
Bună ziua,

Vă transmitem $document_lower $number din $issue_date, emisă de $seller_name, \
în valoare totală de $total.
$payment_note

Găsiți atașate factura în format PDF ($pdf_filename) și fișierul XML e-Factura \
($xml_filename), în formatul transmis la ANAF.

Cu stimă,
$seller_name
$seller_contact
"""

DEFAULT_INVOICE_SUBJECT_INTL = (
    "$document $number din $issue_date / $document_en $number of $issue_date_en — $seller_name"
)

DEFAULT_INVOICE_BODY_INTL = """\
Bună ziua,

Vă transmitem $document_lower $number din $issue_date, emisă de $seller_name, \
în valoare totală de $total.
$payment_note

Găsiți atașate factura în format PDF ($pdf_filename) și fișierul XML e-Factura \
($xml_filename), în formatul transmis la ANAF.

--- English ---

Hello,

Please find attached $document_en $number of $issue_date_en, issued by $seller_name, \
for a total of $total.
$payment_note_en

The invoice is attached as a PDF ($pdf_filename) and as the e-Factura XML file \
($xml_filename) reported to the Romanian tax authority (ANAF).

Cu stimă / Kind regards,
$seller_name
$seller_contact
"""

DEFAULT_MERCHANT_SUBJECT = "$company_name — e-Factura: $count_ro / $count_en"

DEFAULT_MERCHANT_BODY = """\
Bună ziua,

stripe-efactura are $count_ro pentru $company_name care necesită atenția dumneavoastră.

$items_ro
$dashboard_ro

--- English ---

Hello,

stripe-efactura has $count_en for $company_name that need your attention.

$items_en
$dashboard_en"""

_VARIABLES: dict[str, frozenset[str]] = {
    "invoice_subject": INVOICE_VARIABLES,
    "invoice_body": INVOICE_VARIABLES,
    "invoice_subject_intl": INVOICE_VARIABLES,
    "invoice_body_intl": INVOICE_VARIABLES,
    "merchant_subject": MERCHANT_VARIABLES,
    "merchant_body": MERCHANT_VARIABLES,
}


class TemplateError(ConfigError):
    """A merchant template is unreadable, malformed or uses an unknown placeholder."""

    code = "E-MAIL-TEMPLATE"


@dataclass(frozen=True)
class Templates:
    """The email templates (text with ``$placeholders``)."""

    invoice_subject: str = DEFAULT_INVOICE_SUBJECT
    invoice_body: str = DEFAULT_INVOICE_BODY
    invoice_subject_intl: str = DEFAULT_INVOICE_SUBJECT_INTL
    invoice_body_intl: str = DEFAULT_INVOICE_BODY_INTL
    merchant_subject: str = DEFAULT_MERCHANT_SUBJECT
    merchant_body: str = DEFAULT_MERCHANT_BODY

    def render(self, name: str, values: Mapping[str, str]) -> str:
        """Fill template ``name`` (``invoice_subject``…) with ``values``.

        Subjects come out on one line; bodies get at most one blank line in a row (an empty
        placeholder such as ``$payment_note`` leaves no hole) and end with one newline.
        """
        if name not in _VARIABLES:
            raise KeyError(name)
        text = Template(getattr(self, name)).substitute(values)
        if name.endswith("_subject"):
            return " ".join(text.split())
        lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
        out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        return out + "\n"


def check_template(name: str, text: str, *, origin: str = "") -> None:
    """Raise :class:`TemplateError` when ``text`` is not a valid template ``name``."""
    where = origin or name
    allowed = _VARIABLES[name]
    template = Template(text)
    if not template.is_valid():
        raise TemplateError(
            f"{where}: invalid placeholder syntax (write $$ for a literal $)", template=name
        )
    unknown = sorted(set(template.get_identifiers()) - allowed)
    if unknown:
        raise TemplateError(
            f"{where}: unknown placeholder(s) {', '.join('$' + u for u in unknown)}; "
            f"allowed: {', '.join('$' + a for a in sorted(allowed))}",
            template=name,
            unknown=tuple(unknown),
        )


def load_templates(templates_dir: Path | str | None) -> Templates:
    """The default templates, overridden by the files found in ``templates_dir``.

    ``None`` gives the defaults. A directory that does not exist, an unreadable or non-UTF-8
    file, an unknown ``*.txt`` file or an unknown placeholder raises :class:`TemplateError`.
    """
    if templates_dir is None:
        return Templates()
    directory = Path(templates_dir).expanduser()
    if not directory.is_dir():
        raise TemplateError(
            f"email templates_dir {directory} does not exist or is not a directory",
            path=str(directory),
        )
    known = {f.name for f in fields(Templates)}
    for path in sorted(directory.glob("*.txt")):
        if path.stem not in known:
            raise TemplateError(
                f"{path}: unknown template file; expected one of "
                f"{', '.join(sorted(n + '.txt' for n in known))}",
                path=str(path),
            )
    values: dict[str, str] = {}
    for name in sorted(known):
        path = directory / f"{name}.txt"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"{path}: cannot read as UTF-8: {exc}", path=str(path)) from exc
        text = text.removeprefix("\ufeff")
        check_template(name, text, origin=str(path))
        values[name] = text
    return Templates(**values)
