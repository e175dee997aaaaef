"""A griffe extension for the API reference: the docstrings' Sphinx roles as cross-references.

The docstrings of swirl_wm name other objects the Sphinx way (``:func:`~swirl_wm.records.original_state```,
``:mod:`.stages```); mkdocstrings renders Markdown and would print the role literally. This extension rewrites
each role, before the docstring is parsed, into an *optional* mkdocs-autorefs reference: a link when the
target is rendered somewhere in the reference, plain code when it is not (TRL, torch, a private helper), so
that ``mkdocs build --strict`` never fails on a target the reference does not show.

Targets are resolved as Sphinx resolves them, simplified: a dotted path starting with ``swirl_wm`` is
absolute; ``.name`` is relative to the package of the object's module; any other name is looked up in the
enclosing classes and module of the object (``Layout`` in ``swirl_wm.run_folder``, ``fwm_completion`` in
``PromptFormat``). ``~`` shows the last part of the path only.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|mod|meth|data|attr|exc|obj):`(?P<tilde>~?)(?P<target>[^`]+)`")


def _module_of(obj: griffe.Object) -> griffe.Object:
    return obj if obj.is_module else obj.module


def _identifier(target: str, obj: griffe.Object) -> str:
    module = _module_of(obj)
    if target.startswith("swirl_wm"):
        return target
    if target.startswith("."):
        package = module.path if module.is_init_module else module.path.rsplit(".", 1)[0]
        return f"{package}.{target.lstrip('.')}"
    head, _, rest = target.partition(".")
    scope: griffe.Object | None = obj
    while scope is not None:  # the innermost enclosing class or module that has it as a member
        if not scope.is_function and head in scope.members:
            member = scope.members[head]  # an imported name points to where it is defined
            path = member.target_path if member.is_alias else member.path
            return f"{path}.{rest}" if rest else path
        scope = scope.parent
    return f"{module.path}.{target}"


def _title(target: str, tilde: str) -> str:
    shown = target.lstrip(".")
    return shown.rsplit(".", 1)[-1] if tilde else shown


def rewrite(text: str, obj: griffe.Object) -> str:
    """``text`` with every Sphinx role replaced by an optional autorefs reference to its target."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"].strip()
        identifier = html.escape(_identifier(target, obj), quote=True)
        title = html.escape(_title(target, match["tilde"]))
        return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'

    return ROLE.sub(replace, text)


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = rewrite(obj.docstring.value, obj)
