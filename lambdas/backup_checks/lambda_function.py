"""Connect to the restored DB (credentials fetched here), run the checks, write the report +
fingerprint to S3.

Step of statemachine/restore.asl.json: ``reslab.restore.steps.run_checks`` after the shared
prologue (reslab_lambda.handler); its named errors are the Step Functions errors.
"""

from reslab.restore import steps
from reslab_lambda.handler import handler

lambda_handler = handler("backup_checks", steps.run_checks)
