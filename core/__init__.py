"""Shared foundation of every stage: the schema catalog, settings, errors, wire format, registry client."""
