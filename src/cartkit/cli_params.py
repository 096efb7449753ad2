"""Command-line values without pydantic: typer 0.29 coerces every value through a pydantic ``TypeAdapter``
it builds per parameter, so any command paid pydantic's import (about 0.1 s CPU of `cartkit run`'s 3 s;
issue 16, target 1) to turn strings into strings and paths.

``FastGroup`` (the ``cls`` of cartkit's typer apps) gives each parameter of the command it runs (and its
own) that is a plain ``str``, ``Path`` or ``bool`` (no ``parser``) the coercion typer's own adapters
apply to it, without pydantic: a string as it is; ``Path(value)``, then typer's own path checks
(``exists``, ``dir_okay``, ``resolve_path`` ...); a flag's bool as it is. Every other kind (numbers with
their bounds and messages, choices, lists) and any other value keeps typer's coercion. This reaches into typer's private runtime-parameter
layer (``typer._coercion``), so it is used only where that layer is what it was written for; with
another typer (older ones coerce through click's own types, without pydantic) the group does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.core import TyperGroup

try:  # typer 0.29's runtime-parameter layer
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - another typer: its own coercion
    RuntimeParam = None


if RuntimeParam is not None:
    @dataclass(frozen=True)
    class _LightParam(RuntimeParam):
        """typer's coercion of a str, Path or bool value, without pydantic where it adds nothing.

        str: typer's ``_adapters._parse_cli_str`` (``str(value)``) without the pydantic str check it ends
        in; Path: the value as the path type (pydantic's ``Path(value)``), then typer's path checks; bool:
        a bool as it is. Anything else (bytes, a bool flag given as text) goes to typer's own coercion.
        """

        kind: str
        path_type: type | None = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.kind == "str" and isinstance(value, str):
                return value
            if self.kind == "path" and isinstance(value, str | self.path_type):
                value = value if isinstance(value, self.path_type) else self.path_type(value)
                return coerce_cli_path(value, self.parameter_info, path_type=self.path_type, param=param, ctx=ctx)
            if self.kind == "bool" and isinstance(value, bool):
                return value
            return build_runtime_param(param.type_descriptor)._coerce_value(value, param=param, ctx=ctx)


def _light(param: Any) -> Any | None:
    """The pydantic-free runtime parameter of ``param`` when it is a plain str, Path or bool, else None."""
    descriptor = getattr(param, "type_descriptor", None)
    info = getattr(descriptor, "parameter_info", None)
    if info is None or getattr(info, "parser", None) is not None or descriptor.file_annotation is not None:
        return None
    annotation = descriptor.annotation
    if annotation is str or annotation is bool:
        return _LightParam(parameter_info=info, annotation=annotation, kind=annotation.__name__)
    if isinstance(annotation, type) and issubclass(annotation, Path):
        path_type = info.path_type or annotation
        if isinstance(path_type, type) and issubclass(path_type, Path):
            return _LightParam(parameter_info=info, annotation=annotation, kind="path", path_type=path_type)
    return None


def use_light_params(command: Any, ctx: Any) -> None:
    """Give the str, Path and bool parameters of ``command`` (its --help option included, which typer makes
    on demand) their pydantic-free coercion, before it parses its arguments."""
    if RuntimeParam is None:
        return
    for param in command.get_params(ctx):
        if isinstance(param, _TyperParameter) and getattr(param, "_runtime_param", "absent") is None:
            light = _light(param)
            if light is not None:
                param._runtime_param = light


class FastGroup(TyperGroup):
    """A typer group whose own options and commands coerce str, Path and bool values without pydantic
    (module docstring)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        use_light_params(self, ctx)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            use_light_params(command, ctx)
        return name, command, rest
