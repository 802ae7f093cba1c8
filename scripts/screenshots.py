"""Screenshot a built email.html in headless Chromium: 375 px and 700 px, light and dark.

Usage: python scripts/screenshots.py [BUILD_DIR] [OUT_DIR]
(defaults: build/2026-w48 and screenshots/). Prints the PNG paths and whether
the page scrolls horizontally at each width.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from digest.browser import CHROMIUM_ARGS, chromium_path


def main() -> int:
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "build/2026-w48")
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    executable = chromium_path()
    if executable is None:
        print("no Chromium found: install Debian's chromium or set DIGEST_CHROMIUM", file=sys.stderr)
        return 1
    page_url = (build / "email.html").resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            for width in (375, 700):
                page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
                page.route(
                    "**/*",
                    lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_(),
                )
                page.goto(page_url)
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                target = out / f"email-{width}-{scheme}.png"
                page.screenshot(path=str(target), full_page=True)
                print(f"{target}  horizontal overflow: {overflow}px")
                page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
