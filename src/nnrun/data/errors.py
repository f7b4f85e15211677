"""``DatasetError``: a dataset that cannot be found, fetched or read, explained in one paragraph."""


class DatasetError(Exception):
    """A dataset problem the user can fix (missing files, bad checksum, unreadable file).

    The message names the file or folder and says what to do; the CLI prints it without a traceback.
    """
