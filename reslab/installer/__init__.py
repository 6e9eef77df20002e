"""The installer stack (cloudformation/installer.yaml): everything ``reslab install`` puts in an
account -- roles, Lambdas, the three state machines, the report bucket, the backup schedule.

* :mod:`reslab.installer.template` generates the template from the code's tables;
* :mod:`reslab.installer.install` uploads the artifacts and creates or updates the stack.
"""
