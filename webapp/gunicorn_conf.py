"""gunicorn settings for the web app when granian is not installed (``webapp.serve``):
``gunicorn -c python:webapp.gunicorn_conf webapp.wsgi:app``. gthread workers with many
threads, for the same reason as granian's: a request mostly waits for its group commit."""

import os

from webapp.serve import counts

worker_class = "gthread"
workers, threads = counts(os.environ)
# Longer than the load balancer's idle timeout (60 s): the ALB, not gunicorn, closes idle
# connections, so it never sends a request on a connection gunicorn has just closed (a 502).
keepalive = 75
# gunicorn >= 25 opens a control socket at one fixed path per user: two servers on one host
# (a test run, the benchmark) would take it from each other. Older releases ignore this name.
control_socket_disable = True
