"""One error hierarchy for the whole library.

The library raises these; the CLI turns them into ``Error: …`` and an exit code in exactly one
place (``secaudit.cli.main``). Each error carries a Vietnamese message first and an English one,
because the people reading them are Vietnamese IT staff and police inspectors.
"""

from __future__ import annotations

import errno

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_MET = 3


#: The longest line of a message: a value quoted back from a hostile file (a 100,000-character cell, a
#: header key) is cut in its middle, so an error stays readable and a log stays small.
MAX_LINE = 1000


def bounded(text: str) -> str:
    """``text`` with every line longer than :data:`MAX_LINE` characters cut in its middle."""
    if len(text) <= MAX_LINE:
        return text
    lines = []
    for line in text.split("\n"):
        if len(line) > MAX_LINE:
            head, tail = MAX_LINE - 300, 100
            cut = len(line) - head - tail
            line = f"{line[:head]} … [lược {cut} ký tự / {cut} characters omitted] … {line[-tail:]}"
        lines.append(line)
    return "\n".join(lines)


class SecauditError(Exception):
    """Base class: something the user can fix, reported without a traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, en: str | None = None, where: str | None = None) -> None:
        self.message = bounded(message)
        self.en = bounded(en) if en is not None else None
        self.where = bounded(where) if where is not None else None
        super().__init__(self.diagnostics())

    def diagnostics(self) -> str:
        """The full text shown to the user: location, Vietnamese message, English message."""
        head = f"{self.where}: " if self.where else ""
        text = head + self.message
        if self.en and self.en != self.message:
            text += f" / {self.en}"
        return text


class InputError(SecauditError):
    """A file or value given by the user is malformed (YAML, XLSX, XML, answers, …)."""


class ValidationError(InputError):
    """Data parsed but broke the schema; ``problems`` lists every (where, message) found."""

    def __init__(self, problems: list[tuple[str, str]], *, en: str | None = None) -> None:
        self.problems = [(bounded(where), bounded(msg)) for where, msg in problems]
        problems = self.problems
        first_where, first_msg = problems[0]
        super().__init__(first_msg, en=en, where=first_where)

    def diagnostics(self) -> str:
        return "\n".join(f"{where}: {msg}" for where, msg in self.problems)


class InvalidTargetError(InputError):
    """A scan target is not a plain IP, CIDR or hostname; refused before nmap runs."""


class OutOfScopeError(SecauditError):
    """A scan target is not declared in the inventory nor in an authorised scope file."""


class NotFoundError(SecauditError):
    """An agency, system, item, evidence file or scan named by the user does not exist."""


class WorkspaceError(SecauditError):
    """The workspace is missing, not initialised, or of an unknown schema version."""


class ScanError(SecauditError):
    """nmap is missing, failed, or produced output we cannot trust."""


class RenderError(SecauditError):
    """A report could not be rendered (template error, blocked resource, missing font)."""


#: What the system means by the errors a user can meet with a file, in Vietnamese (its own words are English).
_OS_REASONS = {
    errno.ENOENT: "không có tệp hoặc thư mục này", errno.EACCES: "không có quyền truy cập",
    errno.EPERM: "không được phép", errno.EISDIR: "đây là một thư mục, không phải tệp",
    errno.ENOTDIR: "một phần của đường dẫn không phải thư mục", errno.ENAMETOOLONG: "tên tệp quá dài",
    errno.ELOOP: "liên kết tượng trưng lặp vòng", errno.EIO: "lỗi đọc ghi thiết bị",
    errno.ENOSPC: "hết chỗ trống trên đĩa", errno.EROFS: "ổ đĩa chỉ cho đọc", errno.EMFILE: "mở quá nhiều tệp",
    errno.ENOEXEC: "không phải tệp chạy được", errno.ETXTBSY: "tệp đang được dùng",
}


def os_reason(exc: OSError) -> str:
    """Why the system refused a file operation, in Vietnamese; its own wording when the error is unusual."""
    return _OS_REASONS.get(exc.errno or -1) or exc.strerror or str(exc)
