"""Invoice number formatting (pure); allocation under lock lives in ``store/numbering``."""

from __future__ import annotations

from .profile import SeriesConfig, SeriesSettings


def format_number(cfg: SeriesConfig, seq: int) -> str:
    """``prefix`` + ``seq`` zero-padded to ``padding`` digits + ``suffix``.

    A series with neither prefix nor suffix is purely numeric (``"124"``).
    """
    if seq < 0:
        raise ValueError("sequence numbers are positive")
    return f"{cfg.prefix}{seq:0{cfg.padding}d}{cfg.suffix}"


def provisional_number(cfg: SeriesConfig) -> str:
    """The number used to render and validate before a real one is given (BR-RO-010 wants
    a digit); it never leaves the process."""
    return format_number(cfg, 0)


def series_key(cfg: SeriesConfig) -> str:
    """The counter's identity: a new prefix or suffix starts a new sequence."""
    return f"{cfg.code}:{cfg.prefix}:{cfg.suffix}"


def series_for(series: SeriesSettings, *, storno: bool, livemode: bool) -> SeriesConfig:
    """Test-mode payments use the test series; stornos the storno series when configured."""
    if not livemode:
        return series.test
    if storno and series.storno is not None:
        return series.storno
    return series.invoice
