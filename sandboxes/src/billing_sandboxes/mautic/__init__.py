"""The Mautic sandbox (``127.0.0.1:4004``): a faithful in-memory Mautic 5 REST API for tests and ``make run``.

Auth: HTTP Basic (a Mautic user) and OAuth2 client credentials (``POST /oauth/v2/token``, bearer
tokens that expire). API: contacts (``/new`` upsert on email, ``PATCH``/``PUT`` edit, get, list with
``search`` and ``where``, delete) and segment membership. Side door, not part of Mautic:

    GET  /_sandbox/state           contacts (as the API shows them), segments with members, tags,
                                   token count, and every /api request seen (method, path, auth)
    POST /_sandbox/reset           forget everything (and clear injected faults)
    POST /_sandbox/tokens/expire   expire every issued access token now
    GET|POST|DELETE /_sandbox/faults   fault injection (``billing_sandboxes._faults``)
"""

from billing_sandboxes.mautic._app import create_app
from billing_sandboxes.mautic._config import MauticSandboxConfig

__all__ = ["MauticSandboxConfig", "create_app"]
