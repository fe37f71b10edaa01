"""The strict check of ``efactura.toml`` at start-up (every command, before anything runs).

Every key is known, every value has its TOML type (no string-to-boolean guessing:
``vat_payer = "false"`` is refused, not read as true), the seller's CUI passes its check
digit, the county is an ISO 3166-2:RO county that agrees with the city (never guessed from the
postal code), the IBAN passes its checksum. Each finding is one coded line in English and
Romanian naming the file, the key and the fix (``docs/configuration.md``); all of them are
reported at once (:class:`SettingsInvalid`, exit code 2).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .config_storno import LOST_DISPUTES
from .errors import ConfigError
from .invoicing import ro
from .invoicing.model import VatCategory

__all__ = [
    "SCHEMA",
    "TEMPLATE_LINE",
    "SettingsInvalid",
    "check_document",
    "missing_file",
    "raise_findings",
]

TEMPLATE_LINE = (
    "template = true  # the placeholder company below: live payments wait, unnumbered, until you\n"
    "                 # fill in [company] and delete this line (or run `init --cui YOUR_CUI`)\n"
)
"""The first line of the starter file ``init``/``serve`` write (``config.TEMPLATE_TOML``)."""

BOOL = "true or false (without quotes)"
TEXT = "text in quotes"
WHOLE = "a whole number (without quotes)"
TEXT_OR_NUMBER = "text or a number"

_TYPES: dict[str, tuple[type, ...]] = {
    BOOL: (bool,),
    TEXT: (str,),
    WHOLE: (int,),
    TEXT_OR_NUMBER: (str, int, float),
}
_TYPES_RO = {
    BOOL: "true sau false (fără ghilimele)",
    TEXT: "text între ghilimele",
    WHOLE: "un număr întreg (fără ghilimele)",
    TEXT_OR_NUMBER: "text sau un număr",
}

_SERIES = {"prefix": TEXT, "suffix": TEXT, "start": WHOLE, "padding": WHOLE, "auto_upload": BOOL}
SCHEMA: dict[str, dict[str, str]] = {
    "": {"template": BOOL},
    "company": {
        "name": TEXT,
        "cui": TEXT_OR_NUMBER,
        "cnp": TEXT_OR_NUMBER,
        "vat_payer": BOOL,
        "vat_on_collection": BOOL,
        "trade_register": TEXT,
        "email": TEXT,
        "issuer_email": TEXT,
        "phone": TEXT,
        "iban": TEXT,
        "bank": TEXT,
        "share_capital": TEXT_OR_NUMBER,
        "logo_path": TEXT,
    },
    "company.address": {
        "line1": TEXT,
        "line2": TEXT,
        "city": TEXT,
        "county": TEXT,
        "postal_code": TEXT_OR_NUMBER,
        "country": TEXT,
    },
    "series": {},
    "series.invoice": _SERIES,
    "series.storno": _SERIES,
    "series.test": _SERIES,
    "vat": {
        "default_category": TEXT,
        "default_rate": TEXT_OR_NUMBER,
        "prices_include_vat": BOOL,
        "reverse_charge_eu_b2b": BOOL,
        "exemption_code": TEXT,
        "exemption_reason": TEXT,
        "supplies": TEXT,
        "upload_oss": BOOL,
    },
    "intake": {"process_test_events": BOOL, "invoice_zero_amount": BOOL},
    "email": {
        "send_to_payer": BOOL,
        "templates_dir": TEXT,
        "notify_merchant": BOOL,
        "aggregate_minutes": WHOLE,
    },
    "audit": {"every_hours": WHOLE, "check_spv": BOOL},
    "storno": {"credit_note_381": BOOL, "lost_disputes": TEXT},
}
"""Table (dotted, ``""`` for the top level) -> key -> the expected TOML type. A new setting
is added here too, or every command refuses it as unknown."""


class SettingsInvalid(ConfigError):
    """Every finding of the check; ``str()`` is one line per finding."""

    def __init__(self, findings: list[ConfigError]) -> None:
        super().__init__(
            findings[0].message, code=findings[0].code, message_ro=findings[0].message_ro
        )
        self.findings = tuple(findings)

    def __str__(self) -> str:
        return "\n".join(ConfigError.__str__(f) for f in self.findings)


def _where(table: str, key: str) -> str:
    return f"[{table}] {key}" if table else key


class _Findings:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[ConfigError] = []

    def add(self, code: str, where: str, en: str, ro_text: str) -> None:
        self.items.append(
            ConfigError(
                f"{self.path}: {where} {en}",
                code=code,
                message_ro=f"{self.path}: {where} {ro_text}",
            )
        )


def _tables(
    doc: Mapping[str, object], prefix: str = ""
) -> Iterator[tuple[str, Mapping[str, object]]]:
    yield prefix, doc
    for key, value in doc.items():
        if isinstance(value, Mapping):
            yield from _tables(value, f"{prefix}.{key}" if prefix else key)


def _known(doc: Mapping[str, object], out: _Findings) -> None:
    """Unknown keys and tables (with a "did you mean"), values of the wrong TOML type."""
    for table, values in _tables(doc):
        if table not in SCHEMA:
            continue  # reported as an unknown key of its parent
        schema = SCHEMA[table]
        for key, value in values.items():
            dotted = f"{table}.{key}" if table else key
            if isinstance(value, Mapping) and dotted in SCHEMA:
                continue
            expected = schema.get(key)
            if expected is None:
                _unknown(out, table, key, [*schema, *_subtables(table)])
            elif not isinstance(value, _TYPES[expected]) or (
                expected == WHOLE and isinstance(value, bool)
            ):
                out.add(
                    "E-CONFIG-TYPE",
                    _where(table, key),
                    f"= {_shown(value)} must be {expected}",
                    f"= {_shown(value)} trebuie să fie {_TYPES_RO[expected]}",
                )


def _subtables(table: str) -> list[str]:
    prefix = f"{table}." if table else ""
    return [
        t[len(prefix) :]
        for t in SCHEMA
        if t.startswith(prefix) and "." not in t[len(prefix) :] and t
    ]


def _unknown(out: _Findings, table: str, key: str, known: list[str]) -> None:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint_en = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(sorted(known))}"
    hint_ro = (
        f"ați vrut să scrieți {close[0]}?"
        if close
        else f"chei cunoscute: {', '.join(sorted(known))}"
    )
    out.add(
        "E-CONFIG-KEY",
        _where(table, key),
        f"is not a known setting; {hint_en}",
        f"nu este o setare cunoscută; {hint_ro}",
    )


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, Mapping):
        return "a table"
    return str(value)


def _text(values: Mapping[str, object], key: str) -> str:
    value = values.get(key)
    return (
        str(value).strip()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
        else ""
    )


def _company(doc: Mapping[str, object], out: _Findings) -> None:
    company = doc.get("company")
    if not isinstance(company, Mapping):
        out.add(
            "E-CONFIG-MISSING",
            "[company]",
            "is missing; run `stripe-efactura init --cui CUI` or copy the block from "
            "docs/configuration.md",
            "lipsește; rulați `stripe-efactura init --cui CUI` sau copiați blocul din "
            "docs/configuration.md",
        )
        return
    for key, en, ro_text in (
        ("name", "the company's name", "denumirea firmei"),
        ("cui", "the CUI", "CUI-ul"),
    ):
        if key == "cui" and _text(company, "cnp"):
            continue  # a person with an economic activity: identified by the CNP
        if not _text(company, key) and key not in _wrongly_typed(company, "company"):
            out.add(
                "E-CONFIG-MISSING",
                f"[company] {key}",
                f"is missing: set {en}",
                f"lipsește: completați {ro_text}",
            )
    _company_values(company, out)
    address = company.get("address")
    if not isinstance(address, Mapping):
        out.add(
            "E-CONFIG-MISSING",
            "[company.address]",
            "is missing: give line1, city, county and country",
            "lipsește: completați line1, city, county și country",
        )
        return
    _address(address, out)


def _company_values(company: Mapping[str, object], out: _Findings) -> None:
    """The CUI's check digit, the IBAN's checksum, the e-mail addresses."""
    cui = _text(company, "cui")
    if cui and ro.validate_cui(cui) is None:
        out.add(
            "E-CONFIG-CUI",
            "[company] cui",
            f"= {_shown(company['cui'])} is not a valid CUI (check digit); copy it from the "
            "registration certificate, without RO",
            f"= {_shown(company['cui'])} nu este un CUI valid (cifra de control); copiați-l din "
            "certificatul de înregistrare, fără RO",
        )
    cnp = "".join(_text(company, "cnp").split())
    if cnp and ro.validate_cnp(cnp) is None:
        out.add(
            "E-CONFIG-CNP",
            "[company] cnp",
            f'= "{cnp}" is not a valid CNP (13 digits and a check digit)',
            f'= "{cnp}" nu este un CNP valid (13 cifre și cifra de control)',
        )
    iban = _text(company, "iban")
    if iban and not _iban_ok(iban):
        out.add(
            "E-CONFIG-IBAN",
            "[company] iban",
            f"= {_shown(company['iban'])} is not a valid IBAN (checksum); copy it from the bank",
            f"= {_shown(company['iban'])} nu este un IBAN valid (cifrele de control); copiați-l de "
            "la bancă",
        )
    for key in ("email", "issuer_email"):
        email = _text(company, key)
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            out.add(
                "E-CONFIG-VALUE",
                f"[company] {key}",
                f"= {_shown(email)} is not an e-mail address",
                f"= {_shown(email)} nu este o adresă de e-mail",
            )


def _wrongly_typed(values: Mapping[str, object], table: str) -> set[str]:
    schema = SCHEMA[table]
    return {k for k, v in values.items() if k in schema and not isinstance(v, _TYPES[schema[k]])}


def _address(address: Mapping[str, object], out: _Findings) -> None:
    for key in ("line1", "city"):
        if not _text(address, key) and key not in _wrongly_typed(address, "company.address"):
            out.add(
                "E-CONFIG-MISSING",
                f"[company.address] {key}",
                "is missing",
                "lipsește",
            )
    country = _text(address, "country").upper() or "RO"
    if country != "RO":
        return
    county_text, city = _text(address, "county"), _text(address, "city")
    county = ro.county_code(county_text)
    if not county_text:
        out.add(
            "E-CONFIG-MISSING",
            "[company.address] county",
            'is missing: give the county as ISO 3166-2:RO ("RO-CJ"; Bucharest "RO-B")',
            'lipsește: dați județul în format ISO 3166-2:RO ("RO-CJ"; București "RO-B")',
        )
    elif county is None:
        out.add(
            "E-CONFIG-COUNTY",
            "[company.address] county",
            f'= "{county_text}" is not a Romanian county; use ISO 3166-2:RO ("RO-CJ"; '
            'Bucharest "RO-B")',
            f'= "{county_text}" nu este un județ din România; folosiți ISO 3166-2:RO ("RO-CJ"; '
            'București "RO-B")',
        )
    elif county == "RO-B" and ro.bucharest_sector(city) is None:
        out.add(
            "E-CONFIG-COUNTY",
            "[company.address] city",
            f'= "{city}" names no sector: a Bucharest address has city = "SECTOR1".."SECTOR6"',
            f'= "{city}" nu indică sectorul: o adresă din București are city = '
            '"SECTOR1".."SECTOR6"',
        )
    elif (by_city := ro.county_code(city)) is not None and by_city != county:
        out.add(
            "E-CONFIG-COUNTY",
            "[company.address] county",
            f'= "{county_text}" ({county}) does not agree with city "{city}" ({by_city})',
            f'= "{county_text}" ({county}) nu corespunde localității „{city}” ({by_city})',
        )


def _iban_ok(iban: str) -> bool:
    compact = "".join(iban.split()).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    if compact.startswith("RO") and len(compact) != 24:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _policies(doc: Mapping[str, object], out: _Findings) -> None:
    vat = doc.get("vat")
    if isinstance(vat, Mapping):
        category = vat.get("default_category")
        if isinstance(category, str) and category not in {c.value for c in VatCategory}:
            allowed = " ".join(c.value for c in VatCategory)
            out.add(
                "E-CONFIG-VALUE",
                "[vat] default_category",
                f'= "{category}" is not a VAT category; use one of {allowed}',
                f'= "{category}" nu este o categorie de TVA; folosiți una dintre {allowed}',
            )
        rate = vat.get("default_rate")
        if (
            isinstance(rate, (str, int, float))
            and not isinstance(rate, bool)
            and not _rate_ok(str(rate))
        ):
            out.add(
                "E-CONFIG-VALUE",
                "[vat] default_rate",
                f"= {_shown(rate)} is not a rate; use standard, reduced, housing or a percent "
                'like "21"',
                f"= {_shown(rate)} nu este o cotă; folosiți standard, reduced, housing sau un "
                'procent ca "21"',
            )
    series = doc.get("series")
    for code, cfg in series.items() if isinstance(series, Mapping) else []:
        if isinstance(cfg, Mapping) and f"series.{code}" in SCHEMA:
            _series(code, cfg, out)


def _choices(doc: Mapping[str, object], out: _Findings) -> None:
    """Settings with a fixed list of values: ``[vat] supplies``, ``[storno] lost_disputes``."""
    vat = doc.get("vat")
    supplies = vat.get("supplies") if isinstance(vat, Mapping) else None
    if isinstance(supplies, str) and supplies not in {"services", "goods"}:
        out.add(
            "E-CONFIG-VALUE",
            "[vat] supplies",
            f'= "{supplies}" is not a choice; use services or goods',
            f'= "{supplies}" nu este o opțiune; folosiți services sau goods',
        )
    storno = doc.get("storno")
    lost = storno.get("lost_disputes") if isinstance(storno, Mapping) else None
    if isinstance(lost, str) and lost not in LOST_DISPUTES:
        listed = ", ".join(LOST_DISPUTES)
        out.add(
            "E-CONFIG-VALUE",
            "[storno] lost_disputes",
            f'= "{lost}" is not a choice; use one of {listed}',
            f'= "{lost}" nu este o opțiune; folosiți una dintre {listed}',
        )


def _rate_ok(rate: str) -> bool:
    if rate in {"standard", "reduced", "housing"}:
        return True
    try:
        return 0 <= Decimal(rate) < 100
    except InvalidOperation:
        return False


def _series(code: str, cfg: Mapping[str, object], out: _Findings) -> None:
    prefix = cfg.get("prefix")
    if isinstance(prefix, str) and not re.fullmatch(r"[A-Za-z0-9/\-_.]{0,20}", prefix):
        out.add(
            "E-CONFIG-VALUE",
            f"[series.{code}] prefix",
            f'= "{prefix}" may hold only letters, digits and / - _ . (at most 20)',
            f'= "{prefix}" poate conține doar litere, cifre și / - _ . (cel mult 20)',
        )
    padding = cfg.get("padding")
    if isinstance(padding, int) and not isinstance(padding, bool) and not 0 <= padding <= 12:
        out.add(
            "E-CONFIG-VALUE",
            f"[series.{code}] padding",
            f"= {padding} must be 0..12",
            f"= {padding} trebuie să fie între 0 și 12",
        )
    start = cfg.get("start")
    if isinstance(start, int) and not isinstance(start, bool) and start < 1:
        out.add(
            "E-CONFIG-VALUE",
            f"[series.{code}] start",
            f"= {start} must be 1 or more",
            f"= {start} trebuie să fie cel puțin 1",
        )


def check_document(doc: Mapping[str, object], path: Path) -> list[ConfigError]:
    """Every finding in a parsed ``efactura.toml`` (empty: the file is fine)."""
    out = _Findings(path)
    _known(doc, out)
    _company(doc, out)
    _policies(doc, out)
    _choices(doc, out)
    return out.items


def raise_findings(doc: Mapping[str, object], path: Path) -> None:
    findings = check_document(doc, path)
    if findings:
        raise SettingsInvalid(findings)


def missing_file(path: Path, named: str | None) -> ConfigError:
    """The settings file does not exist: a mistyped ``EFACTURA_CONFIG``, or no ``init`` yet."""
    if named is not None:
        return ConfigError(
            f"EFACTURA_CONFIG={named}: no such file; check the path, or unset EFACTURA_CONFIG "
            "to use ./efactura.toml",
            code="E-CONFIG-FILE",
            message_ro=f"EFACTURA_CONFIG={named}: fișierul nu există; verificați calea sau "
            "ștergeți EFACTURA_CONFIG pentru ./efactura.toml",
        )
    return ConfigError(
        f"{path} does not exist: run `stripe-efactura init` to create a starter file",
        code="E-CONFIG-FILE",
        message_ro=f"{path} nu există: rulați `stripe-efactura init` pentru un fișier de pornire",
    )
