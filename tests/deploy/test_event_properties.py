"""Generated events (issue 12): every event the validator accepts passes every template's parameter
constraints (checked by the local cloud's own CloudFormation checker, gap 11b); every event it
refuses is an ``InvalidEvent`` naming a key, refused by the deploy machine's first state with
nothing created; the CLI prints one ``InvalidEvent: ...`` line, no traceback, for a bad event or
a bad event file.

Events are drawn from the event table (``EVENT_KEYS``): each key's value from its constraint
(``from_regex`` of the pattern, the allowed values, the region table), now and then mutated (a
trailing newline, a quote, a wrong type, a long or arbitrary string), keys dropped or mistyped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reslab import execution
from reslab.errors import InvalidEvent
from reslab.event import EVENT_KEYS, KEYS_BY_NAME, validate_event
from reslab.installer.install import stack_parameters as installer_parameters
from reslab.localcloud.compat.cloudformation.parameter_constraints import (
    parameter_problem,
    template_problem,
)
from reslab.templates import load_template
from reslab_lambda.cfn import resolve_parameters
from reslab_lambda.event import MAX_TAG_VALUE, TAG_PUNCTUATION
from reslab_lambda.keys import Key
from reslab_lambda.regions import AWS_REGIONS
from reslab_lambda.stacks import stack_table
from tests.deploy.conftest import REGIONS, Lab, new_lab
from tests.templates.contract import SAMPLE_EVENT as BUILDERS_GUIDE_EVENT

REGION_KEYS = ("region_name", "secondary_region_name", "cfn_region")


def good_value(key: Key) -> st.SearchStrategy[Any]:
    """A value the key's table row allows (its own check may still refuse it)."""
    if key.name in REGION_KEYS:
        return st.sampled_from(sorted(AWS_REGIONS))
    if bool in key.type_tuple:
        return st.booleans()
    if key.name == "poll_seconds":
        return st.integers(1, 60)
    if key.name == "poll_max_seconds":
        return st.integers(60, 3600)
    if key.name == "await_seconds":  # a lost event's fallback: any bound deploys
        return st.integers(1, 3600)
    constraint = key.constraint
    assert constraint is not None, key.name
    if constraint.allowed:
        return st.sampled_from(constraint.allowed)
    assert constraint.pattern is not None, key.name
    low, high = constraint.min_length or 0, constraint.max_length or 10_000
    from_table = st.from_regex(constraint.pattern, fullmatch=True).filter(
        lambda v: low <= len(v) <= high
    )
    if key.name in ("cfn_bucket", "boot_bucket"):  # mostly past the bucket rules beyond the table
        return from_table.filter(lambda v: key.check is None or key.check(v, {}) is None)
    if key.name != "workshop":
        return from_table
    # The pattern leaves Unicode categories to the validator: mostly draw what tags allow.
    tag_chars = st.characters(categories=["L", "N", "Zs"]) | st.sampled_from(TAG_PUNCTUATION)
    tag_value = st.text(tag_chars, min_size=1, max_size=MAX_TAG_VALUE)
    return st.one_of(tag_value, tag_value, from_table)


GOOD = {key.name: good_value(key) for key in EVENT_KEYS}


@cache
def bad_value(key: Key, long: int) -> st.SearchStrategy[Any]:
    """A value that is probably wrong for the key (a mutation of a good one, or anything)."""
    good = GOOD[key.name]
    return st.one_of(
        good.map(lambda v: f"{v}\n" if isinstance(v, str) else str(v)),
        good.map(lambda v: f"{v}'" if isinstance(v, str) else -1),
        good.map(lambda v: f" {v}" if isinstance(v, str) else True),
        st.text(max_size=12),
        st.just("x" * long),
        st.none(),
        st.integers(-5, 5000),
        st.lists(st.text(max_size=3), max_size=2),
    )


def typo(name: str) -> st.SearchStrategy[str]:
    """``name`` with one character dropped, doubled or swapped with the next."""

    def change(i: int, how: int) -> str:
        i %= len(name)
        if how == 0:
            return name[:i] + name[i + 1 :]
        if how == 1:
            return name[:i] + name[i] + name[i:]
        return name[:i] + name[i + 1 : i + 2] + name[i] + name[i + 2 :]

    return st.builds(change, st.integers(0, 40), st.integers(0, 2)).filter(
        lambda t: t not in KEYS_BY_NAME
    )


TYPOS = {name: typo(name) for name in KEYS_BY_NAME}


@st.composite
def events(draw: st.DrawFn, long: int = 5000) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for key in EVENT_KEYS:
        if not key.required and draw(st.booleans()):
            continue
        # (not 0: Hypothesis draws the simplest integer, 0, far more often than 1 in n)
        if key.required and draw(st.integers(0, 39)) == 13:
            continue  # a required key missing
        mutate = draw(st.integers(0, 19)) == 13
        event[key.name] = draw(bad_value(key, long) if mutate else GOOD[key.name])
    if draw(st.integers(0, 9)) == 7:
        event[draw(TYPOS[draw(st.sampled_from(sorted(KEYS_BY_NAME)))])] = "x"
    return event


@cache
def _template(name: str) -> dict[str, Any]:
    return load_template(name)


def template_refusals(event: dict[str, Any]) -> list[str]:
    """What CloudFormation (the local cloud's checker) says about the parameters ``event``
    fills: every lab stack's, and the installer stack's."""
    problems = []
    for spec in stack_table():
        filled = resolve_parameters(spec, _template(spec.template)["Parameters"], event, {})
        values = {p: v for p, v in filled.items() if p in spec.event_parameters}
        problems.append(template_problem(_template(spec.template), values))
    installer = installer_parameters(event, "artifact-bucket", "reslab/0123abcd/")
    problems.append(template_problem(_template("installer.yaml"), installer))
    return [p for p in problems if p]


@settings(max_examples=120, deadline=None)
@given(events())
def test_accepted_events_pass_the_templates_and_refused_ones_name_a_key(
    raw: dict[str, Any],
) -> None:
    try:
        event = validate_event(raw)
    except InvalidEvent as exc:
        message = str(exc)
        first = message.split(": ", 1)[0]
        assert first in {name[:60] for name in raw} | set(KEYS_BY_NAME), message
        assert len(message) < 400 * (len(raw) + 1)  # no value is printed whole
        return
    assert template_refusals(event) == []


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([k for k in EVENT_KEYS if k.constraint and k.constraint.pattern]), st.data())
def test_a_trailing_newline_is_refused_by_the_validator_and_by_cloudformation(
    key: Key, data: st.DataObject
) -> None:
    value = data.draw(GOOD[key.name]) + "\n"
    assert key.constraint is not None
    assert key.constraint.problem(value)
    definition = {"Type": "String", **key.constraint.template_fields()}
    assert parameter_problem("P", definition, value)


def test_the_generator_reaches_both_outcomes() -> None:
    """The strategy is not degenerate: it yields accepted and refused events."""
    outcomes: set[bool] = set()

    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(events())
    def sample(raw: dict[str, Any]) -> None:
        try:
            validate_event(raw)
            outcomes.add(True)
        except InvalidEvent:
            outcomes.add(False)

    sample()
    assert outcomes == {True, False}


# -- the deploy machine: refused before anything is created ---------------------------------------


@pytest.fixture(scope="module")
def lab(cloud: Any) -> Lab:
    return new_lab(cloud, stubs=True)


def _stacks(lab: Lab) -> set[tuple[str, str]]:
    found = set()
    for region in REGIONS:
        pages = lab.client("cloudformation", region).get_paginator("list_stacks").paginate()
        found |= {
            (s["StackId"], s["StackStatus"]) for page in pages for s in page["StackSummaries"]
        }
    return found


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(st.data())
def test_the_machine_refuses_what_the_validator_refuses_creating_nothing(
    lab: Lab, data: st.DataObject
) -> None:
    key = data.draw(st.sampled_from(EVENT_KEYS))
    raw = {**lab.event, key.name: data.draw(bad_value(key, 300))}
    try:
        validate_event(raw)
        accepted = True
    except InvalidEvent:
        accepted = False
    assume(not accepted)
    stacks, buckets = _stacks(lab), lab.buckets()
    sfn = lab.client("stepfunctions")
    arn = execution.start(sfn, lab.installation.machines["deploy"], raw, "bad")
    outcome = execution.wait(sfn, arn)
    assert (outcome.status, outcome.error) == ("FAILED", "InvalidEvent")
    assert outcome.cause.split(": ", 1)[0] in set(raw) | set(KEYS_BY_NAME)
    assert execution.entered_states(sfn, arn) == ["Validate event", "Invalid event"]
    assert (_stacks(lab), lab.buckets()) == (stacks, buckets)


# -- the CLI: one InvalidEvent line, no traceback, nothing started -------------------------------


def _bad_files(tmp: Path) -> dict[str, Path]:
    files = {}

    def write(name: str, data: bytes | str) -> None:
        path = tmp / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        files[name] = path

    write("bad-event.json", json.dumps({**BUILDERS_GUIDE_EVENT, "websiteimage": "https://x/'"}))
    write("newline-prefix.json", json.dumps({**BUILDERS_GUIDE_EVENT, "stack_prefix": "R\n"}))
    write(
        "five-mb-boot-object.json",
        json.dumps({**BUILDERS_GUIDE_EVENT, "boot_object": "b" * 5_000_000}),
    )
    write("mistyped-key.json", json.dumps({**BUILDERS_GUIDE_EVENT, "regin_name": "us-east-2"}))
    write("malformed.json", '{"log_level": "INFO",')
    write("not-an-object.json", "[1, 2]")
    write("not-utf8.json", b'{"workshop": "\xff"}')
    write("too-deep.json", "[" * 100_000 + "]" * 100_000)
    files["missing.json"] = tmp / "missing.json"
    (tmp / "a-directory.json").mkdir()
    files["unreadable.json"] = tmp / "a-directory.json"  # root reads any file: a directory fails
    return files


CLI_CASES = {
    "bad-event.json": "InvalidEvent: websiteimage: ",
    "newline-prefix.json": "InvalidEvent: stack_prefix: ",
    "five-mb-boot-object.json": "InvalidEvent: boot_object: is 5000000 characters long",
    "mistyped-key.json": "InvalidEvent: regin_name: unknown key; did you mean region_name?",
    "malformed.json": "InvalidEvent: event: ",
    "not-an-object.json": "InvalidEvent: event: ",
    "not-utf8.json": "InvalidEvent: event: ",
    "too-deep.json": "InvalidEvent: event: ",
    "missing.json": "InvalidEvent: event: cannot read ",
    "unreadable.json": "InvalidEvent: event: cannot read ",
}


@pytest.mark.parametrize(("case", "first_words"), sorted(CLI_CASES.items()))
def test_the_cli_prints_one_invalid_event_line(tmp_path: Path, case: str, first_words: str) -> None:
    path = _bad_files(tmp_path)[case]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-m", "reslab", "deploy", "--local", "--event", str(path)],
        cwd=tmp_path,  # no .reslab/local.json: a local cloud would start if validation came late
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in lines if line.startswith("InvalidEvent")] == lines[-1:]
    assert lines[-1].startswith(first_words)
    assert len(lines[-1]) < 1000
    assert "local cloud at" not in result.stderr and not (tmp_path / ".reslab").exists()
