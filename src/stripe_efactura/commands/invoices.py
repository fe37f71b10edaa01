"""`invoices` commands."""

from __future__ import annotations
