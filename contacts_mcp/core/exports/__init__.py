"""Exports: a list, segment, filter or the whole base written to a CSV, XLSX or JSON-lines file by a
background job, delivered as a file path, an MCP resource or a signed download URL."""
