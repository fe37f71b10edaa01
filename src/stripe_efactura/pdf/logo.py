"""The merchant's logo on the invoice PDF: any PNG, JPEG or GIF, scaled to 50 × 22 mm."""

from __future__ import annotations

import io

from PIL import Image as PILImage
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image

from ..errors import ConfigError


class PdfLogoError(ConfigError):
    """The merchant logo is not an image ReportLab can read (PNG, JPEG, GIF)."""

    code = "E-PDF-LOGO"


LOGO_MAX_PIXELS = (1000, 440)
"""Larger logos are scaled down to fit (about 500 dpi at the 50 × 22 mm drawn size)."""


def logo_flowable(logo: bytes) -> Image:
    try:
        with PILImage.open(io.BytesIO(logo)) as im:
            im.load()
            if im.width > LOGO_MAX_PIXELS[0] or im.height > LOGO_MAX_PIXELS[1]:
                im.thumbnail(LOGO_MAX_PIXELS)
                out = io.BytesIO()
                im.save(out, format="PNG")
                logo = out.getvalue()
        reader = ImageReader(io.BytesIO(logo))
        width, height = reader.getSize()
    except Exception as exc:  # PIL raises a zoo of types for bad images
        raise PdfLogoError(f"the logo is not a readable PNG/JPEG/GIF image: {exc}") from exc
    if width <= 0 or height <= 0:
        raise PdfLogoError("the logo image is empty")
    max_w, max_h = 50 * mm, 22 * mm
    scale = min(max_w / width, max_h / height)
    img = Image(io.BytesIO(logo), width=width * scale, height=height * scale)
    img.hAlign = "LEFT"
    return img
