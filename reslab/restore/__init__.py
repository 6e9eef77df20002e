"""Backup verification: restore a snapshot into a temporary instance, check it, clean up.

Each module is one job; the Lambdas under ``lambdas/backup_*`` are thin wrappers around
:mod:`reslab.restore.steps`. Everything here runs inside a Lambda (vendored into the zip by the
packaging step), so it imports only boto3, requests, the DB drivers and small reslab modules.
"""
