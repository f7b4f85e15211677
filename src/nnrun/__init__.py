"""nnrun: neural networks on NumPy (CPU) and CuPy (GPU), shaped like PyTorch."""

import builtins
from os import PathLike as _PathLike  # private aliases: `nnrun.os`, `nnrun.Any` would be stray names
from typing import Any as _Any

from nnrun import (
    _tensor_methods,
    accelerator,
    autograd,
    backends,
    cuda,
    data,
    linalg,
    metrics,
    nn,
    optim,
    serialization,
    utils,
)
from nnrun._backend import device, get_default_device, set_default_device
from nnrun._creation import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    tril_indices,
    triu_indices,
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
from nnrun._sampling import bernoulli, multinomial, normal, poisson, randint_like
from nnrun._size import Size
from nnrun._tensor import Tensor
from nnrun.autograd.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from nnrun.linalg import det, logdet, matrix_power, pinverse, slogdet
from nnrun.linalg import inv as inverse
from nnrun.ops import activation_extra as _activation_extra
from nnrun.ops.activation_extra import celu, celu_, hardshrink, rrelu, rrelu_, selu, selu_, threshold_
from nnrun.ops.arithmetic import (
    add,
    div,
    floor_divide,
    maximum,
    minimum,
    mul,
    pow,
    remainder,
    sub,
    true_divide,
)
from nnrun.ops.binary_math import (
    addcdiv,
    addcmul,
    atan2,
    clamp_max,
    clamp_min,
    fmax,
    fmin,
    fmod,
    heaviside,
    hypot,
    lerp,
    logaddexp,
    xlogy,
)
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
from nnrun.ops.counting import bincount, bucketize, histc, searchsorted, unique, unique_consecutive
from nnrun.ops.distance import cdist
from nnrun.ops.elementwise import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atanh,
    ceil,
    cosh,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    floor,
    frac,
    log2,
    log10,
    logit,
    nan_to_num,
    reciprocal,
    round,
    sgn,
    sign,
    signbit,
    sinh,
    square,
    tan,
    trunc,
)
from nnrun.ops.indexing import gather, index_select, masked_fill, where
from nnrun.ops.linalg import baddbmm, bmm, einsum, matmul, mm
from nnrun.ops.matrix import block_diag, cumsum, diag, diag_embed, diagonal, trace, tril, triu
from nnrun.ops.products import (
    addbmm,
    addmm,
    addmv,
    addr,
    chain_matmul,
    cross,
    dot,
    kron,
    mv,
    outer,
    tensordot,
    vdot,
)
from nnrun.ops.products import outer as ger
from nnrun.ops.rearrange import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    column_stack,
    combinations,
    dsplit,
    dstack,
    fliplr,
    flipud,
    hsplit,
    hstack,
    meshgrid,
    movedim,
    repeat_interleave,
    rot90,
    row_stack,
    swapaxes,
    tensor_split,
    unbind,
    vsplit,
    vstack,
)
from nnrun.ops.rearrange import movedim as moveaxis
from nnrun.ops.rearrange import swapaxes as swapdims
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
from nnrun.ops.scan import cummax, cummin, cumprod, diff, logcumsumexp
from nnrun.ops.scatter import (
    argwhere,
    index_add,
    index_copy,
    index_fill,
    masked_scatter,
    masked_select,
    nonzero,
    put,
    scatter,
    scatter_add,
    scatter_reduce,
    take,
    take_along_dim,
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
from nnrun.ops.sorting import argsort, sort, topk
from nnrun.ops.statistics import (
    aminmax,
    count_nonzero,
    dist,
    kthvalue,
    median,
    mode,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    quantile,
    renorm,
    std_mean,
    var_mean,
)
from nnrun.ops.unary import clamp
from nnrun.registry import register
from nnrun.summary import summary

__version__ = "0.1.0"

clip = clamp
arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2 = asin, acos, atan, asinh, acosh, atanh, atan2
fix = trunc
absolute = Tensor.abs
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
softmax = Tensor.softmax
log_softmax = Tensor.log_softmax
threshold = _activation_extra.threshold


def is_tensor(obj: object) -> builtins.bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def save(obj: object, f: str | _PathLike) -> None:
    """Save ``obj`` to the path ``f`` as one safetensors file, atomically (:func:`nnrun.serialization.save`).

    ``obj``: a Tensor, a ``state_dict``, nested dicts/lists/tuples of tensors and plain values, or a Module
    built from a config or of registered layers (stored as its model config plus its ``state_dict``)."""
    serialization.save(obj, f, module_config=_module_config)


def load(f: str | _PathLike, map_location: serialization.MapLocation = None) -> _Any:
    """Load what :func:`save` wrote, or a plain safetensors file (:func:`nnrun.serialization.load`). A saved
    Module is rebuilt from its stored config, which is data: loading runs no code and reads no other file."""
    return serialization.load(f, map_location, build_module=_build_module)


def predict(
    checkpoint: str | _PathLike,
    inputs: _Any,
    *,
    batch_size: builtins.int = 256,
    device: str = "auto",  # noqa: F811 (the argument shadows nnrun.device inside this function only)
    progress: _Any = None,
    imports: _Any = (),
) -> _Any:
    """The predictions of a training checkpoint's model on new ``inputs`` (a file, a folder, a glob or a
    list of them), read and encoded as in training: a :class:`nnrun.train.predict.Predictions` with one row
    per input (names, predictions, scores). ``imports``: the Python files its config lists under
    ``imports:``. See :func:`nnrun.train.checkpoint_run.predict`."""
    from nnrun.train import checkpoint_run  # the train layer sits above the package front

    return checkpoint_run.predict(
        checkpoint, inputs, batch_size=batch_size, device=device, progress=progress, imports=imports
    )


# The lazy config import: nnrun.config (pydantic, yaml) sits above the core, and only a Module needs it.
# (`at` names the place in the saved object: `where` is nnrun.where here.)
def _module_config(module: nn.Module, at: str) -> str:
    from nnrun.config import model_file

    return model_file.module_config(module, at)


def _build_module(config: str, state: dict, path: str, at: str) -> nn.Module:
    from nnrun.config import model_file  # the lazy config import (see _module_config)

    return model_file.build_module(config, state, path, at)


def __getattr__(name: str) -> object:
    # nnrun.config (pydantic, yaml) sits above the core: imported on first use of nnrun.config
    if name == "config":
        import nnrun.config

        return nnrun.config
    if name == "distributed":  # like torch.distributed; mpi4py itself waits until a launch needs it
        import nnrun.distributed

        return nnrun.distributed
    raise AttributeError(f"module 'nnrun' has no attribute '{name}'")
