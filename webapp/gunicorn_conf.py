"""How the instances serve the app: ``gunicorn -c python:webapp.gunicorn_conf webapp.wsgi:app``
(plus ``--bind``). Chosen by measurement (``python -m bench webapp``, docs/webapp.md):
``gthread`` workers with many threads, because a request spends most of its time waiting for
its group commit (``webapp.writer``), and the more requests wait together, the more hits one
commit carries.

``WEBAPP_WORKERS`` (default 2: one per core of the lab's instances) and ``WEBAPP_THREADS``
(default 32) override the counts.
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEBAPP_WORKERS") or 2)
threads = int(os.environ.get("WEBAPP_THREADS") or 32)
# Longer than the load balancer's idle timeout (60 s): the ALB, not gunicorn, closes idle
# connections, so it never sends a request on a connection gunicorn has just closed (a 502).
keepalive = 75
# gunicorn >= 25 opens a control socket at one fixed path per user: two servers on one host
# (a test run, the benchmark) would take it from each other. Older releases ignore this name.
control_socket_disable = True
