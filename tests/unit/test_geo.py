"""Haversine and the location filter, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from landmark.retrieval.geo import geo_allowed, haversine_km


def test_haversine_by_hand() -> None:
    # one degree of latitude = 2*pi*6371.0088/360 km
    assert haversine_km(0.0, 0.0, 1.0, 0.0) == pytest.approx(111.195, abs=0.01)
    # a quarter of the equator
    assert haversine_km(0.0, 0.0, 0.0, 90.0) == pytest.approx(np.pi / 2 * 6371.0088, rel=1e-9)
    # Colosseum (41.8902, 12.4922) to Pantheon (41.8986, 12.4769): about 1.6 km
    assert 1.4 < float(haversine_km(41.8902, 12.4922, 41.8986, 12.4769)) < 1.8
    assert haversine_km(10.0, 20.0, 10.0, 20.0) == 0.0


def test_geo_allowed() -> None:
    lat = np.array([41.8902, 48.8584, np.nan])  # Rome, Paris, unknown
    lon = np.array([12.4922, 2.2945, np.nan])
    assert geo_allowed(41.90, 12.50, lat, lon, 50.0).tolist() == [True, False, True]
    assert geo_allowed(None, None, lat, lon, 50.0).tolist() == [True, True, True]
    assert geo_allowed(float("nan"), 2.0, lat, lon, 50.0).tolist() == [True, True, True]
    assert geo_allowed(48.86, 2.29, lat, lon, 1.0).tolist() == [False, True, True]
