"""Run one lab per participant: deploy / status / destroy / reset a whole class at once.

``targets.py`` reads the CSV, ``credentials.py`` gives each target its own clients (assumed role,
profile or the local cloud), ``lab.py`` is the adapter over the deploy engineer's installer and
execution helpers, ``runner.py`` runs the targets with bounded concurrency, ``state.py`` remembers
per-target results so a rerun retries only what failed, ``view.py`` draws the live table.
"""
