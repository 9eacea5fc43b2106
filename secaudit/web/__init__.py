"""The browser face (issue 18): ``secaudit serve`` — server-rendered pages over the service layer.

Like ``secaudit.cli`` it only parses a request, calls a service and formats what comes back; nothing
below it imports it. See ``secaudit.web.app``.
"""
