"""Post the verdict to Slack (webhook URL from an SSM SecureString), retried with backoff.

Step of statemachine/restore.asl.json: ``reslab.restore.steps.notify`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_notify", steps.notify)
