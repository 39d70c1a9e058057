"""Conversation storage: SQLite schema, migrations, Repository, search, backup, export.

Pure Python (no Qt). Open with ``open_repository(db_path, backup_dir)``.
"""

from .database import OpenReport
from .errors import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseTooNewError,
    DiskFullError,
    ImportFormatError,
    MigrationError,
    NotFoundError,
    StorageBusyError,
    StorageError,
)
from .models import (
    CITATION_KEYS,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    SELECTION_KEYS,
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
    SearchHit,
    TurnWrite,
    Upload,
    UploadMethod,
    UploadState,
)
from .plaintext import markdown_to_plain, message_plain_text, resolve_selection_placeholders
from .repository import Repository, open_repository
from .schema import SCHEMA_VERSION

__all__ = [
    "CITATION_KEYS",
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "SCHEMA_VERSION",
    "SELECTION_KEYS",
    "Conversation",
    "ConversationSummary",
    "DatabaseCorruptError",
    "DatabaseLockedError",
    "DatabaseTooNewError",
    "DiskFullError",
    "ImportFormatError",
    "Message",
    "MessageStatus",
    "MigrationError",
    "NotFoundError",
    "OpenReport",
    "Repository",
    "Role",
    "SearchHit",
    "StorageBusyError",
    "StorageError",
    "TurnWrite",
    "Upload",
    "UploadMethod",
    "UploadState",
    "markdown_to_plain",
    "message_plain_text",
    "open_repository",
    "resolve_selection_placeholders",
]
