"""Network reachability in the local cloud: AWS's routes, security groups and network ACLs.

* the model -- pure functions of moto's EC2 state: :func:`reach.database_verdict` (can this
  caller open TCP to that database?) and :func:`reach.service_verdict` (can it reach that AWS
  API?), each a :class:`verdict.Verdict` naming the hop that refused;
* the enforcement -- a :class:`gate.Gate` per (caller, destination) on its own loopback
  address that forwards, or drops SYNs so that the client's connect times out as on AWS, and
  freezes open flows when a network ACL denies them (:mod:`switchboard`); callers find their
  gates through per-caller name resolution (:mod:`resolver`, ``site/sitecustomize.py``).

The model, what it leaves out and how the local cloud uses it: docs/network-model.md.
"""
