"""The instance's ``systemctl`` (shim ``bin/systemctl``): what bootstrap.sh asks of systemd.

* ``daemon-reload``: nothing (units are read when started);
* ``enable --now UNIT`` / ``start UNIT`` / ``restart UNIT``: ``UNIT``'s ``ExecStart`` from
  ``$BOOT_ROOT/etc/systemd/system/UNIT`` runs in the background (its own session, outliving the
  user data) in ``WorkingDirectory`` with the machine's environment plus ``EnvironmentFile``;
  output to ``$BOOT_ROOT/var/log/UNIT.log`` (the journal), pid in ``$BOOT_ROOT/run/UNIT.pid``
  (the web tier stops the process group). ``0.0.0.0:`` in an argument binds the loopback: the
  instance's only interface. Not emulated: ``User=`` (the local user runs it), ``Restart=``,
  ``AmbientCapabilities=``, ``Wants=``/``After=`` ordering, ``[Install]``.

Anything else exits 1 with the verb named (``systemctl: not emulated here: stop``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

#: What the user data and bootstrap.sh export for themselves; a unit sees only its environment
#: file over the machine's environment, as under systemd.
USER_DATA_PREFIXES = ("WEBAPP_", "BOOT_", "RESLAB_WEBSITE_")


def read_unit(path: Path) -> dict[str, str]:
    """``Key=Value`` lines of a unit file (sections flattened: the shim reads ``[Service]``)."""
    keys: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            keys[key.strip()] = value.strip()
    return keys


def read_environment_file(path: Path) -> dict[str, str]:
    """systemd's ``EnvironmentFile=``: ``KEY=VALUE`` lines, a value in quotes unquoted."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def start(root: Path, unit: str) -> None:
    unit_path = root / "etc" / "systemd" / "system" / unit
    if not unit_path.is_file():
        sys.exit(f"Failed to start {unit}: Unit {unit} not found.")
    keys = read_unit(unit_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(USER_DATA_PREFIXES)}
    if keys.get("EnvironmentFile"):
        env.update(read_environment_file(Path(keys["EnvironmentFile"].lstrip("-"))))
    command = [arg.replace("0.0.0.0:", "127.0.0.1:") for arg in shlex.split(keys["ExecStart"])]
    (root / "var" / "log").mkdir(parents=True, exist_ok=True)
    (root / "run").mkdir(parents=True, exist_ok=True)
    with open(root / "var" / "log" / f"{unit}.log", "ab") as journal:
        process = subprocess.Popen(  # noqa: S603 - the unit bootstrap.sh wrote
            command,
            cwd=keys.get("WorkingDirectory") or "/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=journal,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (root / "run" / f"{unit}.pid").write_text(f"{process.pid}\n")


def main(argv: list[str]) -> None:
    root = Path(os.environ["BOOT_ROOT"])
    words = [w for w in argv if not w.startswith("-")]
    verb, units = (words[0], words[1:]) if words else ("", [])
    if verb == "daemon-reload":
        return
    if verb in ("start", "restart") or (verb == "enable" and "--now" in argv):
        for unit in units:
            start(root, unit)
        return
    if verb == "enable":
        return
    sys.exit(f"systemctl: not emulated here: {' '.join(argv)}")


if __name__ == "__main__":
    main(sys.argv[1:])
