"""Edge adapters for the public registries: ANAF's taxpayer registry (``PlatitorTvaRest`` v9)
and the EU's VIES, with an in-process fake of both (``fake.py``). The use cases that cache the
answers and apply them to invoices are in :mod:`stripe_efactura.app.lookups`."""
