"""A payment that needs attention (a legacy charge without a street address) and the Romanian
address that fixes it, for the API, CLI and console tests of the buyer override."""

from __future__ import annotations

import json

from stripe_efactura import app as use_cases
from stripe_efactura.app import intake
from stripe_efactura.app.context import AppContext

from . import stripe_flows as factory

ADDRESS = {
    "line1": "Str. Memorandumului 28",
    "city": "Cluj-Napoca",
    "state": "Cluj",
    "postal_code": "400114",
    "country": "RO",
}


def broken_charge() -> factory.Flow:
    """A legacy charge without a street address: the payment needs attention."""
    flow = factory.flow_g_legacy_charge()
    for obj in [*flow.objects, *(e["data"]["object"] for e in flow.events)]:
        if obj.get("object") == "charge":
            obj["billing_details"]["address"] = {"country": "RO", "postal_code": "010101"}
            obj["shipping"] = None
    return flow


def ingest(ctx: AppContext, flow: factory.Flow) -> None:
    """Every event of ``flow`` through the webhook's use case, then the worker."""
    for e in flow.events:
        intake.accept_event(ctx, json.dumps(e).encode())
    use_cases.make_worker(ctx).drain()
