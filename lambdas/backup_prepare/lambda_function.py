"""Validate the restore event, refuse plaintext passwords, resolve the secret's NAME and the
temporary instance's name.

Step of statemachine/restore.asl.json: ``reslab.restore.steps.prepare`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_prepare", steps.prepare)
