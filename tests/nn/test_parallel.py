"""``nn.DataParallel`` and ``nn.parallel.data_parallel`` as torch's behave without several GPUs; the
device flags torch's tensors carry."""

import numpy as np
import pytest

import nnrun
from nnrun import nn

torch = pytest.importorskip("torch")


def _models(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))


def _copy_weights(ours, theirs):
    ours.load_state_dict({k: nnrun.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def test_data_parallel_wraps_the_module_as_torch_does():
    ours, theirs = nn.DataParallel(_models(nnrun)), torch.nn.DataParallel(_models(torch))
    assert repr(ours) == repr(theirs)
    assert ours.module is next(iter(ours.children()))
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state) == ["module.0.weight", "module.0.bias", "module.2.weight",
                                                      "module.2.bias"]  # fmt: skip
    assert [tuple(v.shape) for v in ours_state.values()] == [tuple(v.shape) for v in theirs_state.values()]
    if not nnrun.cuda.is_available():
        assert ours.device_ids == theirs.device_ids == []


def test_data_parallel_forward_and_backward_match_torch():
    ours, theirs = nn.DataParallel(_models(nnrun)), torch.nn.DataParallel(_models(torch))
    _copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out_ours, out_theirs = ours(nnrun.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-5, atol=1e-6)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    grad_ours = ours.module[0].weight.grad.numpy()
    np.testing.assert_allclose(grad_ours, theirs.module[0].weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_data_parallel_passes_keywords_and_train_mode_to_the_module():
    wrapped = nn.DataParallel(nn.Linear(3, 2), dim=0)
    x = nnrun.randn(2, 3)
    np.testing.assert_array_equal(wrapped(input=x).detach().numpy(), wrapped.module(x).detach().numpy())
    wrapped.eval()
    assert not wrapped.module.training


def test_state_dict_round_trip_through_the_wrapper():
    wrapped = nn.DataParallel(nn.Linear(3, 2))
    other = nn.DataParallel(nn.Linear(3, 2))
    other.load_state_dict(wrapped.state_dict())
    np.testing.assert_array_equal(
        other.module.weight.detach().numpy(), wrapped.module.weight.detach().numpy()
    )
    bare = nn.Linear(3, 2)
    bare.load_state_dict(wrapped.module.state_dict())


class _Weighted(nn.Module):
    def forward(self, a, b, scale=1.0):
        return a * b * scale


def test_data_parallel_function_calls_the_module():
    model = _models(nnrun)
    x = nnrun.randn(4, 3)
    expected = model(x).detach().numpy()
    np.testing.assert_array_equal(nn.parallel.data_parallel(model, x).detach().numpy(), expected)
    np.testing.assert_array_equal(nn.parallel.data_parallel(model, (x,), [0]).detach().numpy(), expected)
    got = nn.parallel.data_parallel(_Weighted(), (x, x), module_kwargs={"scale": 3.0})
    np.testing.assert_array_equal(got.numpy(), (x * x * 3.0).numpy())


def test_parallel_namespace_matches_torch_where_nnrun_has_it():
    assert nn.parallel.DataParallel is nn.DataParallel
    assert set(nn.parallel.__all__) <= set(torch.nn.parallel.__all__)
    assert "DataParallel" not in nn.LAYERS  # a wrapper, not a layer configs build


@pytest.mark.parametrize("flag", ["is_cuda", "is_xpu", "is_mps", "is_sparse", "is_quantized", "is_meta"])
def test_device_flags_match_torch_on_cpu(flag):
    assert getattr(nnrun.zeros(2), flag) is getattr(torch.zeros(2), flag) is False
