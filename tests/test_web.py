"""The web page that ``python -m lstm_mnist.web`` writes, driven in a real headless Chromium: it
computes what ``lstm_mnist.trace.trace`` computes (gates, states, probabilities) within 1e-5, for
20 test digits and for a drawing made with the mouse, a finger or the keys alone; it brings a
drawing to MNIST's form as images.py does, within one grey level; it opens from file:// and over
HTTP, steps with the keys, is used by keyboard alone (Tab reaches each control, named and
outlined; a live region says the answer), fits a phone's screen and logs no console error. The browser tests skip, saying why, where
selenium or Debian's chromium and chromium-driver are missing (.ci/run installs them); the
command-line tests at the end need no browser."""

import base64
import functools
import http.server
import importlib.util
import io
import json
import os
import re
import sys
import threading

import numpy as np
import PIL
import pytest
import torch
from PIL import Image

from conftest import ROOT
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import web
from lstm_mnist.data import MNIST, load_mnist
from lstm_mnist.errors import CheckpointError
from lstm_mnist.evaluation import class_labels
from lstm_mnist.images import load_image, resize_lanczos, to_mnist_form
from lstm_mnist.model import ModelConfig
from lstm_mnist.trace import trace
from lstm_mnist.training import TrainConfig, train

spec = importlib.util.spec_from_file_location("web_screenshot", ROOT / "scripts" / "web_screenshot.py")
browser_tools = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browser_tools)

TOLERANCE = 1e-5
DIGITS = 20


def train_tiny(data, out, limit_train, **model_fields):
    """A small model trained for one short epoch: enough for weights that are not random
    (validated and tested on 500 images, to keep it quick)."""
    small = MNIST(data.train.head(limit_train), data.val.head(500), data.test.head(500))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # for so small a model one thread is faster, and 6 times faster on a busy machine
    try:
        train(ModelConfig(**model_fields), TrainConfig(epochs=1, batch_size=32, lr=0.01), small, out)
    finally:
        torch.set_num_threads(threads)
    return out


def make_site(out, checkpoint, data_dir, compare=None):
    argv = [str(checkpoint), "--out", str(out), "--samples", str(DIGITS), "--data-dir", str(data_dir)]
    assert web.main(argv + (["--compare", str(compare)] if compare else [])) == 0
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    reason = browser_tools.missing()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    driver = browser_tools.headless_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def page(browser):
    """The browser, checked after the test for console errors (and warnings from the page's files)."""
    yield browser
    browser_tools.set_viewport(browser, *browser_tools.WINDOW)
    problems = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert problems == [], f"console: {problems}"


@pytest.fixture(scope="module")
def synthetic_site(small_checkpoint, synthetic_dir, tmp_path_factory):
    """The 16-unit LSTM of conftest, compared with a GRU, both trained on the synthetic digits."""
    folder = tmp_path_factory.mktemp("site-synthetic")
    gru = train_tiny(load_mnist(synthetic_dir), folder / "gru.pt", limit_train=800, hidden_size=12, cell="gru")
    return make_site(folder / "site", small_checkpoint, synthetic_dir, compare=gru), small_checkpoint, gru, synthetic_dir


@pytest.fixture(scope="module")
def mnist_site(mnist_dir, tmp_path_factory):
    """An LSTM with the seeds' input projection and a plain RNN, trained briefly on the real MNIST
    (about 90% and 80% accurate): the page must agree with PyTorch on real test digits."""
    folder = tmp_path_factory.mktemp("site-mnist")
    data = load_mnist(mnist_dir)
    lstm = train_tiny(data, folder / "lstm.pt", limit_train=3000, hidden_size=24, input_projection=True)
    rnn = train_tiny(data, folder / "rnn.pt", limit_train=3000, hidden_size=20, cell="rnn")
    return make_site(folder / "site", lstm, mnist_dir, compare=rnn), lstm, rnn, mnist_dir


def snapshot(driver) -> dict:
    return driver.execute_script("return LSTMMnist.app.snapshot()")


def assert_same_as_trace(page_trace: dict, t, where: str) -> None:
    """Every vector the page computed equals the trace's, within TOLERANCE (absolute: the page computes in
    float64 with the float32 weights; with 128 units the largest difference, in c, is about 3e-6)."""
    assert page_trace["cell"] == t.cell
    expected = {**{f"steps.{name}": tensor for name, tensor in t.steps.items()},
                "x": t.x, "logits": t.logits, "probabilities": t.probabilities}
    for name, tensor in expected.items():
        value = page_trace["steps"][name[6:]] if name.startswith("steps.") else page_trace[name]
        np.testing.assert_allclose(np.array(value), tensor.double().numpy(), rtol=0, atol=TOLERANCE,
                                   err_msg=f"{where}: {name}")


def check_test_digits(driver, site, checkpoint, compare, data_dir) -> float:
    """Pick each test digit on the page; returns the largest difference from trace()."""
    model, _ = ckpt.load_model(checkpoint)
    other, _ = ckpt.load_model(compare)
    images = load_mnist(data_dir).test.images[:DIGITS]  # (20, 28, 28)
    driver.get((site / "index.html").as_uri())
    buttons = driver.find_elements("css selector", "#samples button")
    assert len(buttons) == DIGITS
    worst = 0.0
    for k, button in enumerate(buttons):
        button.click()
        state = snapshot(driver)
        np.testing.assert_allclose(np.array(state["image"]), images[k].numpy(), rtol=0, atol=1e-7)
        for key, m in (("main", model), ("compare", other)):
            t = trace(m, images[k])
            assert_same_as_trace(state["traces"][key], t, f"test digit {k}, {key}")
            worst = max(worst, float(np.abs(np.array(state["traces"][key]["probabilities"]) - t.probabilities.numpy()).max()))
    return worst


def test_the_page_computes_the_trace_of_20_test_digits(page, synthetic_site):
    site, checkpoint, gru, data_dir = synthetic_site
    check_test_digits(page, site, checkpoint, gru, data_dir)

    # what the page shows is what it computed: equation (6) for a chosen unit and row, in the GRU too
    page.execute_script("LSTMMnist.app.setRow(20); LSTMMnist.app.setUnit(5)")
    t = trace(ckpt.load_model(checkpoint)[0], load_mnist(data_dir).test.images[DIGITS - 1])
    shown = page.find_element("css selector", '.value[data-number="6"]').text
    assert shown.startswith("c_t = ") and abs(float(shown.split("= ")[-1]) - float(t.steps["c"][20, 5])) <= 6e-5, shown
    page.find_element("css selector", 'input[name="model"][value="compare"]').click()
    assert len(page.find_elements("css selector", "#equations .equation")) == 6  # the GRU's six
    assert [c.get_attribute("data-name") for c in page.find_elements("css selector", "canvas.map")] == ["r", "z", "n", "h"]


def test_the_page_computes_the_trace_of_20_real_mnist_test_digits(page, mnist_site):
    site, lstm, rnn, data_dir = mnist_site
    worst = check_test_digits(page, site, lstm, rnn, data_dir)
    print(f"largest difference in a probability, page vs PyTorch: {worst:.2e}")


def stroke(driver, canvas, points, kind: str = "mouse") -> None:
    """Press a mouse button (or a finger: ``kind="touch"``) at the first point (offsets from the
    canvas's centre), drag through the others, lift."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    actions = ActionBuilder(driver, mouse=PointerInput(kind, kind), duration=10)
    actions.pointer_action.move_to(canvas, *points[0]).pointer_down()
    for x, y in points[1:]:
        actions.pointer_action.move_to(canvas, x, y)
    actions.pointer_action.pointer_up()
    actions.perform()


def check_drawing(driver, model, path) -> None:
    """The page read its drawing as images.py reads the same pixels, and traced what it read."""
    state = snapshot(driver)
    assert state["source"] == "your drawing"
    png = driver.execute_script("return document.getElementById('drawing').toDataURL('image/png')")
    path.write_bytes(base64.b64decode(png.split(",", 1)[1]))
    expected = load_image(path)  # (28, 28): what inspect_digit.py --image reads
    assert expected.sum() > 20  # a real stroke, not a blank field
    assert np.abs(np.array(state["image"]) - expected.numpy()).max() <= 1 / 255 + 1e-6
    assert_same_as_trace(state["traces"]["main"], trace(model, torch.tensor(state["image"], dtype=torch.float32)),
                         "drawing")


def test_a_drawing_is_read_as_images_py_reads_it_and_traced(page, synthetic_site, tmp_path):
    site, checkpoint, _, _ = synthetic_site
    model, _ = ckpt.load_model(checkpoint)
    page.get((site / "index.html").as_uri())
    canvas = page.find_element("id", "drawing")
    stroke(page, canvas, [(-70, -80), (-20, -85), (40, -88), (75, -85), (50, -30), (20, 30), (0, 90)])  # a 7
    stroke(page, canvas, [(-20, 0), (50, 5)])  # its bar
    check_drawing(page, model, tmp_path / "seven.png")

    page.find_element("id", "clear").click()
    assert snapshot(page)["traces"] is None
    stroke(page, canvas, [(10, -100), (5, -30), (0, 40), (-5, 100)], kind="touch")  # a 1, with a finger
    check_drawing(page, model, tmp_path / "one.png")


def test_a_mouse_stroke_is_said_once_when_the_pen_lifts(page, synthetic_site):
    """The page re-reads a drawing at every frame while the pen moves; the live region said each
    re-read (a screen reader talked through the whole stroke): it speaks once, after the pen lifts."""
    site = synthetic_site[0]
    page.get((site / "index.html").as_uri())
    page.execute_script("window.said = []; const answer = document.getElementById('answer');"
                        "new MutationObserver(() => window.said.push(answer.textContent))"
                        ".observe(answer, {childList: true, characterData: true, subtree: true});")
    canvas = page.find_element("id", "drawing")
    points = [(-70 + 5 * k, -80 - k // 4) for k in range(30)] + [(75 - 2 * k, -85 + 6 * k) for k in range(30)]
    stroke(page, canvas, points)  # a 7, drawn slowly enough for the page to re-read it on the way
    said = page.execute_script("return window.said")
    assert len(said) == 1 and said[0].endswith(")."), said
    assert said[0].startswith("The LSTM") and " reads your drawing as " in said[0]


# --- the keyboard alone: no mouse, no finger -------------------------------------------------


@pytest.fixture(scope="module")
def shipped_site(tmp_path_factory):
    """The shipped model with the ten shipped digits: what a clone offers without the MNIST files."""
    site = tmp_path_factory.mktemp("site-shipped") / "site"
    assert web.main([str(ROOT / "docs" / "model" / "lstm-mnist.pt"), "--out", str(site), "--samples", "0",
                     "--digits", str(ROOT / "docs" / "digits")]) == 0
    return site


def press(driver, *keys) -> None:
    """Keys pressed on whatever has the focus, as a user presses them."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def cursor_position(driver) -> tuple[int, int, str]:
    """Column, row and pen ('up' or 'down'), as the line under the drawing says them."""
    text = driver.find_element("id", "pen-position").text
    match = re.fullmatch(r"column (\d+), row (\d+), pen (up|down)", text)
    assert match, text
    return int(match[1]), int(match[2]), match[3]


def draw_with_keys(driver, strokes) -> None:
    """Each stroke, a list of (column, row) cells of the 28x28 grid: the cursor goes to its first
    cell with the pen up, Space puts the pen down, the arrow keys follow the cells (a diagonal as a
    staircase), Space lifts the pen."""
    from selenium.webdriver.common.keys import Keys

    def go(to):
        (x, y, _), keys = cursor_position(driver), []
        while (x, y) != to:
            if x != to[0]:
                keys.append(Keys.ARROW_RIGHT if to[0] > x else Keys.ARROW_LEFT)
                x += 1 if to[0] > x else -1
            if y != to[1]:
                keys.append(Keys.ARROW_DOWN if to[1] > y else Keys.ARROW_UP)
                y += 1 if to[1] > y else -1
        if keys:
            press(driver, *keys)
        assert cursor_position(driver)[:2] == to

    for cells in strokes:
        go(cells[0])
        press(driver, Keys.SPACE)
        assert cursor_position(driver)[2] == "down"
        for cell in cells[1:]:
            go(cell)
        press(driver, Keys.SPACE)
        assert cursor_position(driver)[2] == "up"


def test_a_digit_drawn_with_the_keyboard_is_read_and_traced(page, shipped_site, tmp_path):
    """Tab to the drawing, draw a 7 with the arrow keys and Space: the page reads it as images.py
    reads the same pixels, traces it, and its live region says the answer the Python model gives;
    the arrows and Space draw there (they neither step the rows nor play); Delete clears."""
    from selenium.webdriver.common.keys import Keys

    model, checkpoint = ckpt.load_model(ROOT / "docs" / "model" / "lstm-mnist.pt")
    labels = class_labels(ckpt.class_names(checkpoint), model.config.num_classes)
    page.get((shipped_site / "index.html").as_uri())
    answer = page.find_element("id", "answer")
    assert answer.get_attribute("aria-live") == "polite"
    assert answer.text.startswith("The LSTM (lstm-mnist.pt) reads test-0.png as 7 (")  # MNIST's test digit 0
    press(page, Keys.TAB)
    assert page.switch_to.active_element.get_attribute("id") == "drawing"
    assert page.find_element("id", "cursor").is_displayed()  # where the pen is, seen

    draw_with_keys(page, [[(7, 5), (20, 5), (12, 23)], [(10, 14), (18, 14)]])  # a 7, and its bar
    check_drawing(page, model, tmp_path / "seven.png")
    state = snapshot(page)
    assert state["row"] == 0 and page.execute_script("return LSTMMnist.app.timer === null")
    p = trace(model, torch.tensor(state["image"], dtype=torch.float32)).probabilities[-1]
    best = int(p.argmax())
    assert np.argmax(state["traces"]["main"]["probabilities"][-1]) == best  # the page's answer is PyTorch's
    assert labels[best] == "7"  # the shipped model reads the keyboard's 7 as a 7
    assert answer.text == f"The LSTM (lstm-mnist.pt) reads your drawing as {labels[best]} ({100 * float(p[best]):.1f}%)."

    press(page, Keys.DELETE)
    assert snapshot(page)["traces"] is None and answer.text == ""
    assert page.find_element("id", "status").text == "Draw a digit, or pick one below."
    draw_with_keys(page, [[(14, 4), (14, 23)]])  # a 1, after Delete
    check_drawing(page, model, tmp_path / "one.png")
    assert " reads your drawing as " in answer.text


def test_the_answer_is_said_once_for_each_digit(page, synthetic_site):
    """The live region under the drawing says each model's answer after the last row, as trace()
    computes it, when a digit is picked with the keys, and again when the model shown changes, but
    not while the rows are stepped (the status line says those)."""
    from selenium.webdriver.common.keys import Keys

    site, checkpoint, gru, data_dir = synthetic_site
    image = load_mnist(data_dir).test.images[3]
    said = []
    for path in (checkpoint, gru):
        model, saved = ckpt.load_model(path)
        p = trace(model, image).probabilities[-1]
        said.append(f"{class_labels(ckpt.class_names(saved), model.config.num_classes)[int(p.argmax())]} "
                    f"({100 * float(p.max()):.1f}%)")
    page.get((site / "index.html").as_uri())
    answer = page.find_element("id", "answer")
    press(page, *[Keys.TAB] * 6, Keys.SPACE)  # the drawing, Clear, then test digits 0 to 3
    assert page.switch_to.active_element.get_attribute("aria-label").startswith("test digit 3 ")
    lstm, other = f"LSTM ({checkpoint.name})", f"GRU ({gru.name})"
    source = snapshot(page)["source"]
    first = f"The {lstm} reads {source} as {said[0]}; the {other} reads it as {said[1]}."
    assert answer.text == first
    status = page.find_element("id", "status").text
    press(page, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)  # rows 1 and 2
    assert page.find_element("id", "status").text != status and answer.text == first
    page.find_element("css selector", 'input[name="model"][value="main"]').send_keys(Keys.ARROW_DOWN)  # the GRU
    assert answer.text == f"The {other} reads {source} as {said[1]}; the {lstm} reads it as {said[0]}."


def test_tab_reaches_every_control_in_order_named_and_outlined(page, synthetic_site):
    """From the top, Tab visits the drawing, Clear, each digit to pick, the model to show, the step
    buttons, the row slider, the probabilities' heat map, the unit and every unit's heat map, in the page's
    reading order; each has a name a screen reader says and a visible focus outline. The page says in one
    line how to draw by keyboard."""
    from selenium.webdriver.common.keys import Keys

    page.get((synthetic_site[0] / "index.html").as_uri())
    visited = []
    for _ in range(60):
        press(page, Keys.TAB)
        focused = page.switch_to.active_element
        if focused.tag_name == "body" or (visited and focused.get_attribute("id") == "drawing"):
            break
        name = focused.get_attribute("id") or f"{focused.get_attribute('class')}:{focused.get_attribute('value')}"
        style = page.execute_script("const s = getComputedStyle(arguments[0]); return [s.outlineStyle, "
                                    "parseFloat(s.outlineWidth)]", focused)
        visited.append(name)
        assert focused.accessible_name.strip(), f"{name} has no accessible name"
        assert style[0] != "none" and style[1] >= 2, f"{name}: no visible focus outline ({style})"
    maps = len(page.find_elements("css selector", "#maps canvas"))
    assert visited == ["drawing", "clear", *["sample:"] * DIGITS, ":main", "first", "previous", "play", "next", "last",
                       "row", "probability-map", "unit", *["map:None"] * maps] and maps >= 6
    help_line = page.find_element("id", page.find_element("id", "drawing").get_attribute("aria-describedby"))
    assert help_line.is_displayed() and all(word in help_line.text for word in ("arrows", "Space", "Delete"))


def test_the_heat_maps_are_reached_named_and_read_by_keyboard(page, synthetic_site):
    """The heat maps (each vector's, units across and rows down, and the probabilities') could be read only
    by eye and chosen in only with the mouse: Tab now reaches each, its name says what it shows and the value
    marked, and the arrows move across it (units left and right, rows up and down), the value said each time."""
    from selenium.webdriver.common.keys import Keys

    page.get((synthetic_site[0] / "index.html").as_uri())
    page.find_elements("css selector", "#samples button")[0].click()
    probability = page.find_element("id", "probability-map")
    assert probability.get_attribute("tabindex") == "0" and probability.aria_role in ("img", "image")
    state = snapshot(page)
    best = max(range(10), key=lambda k: state["traces"]["main"]["probabilities"][0][k])
    assert probability.accessible_name.startswith("heat map of the probability of each class (across) after each row")
    assert f"after row 0: {best} (" in probability.accessible_name
    f_map = page.find_element("css selector", '#maps canvas[data-name="f"]')
    page.execute_script("arguments[0].focus()", f_map)
    assert page.switch_to.active_element == f_map and f_map.aria_role in ("img", "image")
    help_line = page.find_element("id", f_map.get_attribute("aria-describedby"))
    assert help_line.is_displayed() and "arrows" in help_line.text
    press(page, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_UP)
    state = snapshot(page)
    assert (state["unit"], state["row"]) == (2, 2)  # the arrows moved across the map, not the page's rows alone
    f = state["traces"]["main"]["steps"]["f"][2][2]
    hidden = len(state["traces"]["main"]["steps"]["f"][0])
    assert f_map.accessible_name == (f"heat map of f: {hidden} units across, 28 rows down, rows 0 to 2 read; "
                                     f"unit 2 after row 2: {'+' if f >= 0 else ''}{f:.4f}")
    assert page.find_element("id", "map-value").text == f"f, unit 2 after row 2: {'+' if f >= 0 else ''}{f:.4f}"
    assert page.find_element("id", "map-value").get_attribute("aria-live") == "polite"


@pytest.mark.parametrize("size, dark_on_light", [((61, 37), True), ((9, 13), False), ((120, 300), True),
                                                 ((28, 28), True)])
def test_images_js_is_images_py(page, synthetic_site, tmp_path, size, dark_on_light):
    """Any size (the LANCZOS resampling shrinking and enlarging), either background."""
    page.get((synthetic_site[0] / "index.html").as_uri())
    rng = np.random.default_rng(sum(size))
    height, width = size
    grey = np.zeros(size)
    ys, xs = np.mgrid[0:height, 0:width]
    for _ in range(3):  # a few soft blobs
        cy, cx, r = rng.uniform(0.2, 0.8) * height, rng.uniform(0.2, 0.8) * width, rng.uniform(0.1, 0.3) * min(size)
        grey = np.maximum(grey, np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * r * r)))
    pixels = np.uint8(np.round(255 * (1 - grey if dark_on_light else grey)))
    rgba = np.dstack([pixels, pixels, pixels, np.full_like(pixels, 255)])  # (height, width, 4)
    path = tmp_path / "digit.png"
    Image.fromarray(rgba, "RGBA").save(path)

    page_image = page.execute_script(
        "const data = new ImageData(Uint8ClampedArray.from(arguments[0]), arguments[1], arguments[2]);"
        "return LSTMMnist.images.loadImage(data);", rgba.ravel().tolist(), width, height)
    assert np.abs(np.array(page_image) - load_image(path).numpy()).max() <= 1 / 255 + 1e-6


def test_images_js_refuses_what_images_py_refuses(page, synthetic_site):
    """A digit of which nothing is left once scaled to 20x20 (two dots at the corners of a large image): images.py
    refuses it, and images.js did not (its centre of mass was NaN, and the page read an empty field as a digit)."""
    page.get((synthetic_site[0] / "index.html").as_uri())
    grey = np.zeros((500, 500), dtype=np.float32)
    grey[0, 0] = grey[-1, -1] = 1
    with pytest.raises(ValueError) as refused:
        to_mnist_form(grey)
    thrown = page.execute_script(
        "const grey = new Float32Array(500 * 500); grey[0] = grey[grey.length - 1] = 1;"
        "try { LSTMMnist.images.toMnistForm(grey, 500, 500); return null; } catch (error) { return error.message; }")
    assert thrown == str(refused.value)


def test_lanczos_js_is_pillows(page, synthetic_site):
    """images.js resizes as images.py's resize_lanczos does with PIL's Image.resize(..., LANCZOS), to the
    grey level, shrinking and enlarging, whichever side shrinks most (where Pillow 13's own choice of
    the first pass would differ)."""
    page.get((synthetic_site[0] / "index.html").as_uri())
    rng = np.random.default_rng(0)
    for _ in range(40):
        height, width = (int(n) for n in rng.integers(1, 120, size=2))
        new_height, new_width = (int(n) for n in rng.integers(1, 30, size=2))
        pixels = rng.integers(0, 256, size=(height, width), dtype=np.uint8)
        expected = resize_lanczos(pixels, new_height, new_width)
        resized = page.execute_script(
            "const [pixels, ...sizes] = arguments;"
            "return Array.from(LSTMMnist.images.resizeLanczos(Uint8Array.from(pixels), ...sizes));",
            pixels.ravel().tolist(), width, height, new_width, new_height)
        assert np.array_equal(np.reshape(resized, (new_height, new_width)), expected), \
            f"{(height, width)} -> {(new_height, new_width)}, Pillow {PIL.__version__}"


def test_keys_buttons_http_and_a_phone(page, synthetic_site):
    site = synthetic_site[0]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.get(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        from selenium.webdriver.common.keys import Keys

        body = page.find_element("tag name", "body")
        body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        assert snapshot(page)["row"] == 3
        body.send_keys(Keys.END)
        assert snapshot(page)["row"] == 27 and page.find_element("id", "row-value").text == "27"
        body.send_keys(Keys.HOME, Keys.ARROW_LEFT)
        assert snapshot(page)["row"] == 0
        page.find_element("id", "next").send_keys(Keys.ENTER)  # a focused button, by keyboard
        assert snapshot(page)["row"] == 1
        buttons = page.find_elements("css selector", "#samples button")
        buttons[3].send_keys(Keys.SPACE)
        assert snapshot(page)["source"].startswith("test digit 3 ")
        body.send_keys(Keys.SPACE)  # play
        assert page.execute_script("return LSTMMnist.app.timer !== null")
        body.send_keys(Keys.SPACE)  # pause
        assert page.execute_script("return LSTMMnist.app.timer === null")
        unit = page.find_element("id", "unit")
        unit.send_keys(Keys.ARROW_UP, Keys.ARROW_UP)
        assert snapshot(page)["unit"] == 2

        browser_tools.set_viewport(page, 390, 844, mobile=True)  # a phone
        assert page.execute_script("return document.documentElement.scrollWidth") <= 390
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_without_test_digits_never_offers_them(page, small_checkpoint, tmp_path):
    """Made without the MNIST files (or with --samples 0), the page asks for a drawing only, on opening and
    after Clear, says how to add test digits, and space plays nothing while there is no digit."""
    from selenium.webdriver.common.keys import Keys

    site = tmp_path / "site"
    assert web.main([str(small_checkpoint), "--out", str(site), "--samples", "0"]) == 0
    page.get((site / "index.html").as_uri())
    status = lambda: page.find_element("id", "status").text  # noqa: E731
    assert status() == "Draw a digit in the black square."
    assert "--data-dir" in page.find_element("id", "samples-title").text
    page.find_element("id", "clear").click()
    assert status() == "Draw a digit in the black square."
    page.find_element("tag name", "body").send_keys(Keys.SPACE)
    assert page.execute_script("return LSTMMnist.app.timer === null")


def test_images_of_your_own_are_offered_and_traced(page, tmp_path, capsys):
    """Right after cloning, with no MNIST files: ``--digits docs/digits`` puts the ten shipped test digits
    on the page, each named by its file and read as predict.py reads it, and the page computes what
    trace() computes on it. An image of another size is brought to MNIST's form first."""
    shipped = ROOT / "docs" / "model" / "lstm-mnist.pt"
    folder = tmp_path / "mine"
    folder.mkdir()
    Image.fromarray(np.pad(np.full((30, 8), 20, np.uint8), 20, constant_values=250)).save(folder / "one.jpg")
    site = tmp_path / "site"
    assert web.main([str(shipped), "--out", str(site), "--samples", "0", "--digits", str(ROOT / "docs" / "digits"),
                     str(folder / "one.jpg")]) == 0
    assert "11 digits to pick" in capsys.readouterr().out
    page.get((site / "index.html").as_uri())
    buttons = page.find_elements("css selector", "#samples button")
    names = sorted(path.name for path in (ROOT / "docs" / "digits").glob("*.png")) + ["one.jpg"]
    assert [button.get_attribute("aria-label") for button in buttons] == names
    model, _ = ckpt.load_model(shipped)
    for name in ("test-7.png", "one.jpg"):
        buttons[names.index(name)].click()
        image = load_image((ROOT / "docs" / "digits" / name) if name.startswith("test") else folder / name)
        state = snapshot(page)
        np.testing.assert_allclose(np.array(state["image"]), image.numpy(), rtol=0, atol=1e-6)
        assert_same_as_trace(state["traces"]["main"], trace(model, image), name)
        assert name in page.find_element("id", "status").text


def test_a_screenshot_at_a_fixed_size_is_not_blank(page, synthetic_site):
    page.get((synthetic_site[0] / "index.html").as_uri())
    page.execute_script("LSTMMnist.app.setRow(14)")
    with Image.open(io.BytesIO(page.get_screenshot_as_png())) as shot:
        assert shot.size == browser_tools.WINDOW
        pixels = np.asarray(shot.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # text, the digit, the heat maps
    assert pixels.std() > 30


# --- the command line: no browser needed ---------------------------------------------------


def run_web(capsys, *argv):
    with pytest.raises(SystemExit) as exit_:
        web.main([str(a) for a in argv])
    return exit_.value.code, capsys.readouterr().err.strip()


def test_the_command_refuses_what_it_cannot_do_in_one_line(small_checkpoint, tmp_path, capsys, monkeypatch):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    for overwrite in ([], ["--overwrite"]):  # --overwrite replaces a site, never a folder of other files
        code, err = run_web(capsys, small_checkpoint, "--out", full, *overwrite)
        assert code == 2 and err == (f"python -m lstm_mnist.web: error: --out {full}: holds files that are not part "
                                     "of a site made by this command (notes.txt); choose a new or empty folder "
                                     "(see --help)")
    assert (full / "notes.txt").read_text() == "mine"
    with pytest.raises(CheckpointError, match="missing.pt not found$"):  # as the other commands say it (exit 1)
        web.main([str(tmp_path / "missing.pt"), "--out", str(tmp_path / "site")])
    with pytest.raises(CheckpointError, match="is a folder, not a regular file; give the checkpoint itself$"):
        web.main([str(tmp_path), "--out", str(tmp_path / "site")])
    assert not (tmp_path / "site").exists()
    code, err = run_web(capsys, small_checkpoint, "--out", full / "notes.txt")
    assert code == 2 and "is a file; give a folder" in err and "\n" not in err
    code, err = run_web(capsys, small_checkpoint, "--out", tmp_path / "no" / "site")
    assert code == 2 and "does not exist; create it first" in err
    code, err = run_web(capsys, small_checkpoint, "--out", tmp_path / "site", "--samples", "-1")
    assert code == 2 and "--samples" in err and "\n" not in err
    code, err = run_web(capsys, small_checkpoint, "--out", tmp_path / "site", "--samples", "100000")
    assert code == 2 and "--samples: must be at most 1,000" in err  # not quietly 10,000 of them
    assert not (tmp_path / "site").exists()

    monkeypatch.setattr(sys, "argv", ["web", str(small_checkpoint), "--out", str(tmp_path / "site"), "--data-dir",
                                      str(full)])
    assert web.command() == 1  # the MNIST files are not there: one line, no traceback, no site
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m lstm_mnist.web: error: ") and "lacks" in err and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]

    (full / "blank.png").write_bytes(b"")  # --digits: an image that cannot be read is named, in one line
    monkeypatch.setattr(sys, "argv", ["web", str(small_checkpoint), "--out", str(tmp_path / "site"), "--samples",
                                      "0", "--digits", str(full)])
    assert web.command() == 1
    err = capsys.readouterr().err.strip()
    assert err == f"python -m lstm_mnist.web: error: {full / 'blank.png'}: not an image (empty, or in no format " \
                  "Pillow reads, such as PNG or JPEG)"
    assert not (tmp_path / "site").exists()


def test_the_site_is_written_whole_and_replaced_whole(small_checkpoint, synthetic_dir, tmp_path, capsys):
    out = tmp_path / "site"
    assert web.main([str(small_checkpoint), "--out", str(out), "--data-dir", str(synthetic_dir), "--samples", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["app.js", "cell.js", "gru_cell.js", "images.js", "index.html",
                                                     "model.js", "rnn_cell.js", "style.css", "tensor.js", "weights.js"]
    text = (out / "weights.js").read_text()
    data = json.loads(text[text.index("=") + 1:].strip().rstrip(";"))
    model, _ = ckpt.load_model(small_checkpoint)
    assert data["main"]["config"]["hidden_size"] == 16 and data["compare"] is None and len(data["samples"]) == 3
    for name, tensor in model.state_dict().items():  # the float32 weights, given back exactly
        stored = np.float32(data["main"]["weights"][name]["data"])
        assert np.array_equal(stored, tensor.numpy().ravel()), name
    assert [e["number"] for e in data["main"]["equations"]] == [1, 2, 3, 4, 5, 6, 7]

    (out / "weights.js").write_text("// from before")
    assert web.main([str(small_checkpoint), "--out", str(out), "--overwrite", "--samples", "0"]) == 0
    assert (out / "weights.js").read_text() != "// from before" and (out / "index.html").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no temporary folder left beside it
    assert "0 digits to pick" in capsys.readouterr().out


def test_a_build_killed_midway_is_undone_by_the_next(small_checkpoint, tmp_path, capsys):
    """A kill while the site is built leaves its half-built folder; a kill between write_site's two
    renames leaves the old site aside and no --out. The next build removes the first and puts the
    second back (then refuses to replace it without --overwrite, as for any site)."""
    out = tmp_path / "site"
    args = [str(small_checkpoint), "--out", str(out), "--samples", "0"]
    assert web.main(args) == 0
    (out / "weights.js").write_text("// the old site")
    half = tmp_path / ".site.k3j_9a0b.tmp"
    half.mkdir()
    (half / "index.html").write_text("half built")
    os.replace(out, tmp_path / ".site.old-4242")
    other = tmp_path / ".other.k3j_9a0b.tmp"  # another site's: not touched
    other.mkdir()
    capsys.readouterr()
    with pytest.raises(FileExistsError, match="pass --overwrite"):  # the command prints it as one line
        web.main(args)
    assert (out / "weights.js").read_text() == "// the old site"  # put back whole
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.k3j_9a0b.tmp", "site"]
    printed = capsys.readouterr().out
    assert f"removed {half}" in printed and f"back as {out}" in printed

    (tmp_path / ".site.old-4243").mkdir()  # and with a site in place, an old one aside is removed
    assert web.main([*args, "--overwrite"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.k3j_9a0b.tmp", "site"]
    assert (out / "weights.js").read_text() != "// the old site"



class FakeChromium:
    """What scripts/web_screenshot.py asks of a browser, without one: it opens a page 100 pixels
    tall and takes a grey screenshot of it."""

    def __init__(self):
        self.opened = []

    def get(self, url):
        self.opened.append(url)

    def execute_script(self, script, *args):
        return 100  # the page's height, when asked

    def execute_cdp_cmd(self, command, parameters):
        return {}

    def get_screenshot_as_png(self):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 100), "grey").save(buffer, format="PNG")
        return buffer.getvalue()

    def quit(self):
        pass


def test_web_screenshot_names_only_files_that_are_there_when_it_is_done(small_checkpoint, synthetic_dir, tmp_path,
                                                                         monkeypatch, capsys):
    """The user opens what the script says it wrote: no path it prints is already gone (its site is
    built in a temporary folder, removed at the end)."""
    driver = FakeChromium()
    monkeypatch.setattr(browser_tools, "missing", lambda: None)
    monkeypatch.setattr(browser_tools, "headless_chromium", lambda profile: driver)
    out = tmp_path / "web.png"
    monkeypatch.setattr(sys, "argv", ["scripts/web_screenshot.py", str(small_checkpoint), "--data-dir",
                                      str(synthetic_dir), "--out", str(out)])
    assert browser_tools.main() == 0
    printed = capsys.readouterr().out
    assert len(driver.opened) == 1 and driver.opened[0].endswith("/site/index.html")  # the page was made, and shown
    named = re.findall(r"/[^\s:;,()]+", printed)
    assert str(out) in named and all(os.path.exists(path) for path in named), printed
