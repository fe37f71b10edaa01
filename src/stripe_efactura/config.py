"""Settings: environment (prefix ``EFACTURA_``) plus the company profile in ``efactura.toml``.

Loaded once by the entry points (``load_settings``) and passed in; nothing else reads the
environment. Base URLs default to the real services; tests and the demo point them at loopback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TypeAlias, TypedDict, Unpack

from .config_check import TEMPLATE_LINE
from .config_env import (
    ANAF_HOSTS,
    BNR_URL,
    ECB_URL,
    STRIPE_API_BASE,
    VIES_URL,
    WEBHOOK_MAX_BYTES,
    env_fields,
)
from .config_storno import StornoPolicy, storno_policy
from .errors import ConfigError
from .invoicing.model import Address, VatCategory
from .invoicing.profile import (
    CompanyProfile,
    InvoicingProfile,
    SeriesConfig,
    SeriesSettings,
    VatPolicy,
)

__all__ = [
    "ANAF_HOSTS",
    "BNR_URL",
    "STARTER_TOML",
    "STRIPE_API_BASE",
    "TEMPLATE_TOML",
    "CompanyProfile",
    "EmailPolicy",
    "IntakePolicy",
    "InvoicingProfile",
    "SeriesConfig",
    "SeriesSettings",
    "Settings",
    "SettingsChanges",
    "StornoPolicy",
    "VatPolicy",
    "demo_settings",
    "load_settings",
    "parse_toml",
    "settings_from",
]

TomlValue: TypeAlias = (
    "str | int | float | bool | datetime | date | time | list[TomlValue] | dict[str, TomlValue]"
)
"""What ``tomllib`` parses a value to (a table is a ``dict``)."""
TomlTable: TypeAlias = dict[str, TomlValue]


@dataclass(frozen=True)
class IntakePolicy:
    process_test_events: bool = True
    """Process ``livemode: false`` events (test series; never sent to ANAF production)."""
    invoice_zero_amount: bool = False
    """Issue invoices for payments of 0 (trials, 100 % coupons)."""


@dataclass(frozen=True)
class EmailPolicy:
    send_to_payer: bool = True
    templates_dir: str | None = None
    notify_merchant: bool = True
    aggregate_minutes: int = 5


@dataclass(frozen=True)
class AuditPolicy:
    """``[audit]``: the scheduled period audit (``docs/reconciliation.md``)."""

    every_hours: int = 24
    """Audit the current and the previous month this often (findings go to the merchant's
    digest); 0 turns the schedule off."""
    check_spv: bool = True
    """Also read ANAF's SPV message list (needs ANAF connected)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    config_path: Path
    company: CompanyProfile
    secret_key: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    stripe_api_key: str | None = None
    stripe_api_base: str = STRIPE_API_BASE
    anaf_env: str = "test"
    anaf_api_base: str = ANAF_HOSTS["api"]
    anaf_oauth_base: str = ANAF_HOSTS["oauth"]
    anaf_public_base: str = ANAF_HOSTS["public"]
    anaf_client_id: str | None = None
    anaf_client_secret: str | None = None
    anaf_redirect_uri: str | None = None
    anaf_unknown_notice_minutes: int = 120
    """``EFACTURA_ANAF_UNKNOWN_NOTICE_MINUTES``: an invoice whose upload outcome has been
    unknown this long gets an ``anaf_unknown`` notice."""
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str | None = None
    bnr_url: str = BNR_URL
    ecb_url: str = ECB_URL
    """``EFACTURA_ECB_URL``: the ECB eurofxref XML the ``oss-report`` converts with."""
    vies_url: str = VIES_URL
    validation_dir: Path = Path("validation")
    series: SeriesSettings = field(default_factory=SeriesSettings)
    vat: VatPolicy = field(default_factory=VatPolicy)
    intake: IntakePolicy = field(default_factory=IntakePolicy)
    email: EmailPolicy = field(default_factory=EmailPolicy)
    audit: AuditPolicy = field(default_factory=AuditPolicy)
    storno: StornoPolicy = field(default_factory=StornoPolicy)
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    log_level: str = "INFO"
    sqlite_synchronous: str | None = None
    """``NORMAL`` trades durability on power loss for fewer fsyncs; None: ``FULL``."""
    pdf_font: str | None = None
    pdf_font_bold: str | None = None
    webhook_max_bytes: int = WEBHOOK_MAX_BYTES
    """``EFACTURA_WEBHOOK_MAX_BYTES``: larger request bodies are refused unread (413)."""
    metrics_token: str | None = None
    """``EFACTURA_METRICS_TOKEN``: when set, ``/metrics`` answers only ``Authorization: Bearer
    <token>`` (401 otherwise); unset, it answers anyone."""
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    """Addresses (or networks) whose ``X-Forwarded-Proto``/``-For`` the console believes."""
    template: bool = False
    """``template = true`` in efactura.toml: no live invoice is numbered (starter profile)."""

    @property
    def invoicing(self) -> InvoicingProfile:
        """The seller and the VAT policy: all the invoice builder may see."""
        return InvoicingProfile(company=self.company, vat=self.vat)

    def with_(self, **changes: Unpack[SettingsChanges]) -> Settings:
        """``dataclasses.replace`` (tests and the demo), checked by mypy field by field."""
        return replace(self, **changes)


class SettingsChanges(TypedDict, total=False):
    """The fields of :class:`Settings` as keywords of :meth:`Settings.with_` and
    :func:`demo_settings` (tests/architecture/test_any.py keeps the two in step). The
    environment's part repeats ``config_env.EnvFields``: that one is total (the environment
    sets every field), this one is not, and a TypedDict cannot inherit a key with the other
    totality."""

    data_dir: Path
    database_url: str
    config_path: Path
    company: CompanyProfile
    secret_key: str | None
    stripe_webhook_secrets: tuple[str, ...]
    stripe_api_key: str | None
    stripe_api_base: str
    anaf_env: str
    anaf_api_base: str
    anaf_oauth_base: str
    anaf_public_base: str
    anaf_client_id: str | None
    anaf_client_secret: str | None
    anaf_redirect_uri: str | None
    anaf_unknown_notice_minutes: int
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str | None
    bnr_url: str
    ecb_url: str
    vies_url: str
    validation_dir: Path
    series: SeriesSettings
    vat: VatPolicy
    intake: IntakePolicy
    email: EmailPolicy
    audit: AuditPolicy
    storno: StornoPolicy
    web_host: str
    web_port: int
    log_level: str
    sqlite_synchronous: str | None
    pdf_font: str | None
    pdf_font_bold: str | None
    webhook_max_bytes: int
    metrics_token: str | None
    trusted_proxies: tuple[str, ...]
    template: bool


STARTER_TOML = """\
# stripe-efactura settings: the company profile, series and policies.
# Secrets and URLs come from the environment (EFACTURA_*); see docs/configuration.md.

[company]
name = "Firma Mea SRL"
cui = "18547290"           # CUI without RO
vat_payer = true           # false: category O, no seller VAT id
trade_register = "J40/1234/2020"
email = "contabilitate@example.ro"
issuer_email = "emitent@example.ro"
iban = "RO49AAAA1B31007593840000"
bank = "Banca Exemplu"
share_capital = "200 lei"

[company.address]
line1 = "Str. Exemplu nr. 1"
city = "SECTOR1"
county = "RO-B"
postal_code = "010101"
country = "RO"

[series.invoice]
prefix = "SEF"
padding = 6
start = 1

[series.test]
prefix = "TEST"
padding = 6

[vat]
default_category = "S"
default_rate = "standard"  # standard | reduced | housing | a percent like "21"
prices_include_vat = true
reverse_charge_eu_b2b = true
supplies = "services"  # services | goods: lines without a Stripe product tax code
upload_oss = false     # true: also upload B2C sales taxed in another member state (OSS)

[intake]
process_test_events = true
invoice_zero_amount = false

[email]
send_to_payer = true

[storno]
credit_note_381 = false    # true: corrections as credit notes (381) instead of storno (380)
lost_disputes = "ask"      # ask | storno | ignore (docs/storno.md)
"""


TEMPLATE_TOML = TEMPLATE_LINE + "\n" + STARTER_TOML  # what init/serve write: marked template


def _int(value: object) -> int:
    """A TOML integer (config_check has checked the type; a wrong one is a ValueError)."""
    if isinstance(value, int | str | float):
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def _opt_text(value: object) -> str | None:
    return None if value is None else str(value)


def _table(value: object) -> Mapping[str, object]:
    """A TOML table (``{}`` when missing)."""
    return value if isinstance(value, Mapping) else {}


def _series(code: str, raw: object, default: SeriesConfig) -> SeriesConfig:
    if not isinstance(raw, Mapping):
        return default
    try:
        cfg = SeriesConfig(
            code=code,
            prefix=str(raw.get("prefix", default.prefix)),
            suffix=str(raw.get("suffix", default.suffix)),
            start=_int(raw.get("start", default.start)),
            padding=_int(raw.get("padding", default.padding)),
            auto_upload=bool(raw.get("auto_upload", default.auto_upload)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[series.{code}] is invalid: {exc}") from exc
    if cfg.start < 1 or cfg.padding < 0 or cfg.padding > 12:
        raise ConfigError(f"[series.{code}] start must be >= 1 and padding 0..12")
    if any(ch.isdigit() for ch in cfg.suffix):
        raise ConfigError(f"[series.{code}] suffix must not contain digits")
    return cfg


def _company(raw: Mapping[str, object]) -> CompanyProfile:
    addr = _table(raw.get("address"))
    try:
        address = Address(
            line1=str(addr.get("line1", "")),
            line2=_opt_text(addr.get("line2")),
            city=str(addr.get("city", "")),
            county=_opt_text(addr.get("county")),
            postal_code=None if addr.get("postal_code") is None else str(addr["postal_code"]),
            country=str(addr.get("country", "RO")).upper(),
        )
        cui = str(raw.get("cui", "")).upper().removeprefix("RO").strip()
        cnp = None if raw.get("cnp") is None else "".join(str(raw["cnp"]).split())
        if cnp is not None and cui:
            raise ConfigError("[company] has both cui and cnp: give one (docs/configuration.md)")
        return CompanyProfile(
            name=str(raw["name"]),
            cui=cui,
            cnp=cnp,
            address=address,
            vat_payer=bool(raw.get("vat_payer", True)),
            vat_on_collection=bool(raw.get("vat_on_collection", False)),
            trade_register=_opt_text(raw.get("trade_register")),
            email=_opt_text(raw.get("email")),
            issuer_email=_opt_text(raw.get("issuer_email")),
            phone=_opt_text(raw.get("phone")),
            iban=_opt_text(raw.get("iban")),
            bank=_opt_text(raw.get("bank")),
            share_capital=None if raw.get("share_capital") is None else str(raw["share_capital"]),
            logo_path=_opt_text(raw.get("logo_path")),
        )
    except KeyError as exc:
        raise ConfigError(f"[company] is missing {exc.args[0]!r}") from exc


def _series_settings(raw: Mapping[str, object]) -> SeriesSettings:
    defaults = SeriesSettings()
    storno_raw = raw.get("storno")
    return SeriesSettings(
        invoice=_series("invoice", raw.get("invoice"), defaults.invoice),
        storno=_series("storno", storno_raw, SeriesConfig(code="storno")) if storno_raw else None,
        test=_series("test", raw.get("test"), defaults.test),
    )


def _vat_policy(raw: Mapping[str, object]) -> VatPolicy:
    try:
        vat = VatPolicy(
            default_category=VatCategory(str(raw.get("default_category", "S"))),
            default_rate=str(raw.get("default_rate", "standard")),
            prices_include_vat=bool(raw.get("prices_include_vat", True)),
            reverse_charge_eu_b2b=bool(raw.get("reverse_charge_eu_b2b", True)),
            exemption_code=_opt_text(raw.get("exemption_code")),
            exemption_reason=_opt_text(raw.get("exemption_reason")),
            supplies=str(raw.get("supplies", "services")),
            upload_oss=bool(raw.get("upload_oss", False)),
        )
    except ValueError as exc:
        raise ConfigError(f"[vat] is invalid: {exc}") from exc
    if vat.supplies not in {"services", "goods"}:
        raise ConfigError(f"[vat] supplies must be 'services' or 'goods', not {vat.supplies!r}")
    if vat.default_rate not in {"standard", "reduced", "housing"}:
        try:
            Decimal(vat.default_rate)
        except ArithmeticError as exc:
            raise ConfigError(f"[vat] default_rate {vat.default_rate!r} is not valid") from exc
    return vat


def _intake_policy(raw: Mapping[str, object]) -> IntakePolicy:
    return IntakePolicy(
        process_test_events=bool(raw.get("process_test_events", True)),
        invoice_zero_amount=bool(raw.get("invoice_zero_amount", False)),
    )


def _email_policy(raw: Mapping[str, object]) -> EmailPolicy:
    return EmailPolicy(
        send_to_payer=bool(raw.get("send_to_payer", True)),
        templates_dir=_opt_text(raw.get("templates_dir")),
        notify_merchant=bool(raw.get("notify_merchant", True)),
        aggregate_minutes=_int(raw.get("aggregate_minutes", 5)),
    )


def parse_toml(text: str) -> TomlTable:
    """The parsed document as ``tomllib`` returns it (the edge: the values are checked by
    ``config_check`` and read with ``isinstance`` by the functions above)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"efactura.toml is not valid TOML: {exc}") from exc


def _audit_policy(raw: Mapping[str, object]) -> AuditPolicy:
    try:
        return AuditPolicy(
            every_hours=max(0, _int(raw.get("every_hours", 24))),
            check_spv=bool(raw.get("check_spv", True)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[audit] is invalid: {exc}") from exc


def settings_from(
    toml: Mapping[str, object], env: Mapping[str, str], *, config_path: Path | None = None
) -> Settings:
    """Build Settings from a parsed TOML document and an environment mapping (pure): the
    environment's part (:func:`config_env.env_fields`) and the profile's part from the TOML."""
    return Settings(
        **env_fields(env),
        config_path=config_path or Path("efactura.toml"),
        company=_company(_table(toml.get("company")) or {"name": "", "cui": ""}),
        series=_series_settings(_table(toml.get("series"))),
        vat=_vat_policy(_table(toml.get("vat"))),
        intake=_intake_policy(_table(toml.get("intake"))),
        email=_email_policy(_table(toml.get("email"))),
        audit=_audit_policy(_table(toml.get("audit"))),
        storno=storno_policy(_table(toml.get("storno"))),
        template=toml.get("template") is True,
    )


def environment() -> Mapping[str, str]:
    """The process environment: the one place the project reads it (``EFACTURA_*``)."""
    return os.environ


def load_settings(
    env: Mapping[str, str] | None = None, *, create: bool = False, create_named: bool = False
) -> Settings:
    """Read ``EFACTURA_CONFIG`` (default ``./efactura.toml``, strictly checked: config_check)
    and the environment. ``create``: write :data:`TEMPLATE_TOML` when the default file is
    missing; a missing named file is an error unless ``create_named`` (``init``)."""
    from .config_check import missing_file, raise_findings

    env = os.environ if env is None else env
    named = env.get("EFACTURA_CONFIG") or None
    path = Path(named or "efactura.toml")
    if not path.exists():
        if not create or (named is not None and not create_named):
            raise missing_file(path, named)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATE_TOML, encoding="utf-8")
    doc = parse_toml(path.read_text(encoding="utf-8"))
    raise_findings(doc, path)
    return settings_from(doc, env, config_path=path)


def demo_settings(tmp: Path, **changes: Unpack[SettingsChanges]) -> Settings:
    """Settings for tests and the demo: a data dir under ``tmp`` and the starter profile."""
    s = settings_from(parse_toml(STARTER_TOML), {"EFACTURA_DATA_DIR": str(tmp)})
    return s.with_(**changes) if changes else s
