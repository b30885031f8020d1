"""The helpdesk example under a domain name of the test's choosing (``EMBER_TEST_DOMAIN``)."""

from __future__ import annotations

import os

from examples.helpdesk.app import build_helpdesk

domain = build_helpdesk(os.environ.get("EMBER_TEST_DOMAIN", "helpdesk_cli"))
