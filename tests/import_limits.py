"""The photo limits `landmark data import` applies, read from the project's params.yaml."""

from pathlib import Path

from landmark.data.photo_check import PhotoLimits
from landmark.params import load_params

IMPORT_LIMITS = PhotoLimits.for_import(load_params(Path(__file__).resolve().parents[1] / "params.yaml").validate)
