"""The template bucket is a trust boundary: in the local cloud, the deploy machine creates stacks
only from templates whose SHA-256 matches the installed version's manifest."""

from __future__ import annotations

from typing import Any

from reslab import packaging
from reslab.installer.install import ARTIFACT_ROOT
from reslab_lambda.cfn import MANIFEST_ENV
from reslab_lambda.stacks import deploy_levels
from tests.deploy.conftest import new_lab


def test_a_swapped_template_fails_the_deploy_named_before_any_stack_exists(cloud: Any) -> None:
    lab = new_lab(cloud, stubs=False)
    event = lab.event
    # the create_stack Lambda reads the installed version's manifest: the repository's templates
    config = lab.client("lambda", event["region_name"]).get_function_configuration(
        FunctionName=lab.installation.functions["create_stack"]
    )
    url = config["Environment"]["Variables"][MANIFEST_ENV]
    bucket, _, key = url.removeprefix("s3://").partition("/")
    assert key.startswith(ARTIFACT_ROOT) and key.endswith(packaging.TEMPLATE_MANIFEST)
    body = lab.client("s3", event["region_name"]).get_object(Bucket=bucket, Key=key)["Body"]
    assert body.read() == packaging.template_manifest()
    # someone with write access to the template bucket swaps the first level's templates
    cfn_s3 = lab.client("s3", event["cfn_region"])
    for spec in deploy_levels()[0]:
        key = f"{event['folder']}{spec.template_file}"
        body = cfn_s3.get_object(Bucket=event["cfn_bucket"], Key=key)["Body"].read()
        cfn_s3.put_object(Bucket=event["cfn_bucket"], Key=key, Body=body + b"\n# swapped\n")
    outcome = lab.run("deploy")
    assert (outcome.status, outcome.error) == ("FAILED", "TemplateTampered"), outcome.cause
    assert "the installed version's" in (outcome.cause or "")
    assert lab.stacks() == {}
