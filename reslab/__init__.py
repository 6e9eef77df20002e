"""reslab: a resiliency-testing lab on AWS, and on a laptop through an embedded local cloud."""

from pathlib import Path

__version__ = "0.1.0"

#: Root of the source checkout (templates, ASL, Lambdas and the web app live beside the package).
REPO_ROOT = Path(__file__).resolve().parent.parent
