"""Check a rules directory from the command line.

    python -m chalicelib.engine [RULES_DIR]     # default: rules/; exit 1 when there are problems
    python -m chalicelib.engine --schema        # print the rule-file meta-schema (JSON)
    python -m chalicelib.engine --document      # print the condition document schema (JSON)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chalicelib.engine.loader import check_rules
from chalicelib.engine.schema import DOCUMENT_SCHEMA, RULE_SCHEMA


def main(argv: list[str]) -> int:
    """Print problems as ``file pointer: message`` lines (or a schema); 0 when fine."""
    if argv[:1] in (["--schema"], ["--document"]):
        print(json.dumps(RULE_SCHEMA if argv[0] == "--schema" else DOCUMENT_SCHEMA, ensure_ascii=False, indent=2))
        return 0
    directory = Path(argv[0]) if argv else Path("rules")
    errors = check_rules(directory)
    for error in errors:
        print(f"{error['file']} {error['pointer'] or '/'}: {error['message']}")
    print(f"{len(errors)} problem(s) in {directory}" if errors else f"{directory}: OK", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
