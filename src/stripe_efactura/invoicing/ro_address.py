"""Romanian addresses: counties (ISO 3166-2:RO), towns, Bucharest sectors (pure).

Part of :mod:`.ro` (which re-exports every public name); the rules are in ``docs/romania.md``.
Counties are ISO 3166-2:RO codes (``RO-CJ``; Bucharest ``RO-B``) as CIUS-RO BR-RO-110/111 want
(:func:`county_code`); Bucharest addresses carry ``SECTOR1``..``SECTOR6`` as the city
(BR-RO-100/101, :func:`bucharest_sector`, :func:`normalize_ro_address`).
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

from stripe_efactura.invoicing.countries import fold

# --------------------------------------------------------------------------------------------
# Counties (ISO 3166-2:RO)

COUNTIES: MappingProxyType[str, str] = MappingProxyType(
    {
        "RO-AB": "Alba",
        "RO-AG": "Argeș",
        "RO-AR": "Arad",
        "RO-B": "București",
        "RO-BC": "Bacău",
        "RO-BH": "Bihor",
        "RO-BN": "Bistrița-Năsăud",
        "RO-BR": "Brăila",
        "RO-BT": "Botoșani",
        "RO-BV": "Brașov",
        "RO-BZ": "Buzău",
        "RO-CJ": "Cluj",
        "RO-CL": "Călărași",
        "RO-CS": "Caraș-Severin",
        "RO-CT": "Constanța",
        "RO-CV": "Covasna",
        "RO-DB": "Dâmbovița",
        "RO-DJ": "Dolj",
        "RO-GJ": "Gorj",
        "RO-GL": "Galați",
        "RO-GR": "Giurgiu",
        "RO-HD": "Hunedoara",
        "RO-HR": "Harghita",
        "RO-IF": "Ilfov",
        "RO-IL": "Ialomița",
        "RO-IS": "Iași",
        "RO-MH": "Mehedinți",
        "RO-MM": "Maramureș",
        "RO-MS": "Mureș",
        "RO-NT": "Neamț",
        "RO-OT": "Olt",
        "RO-PH": "Prahova",
        "RO-SB": "Sibiu",
        "RO-SJ": "Sălaj",
        "RO-SM": "Satu Mare",
        "RO-SV": "Suceava",
        "RO-TL": "Tulcea",
        "RO-TM": "Timiș",
        "RO-TR": "Teleorman",
        "RO-VL": "Vâlcea",
        "RO-VN": "Vrancea",
        "RO-VS": "Vaslui",
    }
)
"""ISO 3166-2:RO code -> the county's Romanian name (41 counties and Bucharest)."""

# Extra spellings of county names (folded): pre-1993 orthography (î for â), short forms,
# foreign names of Bucharest.
_COUNTY_ALIASES: dict[str, tuple[str, ...]] = {
    "RO-B": (
        "bucuresti",
        "bucharest",
        "bukarest",
        "bucarest",
        "bucareste",
        "bucurest",
        "buc",
        "municipiul bucuresti",
        "mun bucuresti",
        "bucuresti municipiul",
    ),
    "RO-BN": ("bistrita nasaud", "bistrita", "bistrita nasaud county"),
    "RO-CS": ("caras severin", "caras"),
    "RO-DB": ("dimbovita",),
    "RO-VL": ("vilcea",),
    "RO-SM": ("satu mare", "satmar"),
}

# County seats and the larger towns, for when the county field is empty and only the city says
# where the buyer is. Folded; ``tg``/``rm``/``sf``/``dr tr`` are the usual abbreviations.
_TOWNS: dict[str, tuple[str, ...]] = {
    "RO-AB": ("alba iulia", "sebes", "aiud", "blaj"),
    "RO-AG": ("pitesti", "campulung", "curtea de arges", "mioveni"),
    "RO-AR": (),
    "RO-BC": ("onesti", "moinesti", "comanesti"),
    "RO-BH": ("oradea", "salonta", "marghita"),
    "RO-BN": (),
    "RO-BR": (),
    "RO-BT": ("dorohoi",),
    "RO-BV": ("fagaras", "sacele", "codlea", "rasnov", "zarnesti"),
    "RO-BZ": ("ramnicu sarat", "rm sarat"),
    "RO-CJ": ("cluj napoca", "turda", "dej", "campia turzii", "gherla", "floresti", "apahida"),
    "RO-CL": ("oltenita",),
    "RO-CS": ("resita", "caransebes"),
    "RO-CT": ("mangalia", "medgidia", "navodari", "ovidiu", "eforie", "cernavoda"),
    "RO-CV": ("sfantu gheorghe", "sf gheorghe", "sfintu gheorghe", "targu secuiesc"),
    "RO-DB": ("targoviste", "tirgoviste", "moreni", "pucioasa"),
    "RO-DJ": ("craiova", "bailesti", "calafat"),
    "RO-GJ": ("targu jiu", "tirgu jiu", "tg jiu", "motru"),
    "RO-GL": ("tecuci",),
    "RO-GR": (),
    "RO-HD": ("deva", "petrosani", "orastie", "lupeni", "vulcan", "brad"),
    "RO-HR": ("miercurea ciuc", "odorheiu secuiesc", "gheorgheni", "toplita"),
    "RO-IF": (
        "buftea",
        "voluntari",
        "otopeni",
        "pantelimon",
        "popesti leordeni",
        "chiajna",
        "bragadiru",
        "magurele",
        "chitila",
        "corbeanca",
        "snagov",
        "mogosoaia",
        "jilava",
        "domnesti",
        "dobroesti",
        "balotesti",
        "stefanestii de jos",
        "tunari",
        "afumati",
        "berceni ilfov",
        "cernica",
        "glina",
    ),
    "RO-IL": ("slobozia", "fetesti", "urziceni"),
    "RO-IS": ("pascani", "harlau"),
    "RO-MH": ("drobeta turnu severin", "turnu severin", "dr tr severin", "drobeta"),
    "RO-MM": ("baia mare", "sighetu marmatiei", "borsa"),
    "RO-MS": ("targu mures", "tirgu mures", "tg mures", "reghin", "sighisoara", "tarnaveni"),
    "RO-NT": ("piatra neamt", "roman", "targu neamt"),
    "RO-OT": ("slatina", "caracal"),
    "RO-PH": ("ploiesti", "campina", "sinaia", "busteni", "breaza", "mizil"),
    "RO-SB": ("medias", "cisnadie"),
    "RO-SJ": ("zalau",),
    "RO-SM": ("carei",),
    "RO-SV": ("falticeni", "radauti", "campulung moldovenesc", "vatra dornei"),
    "RO-TL": (),
    "RO-TM": ("timisoara", "lugoj", "dumbravita", "giroc"),
    "RO-TR": ("alexandria", "rosiorii de vede", "turnu magurele"),
    "RO-VL": ("ramnicu valcea", "rimnicu vilcea", "rm valcea", "dragasani"),
    "RO-VN": ("focsani", "adjud"),
    "RO-VS": ("barlad", "birlad", "husi"),
}

_DROP_LEADING = frozenset(
    {
        "jud",
        "judet",
        "judetul",
        "county",
        "municipiul",
        "municipiu",
        "mun",
        "orasul",
        "oras",
        "or",
        "loc",
        "localitatea",
        "comuna",
        "com",
    }
)
_DROP_TRAILING = frozenset({"county", "judet", "jud", "romania", "ro"})


def _key(folded: str) -> str:
    return folded.replace(" ", "")


def _build_county_index() -> tuple[MappingProxyType[str, str], MappingProxyType[str, str]]:
    counties: dict[str, str] = {}
    for code, name in COUNTIES.items():
        counties[_key(fold(name))] = code
        short = code.removeprefix("RO-").lower()
        counties[short] = code
        counties["ro" + short] = code
    for code, aliases in _COUNTY_ALIASES.items():
        for alias in aliases:
            counties[_key(alias)] = code
    towns: dict[str, str] = {}
    for code, names in _TOWNS.items():
        for name in names:
            towns[_key(name)] = code
    return MappingProxyType(counties), MappingProxyType(towns)


_COUNTY_INDEX, _TOWN_INDEX = _build_county_index()
_SECTOR_WORDS = re.compile(r"\b(?:sectorul|sector|sect|s)\s*(?:nr\s*)?[1-6]\b")


def _strip_words(folded: str) -> str:
    words = folded.split()
    while len(words) > 1 and words[0] in _DROP_LEADING:
        words = words[1:]
    while len(words) > 1 and words[-1] in _DROP_TRAILING:
        words = words[:-1]
    return " ".join(words)


def county_code(text: str | None) -> str | None:
    """The ISO 3166-2:RO code (``'RO-BV'``, ``'RO-B'``) of a county typed as free text.

    Understands names with or without diacritics (ș/ş, ț/ţ, ă, â, î and the old î-spelling
    ``Dîmbovița``), ``jud.``/``Județul``/``county`` around the name, hyphens or spaces
    (``Satu-Mare``, ``Caras Severin``), the codes ``BV``/``RO-BV``/``ro bv``, Bucharest as
    ``București``/``Bucharest``/``Municipiul București``/``B`` or a bare ``Sector 3``, and, as a
    fallback, county seats and larger towns (``Cluj-Napoca`` -> ``RO-CJ``,
    ``Voluntari`` -> ``RO-IF``). None when unknown.
    """
    if not text:
        return None
    folded = fold(text)
    if not folded:
        return None
    without_sector = " ".join(_SECTOR_WORDS.sub(" ", folded).split())
    if bucharest_sector(text) is not None and without_sector in ("", *_B_WORDS):
        return "RO-B"
    folded = without_sector or folded
    stripped = _strip_words(folded)
    for candidate in (stripped, folded):
        key = _key(candidate)
        if key in _COUNTY_INDEX:
            return _COUNTY_INDEX[key]
    for candidate in (stripped, folded):
        key = _key(candidate)
        if key in _TOWN_INDEX:
            return _TOWN_INDEX[key]
    return None


def county_name(code: str) -> str | None:
    """The Romanian name of a county code (``'RO-BV'`` -> ``'Brașov'``), None when unknown."""
    return COUNTIES.get(code.strip().upper())


# --------------------------------------------------------------------------------------------
# Bucharest sectors

_B_WORDS = (
    "bucuresti",
    "bucharest",
    "bukarest",
    "bucarest",
    "bucareste",
    "buc",
    "municipiul bucuresti",
    "mun bucuresti",
)
_B_WORD_RE = re.compile(r"\b(?:bucuresti|bucharest|bukarest|bucarest|bucareste)\b")
_STRONG_SECTOR = re.compile(
    r"(?<![a-z0-9])sect(?:or(?:ul)?)?\s*[.:\-]?\s*(?:nr\.?\s*)?([1-6])(?!\d)"
)
_WEAK_SECTOR = re.compile(r"(?<![a-z0-9])s(?:\.\s?)?([1-6])(?![0-9a-z])")


def _deaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _find_sector(pattern: re.Pattern[str], fields: tuple[str | None, ...]) -> str | None:
    for field in fields:
        if field:
            match = pattern.search(_deaccent(field))
            if match:
                return f"SECTOR{match.group(1)}"
    return None


def bucharest_sector(*fields: str | None) -> str | None:
    """``'SECTOR1'``..``'SECTOR6'`` when any field names a Bucharest sector, else None.

    Recognises ``Sector 3``, ``sectorul 3``, ``sect. 3``, ``SECTOR3``, ``Sector nr. 3`` and the
    short forms ``S3``, ``s.3``, ``S. 3``. The short forms only count as whole tokens (not in
    ``BS3``, ``S30``, ``S3A``), and only 1-6 count. The long forms win over the short ones,
    then the first field wins.
    """
    return _find_sector(_STRONG_SECTOR, fields) or _find_sector(_WEAK_SECTOR, fields)


def sector_from_postal_code(postal_code: str | None) -> str | None:
    """The sector of a Bucharest postal code: ``01xxxx`` -> ``SECTOR1`` … ``06xxxx`` ->
    ``SECTOR6``; None for any other code (Ilfov is ``07xxxx``/``08xxxx``)."""
    if not postal_code:
        return None
    digits = re.sub(r"[\s.\-]+", "", postal_code.strip())
    if digits[:2].upper() == "RO":
        digits = digits[2:]
    if len(digits) != 6 or not (digits.isascii() and digits.isdigit()):
        return None
    if digits[0] == "0" and digits[1] in "123456":
        return f"SECTOR{digits[1]}"
    return None


def _says_bucharest(text: str | None) -> bool:
    return bool(text) and _B_WORD_RE.search(fold(text or "")) is not None


def _in_bucharest(
    fields: tuple[str | None, str | None, str | None, str | None],
    city: str | None,
    postal_sector: str | None,
) -> bool:
    """Neither the county nor the city names a known place: is the address in Bucharest?

    Yes on strong evidence (a written ``Sector n``, a Bucharest postal code) or on two weak
    hints (the word București in an address line, a short ``S3``, an empty city).
    """
    if _find_sector(_STRONG_SECTOR, fields) or postal_sector:
        return True
    line1, line2 = fields[2], fields[3]
    hints = (
        _says_bucharest(line1) or _says_bucharest(line2),
        _find_sector(_WEAK_SECTOR, fields) is not None,
        not (city or "").strip(),
    )
    return sum(hints) >= 2


def normalize_ro_address(
    line1: str | None,
    line2: str | None,
    city: str | None,
    state: str | None,
    postal_code: str | None,
) -> tuple[str, str | None]:
    """``(city, county_code)`` for a Romanian address as CIUS-RO wants it.

    Bucharest (BR-RO-100/101) gives ``('SECTORn', 'RO-B')``. The address is in Bucharest when

    - the city names Bucharest or is a sector (``București``, ``Sector 3``), or
    - the county (``state``) names Bucharest, unless the city is a known place of another
      county and no ``Sector n`` is written (``Voluntari`` with ``București`` is Ilfov), or
    - neither the county nor the city is a known place, and there is strong evidence (a
      written ``Sector n`` anywhere, a Bucharest postal code ``01xxxx``-``06xxxx``) or two weak
      hints (București in an address line, a short sector form ``S3``, an empty city).

    The sector comes from any field (:func:`bucharest_sector`) or else from the postal code
    (:func:`sector_from_postal_code`). Without any sector the city is kept as typed and the
    caller reports the missing sector.

    Elsewhere: the city as typed (trimmed, single spaces) and ``county_code(state)``, falling
    back to ``county_code(city)`` (county seats and larger towns are known). A street named
    București or a block named S3 does not move an address to Bucharest.
    """
    city_clean = " ".join((city or "").split())
    fields = (city, state, line1, line2)
    by_state = county_code(state)
    by_city = county_code(city)
    postal_sector = sector_from_postal_code(postal_code)
    if by_city == "RO-B" or bucharest_sector(city) is not None:
        in_bucharest = True
    elif by_state == "RO-B":
        in_bucharest = by_city is None or _find_sector(_STRONG_SECTOR, fields) is not None
    elif by_state is None and by_city is None:
        in_bucharest = _in_bucharest(fields, city, postal_sector)
    else:
        in_bucharest = False
    if in_bucharest:
        found = bucharest_sector(*fields) or postal_sector
        return (found, "RO-B") if found else (city_clean, "RO-B")
    if by_state == "RO-B":  # a town of another county, see above
        return city_clean, by_city
    return city_clean, by_state or by_city
