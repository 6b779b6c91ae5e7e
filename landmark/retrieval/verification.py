"""Geometric verification: do two photos show the same rigid scene?

Local features (OpenCV SIFT, RootSIFT or ORB) of both photos, nearest-neighbour matches kept by
Lowe's ratio test, a homography fitted with MAGSAC (cv2.USAC_MAGSAC); the number of inliers is the
evidence. A photo of the candidate landmark shares many geometrically consistent matches with one of
its reference photos; a look-alike building or a non-landmark shares few. The capped inlier count is
folded into the acceptance score: (similarity + weight * min(inliers, cap) / cap) / (1 + weight),
which stays in [-1, 1] so the threshold's confidence mapping applies unchanged.

Thread safety: every call creates its own detector and matcher (cheap next to detection), and
cv2.setRNGSeed seeds the calling thread's generator only, so recognizers may verify from many
threads at once and get the sequential answers.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from landmark.params import VerificationParams

MIN_MATCHES = 4  # a homography needs four correspondences


@dataclass(frozen=True)
class LocalFeatures:
    """keypoints: (K, 2) float32 pixel positions in the upscaled photo; descriptors: (K, 128) uint8
    SIFT (RootSIFT is derived at match time) or (K, 32) uint8 ORB."""

    keypoints: np.ndarray
    descriptors: np.ndarray

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])


def _detector(params: VerificationParams) -> cv2.Feature2D:
    if params.features == "orb":
        return cv2.ORB.create(nfeatures=params.max_features)
    return cv2.SIFT.create(nfeatures=params.max_features)


def grey(photo: Image.Image | np.ndarray, upscale: float) -> np.ndarray:
    """An RGB PIL image or (H, W, 3) / (H, W) uint8 array -> (H', W') uint8 grey, resized by `upscale`."""
    array = np.asarray(photo.convert("L") if isinstance(photo, Image.Image) else photo)
    if array.ndim == 3:
        array = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_RGB2GRAY)
    if upscale != 1.0:
        array = cv2.resize(array, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(array, dtype=np.uint8)


def extract(photo: Image.Image | np.ndarray, params: VerificationParams) -> LocalFeatures:
    """One photo -> its strongest params.max_features local features (possibly none)."""
    points, desc = _detector(params).detectAndCompute(grey(photo, params.upscale), None)
    if desc is None or not points:
        width = 32 if params.features == "orb" else 128
        return LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, width), np.uint8))
    keypoints = np.array([p.pt for p in points], dtype=np.float32)
    # SIFT descriptors are integers in 0..255 stored as float: uint8 halves nothing and quarters the npz
    return LocalFeatures(keypoints, np.clip(np.rint(desc), 0, 255).astype(np.uint8))


def _matchable(desc: np.ndarray, features: str) -> np.ndarray:
    if features == "orb":
        return desc
    out = desc.astype(np.float32)
    if features == "rootsift":  # Arandjelovic & Zisserman 2012: L1-normalise, square root
        out = np.sqrt(out / np.maximum(out.sum(axis=1, keepdims=True), 1e-7))
    return out


def inliers(query: LocalFeatures, reference: LocalFeatures, params: VerificationParams) -> int:
    """Inliers of the MAGSAC homography between ratio-test matches of two photos (0 when fewer than
    four matches survive or no model is found)."""
    if len(query) < MIN_MATCHES or len(reference) < MIN_MATCHES:
        return 0
    norm = cv2.NORM_HAMMING if params.features == "orb" else cv2.NORM_L2
    pairs = cv2.BFMatcher(norm).knnMatch(_matchable(query.descriptors, params.features),
                                         _matchable(reference.descriptors, params.features), k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < params.ratio * p[1].distance]
    if len(good) < MIN_MATCHES:
        return 0
    src = query.keypoints[[m.queryIdx for m in good]]
    dst = reference.keypoints[[m.trainIdx for m in good]]
    cv2.setRNGSeed(params.seed)  # the calling thread's generator: same photos, same count
    _, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, params.reproj_px)
    return 0 if mask is None else int(mask.sum())


def best_inliers(query: LocalFeatures, references: list[LocalFeatures], params: VerificationParams) -> int:
    """The most inliers of the query with any of one landmark's reference photos."""
    return max((inliers(query, ref, params) for ref in references), default=0)


def verified_score(similarity: np.ndarray | float, inlier_count: np.ndarray | int,
                   params: VerificationParams) -> np.ndarray:
    """(N,) cosine similarities and inlier counts -> (N,) float64 scores in [-1, 1]: counts under
    params.min_inliers are 0, counts are capped at params.cap."""
    count = np.asarray(inlier_count, dtype=np.float64)
    count = np.where(count >= params.min_inliers, np.minimum(count, params.cap), 0.0)
    sim = np.asarray(similarity, dtype=np.float64)
    return (sim + params.weight * count / params.cap) / (1.0 + params.weight)
