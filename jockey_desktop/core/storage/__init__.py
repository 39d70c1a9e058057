"""Conversation storage: SQLite schema, migrations, Repository, search, backup, export.

Pure Python (no Qt). Open with ``open_repository(db_path, backup_dir)``.
"""

from .database import OpenReport
from .errors import (
    DatabaseLockedError,
    DatabaseTooNewError,
    ImportFormatError,
    MigrationError,
    NotFoundError,
    StorageError,
)
from .models import (
    CITATION_KEYS,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
    SearchHit,
)
from .repository import Repository, open_repository
from .schema import SCHEMA_VERSION

__all__ = [
    "CITATION_KEYS",
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "SCHEMA_VERSION",
    "Conversation",
    "ConversationSummary",
    "DatabaseLockedError",
    "DatabaseTooNewError",
    "ImportFormatError",
    "Message",
    "MessageStatus",
    "MigrationError",
    "NotFoundError",
    "OpenReport",
    "Repository",
    "Role",
    "SearchHit",
    "StorageError",
    "open_repository",
]
