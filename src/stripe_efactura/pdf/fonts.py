"""Finding and registering a TrueType font that has every Romanian glyph.

ReportLab's built-in fonts (Helvetica, bundled Vera) draw black boxes for ă ș ț Ă Ș Ț and the
Romanian quotes, so the invoice PDF always embeds a TTF. The project never ships a font file;
the font comes from, in this order:

1. an explicit path (``font_path=``), else ``EFACTURA_PDF_FONT`` (and optionally
   ``EFACTURA_PDF_FONT_BOLD``) as the settings read them and pass in ``env`` (this module
   never reads the process environment) — an explicit font that is missing or lacks a glyph
   is an error, never silently replaced;
2. system fonts: DejaVu Sans (Debian/Ubuntu ``fonts-dejavu-core``, Fedora, Arch, Alpine),
   Liberation Sans, Noto Sans, then Arial on macOS / Windows;
3. a font shipped by an installed PyPI package: ``matplotlib`` (DejaVu Sans) or
   ``font-roboto`` (Roboto).

Every candidate is checked glyph by glyph (:data:`REQUIRED_CHARS`) before it is used.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from ..errors import ConfigError
from .subsets import memoize_subsets

REQUIRED_CHARS = "ăâîșțĂÂÎȘȚ„”–—•€"
"""Glyphs an invoice needs: Romanian letters (comma-below ș ț), quotes, dashes, bullet, euro."""

ENV_FONT = "EFACTURA_PDF_FONT"
ENV_FONT_BOLD = "EFACTURA_PDF_FONT_BOLD"

# (regular, bold) pairs, most preferred first.
SYSTEM_FONTS: tuple[tuple[str, str], ...] = (
    # Debian / Ubuntu: fonts-dejavu-core
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    # Fedora / RHEL: dejavu-sans-fonts
    (
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    ),
    # older Fedora, openSUSE
    ("/usr/share/fonts/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),
    # Arch: ttf-dejavu; Alpine: font-dejavu
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
    # Debian / Ubuntu: fonts-liberation / fonts-liberation2
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
    ),
    # Fedora: liberation-sans-fonts
    (
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf",
    ),
    # Debian / Ubuntu: fonts-noto-core
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
    # macOS
    (
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    ),
    ("/Library/Fonts/Arial.ttf", "/Library/Fonts/Arial Bold.ttf"),
    # Windows
    ("C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/arialbd.ttf"),
)

# (importable package, regular path inside it, bold path inside it)
PACKAGE_FONTS: tuple[tuple[str, str, str], ...] = (
    ("matplotlib", "mpl-data/fonts/ttf/DejaVuSans.ttf", "mpl-data/fonts/ttf/DejaVuSans-Bold.ttf"),
    ("font_roboto", "files/Roboto-Regular.ttf", "files/Roboto-Bold.ttf"),
)


class FontNotFound(ConfigError):
    """No usable TTF with the Romanian glyphs was found (or the configured one is unusable)."""

    code = "E-PDF-FONT"


@dataclass(frozen=True)
class FontFiles:
    """The TTF files the PDF uses and where they were found."""

    regular: Path
    bold: Path
    source: str
    """``"explicit"``, ``"env"``, ``"system"`` or ``"package:<name>"``."""


@dataclass(frozen=True)
class PdfFonts:
    """Fonts registered with ReportLab: use ``regular``/``bold`` as ``fontName``."""

    regular: str
    bold: str
    files: FontFiles


def missing_glyphs(path: Path, chars: str = REQUIRED_CHARS) -> str:
    """The characters of ``chars`` that the TTF at ``path`` has no glyph for.

    Raises :class:`FontNotFound` when the file cannot be read as a TrueType font.
    """
    font = _ttfont(path)
    table = font.face.charToGlyph
    return "".join(ch for ch in chars if ord(ch) not in table)


def postscript_name(path: Path) -> str:
    """The PostScript name of the TTF at ``path`` (the PDF's ``/BaseFont`` after the subset tag)."""
    name = _ttfont(path).face.name
    return name.decode("latin-1") if isinstance(name, bytes) else str(name)


_TTF_CACHE: dict[Path, TTFont] = {}
_LOCK = threading.Lock()


def _font_name(path: Path) -> str:
    digest = sha256(str(path).encode("utf-8")).hexdigest()[:10]
    return f"Efactura-{path.stem}-{digest}"


def _ttfont(path: Path) -> TTFont:
    key = path.resolve()
    with _LOCK:
        cached = _TTF_CACHE.get(key)
        if cached is not None:
            return cached
        try:
            font = TTFont(_font_name(key), str(key))
        except (OSError, TTFError) as exc:
            raise FontNotFound(
                f"{path} is not a readable TrueType font: {exc}", path=str(path)
            ) from exc
        memoize_subsets(font.face)
        _TTF_CACHE[key] = font
        return font


def _bold_sibling(regular: Path) -> Path:
    """Guess the bold face next to a regular one (``X-Regular.ttf`` → ``X-Bold.ttf``)."""
    stem, suffix = regular.stem, regular.suffix
    guesses = []
    if "Regular" in stem:
        guesses.append(stem.replace("Regular", "Bold"))
    guesses += [f"{stem}-Bold", f"{stem}Bold", f"{stem}bd"]
    for guess in guesses:
        candidate = regular.with_name(guess + suffix)
        if candidate.is_file():
            return candidate
    return regular


def _check_explicit(path: Path, origin: str) -> None:
    if not path.is_file():
        raise FontNotFound(
            f"the PDF font {path} ({origin}) does not exist", path=str(path), origin=origin
        )
    missing = missing_glyphs(path)
    if missing:
        raise FontNotFound(
            f"the PDF font {path} ({origin}) has no glyph for {missing!r}; "
            "use a font with Romanian letters, e.g. DejaVu Sans",
            path=str(path),
            origin=origin,
            missing=missing,
        )


def _package_dir(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def candidates() -> Iterator[tuple[Path, Path, str]]:
    """Yield (regular, bold, source) for the system and package fonts, in search order."""
    for regular, bold in SYSTEM_FONTS:
        yield Path(regular), Path(bold), "system"
    for package, regular, bold in PACKAGE_FONTS:
        base = _package_dir(package)
        if base is not None:
            yield base / regular, base / bold, f"package:{package}"


def find_font_files(
    font_path: str | Path | None = None,
    *,
    bold_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> FontFiles:
    """Find the regular and bold TTF the PDF will embed (see the module docstring).

    ``env``: the settings' ``EFACTURA_PDF_FONT`` and ``EFACTURA_PDF_FONT_BOLD`` (nothing
    else is read from it); None: neither is set.
    """
    environ: Mapping[str, str] = {} if env is None else env
    origin = "explicit"
    if font_path is None and environ.get(ENV_FONT):
        font_path = environ[ENV_FONT]
        bold_path = bold_path or environ.get(ENV_FONT_BOLD) or None
        origin = "env"
    if font_path is not None:
        regular = Path(font_path).expanduser()
        _check_explicit(regular, origin if origin == "explicit" else ENV_FONT)
        if bold_path is not None:
            bold = Path(bold_path).expanduser()
            _check_explicit(bold, origin if origin == "explicit" else ENV_FONT_BOLD)
        else:
            bold = _bold_sibling(regular)
            if bold != regular and missing_glyphs(bold):
                bold = regular
        return FontFiles(regular=regular, bold=bold, source=origin)

    tried: list[str] = []
    for regular, bold, source in candidates():
        if not regular.is_file():
            continue
        tried.append(str(regular))
        try:
            if missing_glyphs(regular):
                continue
            if not bold.is_file() or missing_glyphs(bold):
                bold = regular
        except FontNotFound:
            continue
        return FontFiles(regular=regular, bold=bold, source=source)
    detail = f" (found but unusable: {', '.join(tried)})" if tried else ""
    raise FontNotFound(
        "no TrueType font with Romanian letters (ă â î ș ț) was found for the PDF invoice"
        f"{detail}. Install DejaVu Sans (Debian/Ubuntu: apt-get install fonts-dejavu-core; "
        "Fedora: dnf install dejavu-sans-fonts; Alpine: apk add font-dejavu) or set "
        f"{ENV_FONT}=/path/to/font.ttf",
        tried=tuple(tried),
    )


_REGISTERED: dict[tuple[Path, Path], PdfFonts] = {}


def register_fonts(files: FontFiles) -> PdfFonts:
    """Register ``files`` with ReportLab (once per process) and return their font names."""
    key = (files.regular.resolve(), files.bold.resolve())
    cached = _REGISTERED.get(key)
    if cached is not None:
        return cached
    regular = _ttfont(files.regular)
    bold = _ttfont(files.bold)
    with _LOCK:
        pdfmetrics.registerFont(regular)
        pdfmetrics.registerFont(bold)
        # Paragraph markup <b> must switch to the bold TTF (a plain registerFont does not).
        for is_bold, is_italic, name in (
            (0, 0, regular.fontName),
            (1, 0, bold.fontName),
            (0, 1, regular.fontName),
            (1, 1, bold.fontName),
        ):
            addMapping(regular.fontName, is_bold, is_italic, name)
        fonts = PdfFonts(regular=regular.fontName, bold=bold.fontName, files=files)
        _REGISTERED[key] = fonts
    return fonts


_FOUND: dict[tuple[str, str, str, str], PdfFonts] = {}


def load_fonts(
    font_path: str | Path | None = None,
    *,
    bold_path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> PdfFonts:
    """:func:`find_font_files` + :func:`register_fonts`; cached per argument set."""
    environ: Mapping[str, str] = {} if env is None else env
    key = (
        str(font_path or ""),
        str(bold_path or ""),
        environ.get(ENV_FONT, ""),
        environ.get(ENV_FONT_BOLD, ""),
    )
    cached = _FOUND.get(key)
    if cached is not None:
        return cached
    fonts = register_fonts(find_font_files(font_path, bold_path=bold_path, env=env))
    _FOUND[key] = fonts
    return fonts
