"""Exceptions raised by rdbscan: one clear line each, never a traceback for users."""


class RdbscanError(Exception):
    """Base class for every error rdbscan reports to a user."""


class RDBFormatError(RdbscanError):
    """The input is not a well-formed RDB stream.

    ``offset`` is the byte offset in the (decompressed) stream where the
    scanner found the problem, ``key`` the key being read when known, and
    ``path`` the file name once the API layer has attached it.
    """

    def __init__(self, message, offset=None, key=None, path=None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.key = key
        self.path = path

    def __str__(self):
        parts = []
        if self.path is not None:
            parts.append(str(self.path))
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        head = ": ".join(parts)
        text = self.message
        if self.key is not None:
            text += f" (while reading key {self.key!r})"
        return f"{head}: {text}" if head else text


class RDBTruncatedError(RDBFormatError):
    """The stream ended before the structure being read was complete."""


class RDBChecksumError(RDBFormatError):
    """The CRC64 at the end of the dump does not match its contents."""


class OutputError(RdbscanError):
    """The output could not be written (unwritable path, full disk, ...)."""
