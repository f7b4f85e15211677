"""Every task's metrics on ``cuda`` (the transfer-recording CuPy stand-in): an update reads nothing back
to the host, and the values equal those of the same batches on the CPU."""

import numpy as np
import pytest

import nnrun
from nnrun.metrics import metric_names
from nnrun.train import MetricTracker


def _batches(task, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for n in (16, 16, 5):
        if task == "classification":
            logits, target = rng.normal(size=(n, 4)), rng.integers(0, 4, size=n)
        elif task == "regression":
            logits, target = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
        else:
            width = 1 if task == "binary" else 3
            logits, target = (
                rng.normal(size=(n, width)),
                rng.integers(0, 2, size=(n, width)).astype(np.float32),
            )
        target = target.astype(np.int64) if task == "classification" else target.astype(np.float32)
        out.append((logits.astype(np.float32), target, np.float32(rng.uniform())))
    return out


@pytest.mark.parametrize("task", ["classification", "binary", "multilabel", "regression"])
def test_updates_read_nothing_back_and_match_the_cpu(fake_cuda, task):
    names = [*metric_names(task), *(["top2"] if task == "classification" else [])]
    on_device, on_host = MetricTracker(names, task), MetricTracker(names, task)
    for logits, target, loss in _batches(task):
        on_host.update(nnrun.tensor(loss), nnrun.tensor(logits), nnrun.tensor(target))
        output, labels, value = (nnrun.tensor(a, device="cuda") for a in (logits, target, loss))
        with fake_cuda.during() as moved:
            on_device.update(value, output, labels)
        assert [t for t in moved if t.kind.startswith("device->host")] == [], task
    device_values, host_values = on_device.compute(), on_host.compute()
    assert device_values.keys() == host_values.keys()
    for name, value in host_values.items():
        assert np.allclose(device_values[name], value, rtol=1e-12, equal_nan=True), name
    restored = MetricTracker(names, task)
    restored.load_state_dict(on_device.state_dict())  # a checkpoint of device sums resumes on the host
    assert restored.compute().keys() == host_values.keys()
