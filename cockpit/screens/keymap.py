"""The `[keymap]` section of the config: binding ids -> keys, checked before the app starts.

Every binding of the cockpit has an id (`Binding(..., id=...)`); Textual's keymap
(`App.set_keymap`) puts the configured key in place of the default one. An unknown id or an
empty key is a configuration error (one clear line, exit 2), not a silently dead key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType
from textual.dom import DOMNode


def bindings_of(classes: Iterable[type[DOMNode]]) -> list[Binding]:
    """The `Binding`s declared by our `classes` or our base classes (not Textual's own)."""
    found: list[Binding] = []
    for cls in classes:
        for klass in cls.__mro__:
            if not klass.__module__.startswith(("cockpit.", "widgets.")):
                continue
            declared: list[BindingType] = list(klass.__dict__.get("BINDINGS", []))
            found.extend(b for b in declared if isinstance(b, Binding))
    return found


def binding_ids(classes: Iterable[type[DOMNode]]) -> set[str]:
    return {b.id for b in bindings_of(classes) if b.id}


def check_keymap(keymap: Mapping[str, str], known: set[str]) -> dict[str, str]:
    """`keymap` as Textual takes it, or ValueError naming the first bad entry."""
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            raise ValueError(
                f"[keymap] {binding_id!r} is not a binding id (known: {', '.join(sorted(known))})"
            )
        if not keys.strip() or any(not k.strip() for k in keys.split(",")):
            raise ValueError(f'[keymap] {binding_id} = {keys!r}: give a key, e.g. "n" or "f2"')
    return {binding_id: keys.replace(" ", "") for binding_id, keys in keymap.items()}
