"""The pure parts of the installer-stack compat patches (the stacks themselves are exercised by
tests/deploy/test_install_stack.py and the AWS CLI run in tests/fleet/test_lifecycle.py)."""

from __future__ import annotations

from reslab.localcloud.compat.cloudformation.stack_updates import sub_references
from reslab.localcloud.compat.cloudformation.template_url import as_localhost


def test_sub_variables_count_as_references() -> None:
    resource = {
        "Properties": {
            "Code": {"S3Key": {"Fn::Sub": "${ArtifactPrefix}create_stack.zip"}},
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Other": [{"Fn::Sub": ["${A}-${Bucket.Arn}", {"A": {"Fn::Sub": "${Workshop}"}}]}],
        }
    }
    assert set(sub_references(resource)) == {"ArtifactPrefix", "A", "Bucket", "Workshop"}


def test_loopback_template_urls_become_localhost_and_others_stay() -> None:
    assert (
        as_localhost("http://127.0.0.1:4566/b/k.template") == "http://localhost:4566/b/k.template"
    )
    aws = "https://b.s3.us-east-2.amazonaws.com/reslab/x/installer.yaml"
    assert as_localhost(aws) == aws
