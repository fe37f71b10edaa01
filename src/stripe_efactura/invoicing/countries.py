"""Country codes and names: ISO 3166-1 alpha-2, EU membership, common spellings.

Pure data and lookups, no I/O. :func:`normalize_country` turns what a buyer or a merchant
types (``ro``, ``Romania``, ``România``, ``Deutschland``, ``UK``) into the alpha-2 code the UBL
``cac:Country/cbc:IdentificationCode`` (BT-40/BT-55) needs.

The set of accepted codes is the one ANAF's own code list check (BR-CL-14) accepts: ISO 3166-1
alpha-2 plus ``XI`` (Northern Ireland) and ``1A`` (Kosovo). Stripe writes Kosovo as ``XK``,
which ANAF rejects, so ``XK`` is normalised to ``1A``.
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

_ISO_ALPHA2_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
ISO_ALPHA2: frozenset[str] = frozenset(_ISO_ALPHA2_TEXT.split())
"""ISO 3166-1 alpha-2 codes (as listed in ANAF's BR-CL-14 check)."""

EXTRA_CODES: frozenset[str] = frozenset({"XI", "1A"})
"""Non-ISO codes ANAF accepts as country codes: Northern Ireland, Kosovo."""

_EU_TEXT = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
EU_MEMBERS: frozenset[str] = frozenset(_EU_TEXT.split())
"""The 27 EU member states, by ISO code (Greece is ``GR`` here; ``EL`` only in VAT ids)."""

_CODE_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {"UK": "GB", "EL": "GR", "XK": "1A"},
)

# Names people type, folded (lower case, no diacritics, single spaces). English, Romanian and
# the country's own name for the EU/EEA and the countries Romanian shops sell to most.
_NAMES: dict[str, tuple[str, ...]] = {
    "RO": ("romania", "rumania", "rumaenien", "rumanien", "roumanie", "romenia"),
    "AT": ("austria", "osterreich", "oesterreich", "autriche"),
    "BE": ("belgium", "belgia", "belgie", "belgique", "belgien"),
    "BG": ("bulgaria", "balgariya", "bulgarien", "bulgarie"),
    "CY": ("cyprus", "cipru", "kypros", "zypern", "chypre"),
    "CZ": ("czechia", "czech republic", "cehia", "republica ceha", "cesko", "ceska republika"),
    "DE": ("germany", "germania", "deutschland", "allemagne", "federal republic of germany"),
    "DK": ("denmark", "danemarca", "danmark", "danemark", "daenemark"),
    "EE": ("estonia", "eesti", "estland", "estonie"),
    "ES": ("spain", "spania", "espana", "spanien", "espagne"),
    "FI": ("finland", "finlanda", "suomi", "finnland", "finlande"),
    "FR": ("france", "franta", "frankreich", "francia"),
    "GR": ("greece", "grecia", "hellas", "ellada", "griechenland", "grece"),
    "HR": ("croatia", "hrvatska", "kroatien", "croatie"),
    "HU": ("hungary", "ungaria", "magyarorszag", "ungarn", "hongrie"),
    "IE": ("ireland", "irlanda", "eire", "irland", "irlande"),
    "IT": ("italy", "italia", "italien", "italie"),
    "LT": ("lithuania", "lituania", "lietuva", "litauen", "lituanie"),
    "LU": ("luxembourg", "luxemburg", "letzebuerg"),
    "LV": ("latvia", "letonia", "latvija", "lettland", "lettonie"),
    "MT": ("malta", "malte"),
    "NL": ("netherlands", "the netherlands", "olanda", "tarile de jos", "nederland", "holland"),
    "PL": ("poland", "polonia", "polska", "polen", "pologne"),
    "PT": ("portugal", "portugalia"),
    "SE": ("sweden", "suedia", "sverige", "schweden", "suede"),
    "SI": ("slovenia", "slovenija", "slowenien", "slovenie"),
    "SK": ("slovakia", "slovacia", "slovensko", "slowakei", "slovaquie"),
    "GB": (
        "united kingdom",
        "great britain",
        "britain",
        "england",
        "scotland",
        "wales",
        "marea britanie",
        "regatul unit",
        "anglia",
    ),
    "XI": ("northern ireland", "irlanda de nord"),
    "US": ("united states", "united states of america", "usa", "statele unite", "sua", "america"),
    "CA": ("canada",),
    "CH": ("switzerland", "elvetia", "schweiz", "suisse", "svizzera"),
    "NO": ("norway", "norvegia", "norge", "norwegen"),
    "IS": ("iceland", "islanda", "island"),
    "LI": ("liechtenstein",),
    "MD": ("moldova", "republic of moldova", "republica moldova", "moldavia"),
    "UA": ("ukraine", "ucraina", "ukraina"),
    "RS": ("serbia", "srbija", "serbien"),
    "TR": ("turkey", "turcia", "turkiye"),
    "IL": ("israel",),
    "AE": ("united arab emirates", "emiratele arabe unite", "uae"),
    "AU": ("australia",),
    "NZ": ("new zealand", "noua zeelanda"),
    "JP": ("japan", "japonia"),
    "CN": ("china",),
    "IN": ("india",),
    "BR": ("brazil", "brazilia", "brasil"),
    "MX": ("mexico",),
    "RU": ("russia", "rusia", "russian federation"),
    "ME": ("montenegro",),
    "MK": ("north macedonia", "macedonia de nord", "macedonia"),
    "AL": ("albania",),
    "BA": ("bosnia and herzegovina", "bosnia si hertegovina", "bosnia"),
    "1A": ("kosovo",),
    "SG": ("singapore",),
    "KR": ("south korea", "republic of korea", "coreea de sud"),
    "ZA": ("south africa", "africa de sud"),
    "EG": ("egypt", "egipt"),
    "MA": ("morocco", "maroc"),
}

COUNTRY_NAMES: MappingProxyType[str, str] = MappingProxyType(
    {name: code for code, names in _NAMES.items() for name in names}
)
"""Folded country name -> code (see :func:`fold`)."""

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, no diacritics (ș/ş, ț/ţ, ă, â, î, ä…), punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Letters NFKD does not decompose.
    bare = bare.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("ı", "i")
    return _NON_ALNUM.sub(" ", bare.lower()).strip()


def normalize_country(text: str | None) -> str | None:
    """Country code from a code or a common name; ``None`` when unknown.

    ``'RO'``, ``'ro'``, ``' Ro '``, ``'Romania'``, ``'România'`` -> ``'RO'``; ``'Deutschland'`` ->
    ``'DE'``; ``'UK'`` -> ``'GB'``; ``'EL'`` -> ``'GR'``; ``'XK'`` -> ``'1A'`` (ANAF's code for
    Kosovo). Any ISO 3166-1 alpha-2 code is accepted in any case.
    """
    if not text:
        return None
    raw = text.strip().upper()
    if raw in ISO_ALPHA2 or raw in EXTRA_CODES:
        return raw
    if raw in _CODE_ALIASES:
        return _CODE_ALIASES[raw]
    folded = fold(text)
    if folded.upper() in ISO_ALPHA2:
        return folded.upper()
    return COUNTRY_NAMES.get(folded)


def is_eu(country: str | None) -> bool:
    """True for the 27 EU member states (by code, ``EL`` or a common name); ``XI`` is not."""
    code = normalize_country(country)
    return code in EU_MEMBERS
