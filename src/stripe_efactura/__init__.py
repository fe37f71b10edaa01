"""stripe-efactura: confirmed Stripe payments become Romanian invoices reported to ANAF."""

__version__ = "0.1.0"
