"""A screenshot of the page that ``python -m lstm_mnist.web`` makes, taken in a headless Chromium.

    python scripts/web_screenshot.py docs/model/lstm-mnist.pt --data-dir DIR --out docs/figures/web.png

makes the site in a temporary folder (with the first test digits), opens it at a fixed window
size, picks test digit 0, steps to ``--row``, and saves the window as a PNG (the site goes when
it is done: ``python -m lstm_mnist.web`` makes one to keep). It needs selenium
(requirements-dev.txt) and Debian's ``chromium`` and ``chromium-driver`` (apt-get install -y
chromium chromium-driver): nothing is downloaded; tests/test_web.py drives the page the same way.
"""

import contextlib
import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_mnist import figures  # noqa: E402
from lstm_mnist.cli import (ArgumentParser, HelpFormatter, check_output_path, docstring, nonempty_path,  # noqa: E402
                            output_file, run, whole_number)
from lstm_mnist.data import IMAGE_SIZE  # noqa: E402
from lstm_mnist.errors import CheckpointError, LSTMMnistError  # noqa: E402
from lstm_mnist.files import atomic_write, open_regular, shown  # noqa: E402

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WINDOW = (1280, 1100)  # the screenshot's size in CSS pixels


def missing() -> str | None:
    """Why a headless Chromium cannot be started here, or None if it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} not found (apt-get install -y chromium chromium-driver)"
    return None


def headless_chromium(profile: Path, window: tuple[int, int] = WINDOW):
    """Debian's Chromium through its chromedriver, never a browser that Selenium Manager would
    download; ``profile``: an empty folder for a fresh user profile. Logs the console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}",
                 f"--window-size={window[0]},{window[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    set_viewport(driver, *window)
    return driver


def set_viewport(driver, width: int, height: int, mobile: bool = False) -> None:
    """Make the page's viewport exactly width x height CSS pixels (a phone's, with ``mobile``)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def full_page_png(driver, width: int = WINDOW[0]) -> bytes:
    """The whole page, as tall as it is, at ``width`` CSS pixels."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    set_viewport(driver, width, height)
    return driver.get_screenshot_as_png()


def row(text: str) -> int:
    return whole_number(text, minimum=0, maximum=IMAGE_SIZE - 1)


def main() -> int:
    parser = ArgumentParser(prog="scripts/web_screenshot.py", description=docstring(__doc__, __file__),
                            formatter_class=HelpFormatter)
    parser.add_argument("checkpoint", type=nonempty_path, help="checkpoint written by train.py")
    parser.add_argument("--out", type=output_file, required=True, metavar="PNG", help="where to save the screenshot (a .png)")
    parser.add_argument("--data-dir", type=nonempty_path, default=None, metavar="DIR", help="the MNIST files (default: $MNIST_DIR)")
    parser.add_argument("--compare", type=nonempty_path, default=None, metavar="CHECKPOINT", help="passed to lstm_mnist.web")
    parser.add_argument("--row", type=row, default=14, help="the row to show, 0 to 27 (default: 14)")
    args = parser.parse_args()
    inputs = [path for path in (args.checkpoint, args.compare) if path is not None]
    for path in inputs:  # missing, or a folder: one line and exit 1, as in every command, before a browser starts
        with open_regular(path, CheckpointError, "checkpoint"):
            pass
    check_output_path(args.out, may_replace=True, flag="--out", inputs=inputs)
    figures.check_name(args.out, "--out", ("png",))  # the screenshot is a PNG, whatever its name says
    reason = missing()
    if reason:
        raise LSTMMnistError(reason)

    from lstm_mnist import web
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        argv = [str(args.checkpoint), "--out", str(site), "--samples", "12"]
        argv += ["--data-dir", str(args.data_dir)] if args.data_dir else []
        argv += ["--compare", str(args.compare)] if args.compare else []
        with contextlib.redirect_stdout(io.StringIO()):  # it names the temporary site, gone when we are done
            web.main(argv)  # a bad checkpoint or --data-dir: one line from lstm_mnist.web
        driver = headless_chromium(Path(tmp) / "profile")
        try:
            driver.get(site.joinpath("index.html").as_uri())
            driver.execute_script("LSTMMnist.app.setRow(arguments[0]); LSTMMnist.app.setUnit(arguments[1]);", args.row, 0)
            png = full_page_png(driver)
        finally:
            driver.quit()
    from PIL import Image  # 256 colours are plenty for a page, and a third of the size
    with Image.open(io.BytesIO(png)) as shot:
        small = shot.quantize(colors=256, dither=Image.Dither.NONE)
    atomic_write(args.out, lambda f: small.save(f, format="PNG", optimize=True))
    print(f"wrote {shown(args.out)} ({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(run(main, "scripts/web_screenshot.py"))
