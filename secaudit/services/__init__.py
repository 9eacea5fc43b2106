"""Services: one function per user operation, shared by every face (the CLI now, the web later).

A service takes a workspace (an open ``Workspace`` or its location) and plain arguments, returns
data (or bytes for documents), never prints and raises only the project's errors. Domain modules
are imported inside the functions so that loading a face stays cheap.
"""
