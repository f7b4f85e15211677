"""``nnrun.nn.parallel``: ``DataParallel`` and ``data_parallel``, shaped like ``torch.nn.parallel``.

nnrun runs a model on one device; multi-process data parallelism is ``nnrun.distributed`` (the trainer's
``distributed:`` setting). Programs written for torch's ``DataParallel`` run unchanged: the wrapper calls its
module, as torch's does on a machine with no GPU or with one.
"""

from nnrun.nn.parallel.data_parallel import DataParallel, data_parallel

__all__ = ["DataParallel", "data_parallel"]
