"""Ingest's tunable defaults, shared by the readers and the command line."""

from __future__ import annotations

#: rows `tapewatch audit` reads to sniff column contents, so big files stay quick
SAMPLE_ROWS = 50_000
