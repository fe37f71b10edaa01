"""The merchant's profile as the core sees it: the seller, the numbering series, the VAT policy.

Frozen values owned by the pure core. ``config.py`` loads and validates them from
``efactura.toml``; the builder receives an :class:`InvoicingProfile` (seller + VAT policy) and
never the whole ``Settings`` (which also holds secrets and URLs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Address, VatCategory


@dataclass(frozen=True)
class CompanyProfile:
    """The seller, snapshotted on every invoice."""

    name: str
    cui: str
    """CUI without the ``RO`` prefix (empty for a seller identified by CNP)."""
    address: Address
    vat_payer: bool = True
    vat_on_collection: bool = False
    trade_register: str | None = None
    email: str | None = None
    """Company email: receives the merchant notifications."""
    issuer_email: str | None = None
    """The issuing user's email: also receives the merchant notifications."""
    phone: str | None = None
    iban: str | None = None
    bank: str | None = None
    share_capital: str | None = None
    logo_path: str | None = None
    cnp: str | None = None
    """A person with an economic activity identified by CNP (in e-Factura from 1 June 2026,
    OG 6/2026) instead of a CUI: BT-30 and the ANAF upload ``cif``."""

    @property
    def vat_id(self) -> str | None:
        return f"RO{self.cui}" if self.vat_payer and not self.cnp else None

    @property
    def fiscal_code(self) -> str:
        """The code ANAF knows the seller by (SPV rights, upload ``cif``): CNP or CUI."""
        return self.cnp or self.cui


@dataclass(frozen=True)
class SeriesConfig:
    """One numbering series: ``prefix`` + zero-padded number + ``suffix``."""

    code: str
    prefix: str = ""
    suffix: str = ""
    start: int = 1
    padding: int = 0
    auto_upload: bool = True
    """Upload this series' invoices to ANAF automatically (per-series switch)."""


@dataclass(frozen=True)
class SeriesSettings:
    invoice: SeriesConfig = field(
        default_factory=lambda: SeriesConfig(code="invoice", prefix="SEF")
    )
    storno: SeriesConfig | None = None
    """A separate storno series; ``None`` puts stornos in the invoice series."""
    test: SeriesConfig = field(
        default_factory=lambda: SeriesConfig(code="test", prefix="TEST", auto_upload=False)
    )


@dataclass(frozen=True)
class VatPolicy:
    default_category: VatCategory = VatCategory.STANDARD
    default_rate: str = "standard"
    """A rate kind from the dated table (``standard``, ``reduced``, ``housing``) or a percent."""
    prices_include_vat: bool = True
    """Stripe amounts are VAT-inclusive unless Stripe Tax says exclusive."""
    reverse_charge_eu_b2b: bool = True
    """EU business buyers with a valid VAT id get category AE (taxare inversă)."""
    exemption_code: str | None = None
    exemption_reason: str | None = None
    supplies: str = "services"
    """What the merchant sells when a line does not say (a Stripe product tax code
    ``txcd_99999999`` marks a physical good): ``services`` or ``goods``. It decides the place
    of supply for buyers outside Romania: services to a business outside the EU are not
    taxable in Romania (art. 278 (2), category O); goods shipped outside the EU are an export
    (art. 294 (1) a), category G); goods to an EU company an intra-Community supply (K)."""
    upload_oss: bool = False
    """Upload to e-Factura the B2C sales taxed in another member state through the One-Stop-Shop
    (art. 315): not in e-Factura's scope (no Romanian VAT), so off unless the merchant opts in."""


@dataclass(frozen=True)
class InvoicingProfile:
    """What the builder needs from the configuration, and nothing more."""

    company: CompanyProfile
    vat: VatPolicy = field(default_factory=VatPolicy)
