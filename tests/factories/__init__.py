"""Test data shared by the test folders (``tests/`` is on pytest's ``pythonpath``).

- :mod:`.stripe_flows`: Stripe objects and events of complete payment flows;
- :mod:`.invoices`: hand-built invoices with correct arithmetic;
- :mod:`.ubl_cases`: the UBL renderer's cases and the official validators.
"""
