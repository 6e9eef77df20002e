"""The lab's deliberately fragile web app: every hit writes a row to the database.

Runs on EC2 (``python -m webapp.serve``: granian, or gunicorn, serving ``webapp.wsgi:app``)
and locally (``python -m webapp --port P``). It ships to the instances without the
``reslab`` package, so it imports nothing from it.
"""
