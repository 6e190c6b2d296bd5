"""aiogram, imported so that its Telegram types are built when first used, not all at import.

aiogram declares ~450 pydantic models (every Telegram type and method) with pydantic's
`defer_build`, and then, at the end of `aiogram.types`, rebuilds every one of them to resolve
their forward references. That builds all their validators: ~100 MB of memory and ~4 s of CPU
at start-up, for the twenty-odd types the bot ever reads. Here, during that import, the closing
rebuild only hands each type the namespace it would have been built with (pydantic's
`__pydantic_parent_namespace__`); pydantic then builds it, with that namespace, the first time
it is used. The same namespace goes to the methods and the other models aiogram leaves
unfinished, and to the `Response[...]` classes aiogram makes as it goes.

Import this module before anything else imports aiogram (`aiogram_door` does, and builds the
answer types of the methods it calls with `build_now` at start-up). If aiogram was imported
already, or the installed versions no longer fit this, aiogram is left as it is, or built whole
at start-up: that costs memory but works the same. One limit: a pydantic `TypeAdapter` that an
aiogram module builds at its import over these types (`aiogram.utils.chat_member`) does not see
their namespace and fails when used; the bot uses none.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel

log = logging.getLogger(__name__)

_NAMESPACE: dict[str, Any] = {}


def _import_aiogram() -> None:
    if "aiogram" in sys.modules:
        return
    original = BaseModel.model_rebuild.__func__  # type: ignore[attr-defined]

    def deferred(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: dict[str, Any] | None = None,
    ) -> bool | None:
        if _types_namespace is not None and not force and cls.__module__.startswith("aiogram."):
            cls.__pydantic_parent_namespace__ = _types_namespace  # one dict, shared by all
            return None
        return original(  # type: ignore[no-any-return]
            cls,
            force=force,
            raise_errors=raise_errors,
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )

    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[assignment, method-assign]
    try:
        import aiogram
        import aiogram.methods
        import aiogram.types
    finally:
        BaseModel.model_rebuild = classmethod(original)  # type: ignore[assignment, method-assign]

    from aiogram.client.default import Default

    _NAMESPACE.update({name: getattr(aiogram.types, name) for name in aiogram.types.__all__})
    _NAMESPACE.update(List=list, Optional=Optional, Union=Union, Literal=Literal, Default=Default)
    for model in _unfinished_aiogram_models():
        model.__pydantic_parent_namespace__ = _NAMESPACE
    # Every answer is read as `Response[<result type>]`, a class made on a method's first call;
    # it inherits this namespace to build the result type with.
    aiogram.methods.Response.__pydantic_parent_namespace__ = _NAMESPACE
    build_now([aiogram.types.Update])  # every update is read through it


def build_now(models: list[Any]) -> None:
    """Builds these aiogram models at once (at start-up, not during a live call). Should one fail,
    every unfinished aiogram model is built the way aiogram would have, and these again."""
    try:
        for model in models:
            model.model_rebuild(raise_errors=True)
    except Exception:
        log.warning("aiogram's types could not be built lazily; building them all now", exc_info=True)
        for model in _unfinished_aiogram_models():
            model.model_rebuild(_types_namespace=_NAMESPACE)
        for model in models:
            model.model_rebuild(force=True, _types_namespace=_NAMESPACE)


def _unfinished_aiogram_models() -> list[type[BaseModel]]:
    found, seen, todo = [], set(), list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        todo.extend(model.__subclasses__())
        if model.__module__.startswith("aiogram.") and not model.__pydantic_complete__:
            found.append(model)
    return found


_import_aiogram()
