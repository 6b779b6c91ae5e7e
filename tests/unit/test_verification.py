"""Geometric verification on real photos (scikit-image's sample photographs): a photo and its own
rotated / scaled / cropped copy share many MAGSAC inliers, unrelated photos few; counts are
deterministic, also from many threads; the verified score, the reference choice and the npz
round trip by hand."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from landmark.params import VerificationParams, load_params
from landmark.retrieval.reference_features import ReferenceFeatures, choose_references
from landmark.retrieval.verification import LocalFeatures, extract, inliers, verified_score
from landmark.retrieval.verified_search import top_candidates, verify_candidates

skdata = pytest.importorskip("skimage.data")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def vp() -> VerificationParams:
    return load_params(REPO / "params.yaml").index.verification


def photo(name: str, side: int = 160) -> Image.Image:
    """A real sample photo at the size of the project's photos (128-256 px)."""
    image = Image.fromarray(getattr(skdata, name)()).convert("RGB")
    return image.resize((side, side * image.height // image.width), Image.Resampling.BICUBIC)


def moved(image: Image.Image) -> Image.Image:
    """The same scene rotated 12 degrees, cropped to its middle 80% and scaled to 0.9."""
    w, h = image.size
    turned = image.rotate(12, resample=Image.Resampling.BICUBIC)
    crop = turned.crop((w // 10, h // 10, w - w // 10, h - h // 10))
    return crop.resize((int(crop.width * 0.9), int(crop.height * 0.9)), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("features", ["sift", "rootsift", "orb"])
def test_a_photo_and_its_moved_copy_share_many_inliers_unrelated_photos_few(
        vp: VerificationParams, features: str) -> None:
    p = dataclasses.replace(vp, features=features)
    astronaut, coffee, chelsea = (extract(photo(n), p) for n in ("astronaut", "coffee", "chelsea"))
    same = inliers(astronaut, extract(moved(photo("astronaut")), p), p)
    assert same >= 3 * p.min_inliers, same
    for a, b in ((astronaut, coffee), (astronaut, chelsea), (coffee, chelsea)):
        assert inliers(a, b, p) < p.min_inliers  # counted as none by verified_score


def test_counts_are_deterministic_and_equal_from_many_threads(vp: VerificationParams) -> None:
    base = extract(photo("astronaut"), vp)
    others = [extract(moved(photo("astronaut")), vp), extract(photo("coffee"), vp), extract(photo("camera"), vp)]
    sequential = [inliers(base, o, vp) for o in others]
    assert sequential == [inliers(base, o, vp) for o in others]

    def work(i: int) -> tuple[int, int]:  # extraction and matching both run in the worker thread
        feats = extract(photo("astronaut"), vp)
        return len(feats), inliers(feats, others[i % 3], vp)

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(work, range(12)))
    assert got == [(len(base), sequential[i % 3]) for i in range(12)]


def test_a_photo_without_texture_has_no_features_and_no_inliers(vp: VerificationParams) -> None:
    flat = extract(Image.new("RGB", (128, 128), (90, 120, 200)), vp)
    assert len(flat) == 0 and flat.descriptors.shape == (0, 128)
    assert inliers(flat, extract(photo("astronaut"), vp), vp) == 0


def test_verified_score_by_hand(vp: VerificationParams) -> None:
    p = dataclasses.replace(vp, min_inliers=8, cap=40, weight=0.5)
    got = verified_score(np.array([0.6, 0.6, 0.6, 0.2]), np.array([7, 8, 100, 20]), p)
    # under min_inliers: 0; capped at 40; (s + 0.5 * n / 40) / 1.5
    np.testing.assert_allclose(got, [0.6 / 1.5, (0.6 + 0.1) / 1.5, 1.1 / 1.5, (0.2 + 0.25) / 1.5])


def test_references_start_at_the_mean_and_spread_over_the_views() -> None:
    emb = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1], [0.6, -0.8]], dtype=np.float32)
    labels = np.array(["a", "a", "a", "b", "b"], dtype=object)
    # a's mean (0.8, 0.47) normalised (0.864, 0.504): cosines 0.864, 0.993, 0.921 -> photo 1 first; then
    # the photo least like photo 1: photo 0 (cosine 0.8) before photo 2 (0.96). b: both cosines 0.316, tie -> 3
    assert choose_references(emb, labels, 2).tolist() == [1, 0, 3, 4]
    assert choose_references(emb, labels, 1).tolist() == [1, 3]
    assert choose_references(emb, labels, 0).tolist() == [1, 0, 2, 3, 4]  # 0: every photo


def test_reference_features_round_trip(tmp_path: Path, vp: VerificationParams) -> None:
    feats = {"a": [extract(photo("astronaut"), vp), extract(photo("coffee"), vp)], "b": [extract(photo("camera"), vp)]}
    vectors = {"a": np.eye(3, dtype=np.float32)[:2], "b": np.eye(3, dtype=np.float32)[2:]}
    ReferenceFeatures(feats, vectors, ("1", "2", "3"), "sift").save(tmp_path)
    back = ReferenceFeatures.load(tmp_path)
    assert back is not None and back.image_ids == ("1", "2", "3") and back.features == "sift"
    for name, items in feats.items():
        np.testing.assert_array_equal(back.embeddings[name], vectors[name])
        for x, y in zip(items, back.by_landmark[name], strict=True):
            np.testing.assert_array_equal(x.keypoints, y.keypoints)
            np.testing.assert_array_equal(x.descriptors, y.descriptors)
    assert ReferenceFeatures.load(tmp_path / "nothing") is None


def test_top_candidates_are_distinct_landmarks() -> None:
    sims = np.array([[0.9, 0.8, 0.7, 0.6], [0.5, -np.inf, -np.inf, -np.inf]])
    labels = np.array([["a", "a", "b", "c"], ["c", None, None, None]], dtype=object)
    assert top_candidates(sims, labels, 2) == [[("a", 0.9), ("b", 0.7)], [("c", 0.5)]]


def test_a_verified_runner_up_is_reranked_to_the_answer(vp: VerificationParams) -> None:
    query = extract(moved(photo("astronaut")), vp)
    one = {"look_alike": np.ones((1, 2), np.float32) / np.sqrt(2), "true": np.ones((1, 2), np.float32) / np.sqrt(2)}
    refs = ReferenceFeatures({"look_alike": [extract(photo("coffee"), vp)], "true": [extract(photo("astronaut"), vp)]},
                             one, ("x", "y"), "sift")
    cands = [[("look_alike", 0.70), ("true", 0.65)], []]
    emb = np.array([[1, 0], [0, 1]], np.float32)
    got = verify_candidates(cands, [query, None], emb, refs, dataclasses.replace(vp, rerank=True))
    assert got.landmark.tolist() == ["true", None] and got.inliers[0] >= vp.min_inliers
    assert got.score[0] > verified_score(0.70, 0, vp) and got.verifications.tolist() == [2, 0]
    plain = verify_candidates(cands, [query, None], emb, refs, dataclasses.replace(vp, rerank=False))
    assert plain.landmark[0] == "look_alike" and plain.score[0] == pytest.approx(float(verified_score(0.70, 0, vp)))


def test_missing_query_features_are_not_verified(vp: VerificationParams) -> None:
    refs = ReferenceFeatures({"a": [LocalFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8))]},
                             {"a": np.ones((1, 2), np.float32)}, ("x",), "sift")
    got = verify_candidates([[("a", 0.5)]], [None], np.ones((1, 2), np.float32), refs, vp)
    assert got.inliers.tolist() == [0] and got.score[0] == pytest.approx(0.5 / (1 + vp.weight))


def test_the_references_nearest_the_query_embedding_are_the_ones_verified(vp: VerificationParams) -> None:
    p = dataclasses.replace(vp, verify_per_landmark=1)
    query = extract(moved(photo("astronaut")), p)
    # landmark "a": a coffee photo embedded at (1, 0) and an astronaut photo at (0, 1)
    refs = ReferenceFeatures({"a": [extract(photo("coffee"), p), extract(photo("astronaut"), p)]},
                             {"a": np.eye(2, dtype=np.float32)}, ("c", "s"), "sift")
    near_astronaut = verify_candidates([[("a", 0.5)]], [query], np.array([[0.1, 0.99]], np.float32), refs, p)
    near_coffee = verify_candidates([[("a", 0.5)]], [query], np.array([[0.99, 0.1]], np.float32), refs, p)
    assert near_astronaut.inliers[0] >= 3 * p.min_inliers and near_coffee.inliers[0] < p.min_inliers
    assert near_astronaut.verifications.tolist() == near_coffee.verifications.tolist() == [1]
