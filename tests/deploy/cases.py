"""Malformed events: (case id, change to a valid event, key the error must name first)."""

from __future__ import annotations

from typing import Any

DROP = object()
PRIMARY = object()  # the valid event's region_name

#: change: {key: new value, DROP to remove the key, or PRIMARY for the event's region_name}.
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("missing-log_level", {"log_level": DROP}, "log_level"),
    ("bad-log_level", {"log_level": "LOUD"}, "log_level"),
    ("missing-region", {"region_name": DROP}, "region_name"),
    ("unknown-region", {"region_name": "us-east-9"}, "region_name"),
    ("region-not-a-string", {"region_name": 2}, "region_name"),
    ("secondary-equals-primary", {"secondary_region_name": PRIMARY}, "secondary_region_name"),
    ("unknown-secondary", {"secondary_region_name": "mars-north-1"}, "secondary_region_name"),
    ("missing-workshop", {"workshop": DROP}, "workshop"),
    ("workshop-with-hash", {"workshop": "lab #1"}, "workshop"),
    ("workshop-with-quote", {"workshop": "bob's lab"}, "workshop"),
    ("workshop-too-long", {"workshop": "w" * 257}, "workshop"),
    ("workshop-empty", {"workshop": " "}, "workshop"),
    ("workshop-a-list", {"workshop": ["a"]}, "workshop"),
    ("missing-cfn_region", {"cfn_region": DROP}, "cfn_region"),
    ("unknown-cfn_region", {"cfn_region": "eu-central-9"}, "cfn_region"),
    ("missing-cfn_bucket", {"cfn_bucket": DROP}, "cfn_bucket"),
    ("cfn_bucket-uppercase", {"cfn_bucket": "My_Bucket"}, "cfn_bucket"),
    ("folder-no-slash", {"folder": "cloudformation"}, "folder"),
    ("folder-absolute", {"folder": "/cloudformation/"}, "folder"),
    ("missing-boot_bucket", {"boot_bucket": DROP}, "boot_bucket"),
    ("boot_prefix-a-number", {"boot_prefix": 7}, "boot_prefix"),
    ("missing-boot_object", {"boot_object": DROP}, "boot_object"),
    ("websiteimage-not-url", {"websiteimage": "ftp://x/y.png"}, "websiteimage"),
    ("mistyped-key", {"regoin_name": "us-east-2"}, "regoin_name"),
    ("engine-unknown", {"engine": "oracle"}, "engine"),
    ("webapp_mode-unknown", {"webapp_mode": "sturdy"}, "webapp_mode"),
    ("poll_seconds-bool", {"poll_seconds": True}, "poll_seconds"),
    ("poll_seconds-zero", {"poll_seconds": 0}, "poll_seconds"),
    ("stack_prefix-bad", {"stack_prefix": "9lives"}, "stack_prefix"),
    # issue 12: values the validator accepted and the templates (or AWS) refused
    ("websiteimage-with-quote", {"websiteimage": "https://x.example/a'b.png"}, "websiteimage"),
    ("websiteimage-with-space", {"websiteimage": "https://x.example/a b.png"}, "websiteimage"),
    ("stack_prefix-newline", {"stack_prefix": "Resiliency\n"}, "stack_prefix"),
    ("stack_prefix-too-long", {"stack_prefix": "R" * 41}, "stack_prefix"),
    ("workshop-newline", {"workshop": "lab\n"}, "workshop"),
    ("boot_object-too-long", {"boot_object": "b" * 256}, "boot_object"),
    ("boot_object-with-slash", {"boot_object": "../bootstrap.sh"}, "boot_object"),
    ("boot_object-with-quote", {"boot_object": "boot'strap.sh"}, "boot_object"),
    ("boot_object-the-bundle", {"boot_object": "webapp.tar.gz"}, "boot_object"),
    ("boot_prefix-with-space", {"boot_prefix": "my lab/"}, "boot_prefix"),
    ("folder-with-star", {"folder": "*/"}, "folder"),
    ("log_level-lower-case", {"log_level": "debug"}, "log_level"),
]

#: The mutated events of issue 12's text (each passed the validator and failed late, or with a
#: traceback), sent on each lab shape below: engine x one or two regions. The text's 5 MB
#: boot_object is over Step Functions' 256 KiB input limit: refused by StartExecution (gap 75).
ISSUE_12_MUTATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("websiteimage-with-quote", {"websiteimage": "https://x.example/a'b.png"}, "websiteimage"),
    ("stack_prefix-newline", {"stack_prefix": "Resiliency\n"}, "stack_prefix"),
    ("boot_object-100-kB", {"boot_object": "b" * 100_000}, "boot_object"),
]
TOO_LARGE_FOR_STEP_FUNCTIONS: dict[str, Any] = {"boot_object": "b" * 5_000_000}
LAB_SHAPES: dict[str, dict[str, Any]] = {
    "postgres-one-region": {"engine": "postgres", "secondary_region_name": DROP},
    "postgres-two-regions": {"engine": "postgres"},
    "mysql-one-region": {"engine": "mysql", "secondary_region_name": DROP},
    "mysql-two-regions": {"engine": "mysql"},
}


def malformed(valid: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    event = dict(valid)
    for key, value in change.items():
        if value is DROP:
            event.pop(key, None)
        elif value is PRIMARY:
            event[key] = valid["region_name"]
        else:
            event[key] = value
    return event
