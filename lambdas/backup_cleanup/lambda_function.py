"""Delete the temporary instance (and a snapshot this run took).

Step of statemachine/restore.asl.json: ``reslab.restore.steps.cleanup`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_cleanup", steps.cleanup)
