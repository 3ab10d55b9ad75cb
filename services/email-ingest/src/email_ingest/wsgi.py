"""The WSGI entry point for gunicorn: `email_ingest.wsgi:app`."""

from email_ingest.app import create_app
from email_ingest.config import EmailIngestSettings
from switchboard_shared.config import load_settings
from switchboard_shared.structured_logging import configure_logging

settings = load_settings(EmailIngestSettings)
configure_logging("email-ingest", settings.log)
app = create_app(settings)
