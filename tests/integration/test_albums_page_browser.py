"""The albums page in a real browser: Playwright drives Debian's chromium over file://, the way a user
opens albums/albums.html. A generated world (real JPEGs, real cities and coordinates) is grouped from
predictions that name each photo's true landmark, plus hostile names (markup in a city, a landmark and a
file name) that must show as text. Checks the sections, the album sizes, the map, the folded
"no landmark" photos, that every thumbnail loaded, and saves a screenshot in the test's tmp_path.

Skips (with the reason) only when Playwright or a chromium binary is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from landmark.data.manifest import NON_LANDMARK, read_manifest
from landmark.evaluation.albums import city_places, find_photos, group_albums
from landmark.evaluation.albums_page import write_albums_page
from landmark.params import SampleParams
from landmark.retrieval.recognizer import Prediction, landmark_table
from samples.world import generate_sample_world

pytestmark = pytest.mark.integration
WORLD = SampleParams(seed=11, n_landmarks=6, photos_per_landmark=4, image_size=128, mislabel_fraction=0.0,
                     mislabel_non_landmark_share=0.0, n_non_landmark=10, ordinary_building_share=0.4, workers=1)
EVIL_CITY = "<script>alert('city')</script> & Co"
EVIL_LANDMARK = "Tower \"<b>bold</b>\" & 'quotes'"
EVIL_FILE = "evil <i>x<i> #1 & 'y' %20.jpg"


def chromium_path() -> str | None:
    """Debian's chromium (CHROMIUM env var first), or None."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("albums_page")
    generate_sample_world(root / "world", WORLD)
    manifest = read_manifest(root / "world" / "manifest.csv")
    album = root / "album"
    for rel in manifest["path"]:
        target = album / "holiday" / Path(rel).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / "world" / rel, target)
    first_landmark_photo = manifest[manifest["landmark"] != NON_LANDMARK]["path"].iloc[0]
    shutil.copy(root / "world" / first_landmark_photo, album / "holiday" / EVIL_FILE)
    (album / "holiday" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    truth = {Path(p).name: (lm, city) for p, lm, city in zip(manifest["path"], manifest["landmark"], manifest["city"],
                                                             strict=True)}
    truth[EVIL_FILE] = (EVIL_LANDMARK, EVIL_CITY)
    paths = find_photos(album)
    preds = []
    for i, path in enumerate(paths):
        if path.name == "broken.jpg":
            preds.append(Prediction(None, 0.0, 0.0, error=f"{path}: not a decodable image"))
            continue
        landmark, city = truth[path.name]
        if landmark == NON_LANDMARK:
            preds.append(Prediction(None, 0.2, 0.3))
        else:  # confidences from borderline to sure
            preds.append(Prediction(landmark, 0.55 + 0.43 * (i % 5) / 4, 0.8, landmark, city))
    albums = group_albums(paths, preds, album)
    places = {**city_places(landmark_table(manifest)), EVIL_CITY: (45.0, 14.0)}
    out = root / "out"
    out.mkdir()
    (out / "albums.json").write_text(json.dumps(albums, indent=2))
    page = write_albums_page(albums, album, out, places)
    return {"albums": albums, "page": page, "places": places, "album": album}


def test_json_keeps_its_shape(page_dir: dict[str, Any]) -> None:
    albums = json.loads((page_dir["page"].parent / "albums.json").read_text())
    assert set(albums) == {"cities", "landmarks", "no_landmark", "errors", "counts"}
    assert set(albums["counts"]) == {"photos", "recognised", "no_landmark", "unreadable", "albums"}
    assert albums["counts"]["albums"] == WORLD.n_landmarks + 1 and albums["counts"]["unreadable"] == 1


def test_page_in_chromium(page_dir: dict[str, Any], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium binary (apt-get install chromium; .ci/run installs it)")
    albums = page_dir["albums"]
    html_text = page_dir["page"].read_text()
    assert "<script" not in html_text and "http://" not in html_text.replace("http://www.w3.org/2000/svg", "")
    dialogs: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_dir["page"].as_uri())
            summary = page.locator("section.summary p").all_inner_texts()
            counts = albums["counts"]
            assert summary[0] == f"This folder holds {counts['photos']} photos."
            assert summary[1].startswith(f"{counts['recognised']} photos show one of {counts['albums']} landmarks in 3 "
                                         "cities")
            cities = sorted(albums["cities"])
            assert page.locator("section.city h2").all_inner_texts() == cities  # the evil city shows as text
            assert EVIL_CITY in cities and not dialogs
            for i, city in enumerate(cities):
                section = page.locator(f"section#city-{i}")
                by_landmark = albums["cities"][city]
                names = section.locator("article.album h3").all_inner_texts()
                assert sorted(names) == sorted(by_landmark)
                for article in section.locator("article.album").all():
                    name = article.locator("h3").inner_text()
                    n = len(by_landmark[name])
                    assert article.locator("figure").count() == n
                    assert article.locator("p.meta").inner_text().startswith(f"{n} photo{'s' if n > 1 else ''}, mean "
                                                                             "confidence")
            assert page.locator("svg.city-map a.city-dot").count() == 3  # cities with coordinates
            assert page.locator("svg.city-map text", has_text="aurelia").count() + \
                page.locator("svg.city-map a.city-dot").count() >= 3

            details = page.locator("details.no-landmark")
            assert details.get_attribute("open") is None  # folded away
            assert details.locator("figure").count() == counts["no_landmark"]
            details.locator("summary").click()
            assert details.get_attribute("open") == ""
            assert page.locator("details.unreadable li").all_inner_texts() == [
                "holiday/broken.jpg: not a decodable image"]

            images = page.locator("img")
            assert images.count() == counts["recognised"] + counts["no_landmark"]
            assert all(img.get_attribute("loading") == "lazy" for img in images.all())
            for y in range(0, page.evaluate("document.body.scrollHeight") + 900, 400):  # lazy ones load in view
                page.evaluate(f"window.scrollTo(0, {y})")
                page.wait_for_timeout(50)
            page.wait_for_function("[...document.images].every(i => i.complete)", timeout=15000)
            widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
            assert len(widths) == images.count() and min(widths) > 0

            evil = page.locator("figure", has=page.locator(f"img[alt=\"holiday/{EVIL_FILE}\"]"))
            assert evil.count() == 1
            target = Path(unquote(urlparse(evil.locator("a").evaluate("a => a.href")).path))
            assert target == (page_dir["album"] / "holiday" / EVIL_FILE).resolve() and target.is_file()
            assert all(url.startswith(("file://", "data:")) for url in requests), "the page reached the network"

            page.evaluate("window.scrollTo(0, 0)")
            shot = tmp_path / "albums.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
