"""Restore the snapshot into a temporary, private, tagged instance.

Step of statemachine/restore.asl.json: ``reslab.restore.steps.start_restore`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_restore", steps.start_restore)
