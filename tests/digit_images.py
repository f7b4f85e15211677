"""scikit-learn's 8×8 digits written as an image folder at test time (never committed), by the functions of
``scripts/export_sklearn_data.py``: each pixel's value v in 0..16 becomes the gray level round(v × 255 / 16)
of an 8×8 PNG file."""

import importlib.util
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "export_sklearn_data.py"
_spec = importlib.util.spec_from_file_location("export_sklearn_data", _SCRIPT)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

digit_levels = _module.digit_levels
export_digits = _module.export_digits
