"""The one time zone of Romanian invoices, deadlines and ANAF's clock."""

from __future__ import annotations

from zoneinfo import ZoneInfo

BUCHAREST = ZoneInfo("Europe/Bucharest")
"""Europe/Bucharest: invoice dates, the 5-working-day ANAF deadline, quota windows."""
