"""Run under ``mpirun -n 2``: the MPI communicator's collectives and the gradient averaging, checked."""

import numpy as np

import nnrun
from nnrun import distributed

comm = distributed.init()
assert isinstance(comm, distributed.MPICommunicator) and comm.world_size == 2
rank = comm.rank

for dtype in (np.float16, np.float32, np.float64, np.int64, np.uint8):
    buffer = np.full(5, rank + 1, dtype=dtype)
    comm.allreduce(buffer)
    assert buffer.dtype == dtype and buffer.tolist() == [3] * 5, (dtype, buffer)
    buffer = np.full(3, rank + 7, dtype=dtype)
    comm.broadcast(buffer, root=1)
    assert buffer.tolist() == [8] * 3, (dtype, buffer)
comm.barrier()

rows = distributed.gather_bytes(np.arange(rank + 2, dtype=np.uint8), comm)
assert [row.tolist() for row in rows] == [[0, 1], [0, 1, 2]]
assert distributed.reduce_sums([rank, 0.5], comm) == [1.0, 1.0]

# rank 0 has gradients for both parameters, rank 1 only for the first; nobody has one for the third
a, b, c = (nnrun.zeros(2, requires_grad=True) for _ in range(3))
a.grad = nnrun.tensor([1.0, 2.0]) * (rank + 1)
if rank == 0:
    b.grad = nnrun.tensor([4.0, 4.0])
summed = distributed.GradientAverager([a, b, c], comm).average([rank == 1, 1])
assert a.grad.tolist() == [1.5, 3.0] and b.grad.tolist() == [2.0, 2.0] and c.grad is None
assert summed.tolist() == [1.0, 2.0]

model = nnrun.nn.Sequential(nnrun.nn.Linear(3, 2), nnrun.nn.BatchNorm1d(2))
nnrun.manual_seed(rank)
for p in model.parameters():
    nnrun.nn.init.normal_(p)
model[1].running_mean.fill_(rank)
distributed.broadcast_module(model, comm)
state = np.concatenate([v.numpy().ravel().astype(np.float64) for v in model.state_dict().values()])
total = state.copy()
comm.allreduce(total)
assert np.array_equal(total, 2 * state) and model[1].running_mean.tolist() == [0.0, 0.0]
print("collectives ok")
