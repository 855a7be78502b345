"""The AWS catalog from the schemas: the lake's Iceberg tables in Glue, Athena DDL, Redshift SQL, IAM documents.

Nothing here is hand-written per entity: every column comes from ``schemas/*.avsc`` and
:mod:`core.lake`, so the catalog describes exactly what the streaming job writes. Local SQL is
:mod:`lakesql`'s.
"""
