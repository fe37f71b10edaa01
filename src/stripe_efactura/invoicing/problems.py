"""The catalogue of coded problems the invoice builder reports.

Every reason a payment cannot be invoiced is a :class:`~stripe_efactura.errors.Problem` with a
stable code from :data:`CATALOGUE`. Each entry names the field it concerns, a message in Romanian
and in English, and a hint (English and Romanian) saying how to fix it *in Stripe*. Messages may
hold ``{placeholders}`` filled from the context given to :func:`problem`; the context is also kept
on the problem (``Problem.context``) for the dashboard and the merchant email.

``docs/errors.md`` lists every code; a test keeps the two in step.
"""

from __future__ import annotations

import re

from ..errors import Problem
from .problem_spec import ProblemSpec
from .problems_storno import STORNO_SPECS

_ADDRESS_HINT = (
    "Turn on billing address collection in Checkout / Payment Links "
    "(billing_address_collection=required), or add the metadata key `address` "
    '(JSON: {"line1","city","state","postal_code","country"}).'
)
_ADDRESS_HINT_RO = (
    "Activați colectarea adresei de facturare în Checkout / Payment Links "
    "(billing_address_collection=required) sau adăugați cheia de metadate `address` "
    '(JSON: {"line1","city","state","postal_code","country"}).'
)

_SPECS: tuple[ProblemSpec, ...] = (
    # --- buyer -------------------------------------------------------------------------------
    ProblemSpec(
        "P-BUYER-NAME-MISSING",
        "buyer.name",
        "Numele cumpărătorului lipsește.",
        "The buyer's name is missing.",
        "Collect the customer name in Checkout (it is on by default for cards), or add the "
        "metadata key `name`.",
        "Colectați numele clientului în Checkout sau adăugați cheia de metadate `name`.",
        rule="BR-07",
    ),
    ProblemSpec(
        "P-BUYER-ADDRESS-MISSING",
        "buyer.address.line1",
        "Adresa cumpărătorului (strada) lipsește.",
        "The buyer's street address is missing.",
        _ADDRESS_HINT,
        _ADDRESS_HINT_RO,
        rule="BR-RO-082",
    ),
    ProblemSpec(
        "P-BUYER-CITY-MISSING",
        "buyer.address.city",
        "Localitatea cumpărătorului lipsește.",
        "The buyer's city is missing.",
        _ADDRESS_HINT,
        _ADDRESS_HINT_RO,
        rule="BR-RO-092",
    ),
    ProblemSpec(
        "P-BUYER-COUNTRY-MISSING",
        "buyer.address.country",
        "Țara cumpărătorului lipsește.",
        "The buyer's country is missing.",
        _ADDRESS_HINT,
        _ADDRESS_HINT_RO,
        rule="BR-11",
    ),
    ProblemSpec(
        "P-BUYER-COUNTRY-INVALID",
        "buyer.address.country",
        "Țara cumpărătorului „{value}” nu este un cod ISO 3166 cunoscut.",
        "The buyer's country {value!r} is not a known ISO 3166 code.",
        "Use a two-letter country code (RO, DE, …) in the address (metadata `address.country`).",
        "Folosiți un cod de țară din două litere (RO, DE, …) în adresă "
        "(metadate `address.country`).",
    ),
    ProblemSpec(
        "P-BUYER-COUNTY-UNKNOWN",
        "buyer.address.county",
        "Județul cumpărătorului nu poate fi determinat din „{value}”.",
        "The buyer's county cannot be determined from {value!r}.",
        "Collect the billing address in Checkout (the 'state' field holds the county), or add "
        "metadata `address.state` with the county name or code (e.g. 'Cluj' or 'CJ').",
        "Colectați adresa de facturare în Checkout (câmpul 'state' conține județul) sau "
        "adăugați metadata `address.state` cu numele sau codul județului (ex. 'Cluj' sau 'CJ').",
        rule="BR-RO-111",
    ),
    ProblemSpec(
        "P-BUYER-SECTOR-UNKNOWN",
        "buyer.address.city",
        "Pentru București trebuie indicat sectorul (SECTOR1..SECTOR6); primit „{value}”.",
        "A Bucharest address needs its sector (SECTOR1..SECTOR6); got {value!r}.",
        "Ask for the sector in the address (e.g. city 'Sector 3' or 'București, Sector 3'), or "
        "set metadata `address.city` to 'Sector N'.",
        "Cereți sectorul în adresă (ex. localitatea 'Sector 3' sau 'București, Sector 3') sau "
        "setați metadata `address.city` la 'Sector N'.",
        rule="BR-RO-101",
    ),
    ProblemSpec(
        "P-BUYER-METADATA-INVALID",
        "metadata.{key}",
        "Metadatele „{key}” nu pot fi citite: {reason}.",
        "Metadata {key!r} cannot be read: {reason}.",
        "Metadata values are strings: `address` must be a JSON object string such as "
        '{"line1":"Str. X 1","city":"Cluj-Napoca","state":"CJ","country":"RO"}.',
        "Valorile metadatelor sunt texte: `address` trebuie să fie un obiect JSON, de ex. "
        '{"line1":"Str. X 1","city":"Cluj-Napoca","state":"CJ","country":"RO"}.',
    ),
    ProblemSpec(
        "P-CUI-INVALID",
        "buyer.legal_id",
        "CUI/CIF-ul „{value}” (din {source}) nu este valid (cifra de control nu corespunde "
        "sau format greșit).",
        "The CUI/CIF {value!r} (from {source}) is not valid (wrong format or check digit).",
        "Fix the company's fiscal code: 2–10 digits, optionally prefixed by RO (metadata `cui`, "
        "the Checkout custom field 'CUI', or the customer's tax id).",
        "Corectați codul fiscal al firmei: 2–10 cifre, opțional cu prefixul RO (metadata `cui`, "
        "câmpul personalizat 'CUI' din Checkout sau codul fiscal al clientului).",
    ),
    ProblemSpec(
        "P-CNP-INVALID",
        "buyer.legal_id",
        "CNP-ul „{value}” (din {source}) nu este valid.",
        "The CNP {value!r} (from {source}) is not valid.",
        "A CNP has 13 digits and a check digit; fix it or leave the field empty (a private "
        "buyer without a CNP is invoiced with 0000000000000).",
        "CNP-ul are 13 cifre și o cifră de control; corectați-l sau lăsați câmpul gol "
        "(persoanele fizice fără CNP primesc 0000000000000).",
    ),
    ProblemSpec(
        "P-VAT-ID-INVALID",
        "buyer.vat_id",
        "Codul de TVA „{value}” (din {source}) nu are un format valid.",
        "The VAT number {value!r} (from {source}) has no valid format.",
        "A VAT number is the country prefix plus the national number (RO12345678, "
        "DE123456789); fix the customer's tax id (type eu_vat) in Stripe.",
        "Codul de TVA este prefixul țării plus numărul național (RO12345678, DE123456789); "
        "corectați codul fiscal al clientului (tip eu_vat) în Stripe.",
    ),
    # --- lines -------------------------------------------------------------------------------
    ProblemSpec(
        "P-LINES-MISMATCH",
        "lines",
        "Liniile facturii ({source}) însumează {lines_total} {currency}, dar Stripe a încasat "
        "{collected} {currency}.",
        "The invoice lines ({source}) add up to {lines_total} {currency} but Stripe collected "
        "{collected} {currency}.",
        "Make the line totals (metadata `Order Item #N` totals include VAT) add up to the amount "
        "charged, including shipping and discounts, or remove the line metadata to invoice one "
        "line for the whole amount.",
        "Faceți ca totalurile liniilor (totalurile `Order Item #N` includ TVA) să dea suma "
        "încasată, inclusiv transportul și reducerile, sau eliminați metadatele de linii pentru "
        "o singură linie cu toată suma.",
    ),
    ProblemSpec(
        "P-METADATA-ORDER-ITEM-INVALID",
        "metadata.{key}",
        "Metadata „{key}” = „{value}” nu poate fi citită: {reason}.",
        "Metadata {key!r} = {value!r} cannot be read: {reason}.",
        "Write order items as `Order Item #N` = 'product id (optional), name, quantity, total "
        "with VAT', e.g. '123, Tricou, 2, 99.90' (use ', ' between fields when the total has "
        "a decimal comma: 'Tricou, 2, 99,90').",
        "Scrieți produsele ca `Order Item #N` = 'cod produs (opțional), nume, cantitate, total "
        "cu TVA', de ex. '123, Tricou, 2, 99.90' (folosiți ', ' între câmpuri când totalul are "
        "virgulă zecimală: 'Tricou, 2, 99,90').",
    ),
    ProblemSpec(
        "P-METADATA-LINEITEM-INVALID",
        "metadata.{key}",
        "Metadata „{key}” nu poate fi citită: {reason}.",
        "Metadata {key!r} cannot be read: {reason}.",
        'Write `lineitemN` as a JSON string: {"productname":"Tricou","quantity":"2",'
        '"itemtotal":"99.90"} (itemtotal includes VAT, in major units).',
        'Scrieți `lineitemN` ca text JSON: {"productname":"Tricou","quantity":"2",'
        '"itemtotal":"99.90"} (itemtotal include TVA, în lei/unități întregi).',
    ),
    ProblemSpec(
        "P-METADATA-LINES-INVALID",
        "metadata.{key}",
        "Metadata „{key}” nu poate fi citită: {reason}.",
        "Metadata {key!r} cannot be read: {reason}.",
        'Write `lines` as a JSON array string: [{"name":"Tricou","quantity":2,"total":"99.90"}].',
        'Scrieți `lines` ca text JSON (listă): [{"name":"Tricou","quantity":2,"total":"99.90"}].',
    ),
    ProblemSpec(
        "P-LINE-QUANTITY-INVALID",
        "lines[{line}].quantity",
        "Linia {line} („{name}”) are cantitatea {value}, care nu poate fi facturată.",
        "Line {line} ({name!r}) has quantity {value}, which cannot be invoiced.",
        "Give every line item a quantity greater than zero.",
        "Dați fiecărei linii o cantitate mai mare decât zero.",
    ),
    ProblemSpec(
        "P-LINE-NAME-TRUNCATED",
        "lines[{line}].name",
        "Denumirea liniei {line} are peste 100 de caractere și a fost scurtată; textul "
        "complet este în descriere.",
        "The name of line {line} is longer than 100 characters and was shortened; the full "
        "text is in the line description.",
        "Use product names of at most 100 characters.",
        "Folosiți denumiri de produs de cel mult 100 de caractere.",
        fatal=False,
        rule="BR-RO-L100",
    ),
    ProblemSpec(
        "P-LINES-DEGRADED",
        "lines",
        "Fără cheie Stripe API, factura are o singură linie pentru toată suma (din webhook).",
        "Without a Stripe API key the invoice has one line for the whole amount (from the "
        "webhook payload alone).",
        "Set EFACTURA_STRIPE_API_KEY (a restricted read-only key is enough) so line items, tax "
        "rates and products can be fetched, or put the lines in metadata (`Order Item #N`).",
        "Setați EFACTURA_STRIPE_API_KEY (o cheie restricționată, doar citire) ca liniile, "
        "cotele și produsele să poată fi citite, sau puneți liniile în metadate "
        "(`Order Item #N`).",
        fatal=False,
    ),
    # --- money -------------------------------------------------------------------------------
    ProblemSpec(
        "P-CURRENCY-UNSUPPORTED",
        "currency",
        "Moneda {currency} nu are curs BNR; TVA-ul nu poate fi exprimat în lei.",
        "BNR publishes no rate for {currency}; the VAT cannot be stated in RON.",
        "Charge in RON or in a currency BNR publishes (EUR, USD, GBP, …); with Adaptive "
        "Pricing keep RON or EUR as the settlement currency.",
        "Încasați în RON sau într-o monedă cu curs BNR (EUR, USD, GBP, …).",
    ),
    ProblemSpec(
        "P-FX-RATE-MISSING",
        "currency",
        "Cursul BNR {currency} pentru {day} lipsește încă (așteptat din {since}); factura nu "
        "poate fi emisă fără el.",
        "The BNR rate of {currency} for {day} is still missing (waited since {since}); the "
        "invoice cannot be issued without it.",
        "Check that the service reaches BNR's feed (EFACTURA_BNR_URL), then `payments retry KEY`.",
        "Verificați că serviciul ajunge la BNR (EFACTURA_BNR_URL), apoi `payments retry CHEIE`.",
    ),
    ProblemSpec(
        "P-ISSUED-LATE",
        "issue_date",
        "Plata din {paid_on} este facturată pe {issued_on}, după termenul de emitere "
        "{deadline} (art. 319 alin. (16) Cod fiscal).",
        "The payment of {paid_on} is invoiced on {issued_on}, after the issuing deadline "
        "{deadline} (art. 319 (16) of the Fiscal Code).",
        "Nothing to change in Stripe: the invoice is issued (dated the day it is numbered, with "
        "the payment date as the chargeable event). Fix payments that need attention within "
        "days, and tell your accountant about the late invoice.",
        "Nu e nimic de schimbat în Stripe: factura este emisă (cu data la care a fost numerotată "
        "și data încasării ca fapt generator). Rezolvați plățile care necesită atenție în "
        "câteva zile și informați-vă contabilul despre factura emisă cu întârziere.",
        fatal=False,
    ),
    ProblemSpec(
        "P-AMOUNT-ROUNDED",
        "amount",
        "Suma {collected} {currency} are 3 zecimale; factura o arată rotunjită la {rounded}.",
        "The amount {collected} {currency} has 3 decimals; the invoice shows it rounded to "
        "{rounded}.",
        "Nothing to do: e-Factura amounts have 2 decimals. Price in whole fils/baisa "
        "multiples of 10 to avoid the rounding.",
        "Nimic de făcut: sumele e-Factura au 2 zecimale.",
        fatal=False,
        rule="BR-DEC-RO",
    ),
    # --- VAT ---------------------------------------------------------------------------------
    ProblemSpec(
        "P-VAT-RATE-UNKNOWN",
        "lines[{line}].tax",
        "Cota de TVA pentru linia {line} nu poate fi stabilită ({reason}).",
        "The VAT rate of line {line} cannot be determined ({reason}).",
        "Use Romanian VAT rates in Stripe Tax / Tax Rates (21 %, 11 %), or fix [vat] "
        "default_rate in efactura.toml.",
        "Folosiți cotele de TVA din România în Stripe Tax / Tax Rates (21 %, 11 %) sau "
        "corectați [vat] default_rate în efactura.toml.",
    ),
    ProblemSpec(
        "P-VAT-EXEMPTION-GENERIC",
        "vat.exemption_code",
        "Mențiunea de scutire citează art. 292 alin. (1) Cod fiscal fără litera scutirii.",
        "The exemption mention cites art. 292 (1) of the Fiscal Code without the letter of the "
        "exemption.",
        "Set [vat] exemption_code in efactura.toml to the exact VATEX code of your exemption "
        "(e.g. VATEX-EU-132-1I for education): the mention then cites its article, paragraph "
        "and letter (art. 319 (20) l).",
        "Setați [vat] exemption_code în efactura.toml la codul VATEX exact al scutirii (de "
        "ex. VATEX-EU-132-1I pentru educație): mențiunea citează atunci articolul, alineatul "
        "și litera (art. 319 alin. (20) lit. l).",
        fatal=False,
        rule="art. 319 (20) l)",
    ),
    ProblemSpec(
        "P-VAT-MULTIPLE-RATES",
        "lines[{line}].tax",
        "Linia {line} are mai multe taxe ({value}); o linie de factură are o singură cotă TVA.",
        "Line {line} carries several taxes ({value}); an invoice line has one VAT rate.",
        "Attach a single tax rate to each line item in Stripe.",
        "Atașați o singură cotă de taxă fiecărei linii în Stripe.",
    ),
    ProblemSpec(
        "P-VAT-INCONSISTENT",
        "vat_breakdown",
        "TVA-ul {tax} pentru baza {taxable} la cota {rate}% nu corespunde (din Stripe).",
        "The VAT {tax} on {taxable} at {rate}% does not match (from Stripe).",
        "Check the tax rates attached in Stripe: a Romanian invoice needs the VAT amount to "
        "match the rate applied to the net amount.",
        "Verificați cotele de taxă din Stripe: TVA-ul trebuie să corespundă cotei aplicate bazei.",
        rule="BR-CO-17",
    ),
    ProblemSpec(
        "P-DELIVERY-ADDRESS-INCOMPLETE",
        "buyer.address.{key}",
        "Livrarea intracomunitară (categoria K) cere adresa de livrare completă; lipsește {key}.",
        "An intra-Community supply (category K) needs the full delivery address; {key} is missing.",
        "Collect the full shipping or billing address (street and city) in Checkout "
        "(shipping_address_collection), or add metadata `address`.",
        "Colectați adresa completă de livrare sau de facturare (stradă și oraș) în Checkout "
        "(shipping_address_collection) sau adăugați metadata `address`.",
        rule="BR-RO-211",
    ),
    # --- seller ------------------------------------------------------------------------------
    ProblemSpec(
        "P-SELLER-PROFILE-INCOMPLETE",
        "company.{key}",
        "Profilul firmei nu este complet: lipsește {key}.",
        "The company profile is incomplete: {key} is missing.",
        "Fill in [company] in efactura.toml (name, cui, address line1, city, county for RO).",
        "Completați [company] în efactura.toml (name, cui, adresa line1, city, county pentru RO).",
    ),
    ProblemSpec(
        "P-SELLER-CUI-INVALID",
        "company.cui",
        "CUI-ul firmei „{value}” din efactura.toml nu este valid.",
        "The company CUI {value!r} in efactura.toml is not valid.",
        "Set [company] cui to your fiscal code without the RO prefix.",
        "Setați [company] cui la codul fiscal fără prefixul RO.",
    ),
    ProblemSpec(
        "P-SELLER-CNP-INVALID",
        "company.cnp",
        "CNP-ul „{value}” din efactura.toml nu este valid (13 cifre, data nașterii, cifra de "
        "control).",
        "The CNP {value!r} in efactura.toml is not valid (13 digits, birth date, check digit).",
        "Set [company] cnp to your personal numeric code exactly as on your identity card.",
        "Setați [company] cnp exact ca pe actul de identitate.",
    ),
    ProblemSpec(
        "P-SELLER-CNP-VAT-PAYER",
        "company.cnp",
        "O persoană fizică înregistrată în scopuri de TVA facturează cu codul de TVA primit, nu "
        "cu CNP-ul.",
        "A person registered for VAT invoices under the VAT code ANAF gave them, not the CNP.",
        "Set [company] cui to your fiscal code (without RO) and remove cnp, or set vat_payer = "
        "false if you are not registered for VAT.",
        "Setați [company] cui la codul fiscal (fără RO) și ștergeți cnp, sau vat_payer = false "
        "dacă nu sunteți înregistrat în scopuri de TVA.",
    ),
    # --- storno (refunds, lost disputes) -----------------------------------------------------
    # --- registry lookups (app/lookups.py, docs/registry.md) ------------------------------
    ProblemSpec(
        "P-BUYER-CUI-UNKNOWN",
        "buyer.legal_id",
        "CUI-ul {value} (din {source}) nu figurează în registrul ANAF al contribuabililor la "
        "data {day}.",
        "The CUI {value} (from {source}) is not in ANAF's taxpayer registry as of {day}.",
        "Check the fiscal code the customer typed (metadata `cui`, the Checkout custom field "
        "'CUI', the customer's tax id); correct it with buyer overrides, then retry the payment.",
        "Verificați codul fiscal introdus de client (metadata `cui`, câmpul personalizat 'CUI', "
        "codul fiscal al clientului); corectați-l cu datele cumpărătorului, apoi reluați plata.",
    ),
    ProblemSpec(
        "P-BUYER-INACTIVE",
        "buyer.legal_id",
        "Firma {name} (CUI {value}) figurează ca {state_ro} în registrul ANAF la data {day}.",
        "{name} (CUI {value}) is {state_en} in ANAF's taxpayer registry as of {day}.",
        "A buyer declared inactive or struck off cannot deduct the VAT of this invoice; confirm "
        "the buyer with the customer, invoice them as a private person (buyer overrides: "
        "individual) or retry once ANAF shows them active again.",
        "Un cumpărător inactiv sau radiat nu poate deduce TVA-ul acestei facturi; confirmați "
        "cumpărătorul cu clientul, facturați-l ca persoană fizică (datele cumpărătorului: "
        "persoană fizică) sau reluați plata după reactivare.",
    ),
    ProblemSpec(
        "P-VAT-ID-NOT-IN-VIES",
        "buyer.vat_id",
        "Codul de TVA {value} nu este valid în VIES la data {day}: scutirea sau taxarea inversă "
        "nu se poate aplica.",
        "The VAT number {value} is not valid in VIES as of {day}: the exemption or reverse "
        "charge cannot be applied.",
        "Ask the customer for their VAT number as registered in VIES and correct it with buyer "
        "overrides, or remove the VAT number to invoice with Romanian VAT; then retry.",
        "Cereți clientului codul de TVA înregistrat în VIES și corectați-l în datele "
        "cumpărătorului, sau eliminați codul de TVA pentru a factura cu TVA românesc; apoi "
        "reluați plata.",
    ),
    ProblemSpec(
        "P-REGISTRY-UNAVAILABLE",
        "buyer.legal_id",
        "Registrul ANAF al contribuabililor nu a răspuns din {since} ({reason}); CUI-ul {value} "
        "nu a putut fi verificat.",
        "ANAF's taxpayer registry has not answered since {since} ({reason}); the CUI {value} "
        "could not be checked.",
        "Retry the payment later (`payments retry`); the invoice is issued as soon as the "
        "registry answers.",
        "Reluați plata mai târziu (`payments retry`); factura se emite când registrul răspunde.",
    ),
    ProblemSpec(
        "P-VIES-UNAVAILABLE",
        "buyer.vat_id",
        "VIES nu a putut verifica codul de TVA {value} din {since} ({reason}); scutirea sau "
        "taxarea inversă nu se aplică fără verificare.",
        "VIES has not been able to check the VAT number {value} since {since} ({reason}); the "
        "exemption or reverse charge is not applied unchecked.",
        "Member states' VIES services are often down for maintenance at night and at weekends; "
        "retry the payment later (`payments retry`).",
        "Serviciile VIES ale statelor membre sunt des în mentenanță noaptea și în weekend; "
        "reluați plata mai târziu (`payments retry`).",
    ),
)

ALL_SPECS: tuple[ProblemSpec, ...] = (*_SPECS, *STORNO_SPECS)
CATALOGUE: dict[str, ProblemSpec] = {s.code: s for s in ALL_SPECS}
"""Every problem code the builder can report, by code."""


class _Ctx(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def problem(code: str, *, field: str | None = None, **context: object) -> Problem:
    """Make the :class:`Problem` for catalogue ``code``, its texts filled from ``context``.

    ``field`` overrides the catalogue's field (itself formatted with the context).
    Raises ``KeyError`` for a code that is not in the catalogue (a programming error).
    """
    spec = CATALOGUE[code]
    ctx = _Ctx({k: "" if v is None else str(v) for k, v in context.items()})

    def fmt(text: str) -> str:
        try:
            return text.format_map(ctx)
        except (ValueError, IndexError, AttributeError):
            return text

    return Problem(
        code=code,
        field=fmt(field if field is not None else spec.field),
        message_ro=fmt(spec.message_ro),
        message_en=fmt(spec.message_en),
        hint=spec.hint,
        hint_ro=spec.hint_ro,
        fatal=spec.fatal,
        context=tuple(sorted(ctx.items())),
    )


_REPR = re.compile(r"\{(\w+)!r\}")


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (the body of ``docs/errors.md``'s builder section)."""
    rows = [
        "| Code | Field | Fatal | Rule | Message (EN) | Mesaj (RO) | Fix in Stripe | Remediere |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in ALL_SPECS:
        cells = [
            f"`{s.code}`",
            f"`{s.field}`",
            "yes" if s.fatal else "no (warning)",
            s.rule or "",
            _REPR.sub(r"'{\1}'", s.message_en),
            s.message_ro,
            s.hint,
            s.hint_ro,
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
