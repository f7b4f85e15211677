"""scikit-learn's bundled tables written as CSV files under a test's tmp_path (never committed)."""

import numpy as np
import pytest

sklearn_datasets = pytest.importorskip("sklearn.datasets")


def write_table(path, header, rows, delimiter=","):
    """``rows`` (sequences of cells) under ``header``; floats written with ``repr`` (exact round trip)."""
    lines = [delimiter.join(header)]
    for row in rows:
        lines.append(delimiter.join(repr(float(c)) if isinstance(c, float) else str(c) for c in row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def export(name, path, delimiter=","):
    """Write scikit-learn's ``load_<name>`` table to ``path``: feature columns by their names, then the
    target column ``target`` (iris: the species name as a string). Returns the Bunch."""
    bunch = getattr(sklearn_datasets, f"load_{name}")()
    features = [str(f).replace(" ", "_") for f in bunch.feature_names]
    named = name == "iris"
    targets = [bunch.target_names[t] for t in bunch.target] if named else bunch.target.tolist()
    rows = [[*map(float, x), t] for x, t in zip(np.asarray(bunch.data), targets)]
    write_table(path, [*features, "target"], rows, delimiter)
    bunch.columns = features
    return bunch
