"""Network simulators for tests: webhook builders/signers and the providers' reply APIs.

Import them as `tests.simulators.<module>` with the repository root on `sys.path`; pytest runs
with `--import-mode=importlib`, which does not put it there, so a test directory that uses
the simulators has a `conftest.py` inserting it (see tests/unit/social_ingest/conftest.py).

- `delivery`: the `Delivery` a builder returns (body bytes + headers), redelivery, reordering.
- `meta`, `whatsapp`, `x`, `telegram`, `api_channel`: webhook builders and signers.
- `replies`: a Flask app serving the providers' reply APIs with error injection.
- `server`: run any WSGI app on 127.0.0.1 in a thread for a test.
"""
