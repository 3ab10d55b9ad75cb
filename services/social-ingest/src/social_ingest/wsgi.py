"""The WSGI entry point for gunicorn: `social_ingest.wsgi:app`."""

from social_ingest.app import create_app
from social_ingest.config import SocialIngestSettings
from switchboard_shared.config import load_settings
from switchboard_shared.structured_logging import configure_logging

settings = load_settings(SocialIngestSettings)
configure_logging("social-ingest", settings.log)
app = create_app(settings)
