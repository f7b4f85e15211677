"""nnrun: neural networks on NumPy (CPU) and CuPy (GPU), shaped like PyTorch."""

import builtins

from nnrun import _malloc, autograd, cuda, data, nn, optim, utils
from nnrun._backend import device
from nnrun._creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from nnrun._dtype import bool_ as bool
from nnrun._dtype import (
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from nnrun._dtype import float16 as half
from nnrun._dtype import float32 as float
from nnrun._dtype import float64 as double
from nnrun._dtype import int16 as short
from nnrun._dtype import int32 as int
from nnrun._dtype import int64 as long
from nnrun._printing import set_printoptions
from nnrun._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from nnrun._size import Size
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from nnrun.ops.arithmetic import add, div, floor_divide, maximum, minimum, mul, pow, remainder, sub
from nnrun.ops.comparison import (
    all,
    allclose,
    any,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lt,
    ne,
)
from nnrun.ops.indexing import gather, index_select, masked_fill, scatter, where
from nnrun.ops.linalg import bmm, einsum, matmul, mm
from nnrun.ops.reduction import (
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from nnrun.ops.shape import (
    cat,
    chunk,
    flatten,
    flip,
    narrow,
    permute,
    repeat,
    reshape,
    roll,
    split,
    squeeze,
    stack,
    t,
    transpose,
    unflatten,
    unsqueeze,
)
from nnrun.ops.unary import clamp
from nnrun.registry import register
from nnrun.serialization import load, save
from nnrun.summary import summary

__version__ = "0.1.0"

clip = clamp
concat = concatenate = cat
divide = div
multiply = mul
subtract = sub
neg = negative = Tensor.neg
abs = Tensor.abs
exp = Tensor.exp
log = Tensor.log
log1p = Tensor.log1p
sqrt = Tensor.sqrt
rsqrt = Tensor.rsqrt
sin = Tensor.sin
cos = Tensor.cos
tanh = Tensor.tanh
sigmoid = Tensor.sigmoid
relu = Tensor.relu


def is_tensor(obj: object) -> builtins.bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


_malloc.tune()  # keep freed memory for the next step (glibc only; NNRUN_MALLOC=system opts out)


def __getattr__(name: str) -> object:
    # nnrun.config (pydantic, yaml) sits above the core: imported on first use of nnrun.config
    if name == "config":
        import nnrun.config

        return nnrun.config
    if name == "distributed":  # like torch.distributed; mpi4py itself waits until a launch needs it
        import nnrun.distributed

        return nnrun.distributed
    raise AttributeError(f"module 'nnrun' has no attribute '{name}'")
