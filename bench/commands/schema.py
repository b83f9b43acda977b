"""`bench schema`: the JSON Schema of the benchmark format, for editors (e.g. yaml-language-server)."""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    from bench.config import json_schema

    text = json.dumps(json_schema(), indent=2)
    if args.output:
        from bench.safe_write import write_text

        write_text(args.output, text + "\n", "the schema")
    else:
        print(text)
    return 0
