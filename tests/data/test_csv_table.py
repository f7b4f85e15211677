"""``dataset: csv``: reading, fitting on the training rows and encoding, checked against scikit-learn's
preprocessing on its own bundled tables, and every bad input named by file, line and column."""

import re

import numpy as np
import pytest
from csv_tables import export, write_table

from nnrun.data import DatasetError, OptionError, load_dataset
from nnrun.data.datasets import DATASETS
from nnrun.data.tasks import TASKS, TargetError

preprocessing = pytest.importorskip("sklearn.preprocessing")

REGRESSION, CLASSIFICATION = TASKS["regression"], TASKS["classification"]
BINARY, MULTILABEL = TASKS["binary"], TASKS["multilabel"]


def _fitted(source, task, rows=None):
    rows = np.arange(len(source)) if rows is None else rows
    fitted = source.fit(rows, task)
    return fitted, source.prepare(np.arange(len(source)), fitted, task)


def test_diabetes_features_are_standardised_like_standard_scaler_on_the_training_rows(tmp_path):
    bunch = export("diabetes", tmp_path / "diabetes.csv")
    source = load_dataset("csv", tmp_path / "diabetes.csv", target="target")
    train_rows = np.random.default_rng(0).permutation(len(source))[:300]
    fitted, data = _fitted(source, REGRESSION, train_rows)
    scaler = preprocessing.StandardScaler().fit(bunch.data[train_rows])
    np.testing.assert_allclose(data.x, scaler.transform(bunch.data), rtol=1e-5, atol=1e-6)
    assert data.x.dtype == np.float32 and data.x.shape == (442, 10)
    np.testing.assert_array_equal(data.y, bunch.target.astype(np.float32)[:, None])
    means = [feature["mean"] for feature in fitted["features"]]
    np.testing.assert_allclose(means, scaler.mean_, rtol=1e-12, atol=1e-15)  # training rows only
    assert fitted["source"] == "csv" and fitted["target"] == ["target"] and "classes" not in fitted


def test_iris_string_classes_are_sorted_and_saved_as_class_names(tmp_path):
    bunch = export("iris", tmp_path / "iris.csv")
    source = load_dataset("csv", tmp_path / "iris.csv", target="target")
    fitted, data = _fitted(source, CLASSIFICATION, np.arange(0, 150, 2))
    assert fitted["classes"] == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(data.y, bunch.target)  # sklearn numbers the species in this order too
    assert data.y.dtype == np.int64


def test_breast_cancer_is_binary_with_one_float_target_column(tmp_path):
    bunch = export("breast_cancer", tmp_path / "cancer.csv")
    source = load_dataset("csv", tmp_path / "cancer.csv", target="target")
    fitted, data = _fitted(source, BINARY)
    assert fitted["classes"] == ["0", "1"]
    np.testing.assert_array_equal(data.y, bunch.target.astype(np.float32)[:, None])
    assert data.x.shape == (569, 30)


def test_binary_from_two_strings_takes_the_second_in_sorted_order_as_positive(tmp_path):
    rows = [[1.0, "yes"], [2.0, "no"], [3.0, "yes"]]
    write_table(tmp_path / "t.csv", ["x", "answer"], rows)
    fitted, data = _fitted(load_dataset("csv", tmp_path / "t.csv", target="answer"), BINARY)
    assert fitted["classes"] == ["no", "yes"]
    assert data.y[:, 0].tolist() == [1, 0, 1]


def test_whole_number_classes_sort_by_value(tmp_path):
    write_table(tmp_path / "t.csv", ["x", "y"], [[1.0, 10], [2.0, 9], [3.0, "2.0"], [4.0, 9]])
    fitted, data = _fitted(load_dataset("csv", tmp_path / "t.csv", target="y"), CLASSIFICATION)
    assert fitted["classes"] == ["2", "9", "10"]
    assert data.y.tolist() == [2, 1, 0, 1]


def test_onehot_matches_sklearn_one_hot_encoder_fitted_on_the_training_rows(tmp_path):
    rng = np.random.default_rng(1)
    cities = rng.choice(["Paris", "Lyon", "Nice", "Brest"], size=40)
    rows = [
        [float(v), city, float(t)] for v, city, t in zip(rng.normal(size=40), cities, rng.normal(size=40))
    ]
    write_table(tmp_path / "t.csv", ["size", "city", "price"], rows)
    source = load_dataset("csv", tmp_path / "t.csv", target="price", categorical={"city": "onehot"})
    train = np.arange(30)
    fitted, data = _fitted(source, REGRESSION, train)
    encoder = preprocessing.OneHotEncoder(handle_unknown="ignore").fit(cities[train, None])
    assert fitted["features"][1]["categories"] == list(encoder.categories_[0])
    np.testing.assert_array_equal(data.x[:, 1:], encoder.transform(cities[:, None]).toarray())


def test_a_category_unseen_in_training_is_all_zeros_in_onehot_and_an_error_in_index(tmp_path):
    write_table(tmp_path / "t.csv", ["c", "y"], [["a", 1.0], ["b", 2.0], ["z", 3.0]])
    source = load_dataset("csv", tmp_path / "t.csv", target="y", categorical={"c": "onehot"})
    fitted = source.fit(np.arange(2), REGRESSION)
    x = source.prepare(np.arange(3), fitted, REGRESSION).x
    assert x.tolist() == [[1, 0], [0, 1], [0, 0]]
    source = load_dataset("csv", tmp_path / "t.csv", target="y", categorical={"c": "index"})
    fitted = source.fit(np.arange(2), REGRESSION)
    assert source.prepare(np.arange(2), fitted, REGRESSION).x.tolist() == [[0], [1]]
    with pytest.raises(DatasetError, match=r"t\.csv:4: column 'c' holds 'z'"):
        source.prepare(np.arange(3), fitted, REGRESSION)


def test_a_constant_column_keeps_std_one(tmp_path):
    write_table(tmp_path / "t.csv", ["k", "y"], [[5.0, 1.0], [5.0, 2.0]])
    fitted, data = _fitted(load_dataset("csv", tmp_path / "t.csv", target="y"), REGRESSION)
    assert fitted["features"][0]["std"] == 1.0 and data.x.tolist() == [[0.0], [0.0]]


def test_multilabel_targets_are_zero_one_columns_named_by_the_columns(tmp_path):
    rows = [[0.5, 1, 0], [1.5, 0, 0], [2.5, 1, 1]]
    write_table(tmp_path / "t.csv", ["x", "red", "round"], rows)
    source = load_dataset("csv", tmp_path / "t.csv", target=["red", "round"])
    fitted, data = _fitted(source, MULTILABEL)
    assert fitted["classes"] == ["red", "round"]
    assert data.y.tolist() == [[1, 0], [0, 0], [1, 1]] and data.y.dtype == np.float32
    write_table(tmp_path / "bad.csv", ["x", "red", "round"], [*rows, [3.0, 2, 0]])
    source = load_dataset("csv", tmp_path / "bad.csv", target=["red", "round"])
    with pytest.raises(TargetError, match=r"bad\.csv:5: column 'red' holds '2'; multilabel"):
        _fitted(source, MULTILABEL)


def test_features_default_all_except_and_id(tmp_path):
    write_table(tmp_path / "t.csv", ["id", "a", "b", "c", "y"], [[7, 1.0, 2.0, 3.0, 0.5]])
    names = lambda **options: [  # noqa: E731
        f["name"]
        for f in load_dataset("csv", tmp_path / "t.csv", target="y", **options).fit([0], REGRESSION)[
            "features"
        ]
    ]
    assert names(id="id") == ["a", "b", "c"]
    assert names() == ["id", "a", "b", "c"]
    assert names(id="id", features={"all_except": ["b"]}) == ["a", "c"]
    assert names(features=["c", "a"]) == ["c", "a"]


def test_tsv_by_suffix_and_an_explicit_delimiter(tmp_path):
    bunch = export("wine", tmp_path / "wine.tsv", delimiter="\t")
    _, data = _fitted(load_dataset("csv", tmp_path / "wine.tsv", target="target"), CLASSIFICATION)
    np.testing.assert_array_equal(data.y, bunch.target)
    write_table(tmp_path / "semi.txt", ["a", "y"], [[1.0, 2.0], [3.0, 4.0]], delimiter=";")
    _, data = _fitted(load_dataset("csv", tmp_path / "semi.txt", target="y", delimiter=";"), REGRESSION)
    assert data.y.tolist() == [[2.0], [4.0]]
    _, auto = _fitted(load_dataset("csv", tmp_path / "semi.txt", target="y"), REGRESSION)
    np.testing.assert_array_equal(auto.x, data.x)


def test_quoted_cells_may_hold_the_delimiter_and_lines_count_from_the_file(tmp_path):
    (tmp_path / "q.csv").write_text('name,x,y\n"Smith, J",1,2\n"multi\nline",3,oops\n', encoding="utf-8")
    source = load_dataset("csv", tmp_path / "q.csv", target="y", id="name")
    with pytest.raises(TargetError, match=r"q\.csv:3: column 'y' holds 'oops', not a number"):
        _fitted(source, REGRESSION)


@pytest.mark.parametrize("cell", ["", "NA", "NaN", "null", "?"])
def test_a_missing_value_is_refused_with_file_line_and_column(tmp_path, cell):
    write_table(tmp_path / "t.csv", ["a", "b", "y"], [[1.0, 2.0, 3.0], [1.0, cell, 3.0]])
    with pytest.raises(
        DatasetError, match=rf"t\.csv:3: column 'b' has a missing value \({re.escape(repr(cell))}\)"
    ):
        load_dataset("csv", tmp_path / "t.csv", target="y")


def test_a_missing_target_is_refused_too_and_the_first_line_is_named(tmp_path):
    write_table(tmp_path / "t.csv", ["a", "y"], [[1.0, 3.0], [1.0, "NA"], ["", 2.0]])
    with pytest.raises(DatasetError, match=r"t\.csv:3: column 'y' has a missing value"):
        load_dataset("csv", tmp_path / "t.csv", target="y")


def test_an_undeclared_text_column_names_its_first_row_and_suggests_categorical(tmp_path):
    write_table(tmp_path / "t.csv", ["a", "city", "y"], [[1.0, 2, 3.0], [1.0, "Paris", 3.0]])
    with pytest.raises(DatasetError, match=r"t\.csv:3: column 'city' holds 'Paris', not a number") as info:
        load_dataset("csv", tmp_path / "t.csv", target="y")
    assert "categorical: {city: onehot}" in str(info.value)


@pytest.mark.parametrize(
    ("options", "option", "text"),
    [
        ({"target": "prise"}, "target", "no column 'prise' (did you mean price?)"),
        ({"target": "price", "features": ["size", "citty"]}, "features", "did you mean city?"),
        ({"target": "price", "categorical": {"cty": "onehot"}}, "categorical", "did you mean city?"),
        ({"target": "price", "id": "ID"}, "id", "did you mean id?"),
        ({"target": "price", "features": {"all_except": ["sise"]}}, "features", "did you mean size?"),
        (
            {"target": "price", "features": ["size"], "categorical": {"city": "onehot"}},
            "categorical",
            "not a",
        ),
        ({"target": ["price", "price"]}, "target", "column 'price' is named twice in target"),
        ({"target": "price", "features": ["size", "size"]}, "features", "'size' is named twice"),
    ],
)
def test_an_unknown_column_is_an_option_error_with_did_you_mean(tmp_path, options, option, text):
    write_table(tmp_path / "t.csv", ["id", "size", "city", "price"], [[1, 2.0, "Paris", 3.0]])
    with pytest.raises(OptionError) as info:
        load_dataset("csv", tmp_path / "t.csv", **options)
    assert info.value.option == option and text in str(info.value)


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({}, "target"),
        ({"target": 3}, "target"),
        ({"target": "y", "features": "a"}, "features"),
        ({"target": "y", "categorical": {"a": "ordinal"}}, "categorical"),
        ({"target": "y", "test_split": 1.5}, "test_split"),
        ({"target": "y", "delimiter": "::"}, "delimiter"),
    ],
)
def test_option_values_are_checked_before_reading(options, option):
    with pytest.raises(OptionError) as info:
        DATASETS.get("csv").check_options(options)
    assert info.value.option == option


def test_ragged_rows_bad_headers_and_empty_files_name_the_file(tmp_path):
    (tmp_path / "r.csv").write_text("a,y\n1,2\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"r\.csv:3: 3 cells, but the header has 2 columns"):
        load_dataset("csv", tmp_path / "r.csv", target="y")
    (tmp_path / "d.csv").write_text("a,a,y\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"d\.csv:1: header names column 'a' twice"):
        load_dataset("csv", tmp_path / "d.csv", target="y")
    (tmp_path / "e.csv").write_text("\n\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"e\.csv: the file is empty"):
        load_dataset("csv", tmp_path / "e.csv", target="y")
    (tmp_path / "l.csv").write_bytes(b"a,y\n1,2\n\xff,3\n")
    with pytest.raises(DatasetError, match=r"l\.csv:3: not UTF-8"):
        load_dataset("csv", tmp_path / "l.csv", target="y")


def test_a_class_the_training_file_lacks_names_the_test_line(tmp_path):
    write_table(tmp_path / "train.csv", ["x", "y"], [[1.0, "a"], [2.0, "b"]])
    write_table(tmp_path / "test.csv", ["x", "y"], [[1.0, "a"], [2.0, "c"]])
    fitted = load_dataset("csv", tmp_path, "train", target="y").fit(np.arange(2), CLASSIFICATION)
    test = load_dataset("csv", tmp_path, "test", target="y")
    with pytest.raises(TargetError, match=r"test\.csv:3: column 'y' holds 'c', not one of"):
        test.prepare(np.arange(2), fitted, CLASSIFICATION)


def test_binary_targets_need_exactly_two_values(tmp_path):
    write_table(tmp_path / "t.csv", ["x", "y"], [[1.0, "a"], [2.0, "b"], [3.0, "c"]])
    with pytest.raises(TargetError, match=r"t\.csv:4: column 'y' has a third value 'c'"):
        load_dataset("csv", tmp_path / "t.csv", target="y").fit(np.arange(3), BINARY)
    write_table(tmp_path / "two.csv", ["x", "y", "z"], [[1.0, 0, 1]])
    with pytest.raises(TargetError, match="takes one target column, got 2"):
        load_dataset("csv", tmp_path / "two.csv", target=["y", "z"]).fit([0], CLASSIFICATION)


def test_test_split_holds_out_seeded_rows_apart_from_training(tmp_path):
    write_table(tmp_path / "t.csv", ["x", "y"], [[float(i), float(i)] for i in range(50)])

    def split(name, seed):
        source = load_dataset("csv", tmp_path / "t.csv", name, target="y", test_split=0.2, run_seed=seed)
        return source.parsed.numbers["x"]

    train, test = split("train", 3), split("test", 3)
    assert len(test) == 10 and len(train) == 40
    assert sorted([*train, *test]) == list(range(50))
    np.testing.assert_array_equal(split("test", 3), test)
    assert not np.array_equal(split("test", 4), test)
    with pytest.raises(DatasetError, match=r"has no test split: set data\.options\.test_split"):
        load_dataset("csv", tmp_path / "t.csv", "test", target="y")


def test_a_folder_root_reads_train_and_test_files(tmp_path):
    write_table(tmp_path / "train.csv", ["x", "y"], [[1.0, 2.0], [3.0, 4.0]])
    write_table(tmp_path / "test.csv", ["x", "y"], [[5.0, 6.0]])
    assert len(load_dataset("csv", tmp_path, "train", target="y")) == 2
    assert len(load_dataset("csv", tmp_path, "test", target="y")) == 1
    with pytest.raises(OptionError, match="test_split holds rows out of a single file"):
        load_dataset("csv", tmp_path, "train", target="y", test_split=0.5)


def test_inputs_are_encoded_with_the_saved_preprocessing_and_named(tmp_path):
    rows = [[1, 1.0, "a", 0.5], [2, 2.0, "b", 1.5], [3, 4.0, "a", 2.5]]
    write_table(tmp_path / "t.csv", ["id", "x", "c", "y"], rows)
    source = load_dataset("csv", tmp_path / "t.csv", target="y", id="id", categorical={"c": "onehot"})
    fitted, data = _fitted(source, REGRESSION, np.arange(2))
    reader = DATASETS.get("csv").inputs
    new = write_table(tmp_path / "new.csv", ["c", "x", "id"], [["b", 4.0, "p"], ["a", 1.0, "q"]])
    inputs = reader([str(new)], fitted, REGRESSION, {}, False)  # columns in another order, no target
    assert inputs.names == ["p", "q"] and not inputs.labelled
    # x standardised with the training rows' mean 1.5 and std 0.5, then c one-hot over [a, b]
    assert inputs.dataset.x.tolist() == [[5.0, 0.0, 1.0], [-1.0, 1.0, 0.0]]
    labelled = reader([str(tmp_path / "t.csv")], fitted, REGRESSION, {}, True)
    np.testing.assert_array_equal(labelled.dataset.x, data.x)
    np.testing.assert_array_equal(labelled.dataset.y, data.y)
    with pytest.raises(DatasetError, match=r"new\.csv: no column 'y'"):
        reader([str(new)], fitted, REGRESSION, {}, True)
    plain = write_table(tmp_path / "plain.csv", ["x", "c"], [[1.0, "a"]])
    assert reader([str(plain)], fitted, REGRESSION, {}, False).names == ["line 2"]
    assert reader([str(plain), str(new)], fitted, REGRESSION, {}, False).names == [
        "plain.csv line 2",
        "p",
        "q",
    ]
    with pytest.raises(DatasetError, match="trained on mnist, not on a csv table"):
        reader([str(plain)], {"source": "mnist"}, REGRESSION, {}, False)
