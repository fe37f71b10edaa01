"""Whether a payment's objects already tell its Stripe Invoice, or that it has none.

The InvoicePayment lookup (``GET /v1/invoice_payments?payment[payment_intent]=pi_…``) finds the
Invoice a PaymentIntent pays when no object names it (basil and later). Two cases need no
lookup, which saves a Stripe read per trigger of most Checkout payments:

* an object names the invoice itself (``session.invoice``; ``invoice`` on a PaymentIntent or
  Charge before basil): :func:`named_invoice`;
* a Checkout Session in ``payment`` mode that did not ask for a post-purchase invoice
  (``invoice_creation.enabled`` false) and names none: Stripe creates no Invoice for its
  payment (:func:`session_has_no_invoice`). A merchant who attaches the payment to an
  Invoice by hand gets that Invoice's own ``invoice.paid``, which builds from the Invoice
  whatever was recorded before (an Invoice owner is the richest). A session of an API version
  without ``invoice_creation`` does not qualify: the lookup is made.
"""

from __future__ import annotations

from collections.abc import Mapping

from stripe_efactura.intake.plain import as_dict, ref_id

ROLES_NAMING_AN_INVOICE = ("checkout_session", "payment_intent", "charge")
"""The objects of ``Sale.objects`` whose ``invoice`` field may name the payment's Invoice."""


def named_invoice(objects: Mapping[str, object]) -> str | None:
    """The invoice id one of the session, PaymentIntent or Charge names, in that order."""
    for role in ROLES_NAMING_AN_INVOICE:
        obj = objects.get(role)
        if isinstance(obj, dict) and ref_id(obj.get("invoice")):
            return ref_id(obj.get("invoice"))
    return None


def session_has_no_invoice(session: Mapping[str, object] | None) -> bool:
    """A ``payment``-mode Checkout Session without ``invoice`` whose ``invoice_creation`` says
    ``enabled: false``: no Stripe Invoice owns its payment."""
    if session is None or session.get("mode") != "payment" or ref_id(session.get("invoice")):
        return False
    return as_dict(session.get("invoice_creation")).get("enabled") is False
