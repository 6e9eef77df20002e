"""The catalogue of Lambda functions: one row per ``lambdas/<folder>``, each fact said once.

A row says which machines call the function, how long it may run, whether it joins the lab's VPC,
what IAM grants its role holds, which environment the installer stack gives it, which repo
sources its zip carries and which pip requirements it vendors. Walked by:

* the ASL builders (``reslab.machines``): the ``${Placeholder}`` a Task's Resource is, its timeout;
* the installer template (``reslab.installer.template``): function, role, log group, outputs and
  the machines' ``DefinitionSubstitutions``;
* packaging (``reslab.packaging``): what each zip holds, hence the local cloud, which runs the
  same zips (minus the vendored requirements, which its venv has).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

from reslab.grants import Grant
from reslab.restore.steps import INSTALL_DEFAULTS, TEMP_TAG
from reslab_lambda.attach import CHECK_FUNCTIONS_ENV
from reslab_lambda.cfn import CFN_ROLE_ENV, MANIFEST_ENV
from reslab_lambda.event import DMS_CODE_REGION_ENV, INSTALLED_PREFIX_ENV
from reslab_lambda.handoff import FORWARDER_ROLE_ENV, RULE_ENV
from reslab_lambda.stacks import INSTALL_SETTINGS

#: The builders whose machines call a function: ``deploy`` (the deploy and teardown machines,
#: ``reslab.machines.deploy``) or ``restore`` (``reslab.machines.restore``).
MACHINES = ("deploy", "restore")

#: Attached to the lab's VPC (on AWS, when the installer stack is given subnets), a function may
#: manage its network interfaces.
VPC_GRANT = (
    Grant(("ec2:DescribeNetworkInterfaces",), "any"),  # no resource-level permission
    Grant(("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"), "vpc-network"),
)
#: Every function writes its own log group (created by the stack, so no CreateLogGroup).
LOGS_GRANT = Grant(("logs:CreateLogStream", "logs:PutLogEvents"), "own-log-group")


@dataclass(frozen=True)
class Function:
    """One Lambda function (``lambdas/<folder>``)."""

    folder: str
    machine: str
    #: The function's timeout (seconds).
    timeout: int
    grants: tuple[Grant, ...] = ()
    #: How long a machine's Task waits for one invocation (default: ``timeout``).
    task_timeout: int | None = None
    #: Connects to the lab's databases: attached to the lab's VPC on AWS.
    vpc: bool = False
    #: Environment variable -> the install setting it holds (the installer template's
    #: ``ENVIRONMENT_VALUES``); every function also gets ``LOG_LEVEL``.
    environment: Mapping[str, str] = field(default_factory=dict)
    #: Repo paths (files or folders) copied into the zip under the same path.
    carries: tuple[str, ...] = ()
    #: pip requirements vendored into the zip for the Lambda runtime.
    requirements: tuple[str, ...] = ()
    #: Invoked by the EventBridge rule delivering stack events, not by a machine (so no
    #: machine role may invoke it: ``called_by`` leaves it out).
    event_target: bool = False
    #: The lab stack (stack-table key) whose template creates the function, in its region and
    #: VPC; its role, timeout and environment are that template's. None: the installer stack
    #: creates it from this row.
    stack: str | None = None

    def __post_init__(self) -> None:
        if self.machine not in MACHINES:
            raise ValueError(f"{self.folder}: machine must be one of {MACHINES}")

    @property
    def logical_id(self) -> str:
        """``backup_prepare`` -> ``BackupPrepare`` (the installer template's resource names)."""
        return "".join(part.capitalize() for part in self.folder.split("_"))

    @property
    def placeholder(self) -> str:
        """The ``${Name}`` its ARN fills in the ASL (and the installer stack's output)."""
        return f"{self.logical_id}FunctionArn"

    @property
    def task_seconds(self) -> int:
        return self.task_timeout or self.timeout

    @property
    def policy(self) -> tuple[Grant, ...]:
        """Every grant of its role, in statement order."""
        return (LOGS_GRANT, *self.grants, *(VPC_GRANT if self.vpc else ()))


# -- the deploy side: reslab_lambda only ----------------------------------------------------------
_STACKS_READ = ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents")
_PASS_CFN_ROLE = Grant(
    ("iam:PassRole",),
    "cfn-role",
    {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}},
)
#: A stack's DMS task (``replication_task_output`` in the stack table): the deploy starts it and
#: waits for its full load, the teardown stops it before deleting the stack.
_DESCRIBE_DMS_TASKS = Grant(("dms:DescribeReplicationTasks",), "any")  # no resource-level scope
_START_DMS_TASKS = Grant(("dms:StartReplicationTask", "dms:StopReplicationTask"), "dms-tasks")
_STOP_DMS_TASKS = Grant(("dms:StopReplicationTask",), "dms-tasks")
#: ... and prepares its target first, with the function the stack made for that
#: (``replication_preparation_output``).
_PREPARE_DMS_TARGETS = Grant(("lambda:InvokeFunction",), "lab-functions")
#: The event-driven handoff (``reslab_lambda.handoff``): the task tokens stored in SSM
#: parameters named after the lab's stacks. SendTaskSuccess/Failure have no resource-level
#: permission in IAM (the task token is the capability): "*" is the only scope AWS accepts.
_ANSWER_WAITS = Grant(("states:SendTaskSuccess", "states:SendTaskFailure"), "any")
_TAKE_TOKENS = Grant(("ssm:GetParameter", "ssm:DeleteParameter"), "await-parameters")
#: The status handoff attaches the backup-check Lambdas to the lab VPC once its stack is complete,
#: the teardown detaches them first (``reslab_lambda.attach``).
_ATTACH_CHECKS = Grant(
    ("lambda:GetFunctionConfiguration", "lambda:UpdateFunctionConfiguration"), "check-functions"
)
#: The teardown waits until no network interface is left in the check group.
_DESCRIBE_INTERFACES = Grant(("ec2:DescribeNetworkInterfaces",), "any")  # not scopable
#: Lambda checks that whoever sets a ``VpcConfig`` may see its subnets, groups and VPC.
_DESCRIBE_VPC_CONFIG = Grant(
    ("ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"), "any"
)
_CHECK_FUNCTIONS_ENVIRONMENT = {
    CFN_ROLE_ENV: "cfn-role",
    INSTALLED_PREFIX_ENV: "stack-prefix",
    CHECK_FUNCTIONS_ENV: "check-functions",
}
#: What ``reslab_lambda.cfn.status_of`` does (stack_status, and the event handoff's Lambdas
#: that answer with it): read the stack, start a DMS task, attach the check Lambdas.
_STATUS_HANDOFF = (
    Grant(_STACKS_READ, "lab-stacks"),
    _DESCRIBE_DMS_TASKS,
    _START_DMS_TASKS,
    _PREPARE_DMS_TARGETS,
    _ATTACH_CHECKS,
    _DESCRIBE_VPC_CONFIG,
    _DESCRIBE_INTERFACES,
)
_deploy_side = partial(
    Function,
    machine="deploy",
    timeout=60,
    task_timeout=120,
    environment={CFN_ROLE_ENV: "cfn-role", INSTALLED_PREFIX_ENV: "stack-prefix"},
)

# -- the restore side: thin wrappers around reslab.restore.steps ----------------------------------
#: What every restore step imports (``reslab.restore.steps`` and its helpers).
RESTORE_STEPS = (
    "reslab/__init__.py",
    "reslab/errors.py",
    "reslab/dburl.py",
    "reslab/restore/__init__.py",
    "reslab/restore/aws.py",
    "reslab/restore/credentials.py",
    "reslab/restore/errors.py",
    "reslab/restore/event.py",
    "reslab/restore/reportstore.py",
    "reslab/restore/steps.py",
    "reslab/restore/target.py",
)
DB_DRIVERS = ("psycopg[binary]>=3.1", "PyMySQL>=1.1")
#: Reading the database credentials the event names: the RDS-managed master secret of the
#: instance (``rds!*``), or a secret or SecureString parameter carrying the workshop tag; the
#: key only through those services.
_WORKSHOP = {"StringEquals": {"aws:ResourceTag/workshop": "${Workshop}"}}
#: The restore check creates snapshots and instances only with the workshop tag on them.
_TAGGED_CREATE = {"StringEquals": {"aws:RequestTag/workshop": "${Workshop}"}}
_SECRETS = (
    Grant(("secretsmanager:GetSecretValue",), "rds-secrets"),
    Grant(("secretsmanager:GetSecretValue",), "secrets", _WORKSHOP),
    Grant(("ssm:GetParameter",), "parameters", _WORKSHOP),
    Grant(
        ("kms:Decrypt",),
        "kms-keys",
        {
            "StringEquals": {
                "kms:ViaService": [
                    "secretsmanager.${AWS::Region}.amazonaws.com",
                    "ssm.${AWS::Region}.amazonaws.com",
                ]
            }
        },
    ),
)
_restore_step = partial(Function, machine="restore", timeout=120)
#: The steps that connect to a database: long timeouts, the lab's VPC, the DB drivers.
_database_step = partial(_restore_step, timeout=900, vpc=True, requirements=DB_DRIVERS)

FUNCTIONS: tuple[Function, ...] = (
    _deploy_side(
        "validate_event",
        environment={
            CFN_ROLE_ENV: "cfn-role",
            INSTALLED_PREFIX_ENV: "stack-prefix",
            DMS_CODE_REGION_ENV: "dms-code-region",
        },
    ),
    _deploy_side(
        "create_stack",
        environment={
            CFN_ROLE_ENV: "cfn-role",
            INSTALLED_PREFIX_ENV: "stack-prefix",
            MANIFEST_ENV: "template-manifest",
            INSTALL_SETTINGS["lab_boundary"]: "lab-boundary",
            INSTALL_SETTINGS["dms_code_bucket"]: "dms-code-bucket",
            INSTALL_SETTINGS["dms_code_key"]: "dms-code-key",
            CHECK_FUNCTIONS_ENV: "check-functions",
        },
        grants=(
            Grant(
                (
                    *_STACKS_READ,
                    "cloudformation:CreateStack",
                    "cloudformation:DeleteStack",
                    "cloudformation:TagResource",
                ),
                "lab-stacks",
            ),
            Grant(("cloudformation:GetTemplateSummary",), "any"),  # not resource-scopable
            # the AZ count for the VPC stack (region_parameters); not resource-scopable
            Grant(("ec2:DescribeAvailabilityZones",), "any"),
            Grant(("s3:GetObject",), "lab-templates"),
            # the installed version's template hashes (the template bucket is not trusted)
            Grant(("s3:GetObject",), "template-manifest"),
            _PASS_CFN_ROLE,
            # a stack found complete: the status handoff may attach the check Lambdas, or
            # prepare a DMS target and start its task
            _ATTACH_CHECKS,
            _DESCRIBE_VPC_CONFIG,
            _DESCRIBE_DMS_TASKS,
            _START_DMS_TASKS,
            _PREPARE_DMS_TARGETS,
        ),
    ),
    _deploy_side(
        "stack_status",
        environment=_CHECK_FUNCTIONS_ENVIRONMENT,
        grants=(*_STATUS_HANDOFF,),
    ),
    _deploy_side(
        "delete_stack",
        grants=(
            Grant(
                (*_STACKS_READ, "cloudformation:DeleteStack", "cloudformation:ListStackResources"),
                "lab-stacks",
            ),
            Grant(
                (
                    "s3:ListBucket",
                    "s3:ListBucketVersions",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ),
                "lab-buckets",
            ),
            # no iam:PassRole: DeleteStack names no RoleARN, CloudFormation uses the stack's own
            # role, which "users who have permissions to operate on this stack" may use without
            # permission to pass it (CloudFormation User Guide, "CloudFormation service role")
            _DESCRIBE_DMS_TASKS,
            _STOP_DMS_TASKS,
            _ATTACH_CHECKS,  # detached before the VPC stack is deleted
            _DESCRIBE_INTERFACES,
        ),
        environment=_CHECK_FUNCTIONS_ENVIRONMENT,
    ),
    _deploy_side(
        "await_stack",
        environment={
            **_CHECK_FUNCTIONS_ENVIRONMENT,
            RULE_ENV: "stack-event-rule",
            FORWARDER_ROLE_ENV: "event-forwarder-role",
        },
        grants=(
            *_STATUS_HANDOFF,  # its look at the stack is the status handoff
            Grant(("ssm:PutParameter", "ssm:AddTagsToResource"), "await-parameters"),
            _TAKE_TOKENS,
            _ANSWER_WAITS,
            # outside the home region: the rule forwarding stack events home (one name)
            Grant(("events:PutRule", "events:PutTargets", "events:TagResource"), "event-rules"),
            Grant(
                ("iam:PassRole",),
                "event-forwarder-role",
                {"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}},
            ),
        ),
    ),
    _deploy_side(
        "stack_event",
        event_target=True,
        environment=_CHECK_FUNCTIONS_ENVIRONMENT,
        grants=(
            *_STATUS_HANDOFF,  # answers with the status handoff, as stack_status does
            _TAKE_TOKENS,
            _ANSWER_WAITS,
        ),
    ),
    _restore_step(
        "backup_prepare",
        grants=(
            Grant(("rds:DescribeDBInstances",), "lab-dbs"),
            Grant(("secretsmanager:DescribeSecret",), "rds-secrets"),
            Grant(("secretsmanager:DescribeSecret",), "secrets", _WORKSHOP),
            Grant(("ssm:DescribeParameters",), "any"),  # no resource-level permission
            Grant(("cloudformation:DescribeStacks",), "lab-stacks"),
        ),
        # the installer stack's own report bucket and Slack parameter, unless the event names them
        environment={variable: key for key, variable in INSTALL_DEFAULTS},
        carries=(*RESTORE_STEPS, "reslab/checks"),
    ),
    _database_step(
        "backup_snapshot",
        grants=(
            Grant(("rds:DescribeDBInstances", "rds:DescribeDBSnapshots"), "lab-dbs"),
            Grant(("rds:DescribeDBSnapshots",), "db-snapshots"),
            # a snapshot named (verify-*) and tagged (workshop) by the run
            Grant(
                ("rds:CreateDBSnapshot", "rds:AddTagsToResource"),
                "snapshot-of-lab-db",
                _TAGGED_CREATE,
            ),
            *_SECRETS,
        ),
        carries=(*RESTORE_STEPS, "reslab/checks"),
    ),
    _restore_step(
        "backup_restore",
        grants=(
            # the temporary copy (named verify-*, tagged workshop), from a snapshot, in the
            # source's option, parameter and subnet groups
            Grant(
                ("rds:RestoreDBInstanceFromDBSnapshot", "rds:AddTagsToResource"),
                "restored-copy",
                _TAGGED_CREATE,
            ),
            # ManageMasterUserPassword on the copy: RDS creates its secret as the caller
            Grant(("secretsmanager:CreateSecret", "secretsmanager:TagResource"), "rds-secrets"),
            Grant(("kms:DescribeKey",), "kms-keys"),
        ),
        carries=RESTORE_STEPS,
    ),
    _restore_step(
        "backup_poll",
        grants=(
            Grant(("rds:DescribeDBInstances",), "lab-dbs"),
            Grant(("rds:DescribeDBSnapshots",), "db-snapshots"),
        ),
        carries=RESTORE_STEPS,
    ),
    _database_step(
        "backup_checks",
        grants=(
            *_SECRETS,
            # expectations and previous fingerprints read, reports written
            Grant(("s3:ListBucket", "s3:GetObject", "s3:PutObject"), "report-buckets"),
        ),
        carries=(*RESTORE_STEPS, "reslab/checks", "reslab/reports"),
    ),
    _restore_step(
        "backup_cleanup",
        grants=(
            Grant(("rds:DescribeDBInstances",), "lab-dbs"),
            # deleting only what the workflow itself named (verify-*) AND tagged temporary
            Grant(
                ("rds:DeleteDBInstance",),
                "verify-dbs",
                {"StringEquals": {f"aws:ResourceTag/{TEMP_TAG}": "true"}},
            ),
            Grant(
                ("rds:DeleteDBSnapshot",),
                "verify-snapshots",
                {"StringEquals": {f"aws:ResourceTag/{TEMP_TAG}": "true"}},
            ),
        ),
        carries=RESTORE_STEPS,
    ),
    _restore_step(
        "backup_notify",
        grants=(
            Grant(("ssm:GetParameter",), "slack-parameter"),
            # or the one an event names (slack_webhook_parameter), if it carries the workshop tag
            Grant(("ssm:GetParameter",), "parameters", _WORKSHOP),
            # the SecureString decrypts with the parameter's key, through SSM only
            Grant(
                ("kms:Decrypt",),
                "kms-keys",
                {"StringEquals": {"kms:ViaService": "ssm.${AWS::Region}.amazonaws.com"}},
            ),
        ),
        carries=(*RESTORE_STEPS, "reslab/slack.py", "reslab/restore/slack_notice.py"),
        requirements=("requests>=2.31",),
    ),
)
#: Functions a lab stack creates (``Function.stack``): packaged like the others, uploaded by the
#: installer where that stack's template reads them (``reslab.installer.stack_code``).
STACK_FUNCTIONS: tuple[Function, ...] = (
    # the DMS target's preparation (dms.yaml TargetPreparationFunction), invoked by the deploy's
    # status handoff before the replication task starts
    Function(
        "dms_target_prep",
        machine="deploy",
        timeout=30,
        stack="dms",
        carries=(
            "webapp/__init__.py",
            "webapp/db.py",
            "webapp/schema",
        ),
        # 1.2 connects with TLS whenever the server offers it (the target requires it)
        requirements=("PyMySQL>=1.2.4",),
    ),
)
BY_FOLDER: Mapping[str, Function] = {f.folder: f for f in (*FUNCTIONS, *STACK_FUNCTIONS)}


def function(folder: str) -> Function:
    try:
        return BY_FOLDER[folder]
    except KeyError:
        raise KeyError(f"no Lambda function {folder!r} in reslab.functions.FUNCTIONS") from None


def stack_functions(stack_key: str) -> tuple[Function, ...]:
    """The functions the lab stack ``stack_key`` creates."""
    return tuple(f for f in STACK_FUNCTIONS if f.stack == stack_key)


def called_by(machine: str) -> tuple[Function, ...]:
    """The functions ``machine``'s machines call, in catalogue order."""
    return tuple(f for f in FUNCTIONS if f.machine == machine and not f.event_target)
