"""``nnrun.backends.mps``: Apple's Metal backend, which nnrun does not have."""


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
