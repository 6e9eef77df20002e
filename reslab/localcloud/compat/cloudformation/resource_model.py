"""The base of the CloudFormation resource types moto 5.2.5 lacks, and their registration.

moto builds a stack's resources from ``parsing.get_model_map()`` (type -> model class) and skips
a type it does not know, silently. :func:`register` adds ours to that map; moto's own model wins
where one exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moto.core.common_models import CloudFormationModel

_registered: dict[str, type[CloudFormationModel]] = {}
_map_patched = False


class Model(CloudFormationModel):
    """Common plumbing: moto's create hook calls ``from_properties``; physical id, update as
    delete + create, delete through ``_remove``."""

    CFN_TYPE = ""

    def __init__(self, physical_id: str, account_id: str, region: str, **extra: Any) -> None:
        self.physical_resource_id = physical_id
        self.account_id = account_id
        self.region = region
        self.extra = extra

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def cloudformation_type(cls) -> str:  # type: ignore[override]
        return cls.CFN_TYPE

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.extra:
            return self.extra[attribute_name]
        return self.physical_resource_id

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc, override]
        cls,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Model:
        properties = cloudformation_json.get("Properties") or {}
        return cls.from_properties(resource_name, properties, account_id, region_name)

    @classmethod
    def from_properties(
        cls, resource_name: str, p: dict[str, Any], account_id: str, region_name: str
    ) -> Model:
        """Create the resource from its (resolved) ``Properties``; each type implements it."""
        raise NotImplementedError(cls.CFN_TYPE)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc, override]
        cls,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc, override]
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        return None

    def delete(self, account_id: str, region_name: str) -> None:
        self._remove()

    def _remove(self) -> None:
        return None

    def is_created(self) -> bool:
        return True


def register(models: Iterable[type[Model]]) -> None:
    """Add ``models`` (by their ``CFN_TYPE``) to moto's type -> model map (idempotent)."""
    global _map_patched
    _registered.update({model.CFN_TYPE: model for model in models})
    if _map_patched:
        return
    from moto.cloudformation import parsing

    moto_map = parsing.get_model_map

    def get_model_map() -> dict[str, type[CloudFormationModel]]:
        return {**_registered, **moto_map()}

    parsing.get_model_map = get_model_map  # type: ignore[assignment]
    _map_patched = True
