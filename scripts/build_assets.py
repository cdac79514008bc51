"""Copy the compiled GOV.UK Frontend files from npm into the portal's static folder.

Run from the project folder after ``npm ci``:

    python scripts/build_assets.py

It copies ``node_modules/govuk-frontend/dist/govuk/`` ``govuk-frontend.min.css``, ``govuk-frontend.min.js``
(with their source maps) and ``assets/`` into ``src/pupildata/web/static/govuk/``, replacing what was there.
That folder is not kept in version control. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("govuk-frontend.min.css", "govuk-frontend.min.js")
OPTIONAL_FILES = ("govuk-frontend.min.css.map", "govuk-frontend.min.js.map")
FOLDERS = ("assets",)


def _version(package_dir: Path) -> str:
    try:
        return str(json.loads((package_dir / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def build(root: Path = ROOT) -> Path:
    """Copy the files; return the destination. Raise SystemExit with a clear message if npm was not run."""
    package_dir = root / "node_modules" / "govuk-frontend"
    source = package_dir / "dist" / "govuk"
    missing = [name for name in (*FILES, *FOLDERS) if not (source / name).exists()]
    if missing:
        raise SystemExit(
            f"GOV.UK Frontend is not installed (missing {', '.join(missing)} in {source}). "
            "Run `npm ci` in the project folder first."
        )
    target = root / "src" / "pupildata" / "web" / "static" / "govuk"
    staging = target.with_name("govuk.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in (*FILES, *OPTIONAL_FILES):
        if (source / name).exists():
            shutil.copy2(source / name, staging / name)
    for name in FOLDERS:
        shutil.copytree(source / name, staging / name)
    (staging / "VERSION").write_text(_version(package_dir) + "\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=ROOT, help="The project folder (default: this script's parent).")
    args = parser.parse_args(argv)
    target = build(args.root.resolve())
    version = (target / "VERSION").read_text(encoding="utf-8").strip()
    print(f"GOV.UK Frontend {version} copied to {target.relative_to(args.root.resolve())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
