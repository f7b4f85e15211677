"""A checked ``as_strided`` for tests of kernels that build strided views."""

import numpy as np
from numpy.lib.array_utils import byte_bounds


def bounds_checked(as_strided):
    """``as_strided`` that fails when a view reaches outside the memory of the array it was made from."""

    def checked(array, shape=None, strides=None, **kwargs):
        view = as_strided(array, shape, strides, **kwargs)
        owner = array
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        low, high = byte_bounds(view)
        owner_low, owner_high = byte_bounds(owner)
        assert view.size == 0 or owner_low <= low <= high <= owner_high, "strided view outside its buffer"
        return view

    return checked
