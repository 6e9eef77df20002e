"""Pick the latest/named snapshot of the source instance, or take a fresh one (fingerprinting the
source just before).

Step of statemachine/restore.asl.json: ``reslab.restore.steps.pick_snapshot`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_snapshot", steps.pick_snapshot)
