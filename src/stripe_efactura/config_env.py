"""The environment's part of the settings (``EFACTURA_*`` variables): read from a mapping
the caller passes (only :func:`stripe_efactura.config.environment` touches ``os.environ``),
each value checked at start-up with a one-line coded error."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypedDict

from .errors import ConfigError

ANAF_HOSTS = {
    "api": "https://api.anaf.ro",
    "oauth": "https://logincert.anaf.ro",
    "public": "https://webservicesp.anaf.ro",
}
BNR_URL = "https://www.bnr.ro/nbrfxrates.xml"
ECB_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
VIES_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api"
WEBHOOK_MAX_BYTES = 1_048_576
"""Default request-body cap (1 MiB): Stripe's events are a few kB to tens of kB."""
STRIPE_API_BASE = "https://api.stripe.com"


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in {"1", "true", "yes", "on", "da"}:
        return True
    if v in {"0", "false", "no", "off", "nu", ""}:
        return False
    raise ConfigError(f"not a boolean: {value!r}")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")


def _env_error(name: str, value: str, expected: str, expected_ro: str) -> ConfigError:
    return ConfigError(
        f"EFACTURA_{name}={value!r} is not valid: {expected}",
        message_ro=f"EFACTURA_{name}={value!r} nu este valid: {expected_ro}",
    )


def _env_port(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 65535:
        raise _env_error(name, raw, "give a port number 1-65535", "dați un port între 1 și 65535")
    return int(raw)


def _env_positive(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise _env_error(name, raw, "give a whole number above 0", "dați un număr întreg peste 0")
    return int(raw)


def _env_choice(name: str, raw: str | None, choices: tuple[str, ...], default: str) -> str:
    if raw is None:
        return default
    if raw.upper() not in choices:
        listed = ", ".join(choices)
        raise _env_error(name, raw, f"use one of {listed}", f"folosiți una dintre {listed}")
    return raw.upper()


def _env_database_url(raw: str | None, data_dir: Path) -> str:
    if raw is None:
        return f"sqlite:///{data_dir / 'efactura.db'}"
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in DATABASE_SCHEMES:
        shown = scheme or raw.split("@")[-1]
        raise ConfigError(
            f"EFACTURA_DATABASE_URL {shown!r} is not supported: use sqlite:///PATH or "
            "postgresql://USER@HOST/DB",
            message_ro=f"EFACTURA_DATABASE_URL {shown!r} nu este acceptat: folosiți "
            "sqlite:///CALE sau postgresql://UTILIZATOR@GAZDA/BD",
        )
    return raw


def _env_reader(env: Mapping[str, str]) -> Callable[[str], str | None]:
    """``EFACTURA_<name>`` from ``env``; an empty value reads as unset."""

    def e(name: str) -> str | None:
        value = env.get(f"EFACTURA_{name}")
        return value if value not in (None, "") else None

    return e


class EnvFields(TypedDict):
    """The :class:`~stripe_efactura.config.Settings` fields the environment sets."""

    data_dir: Path
    database_url: str
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
    web_host: str
    web_port: int
    log_level: str
    sqlite_synchronous: str | None
    metrics_token: str | None
    pdf_font: str | None
    pdf_font_bold: str | None
    webhook_max_bytes: int
    trusted_proxies: tuple[str, ...]


def _anaf_env(raw: str | None) -> str:
    anaf_env = (raw or "test").lower()
    if anaf_env not in {"test", "prod"}:
        raise ConfigError("EFACTURA_ANAF_ENV must be 'test' or 'prod'")
    return anaf_env


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(s.strip() for s in (raw or "").split(",") if s.strip())


def _secret(name: str, value: str, prefixes: tuple[str, ...], where_en: str, where_ro: str) -> str:
    """``value`` when it has the shape of the secret ``name`` names; the value itself is never
    repeated in the error (it may be a real secret pasted into the wrong variable)."""
    if value.startswith(prefixes):
        return value
    shapes = " or ".join(f"{p}…" for p in prefixes)
    shapes_ro = " sau ".join(f"{p}…" for p in prefixes)
    raise ConfigError(
        f"EFACTURA_{name} does not look like {shapes}: {where_en}",
        message_ro=f"EFACTURA_{name} nu are forma {shapes_ro}: {where_ro}",
    )


def _webhook_secrets(raw: str | None) -> tuple[str, ...]:
    return tuple(
        _secret(
            "STRIPE_WEBHOOK_SECRET",
            value,
            ("whsec_",),
            "copy the endpoint's signing secret (Stripe: Developers → Webhooks → the endpoint)",
            "copiați secretul de semnare al endpoint-ului (Stripe: Developers → Webhooks)",
        )
        for value in _list(raw)
    )


def _api_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    return _secret(
        "STRIPE_API_KEY",
        raw.strip(),
        ("rk_", "sk_"),
        "use a restricted (rk_…) or secret (sk_…) key from Stripe: Developers → API keys",
        "folosiți o cheie restricționată (rk_…) sau secretă (sk_…) din Stripe: "
        "Developers → API keys",
    )


def env_fields(env: Mapping[str, str]) -> EnvFields:
    """Every environment-set field, checked (a bad value is a :class:`ConfigError`)."""
    e = _env_reader(env)
    data_dir = Path(e("DATA_DIR") or "efactura-data")
    raw_sync = e("SQLITE_SYNCHRONOUS")
    return EnvFields(
        data_dir=data_dir,
        database_url=_env_database_url(e("DATABASE_URL"), data_dir),
        secret_key=e("SECRET_KEY"),
        stripe_webhook_secrets=_webhook_secrets(e("STRIPE_WEBHOOK_SECRET")),
        stripe_api_key=_api_key(e("STRIPE_API_KEY")),
        stripe_api_base=e("STRIPE_API_BASE") or STRIPE_API_BASE,
        anaf_env=_anaf_env(e("ANAF_ENV")),
        anaf_api_base=e("ANAF_API_BASE") or ANAF_HOSTS["api"],
        anaf_oauth_base=e("ANAF_OAUTH_BASE") or ANAF_HOSTS["oauth"],
        anaf_public_base=e("ANAF_PUBLIC_BASE") or ANAF_HOSTS["public"],
        anaf_client_id=e("ANAF_CLIENT_ID"),
        anaf_client_secret=e("ANAF_CLIENT_SECRET"),
        anaf_redirect_uri=e("ANAF_REDIRECT_URI"),
        anaf_unknown_notice_minutes=_env_positive(
            "ANAF_UNKNOWN_NOTICE_MINUTES", e("ANAF_UNKNOWN_NOTICE_MINUTES"), 120
        ),
        smtp_host=e("SMTP_HOST"),
        smtp_port=_env_port("SMTP_PORT", e("SMTP_PORT"), 587),
        smtp_user=e("SMTP_USER"),
        smtp_password=e("SMTP_PASSWORD"),
        smtp_starttls=_bool(e("SMTP_STARTTLS") or "true"),
        mail_from=e("MAIL_FROM"),
        bnr_url=e("BNR_URL") or BNR_URL,
        ecb_url=e("ECB_URL") or ECB_URL,
        vies_url=e("VIES_URL") or VIES_URL,
        validation_dir=Path(e("VALIDATION_DIR") or (data_dir / "validation")),
        web_host=e("HOST") or "127.0.0.1",
        web_port=_env_port("PORT", e("PORT"), 8000),
        log_level=_env_choice("LOG_LEVEL", e("LOG_LEVEL"), LOG_LEVELS, "INFO"),
        sqlite_synchronous=(
            _env_choice("SQLITE_SYNCHRONOUS", raw_sync, ("FULL", "NORMAL"), "FULL")
            if raw_sync
            else None
        ),
        metrics_token=e("METRICS_TOKEN"),
        pdf_font=e("PDF_FONT"),
        pdf_font_bold=e("PDF_FONT_BOLD"),
        webhook_max_bytes=_env_positive(
            "WEBHOOK_MAX_BYTES", e("WEBHOOK_MAX_BYTES"), WEBHOOK_MAX_BYTES
        ),
        trusted_proxies=_list(e("TRUSTED_PROXIES") or "127.0.0.1,::1"),
    )
