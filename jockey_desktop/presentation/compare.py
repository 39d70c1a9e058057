"""What a comparison of knowledge stores is, for its controller and its view (Qt-free)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_STORES = 2
MAX_STORES = 4
CHOOSE_STORES = f"Choose {MIN_STORES} to {MAX_STORES} knowledge stores to compare."


@dataclass(frozen=True)
class CompareColumn:
    """One store of the comparison and its conversation (None until it is created)."""

    store_id: str
    store_name: str
    conversation_id: int | None = None
    #: Why this store's answer is missing ("" when all is well).
    problem: str = ""


def names_text(names: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C" (the composer's placeholder, the status line)."""
    quoted = [f"“{n}”" for n in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def choice_hint(chosen: int) -> str:
    """What the store chooser says about the current choice."""
    if chosen < MIN_STORES:
        return (f"Choose {MIN_STORES - chosen} more knowledge store"
                f"{'s' if MIN_STORES - chosen != 1 else ''} (up to {MAX_STORES}).")
    if chosen >= MAX_STORES:
        return f"{chosen} stores chosen (the most a comparison shows)."
    return f"{chosen} stores chosen; you can add {MAX_STORES - chosen} more."
