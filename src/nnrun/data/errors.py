"""``DatasetError``: a dataset that cannot be found, fetched or read, explained in one paragraph."""


class DatasetError(Exception):
    """A dataset problem the user can fix (missing files, bad checksum, unreadable file).

    The message names the file or folder and says what to do; the CLI prints it without a traceback.
    """


class OptionError(DatasetError):
    """A dataset option has a bad value; ``option`` names it (a config reports it at that option's line)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option
