import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from directory import lean_wsgi  # noqa: E402  (needs the apps loaded)

# Anonymous reads of /nearest/ and /services/ skip the middleware that cannot act on them.
application = lean_wsgi.routed(django_application)

if settings.READ_MODEL_PRELOAD:
    # Under gunicorn --preload this runs once in the master: the workers fork with the model built.
    from directory import readmodel

    readmodel.preload()
