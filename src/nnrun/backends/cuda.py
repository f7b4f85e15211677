"""``nnrun.backends.cuda``: torch's CUDA math flags as plain settable attributes.

``matmul.allow_tf32`` and ``matmul.allow_fp16_reduced_precision_reduction`` are kept for scripts that set
them; CuPy's matrix products in nnrun follow CuPy's own settings.
"""


class _MatmulFlags:
    allow_tf32 = False
    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()
