"""WSGI entry point for production servers (`shebao serve` runs gunicorn on it).

`POST /api/v1/partners/verify`, the partner terminals' hot path, is answered by the lean
layer in front of Django's handler (shebao.partners.lean, ADR 0016); everything else by Django.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
_django = get_wsgi_application()

from shebao.partners.lean import LeanVerify  # noqa: E402 - needs the apps loaded above

application = LeanVerify(_django)
