"""Real data in: audit a foreign file, map it onto the contract, read LOBSTER files.

Importing the package imports none of its modules: each name is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapewatch.lazy import lazy_exports

if TYPE_CHECKING:
    from tapewatch.ingest.apply import apply_mapping
    from tapewatch.ingest.audit import AuditReport, audit_file, render_markdown, write_audit
    from tapewatch.ingest.lobster import LobsterSpec, map_lobster
    from tapewatch.ingest.mapping import FieldSpec, SchemaMapping, load_mapping, parse_mapping
    from tapewatch.ingest.run import MapResult, map_file

__all__ = [
    "AuditReport",
    "FieldSpec",
    "LobsterSpec",
    "MapResult",
    "SchemaMapping",
    "apply_mapping",
    "audit_file",
    "load_mapping",
    "map_file",
    "map_lobster",
    "parse_mapping",
    "render_markdown",
    "write_audit",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tapewatch.ingest.apply": ("apply_mapping",),
        "tapewatch.ingest.audit": (
            "AuditReport",
            "audit_file",
            "render_markdown",
            "write_audit",
        ),
        "tapewatch.ingest.lobster": (
            "LobsterSpec",
            "map_lobster",
        ),
        "tapewatch.ingest.mapping": (
            "FieldSpec",
            "SchemaMapping",
            "load_mapping",
            "parse_mapping",
        ),
        "tapewatch.ingest.run": (
            "MapResult",
            "map_file",
        ),
    },
)
