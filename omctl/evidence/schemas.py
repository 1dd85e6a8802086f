"""Write (or check) the JSON Schema of every evidence kind into omctl/data/evidence-schemas.

``python -m omctl.evidence.schemas`` rewrites the files; ``--check`` exits 1 naming the kinds
whose committed schema differs from its model (the unit tests run the same comparison).
Molecule's verify validates each role's published evidence against these files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from omctl.evidence import MODELS

DIRECTORY = Path(__file__).resolve().parent.parent / "data" / "evidence-schemas"


def schema(kind: str) -> dict[str, Any]:
    model = MODELS[kind]
    generated = model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"omctl:evidence/{kind}/v{model.SCHEMA_VERSION}",
        "x-omctl-schema-version": model.SCHEMA_VERSION,
        **generated,
    }


def text(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, sort_keys=True) + "\n"


def stale(directory: Path = DIRECTORY) -> list[str]:
    """The kinds whose file is missing or differs, and files of kinds that no longer exist."""
    found = sorted(
        kind
        for kind in MODELS
        if not (directory / f"{kind}.json").is_file()
        or (directory / f"{kind}.json").read_text(encoding="utf-8") != text(kind)
    )
    extra = sorted(p.stem for p in directory.glob("*.json") if p.stem not in MODELS)
    return found + extra


def write(directory: Path = DIRECTORY) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.json"):
        if path.stem not in MODELS:
            path.unlink()
    for kind in MODELS:
        (directory / f"{kind}.json").write_text(text(kind), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m omctl.evidence.schemas")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        differ = stale()
        if differ:
            print(
                f"evidence schemas differ from the models: {', '.join(differ)}; run: make schemas",
                file=sys.stderr,
            )
            return 1
        return 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
