"""Databases with damaged pages, as a disk or a crashing tool leaves them.

``damage_page(path, number)`` overwrites one page in place (the reproduction of issue 10.2);
``database_with_deep_damage(...)`` builds a database whose damage lies past what the
open-time probe reads (an old conversation's long question), so it is met only at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jockey_desktop.core.storage import open_repository

PAGE = 4096
#: A question long enough to need overflow pages of its own, recognisable in the file.
LONG_QUESTION = "DAMAGEMARKER " * 2000


def damage_page(path: Path, number: int) -> None:
    """Overwrite page ``number`` (1-based) of the file with 0xAB bytes."""
    with open(path, "r+b") as handle:
        handle.seek((number - 1) * PAGE)
        handle.write(b"\xab" * PAGE)


def damage_pages_holding(path: Path, marker: bytes) -> int:
    """Overwrite every page that holds ``marker``; returns how many."""
    data = path.read_bytes()
    pages = sorted({offset // PAGE for offset in _find_all(data, marker)})
    for index in pages:
        damage_page(path, index + 1)
    return len(pages)


def _find_all(data: bytes, marker: bytes) -> list[int]:
    found, start = [], 0
    while (at := data.find(marker, start)) != -1:
        found.append(at)
        start = at + 1
    return found


@dataclass(frozen=True)
class DeepDamage:
    """What :func:`database_with_deep_damage` built: the damaged conversation, one that
    reads fine, and the backup taken before the damage."""

    damaged_id: int
    healthy_id: int
    backup: Path


def database_with_deep_damage(db_path: Path, backup_dir: Path) -> DeepDamage:
    """A closed database where an old conversation's long question sits on damaged pages,
    behind 210 newer messages (the open-time probe reads the newest 200), with a backup
    taken before the damage."""
    repo = open_repository(db_path, backup_dir)
    try:
        old = repo.create_conversation("ks_1", "Store", title="Old conversation")
        question, answer = repo.start_turn(old.id, LONG_QUESTION)
        repo.complete_turn(question.id, answer.id, text="A short answer.")
        new = repo.create_conversation("ks_1", "Store", title="Recent conversation")
        for n in range(105):
            question, answer = repo.start_turn(new.id, f"Question {n}")
            repo.complete_turn(question.id, answer.id, text=f"Answer {n}")
        backup = repo.backup_now("test")
    finally:
        repo.close()
    # The text lives in the row (text, plain text) and in the search index: damage them all.
    assert damage_pages_holding(db_path, b"DAMAGEMARKER DAMAGEMARKER") > 0
    return DeepDamage(old.id, new.id, backup)
