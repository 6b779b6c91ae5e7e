"""The albums page's pure parts: the summary sentences, the SVG map's projection and escaping, and the
rendered sections (hand-computed expectations; the page in a browser is tests/integration)."""

from __future__ import annotations

import re

import pandas as pd

from landmark.evaluation.albums import city_places
from landmark.evaluation.albums_page import render_albums_page, summary_sentences
from landmark.evaluation.city_map import HEIGHT, WIDTH, CityPoint, city_map_svg


def _albums() -> dict:
    cities = {"Paris": {"Eiffel Tower": [{"photo": "a.jpg", "confidence": 0.9, "similarity": 0.8},
                                         {"photo": "b.jpg", "confidence": 0.58, "similarity": 0.6}]},
              "<Rome>": {"Colosseum & co": [{"photo": "c'.jpg", "confidence": 0.7, "similarity": 0.7}]}}
    return {"cities": cities, "landmarks": {}, "no_landmark": [{"photo": "d.jpg", "confidence": 0.1}],
            "errors": [{"photo": "e.png", "error": "/x/e.png: not a decodable image"}],
            "counts": {"photos": 5, "recognised": 3, "no_landmark": 1, "unreadable": 1, "albums": 2}}


def test_summary_is_sentences_with_plurals() -> None:
    lines = summary_sentences(_albums())
    assert lines[:4] == ["This folder holds 5 photos.",
                         "3 photos show one of 2 landmarks in 2 cities: each landmark gets an album below.",
                         "1 photo show no known landmark (people, food, streets, places it was not trained on); "
                         "they are folded away at the end.",
                         "1 file could not be read as photos; the reasons are listed at the end."]
    empty = {"cities": {}, "no_landmark": [], "counts": {"photos": 0, "recognised": 0, "no_landmark": 0,
                                                        "unreadable": 0, "albums": 0}}
    assert summary_sentences(empty)[1] == "No photo shows a landmark the recognizer knows."


def test_map_projects_cities_into_the_frame_and_escapes() -> None:
    assert city_map_svg([]) == "" and city_map_svg([CityPoint("x", float("nan"), 0.0, 1, "c0")]) == ""
    one = city_map_svg([CityPoint("Solo", 10.0, 20.0, 3, "c0")])
    cx, cy = (float(v) for v in re.search(r"<circle cx='([\d.]+)' cy='([\d.]+)'", one).groups())
    assert (cx, cy) == (WIDTH / 2, HEIGHT / 2)  # a lone city sits in the middle
    two = city_map_svg([CityPoint("<West>", 0.0, 0.0, 4, "c0"), CityPoint("East & co", 0.0, 10.0, 1, "c1")])
    assert "<West>" not in two and "&lt;West&gt; (4 photos)" in two and "East &amp; co (1 photo)" in two
    xs = [float(x) for x in re.findall(r"<circle cx='([\d.]+)'", two)]
    assert xs[0] < xs[1] and 0 < min(xs) and max(xs) < WIDTH  # west left of east, both inside
    radii = [float(r) for r in re.findall(r" r='([\d.]+)'", two)]
    assert radii == [18.0, 11.5]  # 5 + 13 * sqrt(photos / most): 4 -> 18, 1 -> 5 + 13 / 2
    assert "href='#c0'" in two and " km</text>" in two


def test_page_sections_escape_and_fold() -> None:
    page = render_albums_page(_albums(), lambda p: f"thumbs/{p}", lambda p: f"../{p}",
                              {"Paris": (48.86, 2.35), "<Rome>": (41.9, 12.5)})
    assert "<Rome>" not in page and "&lt;Rome&gt;" in page and "Colosseum &amp; co" in page
    assert "src='thumbs/c&#x27;.jpg'" in page  # quotes in names cannot end the attribute
    assert page.count("<section class='city'") == 2 and page.count("<circle") == 2
    assert "2 photos, mean confidence 74%, lowest 58%" in page
    assert page.count("class='borderline'") == 1  # 0.58 < 60%
    assert "<details class='no-landmark'><summary>No landmark: 1 photo</summary>" in page
    assert "e.png</a>: not a decodable image" in page and "/x/e.png" not in page
    assert page.count("loading='lazy'") == 4 and "<script" not in page


def test_city_places_median_of_finite_coordinates() -> None:
    table = pd.DataFrame({"landmark": ["a", "b", "c", "d"], "city": ["P", "P", "Q", ""],
                          "lat": [1.0, 3.0, float("nan"), 5.0], "lon": [10.0, 20.0, 1.0, 5.0]})
    assert city_places(table) == {"P": (2.0, 15.0)}
