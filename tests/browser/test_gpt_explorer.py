"""The explorer's trained model (docs/explorer.<lang>.md, docs/assets/javascripts/gpt-explorer.js) in Chromium.

What the page shows must be what ``attn_examples.gpt`` computes from the shipped checkpoint, to 4 decimals:
the tests type texts, pick layers and heads, read every weight and probability the page shows (its
``data-value`` at full precision and its text with 4 decimals) and compare them with ``attention_maps`` and
the model's next-byte probabilities in float64. They also check a text longer than the context, an empty
one, axe, and the page in every language.
"""

from __future__ import annotations

import pytest
import torch

from attn_examples.gpt import attention_maps, encode, load_checkpoint
from tests.browser.conftest import axe_violations, visit
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import LANGUAGES

pytestmark = pytest.mark.browser

START = "the viewless winds, the viewless winds"
READ = """root => ({
  weights: [...root.querySelectorAll('[data-role=weights] tbody tr')].map(tr =>
    [...tr.querySelectorAll('td')].map(td => td.hasAttribute('data-masked')
      ? null : [td.dataset.value, td.querySelector('.ae-num').textContent])),
  keys: [...root.querySelectorAll('[data-role=weights] thead th')].slice(1).map(th => th.textContent),
  predictions: [...root.querySelectorAll('[data-role=predictions] tbody tr')].map(tr =>
    [Number(tr.dataset.byte), tr.querySelector('td').dataset.value, tr.querySelector('.ae-num').textContent]),
  layer: Number(root.querySelector('[data-role=layer]').value),
  head: Number(root.querySelector('[data-role=head]').value),
  alert: root.querySelector('[data-role=alert]').textContent,
  status: root.querySelector('[data-role=status]').textContent,
})"""


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(dtype=torch.float64)


def open_explorer(page, base_url: str, lang: str = "en"):
    visit(page, url_of(base_url, lang, "explorer"))
    page.wait_for_selector(".gpt-explorer[data-ready=true]", timeout=20_000)
    return page.locator(".gpt-explorer")


def shown(page) -> dict:
    return page.locator(".gpt-explorer").evaluate(READ)


def _check(pair: list[str], expected: float, where: str) -> None:
    value, text = pair
    assert abs(float(value) - expected) < 1e-9, f"{where}: {value} != {expected}"
    assert len(text.split(".")[-1]) == 4 and abs(float(text) - expected) <= 5e-5 + 1e-12, f"{where}: {text}"


def assert_shows_python(page, model, text: str) -> None:
    got = shown(page)
    tokens = encode(text)[: model.config.context_length]
    maps = attention_maps(model, tokens)[got["layer"], got["head"]]
    assert len(got["weights"]) == len(tokens) == len(got["keys"])
    for i, row in enumerate(got["weights"]):
        for j, pair in enumerate(row):
            if j > i:
                assert pair is None, f"({i}, {j}) is above the diagonal and must be masked"
            else:
                _check(pair, maps[i, j].item(), f"weight ({i}, {j})")
    with torch.no_grad():
        probabilities = torch.softmax(model(tokens[None])[0, -1], dim=-1)
    top = probabilities.topk(5)
    assert [byte for byte, _, _ in got["predictions"]] == top.indices.tolist()
    for (byte, value, shown_text), expected in zip(got["predictions"], top.values.tolist(), strict=True):
        _check([value, shown_text], expected, f"probability of byte {byte}")


def test_start_state_is_the_induction_head_on_a_repeated_passage(page, base_url: str, model) -> None:
    root = open_explorer(page, base_url)
    assert root.locator("[data-role=text]").input_value() == START
    got = shown(page)
    assert (got["layer"], got["head"], got["alert"], got["status"]) == (2, 3, "", "")
    assert got["keys"][:4] == ["t", "h", "e", "\u2423"]
    assert_shows_python(page, model, START)
    # the second "v" (byte 24) looks at the "i" that followed the first one (byte 5)
    row = [float(pair[0]) for pair in got["weights"][24][:25]]
    assert max(range(25), key=row.__getitem__) == 5
    assert page.watched.console_errors == [] and page.watched.offsite_requests == []


@pytest.mark.parametrize(
    ("text", "layer", "head"),
    [("ROMEO:\nWhat light", 0, 3), ("Attention, 注意力, 어텐션, chú ý", 1, 1), ("abcabcabcabc", 3, 0)],
)
def test_shows_what_python_computes(page, base_url: str, model, text: str, layer: int, head: int) -> None:
    open_explorer(page, base_url)
    page.locator(".gpt-explorer [data-role=text]").fill(text)
    page.select_option(".gpt-explorer [data-role=layer]", index=layer)
    page.select_option(".gpt-explorer [data-role=head]", index=head)
    assert_shows_python(page, model, text)
    assert shown(page)["alert"] == ""


def test_a_text_longer_than_the_context_is_cut_and_said_so(page, base_url: str, model) -> None:
    open_explorer(page, base_url)
    text = "To be, or not to be, that is the question. " * 4
    page.locator(".gpt-explorer [data-role=text]").fill(text)
    got = shown(page)
    assert str(len(text.encode())) in got["alert"] and "128" in got["alert"]
    assert_shows_python(page, model, text)


def test_an_empty_text_is_refused_and_never_computed(page, base_url: str) -> None:
    open_explorer(page, base_url)
    page.locator(".gpt-explorer [data-role=text]").fill("")
    got = shown(page)
    assert got["alert"].strip() and "NaN" not in page.locator(".gpt-explorer").inner_text()


def test_no_serious_accessibility_violation_in_the_trained_models_explorer(page, base_url: str) -> None:
    open_explorer(page, base_url)
    assert axe_violations(page, "'.gpt-explorer'") == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_trained_models_explorer_renders_in_every_language(page, base_url: str, model, lang: str) -> None:
    root = open_explorer(page, base_url, lang)
    for attribute in (
        "data-text-query",
        "data-text-byte",
        "data-text-probability",
        "data-msg-loading",
        "data-msg-failed",
        "data-msg-empty",
    ):
        assert (root.get_attribute(attribute) or "").strip(), attribute
    too_long = root.get_attribute("data-msg-too-long") or ""
    assert "{count}" in too_long and "{limit}" in too_long
    assert root.locator("[data-role=text]").input_value() == START  # translations keep the text
    assert_shows_python(page, model, START)
