"""Code shared by every reslab Lambda (copied into each zip by ``reslab.packaging``).

Pure Python plus boto3 (which the Lambda runtime provides). It must never import ``reslab``:
``reslab`` imports *it* (``reslab.event`` re-exports the validation), so there is one source.
"""
