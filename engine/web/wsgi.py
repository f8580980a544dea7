"""The app for a production WSGI server: ``gunicorn -w 4 -b 0.0.0.0:8080 'engine.web.wsgi:app'``.

Configured from the ``HUHUA_*`` environment like every entry point. Under gunicorn the background work
runs in processes of its own, as many as needed: ``huhua worker`` (jobs) and one ``huhua scheduler``.
"""

from engine.web import create_app

app = create_app()
