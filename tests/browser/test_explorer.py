"""The attention explorer (docs/explorer.<lang>.md, docs/assets/javascripts/explorer.js) in Chromium.

What the page shows must be what ``attn_examples.simple`` computes in float64, to 4 decimals: the
tests type embeddings, pick a query and the options, read every number the page shows (its
``data-value`` at full precision and its text with 4 decimals) and compare. They also check invalid
entries, the buttons, keyboard use, axe in both colour schemes, and the page in every language.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from attn_examples.simple import TOKENS, attention_matrix, context_vectors, hello_shiny_sun, score_matrix
from tests.browser.conftest import axe_violations, visit
from tests.browser.test_pages_in_browser import url_of
from tests.site_checks.layout import LANGUAGES

pytestmark = pytest.mark.browser

Matrix = list[list[float]]

HELLO = hello_shiny_sun(dtype=torch.float64).tolist()
SHINY = TOKENS.index("shiny")

# Everything the explorer shows, read from the page: data-value (full precision) and the printed text.
READ = """root => {
  const cells = role => [...root.querySelectorAll(`[data-role=${role}] tbody tr`)]
    .map(tr => [...tr.querySelectorAll('td[data-value]')]
      .map(td => [td.dataset.value, td.querySelector('.ae-num').textContent]));
  const rows = [...root.querySelectorAll('[data-role=weights] tbody tr')];
  return {
    names: [...root.querySelectorAll('.ae-name')].map(input => input.value),
    values: [...root.querySelectorAll('[data-role=embeddings] tbody tr')]
      .map(tr => [...tr.querySelectorAll('.ae-value')].map(input => input.value)),
    query: Number(root.querySelector('[data-role=query]').value),
    scaled: root.querySelector('[data-role=scaled]').checked,
    causal: root.querySelector('[data-role=causal]').checked,
    scores: cells('scores')[0],
    weights: cells('weights'),
    context: cells('context')[0],
    highlighted: rows.findIndex(tr => tr.classList.contains('ae-is-query')),
    masked: rows.map(tr => [...tr.querySelectorAll('td[data-value]')].map(td => td.classList.contains('ae-masked'))),
    alert: root.querySelector('[data-role=alert]').textContent,
    results: root.querySelector('.ae-results').innerText,
    summary: root.querySelector('[data-role=summary]').textContent,
  };
}"""


def open_explorer(page, base_url: str, lang: str = "en"):
    visit(page, url_of(base_url, lang, "explorer"))
    page.wait_for_selector(".attention-explorer[data-ready]", timeout=10_000)
    return page.locator(".attention-explorer")


def shown(page) -> dict:
    return page.locator(".attention-explorer").evaluate(READ)


def value_input(page, row: int, col: int):
    return page.locator(f'.attention-explorer .ae-value[data-row="{row}"][data-col="{col}"]')


def set_embeddings(page, x: Matrix) -> None:
    """Type ``x`` into the grid, which must already have its shape."""
    for i, row in enumerate(x):
        for k, v in enumerate(row):
            value_input(page, i, k).fill(repr(v))


def set_options(page, *, query: int, scaled: bool, causal: bool) -> None:
    page.select_option(".attention-explorer [data-role=query]", index=query)
    page.locator(".attention-explorer [data-role=scaled]").set_checked(scaled)
    page.locator(".attention-explorer [data-role=causal]").set_checked(causal)


def _check_number(shown_pair: list[str], expected: float, where: str) -> None:
    value, text = shown_pair
    if expected == -math.inf:
        assert (value, text) == ("-Infinity", "\u2212\u221e"), where
        return
    full = float(value)
    assert math.isfinite(full), where
    assert math.isclose(full, expected, rel_tol=1e-9, abs_tol=1e-9), f"{where}: {full} != {expected}"
    # the text is the value with 4 decimals: within half a unit of the last decimal (plus rounding slack)
    assert len(text.split(".")[-1]) == 4 and "e" not in text, f"{where}: {text!r}"
    assert abs(float(text) - expected) <= 5e-5 + 1e-12 * max(1.0, abs(expected)), f"{where}: {text} vs {expected}"


def assert_shows_python(page, x: Matrix, *, query: int, scaled: bool, causal: bool) -> dict:
    """The page shows the inputs ``x`` and exactly what attn_examples.simple computes from them."""
    got = shown(page)
    assert [[float(v.replace(",", ".")) for v in row] for row in got["values"]] == x
    assert (got["query"], got["scaled"], got["causal"]) == (query, scaled, causal)
    xt = torch.tensor(x, dtype=torch.float64)
    scores = score_matrix(xt, scaled=scaled, causal=causal)
    weights = attention_matrix(xt, scaled=scaled, causal=causal)
    context = context_vectors(xt, scaled=scaled, causal=causal)[query]
    tokens, d = xt.shape
    assert len(got["scores"]) == tokens and len(got["weights"]) == tokens and len(got["context"]) == d
    for j in range(tokens):
        _check_number(got["scores"][j], scores[query, j].item(), f"score of key {j}")
        for i in range(tokens):
            _check_number(got["weights"][i][j], weights[i, j].item(), f"weight ({i}, {j})")
    for k in range(d):
        _check_number(got["context"][k], context[k].item(), f"context dimension {k}")
    assert got["highlighted"] == query
    assert got["masked"] == [[causal and j > i for j in range(tokens)] for i in range(tokens)]
    assert got["alert"] == ""
    assert "NaN" not in got["results"] and "Infinity" not in got["results"]
    return got


def assert_clean(page) -> None:
    assert page.watched.console_errors == []
    assert page.watched.offsite_requests == []


def test_start_state_is_the_chapters_example(page, base_url: str) -> None:
    root = open_explorer(page, base_url)
    assert json.loads(root.get_attribute("data-embeddings")) == HELLO
    assert json.loads(root.get_attribute("data-tokens")) == list(TOKENS)
    got = assert_shows_python(page, HELLO, query=SHINY, scaled=False, causal=False)
    assert got["names"] == list(TOKENS)
    assert [text for _, text in got["context"]] == ["0.3990", "0.3854", "0.8610"]
    assert [text for _, text in got["scores"]] == ["0.7842", "1.3569", "1.2487"]
    assert got["summary"] == "Context vector of shiny: 0.3990, 0.3854, 0.8610"
    assert_clean(page)


EDITED = [[0.5, -1.2, 0.3], [2.0, 0.1, -0.7], [-0.4, 0.9, 1.5]]
HUGE = [[1000.0, -200.0, 3.0], [999.0, 3.0, -2.5], [-1000.0, 1000.0, 0.25]]  # scores of order 1e6


@pytest.mark.parametrize(
    ("x", "query", "scaled", "causal"),
    [
        pytest.param(EDITED, 2, False, False, id="edited-last-query"),
        pytest.param(EDITED, 0, True, False, id="edited-scaled"),
        pytest.param(HELLO, SHINY, False, True, id="causal"),
        pytest.param(EDITED, 1, True, True, id="edited-scaled-causal"),
        pytest.param([[1000 * v for v in row] for row in HELLO], SHINY, False, False, id="hello-times-1000"),
        pytest.param(HUGE, 1, False, False, id="huge"),
        pytest.param(HUGE, 2, True, False, id="huge-scaled"),
        pytest.param(HUGE, 1, True, True, id="huge-scaled-causal"),
    ],
)
def test_shows_what_python_computes(page, base_url: str, x: Matrix, query: int, scaled: bool, causal: bool) -> None:
    open_explorer(page, base_url)
    set_embeddings(page, x)
    set_options(page, query=query, scaled=scaled, causal=causal)
    got = assert_shows_python(page, x, query=query, scaled=scaled, causal=causal)
    if causal:  # the query is not the last token: its later keys are masked
        assert got["scores"][-1][1] == "\u2212\u221e" and got["weights"][query][-1][0] == "0"
    assert_clean(page)


def test_the_heatmap_shades_by_weight_and_marks_masked_cells(page, base_url: str) -> None:
    open_explorer(page, base_url)
    set_options(page, query=SHINY, scaled=False, causal=True)
    backgrounds = page.eval_on_selector_all(
        ".attention-explorer [data-role=weights] td[data-value]",
        "cells => cells.map(td => [Number(td.dataset.value), td.classList.contains('ae-masked'), "
        "getComputedStyle(td).backgroundColor, getComputedStyle(td).borderTopStyle])",
    )
    unmasked = sorted((w, colour) for w, masked, colour, _ in backgrounds if not masked)
    assert unmasked[0][1] != unmasked[-1][1]  # weight 0.2283 and weight 1 are shaded differently
    assert {style for _, masked, _, style in backgrounds if masked} == {"dashed"}
    assert_clean(page)


def test_adding_and_removing_tokens_and_dimensions(page, base_url: str) -> None:
    open_explorer(page, base_url)
    click = lambda action: page.click(f".attention-explorer [data-action={action}]")  # noqa: E731
    click("add-token")
    got = shown(page)
    assert got["names"] == [*TOKENS, "token 4"] and got["values"][-1] == ["0", "0", "0"]
    x = [*HELLO, [0.1, -0.3, 0.8]]
    set_embeddings(page, x)
    set_options(page, query=3, scaled=True, causal=False)
    assert_shows_python(page, x, query=3, scaled=True, causal=False)

    click("add-dimension")
    x = [[*row, 0.0] for row in x]
    assert_shows_python(page, x, query=3, scaled=True, causal=False)  # √4 now divides the scores
    x[0][3], x[3][3] = 1.25, -0.5
    set_embeddings(page, x)
    assert_shows_python(page, x, query=3, scaled=True, causal=False)

    click("remove-dimension")
    click("remove-dimension")
    x = [row[:2] for row in x]
    assert_shows_python(page, x, query=3, scaled=True, causal=False)

    click("remove-token")  # the query was the last token: the new last one becomes the query
    x = x[:3]
    assert_shows_python(page, x, query=2, scaled=True, causal=False)
    click("remove-token")
    click("remove-token")
    assert page.locator(".attention-explorer [data-action=remove-token]").is_disabled()
    got = assert_shows_python(page, x[:1], query=0, scaled=True, causal=False)
    assert got["weights"] == [[["1", "1.0000"]]]
    click("remove-dimension")
    assert page.locator(".attention-explorer [data-action=remove-dimension]").is_disabled()
    assert_shows_python(page, [x[0][:1]], query=0, scaled=True, causal=False)

    click("reset")
    got = assert_shows_python(page, HELLO, query=SHINY, scaled=False, causal=False)
    assert got["names"] == list(TOKENS)
    assert page.locator(".attention-explorer [data-action=remove-token]").is_enabled()
    assert_clean(page)


def test_renamed_tokens_label_their_fields_and_headers(page, base_url: str) -> None:
    open_explorer(page, base_url)
    page.get_by_label("Name of token 2", exact=True).fill("bright")
    page.get_by_label("bright, dimension 2", exact=True).fill("0.5")
    x = [row[:] for row in HELLO]
    x[1][1] = 0.5
    assert_shows_python(page, x, query=SHINY, scaled=False, causal=False)
    headers = page.eval_on_selector_all(
        ".attention-explorer [data-role=weights] th", "ths => ths.map(th => th.textContent)"
    )
    assert "bright" in headers and "shiny" not in headers
    assert page.locator(".attention-explorer [data-role=query] option:checked").text_content() == "bright"
    assert_clean(page)


@pytest.mark.parametrize("entry", ["", "abc", "1e999", "--1", "Infinity", "NaN", "0.5.1"])
def test_an_invalid_entry_is_flagged_and_never_shown_as_nan(page, base_url: str, entry: str) -> None:
    root = open_explorer(page, base_url)
    before = shown(page)
    field = value_input(page, 2, 1)
    field.fill(entry)
    assert field.get_attribute("aria-invalid") == "true"
    alert = page.locator(".attention-explorer [role=alert]")
    template = root.get_attribute("data-msg-invalid")
    assert alert.text_content() == template.replace("{field}", "sun!, dimension 2")
    assert alert.is_visible()
    after = shown(page)
    for part in ("scores", "weights", "context", "summary"):
        assert after[part] == before[part]  # the last valid results stay
    assert "NaN" not in after["results"] and "Infinity" not in after["results"]

    field.fill("0,7")  # a decimal comma is a number too
    assert field.get_attribute("aria-invalid") is None
    x = [row[:] for row in HELLO]
    x[2][1] = 0.7
    assert_shows_python(page, x, query=SHINY, scaled=False, causal=False)
    assert_clean(page)


def test_scores_too_large_for_double_precision_are_refused(page, base_url: str) -> None:
    root = open_explorer(page, base_url)
    before = shown(page)
    value_input(page, 0, 0).fill("1e200")  # its score with itself is 1e400: beyond float64
    assert page.locator(".attention-explorer [role=alert]").text_content() == root.get_attribute("data-msg-overflow")
    after = shown(page)
    assert after["weights"] == before["weights"] and after["context"] == before["context"]
    assert "NaN" not in after["results"] and "Infinity" not in after["results"]
    value_input(page, 0, 0).fill("1e150")  # 1e300 still fits: shown, and finite
    x = [row[:] for row in HELLO]
    x[0][0] = 1e150
    got = shown(page)
    assert got["alert"] == "" and all(math.isfinite(float(v)) for v, _ in got["context"])
    assert_clean(page)


def test_keyboard_alone_changes_the_numbers(page, base_url: str) -> None:
    open_explorer(page, base_url)
    page.locator('.attention-explorer .ae-name[data-row="1"]').focus()
    page.keyboard.press("Tab")  # from the name "shiny" to its first number
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "shiny, dimension 1"
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    x = [row[:] for row in HELLO]
    x[1][0] = 2.0
    assert_shows_python(page, x, query=SHINY, scaled=False, causal=False)

    for _ in range(30):  # on to the causal check box, past the remaining fields, the buttons and the menu
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.role") == "causal":
            break
    else:
        pytest.fail("Tab never reached the causal check box")
    page.keyboard.press("Space")
    got = assert_shows_python(page, x, query=SHINY, scaled=False, causal=True)
    assert got["scores"][2][1] == "\u2212\u221e"

    page.keyboard.press("Shift+Tab")  # the scaling check box
    page.keyboard.press("Space")
    assert_shows_python(page, x, query=SHINY, scaled=True, causal=True)

    page.keyboard.press("Shift+Tab")  # the query menu: the next token with the arrow key
    assert page.evaluate("document.activeElement.dataset.role") == "query"
    page.keyboard.press("ArrowDown")
    assert_shows_python(page, x, query=2, scaled=True, causal=True)

    page.keyboard.press("Shift+Tab")  # the reset button, pressed with Enter
    assert page.evaluate("document.activeElement.dataset.action") == "reset"
    page.keyboard.press("Enter")
    assert_shows_python(page, HELLO, query=SHINY, scaled=False, causal=False)
    assert_clean(page)


def test_every_field_has_a_label_built_from_the_templates(page, base_url: str) -> None:
    open_explorer(page, base_url)
    labels = page.eval_on_selector_all(
        ".attention-explorer input.ae-value", "inputs => inputs.map(i => i.getAttribute('aria-label'))"
    )
    assert labels == [f"{token}, dimension {k}" for token in TOKENS for k in (1, 2, 3)]
    for role in ("query", "scaled", "causal"):  # labelled by their <label>
        assert page.locator(f".attention-explorer [data-role={role}]").evaluate("el => el.labels.length") == 1
    assert_clean(page)


def _explorer_violations(page) -> list[str]:
    """Serious or critical axe violations inside the explorer alone."""
    return axe_violations(page, "'.attention-explorer'")


def test_no_serious_accessibility_violation_on_the_page(page, base_url: str) -> None:
    open_explorer(page, base_url)
    assert axe_violations(page) == []
    set_options(page, query=0, scaled=True, causal=True)  # masked cells, a weight of 1
    value_input(page, 1, 1).fill("x")  # an invalid field and the alert
    assert axe_violations(page) == []
    assert_clean(page)


# The dark scheme is checked on the explorer alone: Material's own code colours in the slate scheme
# (numbers, built-ins) fall just below 4.5:1 on every page, which is not the explorer's to fix.
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_heatmap_text_contrasts_in_both_colour_schemes(page, base_url: str, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)
    open_explorer(page, base_url)
    assert page.locator("body").get_attribute("data-md-color-scheme") == {"light": "default", "dark": "slate"}[scheme]
    assert _explorer_violations(page) == []
    for causal in (False, True):
        set_options(page, query=0, scaled=False, causal=causal)
        for factor in (0, 1, 3, 10):  # from uniform weights to weights of almost 0 and 1
            set_embeddings(page, [[factor * v for v in row] for row in HELLO])
            assert _explorer_violations(page) == []
    value_input(page, 1, 1).fill("x")  # an invalid field and the alert
    assert _explorer_violations(page) == []
    assert_clean(page)


def test_the_heatmap_follows_the_colour_scheme_toggle(page, base_url: str) -> None:
    page.emulate_media(color_scheme="light")
    open_explorer(page, base_url)
    cell = page.locator(".attention-explorer [data-role=weights] tbody tr").first.locator("td").first
    light = cell.evaluate("td => td.style.backgroundColor")
    page.locator("label.md-header__button[for^='__palette']:visible").first.click()
    assert page.locator("body").get_attribute("data-md-color-scheme") == "slate"
    page.wait_for_function(
        "before => document.querySelector('.attention-explorer [data-role=weights] td')"
        ".style.backgroundColor !== before",
        arg=light,
    )
    assert_clean(page)


def test_pages_without_the_explorer_are_left_alone(page, base_url: str) -> None:
    visit(page, url_of(base_url, "en", "simple-attention"))
    assert page.locator(".attention-explorer, [data-ready]").count() == 0
    assert_clean(page)


# The translated UI strings of the page, and the placeholders each must keep.
TEMPLATES = {
    "data-text-token": [],
    "data-text-query": [],
    "data-text-masked": [],
    "data-msg-overflow": [],
    "data-label-name": ["{n}"],
    "data-label-dimension": ["{n}"],
    "data-new-token": ["{n}"],
    "data-label-value": ["{token}", "{dimension}"],
    "data-msg-invalid": ["{field}"],
    "data-msg-summary": ["{token}", "{values}"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_explorer_renders_in_every_language(page, base_url: str, lang: str) -> None:
    root = open_explorer(page, base_url, lang)
    assert page.locator("html").get_attribute("lang") == lang
    assert json.loads(root.get_attribute("data-embeddings")) == HELLO  # translations keep the numbers
    assert json.loads(root.get_attribute("data-tokens")) == list(TOKENS)
    assert root.get_attribute("data-query") == str(SHINY)
    for attribute, placeholders in TEMPLATES.items():
        text = root.get_attribute(attribute) or ""
        assert text.strip() and all(p in text for p in placeholders), f"{attribute}={text!r}"
    got = shown(page)
    assert [text for _, text in got["context"]] == ["0.3990", "0.3854", "0.8610"]
    assert got["alert"] == ""
    assert_clean(page)
