"""What members read and see: figures in words, and sheets with whole names."""

import io

import numpy as np
import pytest
from PIL import Image

from bot.services.render import held_out, preference, ranking_sheet
from model.metrics import PairwiseMetrics, wilson_interval


def judged(decided: int, accuracy: float) -> PairwiseMetrics:
    return PairwiseMetrics(decided, decided, 0, accuracy, 0.6)


def test_accuracy_reads_as_votes_agreed_with_an_interval_beside_the_servers():
    text = held_out(judged(9, 7 / 9), judged(9, 6 / 9))
    assert text.render("ja") == (
        "学習に使っていない 9 票のうち 7 票であなたと一致しました(78%。おそらく 45% から "
        "94% の間。50% は偶然と同じです)。同じ 9 票で、サーバーのモデルは 6 票一致しました"
    )
    assert str(text) == (
        "it agreed with you on 7 of 9 votes it never saw (78%; likely between 45% and 94%, "
        "where 50% is a coin toss); the server's model agreed on 6 of the same 9"
    )


def test_a_model_checked_on_too_few_votes_gets_no_percentage():
    text = str(held_out(judged(2, 1.0), judged(2, 0.5)))
    assert "only 2 of your votes" in text and "too few to tell" in text and "%" not in text


def test_wilson_interval_matches_the_textbook_figures():
    assert wilson_interval(7, 9) == pytest.approx((0.4526, 0.9368), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_chances_read_in_words_with_fifty_percent_as_no_preference():
    words = {chance: str(preference(chance)) for chance in (0.5, 0.73, 0.9, 0.3, 0.1)}
    assert words == {
        0.5: "no clear preference",
        0.73: "preferred",
        0.9: "strongly preferred",
        0.3: "less preferred",
        0.1: "much less preferred",
    }
    assert preference(0.5).render("ja") == "はっきりした好みなし"


def test_the_sheet_wraps_long_names_instead_of_cutting_them():
    crops = [np.full((64, 64, 3), shade, np.uint8) for shade in (40, 120, 200)]
    short = Image.open(
        io.BytesIO(ranking_sheet(crops, ["a.png", "b.png", "c.png"], [0.7, 0.5, 0.3]))
    )
    long_name = "holiday_2024_beach_portrait_of_my_cousin_final_version_2.jpeg"
    wrapped = Image.open(
        io.BytesIO(ranking_sheet(crops, [long_name, "b.png", "c.png"], [0.7, 0.5, 0.3]))
    )
    assert wrapped.width == short.width  # the name wraps inside its column
    assert wrapped.height >= short.height + 2 * 15  # three lines for the long name
