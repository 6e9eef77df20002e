"""One status check (snapshot or temporary instance) between two Wait states; RestoreTimeout after
the deadline.

Step of statemachine/restore.asl.json: ``reslab.restore.steps.poll`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_poll", steps.poll)
