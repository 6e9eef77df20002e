"""CloudFormation in moto 5.2.5 vs AWS: one module per gap family (docs/local-cloud.md).

* ``stack_lifecycle``: failed creates roll back, failed deletes stay ``DELETE_FAILED``, the
  ``time_scale`` hold, and the hooks other layers run on a stack (the web tier);
* ``get_azs``: ``Fn::GetAZs ""`` gives the stack's region's zones;
* ``condition_tag``: the YAML ``!Condition`` short form inside ``Fn::And``/``Or``/``Not``;
* ``resource_model``: the base class of the resource types added here, and their registration;
* ``missing_types``, ``scheduler_types``: resource types moto lacks (real or placeholders);
* ``resource_deleters``: what a stack delete must remove that moto keeps;
* ``property_shapes``: properties moto reads in the wrong shape (KMS, SSM, Lambda tags);
* ``stack_updates``: updates and change sets (``aws cloudformation deploy``);
* ``template_url``: ``TemplateURL`` on a loopback IP.

Each module exposes an idempotent ``install()``; ``reslab.localcloud.compat.PATCHES`` orders them.
"""
