"""``nnrun.backends``: torch's switches for its kernel libraries, kept so that scripts setting them run.

nnrun computes with NumPy and CuPy: it uses neither cuDNN nor Apple's MPS, and its results do not depend on
these flags (CuPy's GEMMs are deterministic for a given shape and device).
"""

from nnrun.backends import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
