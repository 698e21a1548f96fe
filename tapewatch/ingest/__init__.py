"""Real data in: audit a foreign file, map it onto the contract, read LOBSTER files."""

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
