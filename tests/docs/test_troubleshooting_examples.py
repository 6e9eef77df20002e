"""docs/troubleshooting.md's examples run as printed: every fenced block is run here, in page
order except that the deploy comes first (the other examples look at a lab), in one working
directory that looks like the repository root (``.venv`` and ``lambdas``
linked) with a running local cloud (``.reslab/local.json``, as ``reslab local up`` leaves it)
and the environment its ``export`` lines give."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reslab import REPO_ROOT
from reslab.event import local_event
from reslab.localcloud.state import write_state

PAGE = (REPO_ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```$", PAGE, flags=re.S | re.M)
#: The Python block after a bash line ending in ``python -i -c ...`` is that session's input.
INTERACTIVE = re.compile(r"python -i -c '[^']*'\s*$")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    from reslab.localcloud import LocalCloud

    work = tmp_path_factory.mktemp("troubleshooting")
    for name in (".venv", "lambdas"):
        (work / name).symlink_to(REPO_ROOT / name)
    (work / "event.json").write_text(json.dumps(local_event("reslab")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RESLAB_"))}
    with LocalCloud() as cloud:
        write_state(cloud.endpoint_url, work)
        env.update(  # what `reslab local up` tells to export
            AWS_ENDPOINT_URL=cloud.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        yield work, env


def run(command: list[str], work: Path, env: dict[str, str], stdin: str = "") -> Any:
    done = subprocess.run(
        command, cwd=work, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def test_every_example_runs_as_printed(workdir: tuple[Path, dict[str, str]]) -> None:
    work, env = workdir
    assert len(BLOCKS) >= 6
    outputs = []
    pending_session: str | None = None
    ordered = sorted(BLOCKS, key=lambda block: not block[1].startswith(".venv/bin/reslab deploy"))
    for lang, text in ordered:
        if lang == "bash" and INTERACTIVE.search(text.strip()):
            pending_session = text  # runs with the next (Python) block as its input
            continue
        if lang == "python" and pending_session is not None:
            done = run(["bash", "-e", "-c", pending_session], work, env, stdin=text)
            pending_session = None
        elif lang == "bash":
            done = run(["bash", "-e", "-c", text], work, env)
        elif lang == "python":
            done = run([str(REPO_ROOT / ".venv/bin/python"), "-c", text], work, env)
        else:
            pytest.fail(f"a {lang} block: teach this test to run it")
        outputs.append(done.stdout)
    assert pending_session is None, "an interactive session without its Python block"
    text = "\n".join(outputs)
    assert "valid" in text  # the event check
    assert "Validate event" in text and "Verify backups" in text  # the execution's states
    assert "ResiliencyDatabase" in text and "CREATE_COMPLETE" in text  # stack events, Lambda
