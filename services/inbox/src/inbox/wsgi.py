"""The WSGI entry point for gunicorn: `inbox.wsgi:app`."""

from inbox.app import create_app
from inbox.config import InboxSettings
from switchboard_shared.config import load_settings
from switchboard_shared.structured_logging import configure_logging

settings = load_settings(InboxSettings)
configure_logging("inbox-api", settings.log)
app = create_app(settings)
