"""Web instances that run their launch template's user data (gap 53 of docs/local-cloud.md).

* :mod:`.instance`: one instance: the rendered user data under bash with the shims, its console
  log, its health; :func:`.instance.instance_environment` builds every instance process's
  environment;
* :mod:`.imds`: the instance metadata service (IMDSv2) on the loopback;
* :mod:`.credentials`: the instance profile's role session it serves (gap 41);
* :mod:`.systemctl` and ``bin/``: the shims for what an AL2023 host provides and a laptop must
  not be asked for: ``dnf`` (nothing installed: the venv is the instance's Python),
  ``systemctl`` (a unit's ExecStart in the background), ``useradd`` (recorded under the
  instance's root), ``sleep`` (the local cloud's time scale).

Imports stay light: the ``systemctl`` shim runs ``python -m reslab.localcloud.userdata.systemctl``.
"""
