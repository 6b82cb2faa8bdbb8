#!/usr/bin/env python
"""Screenshot a run's report in headless Chromium and check that every figure loaded.

    python scripts/screenshot_report.py RUN_DIR OUT.png [--width 1280] [--height 3200]

Rewrites RUN_DIR/report.html first (with --keep, only when it is missing). Exit 0 when the screenshot
was written and every <img> of the report loaded; 1 when some image did not
load; 2 when there is no browser or no report can be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone without installing

from zazu.errors import ZazuError  # noqa: E402
from zazu.report import write_report  # noqa: E402
from zazu.report.screenshot import images_loaded, screenshot  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out_png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=3200)
    parser.add_argument("--keep", action="store_true", help="screenshot the existing report.html as it is")
    args = parser.parse_args(argv)
    try:
        html = args.run_dir / "report.html"
        if not (args.keep and html.is_file()):
            html = write_report(args.run_dir)
        png = screenshot(html, args.out_png, args.width, args.height)
        loaded, total = images_loaded(html)
    except ZazuError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{png}: screenshot of {html} ({loaded}/{total} images loaded)")
    return 0 if loaded == total else 1


if __name__ == "__main__":
    sys.exit(main())
