"""The limits the project's params.yaml sets: what `landmark data import` applies to photo files and
what the registered recognizer accepts per request."""

from pathlib import Path

from landmark.data.photo_check import PhotoLimits
from landmark.params import load_params

PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
IMPORT_LIMITS = PhotoLimits.for_import(PARAMS.validate)
SERVE_LIMITS = PARAMS.serve
