"""The metadata filter of the paper: with a photo's location, only landmarks nearby are candidates."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: float | np.ndarray, lon1: float | np.ndarray, lat2: float | np.ndarray, lon2: float | np.ndarray
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasting arrays)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def geo_allowed(
    query_lat: float | None,
    query_lon: float | None,
    landmark_lat: np.ndarray,
    landmark_lon: np.ndarray,
    radius_km: float,
) -> np.ndarray:
    """(L,) bool: which landmarks may be answered for a photo taken at (query_lat, query_lon).

    A photo without a location, or a landmark without coordinates (NaN), is never filtered out."""
    landmark_lat = np.asarray(landmark_lat, dtype=np.float64)
    landmark_lon = np.asarray(landmark_lon, dtype=np.float64)
    allowed = np.ones(landmark_lat.shape, dtype=bool)
    if query_lat is None or query_lon is None or not np.isfinite(query_lat) or not np.isfinite(query_lon):
        return allowed
    known = np.isfinite(landmark_lat) & np.isfinite(landmark_lon)
    dist = haversine_km(query_lat, query_lon, landmark_lat[known], landmark_lon[known])
    allowed[known] = dist <= radius_km
    return allowed
