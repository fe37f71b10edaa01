"""``stripe-efactura demo``: the whole flow on one machine with sample Stripe payments, the fake
ANAF, a demo BNR feed and a local SMTP sink (see ``docs/demo.md``)."""

from __future__ import annotations

from .runner import DemoError, DemoOptions, DemoResult, render_account, run_demo

__all__ = ["DemoError", "DemoOptions", "DemoResult", "render_account", "run_demo"]
