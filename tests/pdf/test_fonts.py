"""Font search order and its coded errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import reportlab

from stripe_efactura.pdf import fonts
from stripe_efactura.pdf.fonts import (
    ENV_FONT,
    ENV_FONT_BOLD,
    FontNotFound,
    find_font_files,
    load_fonts,
    missing_glyphs,
)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEJAVU_BOLD = DEJAVU.with_name("DejaVuSans-Bold.ttf")
# ReportLab's bundled Vera: a real TTF that lacks ș ț ă (read in place, never copied)
VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"

needs_dejavu = pytest.mark.skipif(
    not DEJAVU.is_file(), reason="DejaVu Sans not installed (Debian package fonts-dejavu-core)"
)


@needs_dejavu
def test_env_font_is_used_with_its_bold_sibling() -> None:
    found = find_font_files(env={ENV_FONT: str(DEJAVU)})
    assert (found.regular, found.bold, found.source) == (DEJAVU, DEJAVU_BOLD, "env")


@needs_dejavu
def test_explicit_path_beats_env() -> None:
    found = find_font_files(DEJAVU, bold_path=DEJAVU, env={ENV_FONT: "/nope.ttf"})
    assert (found.regular, found.bold, found.source) == (DEJAVU, DEJAVU, "explicit")


@needs_dejavu
def test_system_font_is_found_without_configuration() -> None:
    found = find_font_files(env={})
    assert (found.regular, found.bold, found.source) == (DEJAVU, DEJAVU_BOLD, "system")
    registered = load_fonts(env={})
    assert registered.files == found
    assert registered.regular != registered.bold


def test_missing_env_font_is_a_coded_error() -> None:
    with pytest.raises(FontNotFound) as err:
        find_font_files(env={ENV_FONT: "/nonexistent/Font.ttf"})
    assert err.value.code == "E-PDF-FONT"
    assert str(err.value) == (
        "[E-PDF-FONT] the PDF font /nonexistent/Font.ttf (EFACTURA_PDF_FONT) does not exist"
    )


@needs_dejavu
def test_missing_env_bold_font_is_a_coded_error() -> None:
    with pytest.raises(FontNotFound) as err:
        find_font_files(env={ENV_FONT: str(DEJAVU), ENV_FONT_BOLD: "/nonexistent/B.ttf"})
    assert "(EFACTURA_PDF_FONT_BOLD) does not exist" in str(err.value)


def test_font_without_romanian_glyphs_is_refused() -> None:
    assert VERA.is_file()
    missing = missing_glyphs(VERA)
    assert missing == "ășțĂȘȚ"
    with pytest.raises(FontNotFound) as err:
        find_font_files(VERA)
    assert err.value.code == "E-PDF-FONT"
    assert f"has no glyph for {missing!r}" in str(err.value)


def test_not_a_font_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "font.ttf"
    bogus.write_bytes(b"this is not a TrueType font")
    with pytest.raises(FontNotFound) as err:
        find_font_files(bogus)
    assert err.value.code == "E-PDF-FONT"
    assert "is not a readable TrueType font" in str(err.value)


def test_no_font_anywhere_explains_how_to_install_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", ())
    monkeypatch.setattr(fonts, "PACKAGE_FONTS", ())
    with pytest.raises(FontNotFound) as err:
        find_font_files(env={})
    assert err.value.code == "E-PDF-FONT"
    message = str(err.value)
    assert "apt-get install fonts-dejavu-core" in message
    assert "EFACTURA_PDF_FONT=/path/to/font.ttf" in message


def test_unusable_system_fonts_are_skipped_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", ((str(VERA), str(VERA)),))
    monkeypatch.setattr(fonts, "PACKAGE_FONTS", ())
    with pytest.raises(FontNotFound) as err:
        find_font_files(env={})
    assert f"(found but unusable: {VERA})" in str(err.value)


@needs_dejavu
def test_package_font_is_the_last_resort(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a stand-in package dir laid out like font_roboto (files/Roboto-Regular.ttf), pointing at
    # the system DejaVu through symlinks: nothing is copied
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "Roboto-Regular.ttf").symlink_to(DEJAVU)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (("/nonexistent/a.ttf", "/nonexistent/b.ttf"),))
    monkeypatch.setattr(
        fonts, "PACKAGE_FONTS", (("fake_pkg", "files/Roboto-Regular.ttf", "files/Roboto-Bold.ttf"),)
    )
    monkeypatch.setattr(
        fonts, "_package_dir", lambda name: tmp_path if name == "fake_pkg" else None
    )
    found = find_font_files(env={})
    regular = tmp_path / "files" / "Roboto-Regular.ttf"
    assert (found.regular, found.bold, found.source) == (regular, regular, "package:fake_pkg")
