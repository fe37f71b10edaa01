"""Stripe objects from a folder of JSON files, for ``preview --objects DIR`` (offline).

Each ``*.json`` file holds one Stripe object (``{"object": "checkout.session", "id": …}``)
and is best named by its id. Lists Stripe keeps beside an object come from:

- ``<cs_id>.line_items.json`` / ``<pi_id>.line_items.json`` / ``<in_id>.lines.json``: a list
  object (``{"object": "list", "data": [...]}``) or a plain JSON array;
- or the object itself, when it embeds them (``line_items`` expanded on a session,
  ``lines.data`` on an invoice).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import EfacturaError
from .fake_stripe import FakeStripeStore


class ObjectsDirError(EfacturaError):
    code = "E-OBJECTS-DIR"


def _items(data: object) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return [d for d in data["data"] if isinstance(d, dict)]
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    raise ObjectsDirError("a list file must hold a Stripe list object or a JSON array")


def load_objects_dir(folder: Path) -> FakeStripeStore:
    if not folder.is_dir():
        raise ObjectsDirError(f"{folder} is not a folder")
    store = FakeStripeStore()
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ObjectsDirError(f"{path.name}: not JSON ({exc})") from exc
        stem = path.name[: -len(".json")]
        if stem.endswith((".line_items", ".lines")):
            owner = stem.rsplit(".", 1)[0]
            items = _items(data)
            if owner.startswith("cs_"):
                store.add_session_line_items(owner, items)
            elif owner.startswith("pi_"):
                store.add_pi_line_items(owner, items)
            elif owner.startswith("in_"):
                store.add_invoice_lines(owner, items)
            continue
        if not isinstance(data, dict) or "object" not in data or "id" not in data:
            raise ObjectsDirError(f"{path.name}: not a Stripe object (no 'object' and 'id')")
        if data.get("object") == "event":
            continue
        store.add(data)
        embedded = data.get("line_items")
        if data["object"] == "checkout.session" and isinstance(embedded, dict):
            store.add_session_line_items(str(data["id"]), _items(embedded))
    return store
