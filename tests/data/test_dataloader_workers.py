"""DataLoader's multiprocess-loading options: accepted and checked as torch checks them, batches unchanged."""

import numpy as np
import pytest

import nnrun
from nnrun.data import ArrayDataset, DataLoader, Dataset

torch = pytest.importorskip("torch")


def dataset(n=10):
    return ArrayDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n) % 3)


class Listed(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return nnrun.tensor([float(i)]), i


def batches(loader):
    return [[part.numpy().tolist() for part in batch] for batch in loader]


WORKER_OPTIONS = [
    {"num_workers": 2},
    {"num_workers": 4, "pin_memory": True, "persistent_workers": True, "prefetch_factor": 4},
    {"num_workers": 1, "timeout": 5.0, "multiprocessing_context": "spawn", "in_order": False},
    {"pin_memory": True, "pin_memory_device": "cuda", "timeout": 0},
]


@pytest.mark.parametrize("options", WORKER_OPTIONS)
@pytest.mark.parametrize("data", [dataset(), Listed()])
def test_worker_options_give_the_batches_of_num_workers_0(options, data):
    plain = DataLoader(data, batch_size=3, shuffle=True, seed=4)
    loader = DataLoader(data, batch_size=3, shuffle=True, seed=4, **options)
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        loader.set_epoch(epoch)
        assert batches(loader) == batches(plain)
    assert len(loader) == len(plain)
    nnrun.manual_seed(0)
    unseeded = batches(DataLoader(data, batch_size=2, shuffle=True, **options))
    nnrun.manual_seed(0)
    assert unseeded == batches(DataLoader(data, batch_size=2, shuffle=True))


def test_worker_init_fn_is_not_called_and_options_read_back_as_torch():
    calls = []
    data = dataset()
    loader = DataLoader(data, num_workers=2, worker_init_fn=calls.append)
    list(loader)
    assert calls == []
    tdata = torch.utils.data.TensorDataset(torch.zeros(10))
    for options in ({}, {"num_workers": 2}, {"num_workers": 2, "prefetch_factor": 0}, {"pin_memory": True}):
        ours, theirs = DataLoader(data, **options), torch.utils.data.DataLoader(tdata, **options)
        for name in ("num_workers", "prefetch_factor", "persistent_workers", "pin_memory", "timeout"):
            assert getattr(ours, name) == getattr(theirs, name), (options, name)
        assert ours.pin_memory_device == theirs.pin_memory_device
        assert ours.worker_init_fn is theirs.worker_init_fn is None


BAD_OPTIONS = [
    {"num_workers": -1},
    {"timeout": -1},
    {"prefetch_factor": 2},
    {"num_workers": 2, "prefetch_factor": -1},
    {"persistent_workers": True},
    {"multiprocessing_context": "spawn"},
    {"num_workers": 1, "multiprocessing_context": "bogus"},
]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_bad_worker_options_raise_what_torch_raises(options):
    with pytest.raises(ValueError) as torch_error:
        torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4)), **options)
    with pytest.raises(ValueError) as error:
        DataLoader(dataset(4), **options)
    assert str(error.value) == str(torch_error.value)


def test_the_utils_data_alias_takes_them_too():
    loader = nnrun.utils.data.DataLoader(dataset(4), batch_size=2, num_workers=8, pin_memory=True)
    assert [batch[1].tolist() for batch in loader] == [[0, 1], [2, 0]]
