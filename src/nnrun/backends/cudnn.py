"""``nnrun.backends.cudnn``: torch's cuDNN flags as plain settable attributes; nnrun does not use cuDNN."""

enabled = True
benchmark = False  # torch picks the fastest cuDNN algorithm when set; nnrun's convolutions have one
deterministic = False  # nnrun's kernels give the same result run after run either way
allow_tf32 = True


def is_available() -> bool:
    """False: nnrun runs no cuDNN kernels."""
    return False


def version() -> None:
    """None, as torch answers without cuDNN."""
    return None
