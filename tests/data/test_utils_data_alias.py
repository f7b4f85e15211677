import nnrun
import nnrun.data
from nnrun.utils.data import DataLoader, TensorDataset


def test_torch_style_import_path_is_the_same_api():
    assert nnrun.utils.data.DataLoader is nnrun.data.DataLoader
    loader = DataLoader(TensorDataset(nnrun.arange(6.0), nnrun.arange(6)), batch_size=4)
    assert [len(y) for _, y in loader] == [4, 2]
