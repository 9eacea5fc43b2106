"""Storage: the SQLite workspace, its migrations, the content-addressed evidence blobs and the
append-only audit log. Imports nothing above it.
"""
