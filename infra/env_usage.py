"""Which environment variables and secrets the service's code reads (by reading the code, not running it).

``python -m infra.env_usage`` prints them. The template test checks each one is either set by the
package template or listed in the README's "Configuration" table with its default.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("app.py", "chalicelib", "plugins")
ENV_RECEIVERS = {"environ", "env", "os.environ", "environment"}
RUNTIME_PROVIDED = ("AWS_",)  # set by Lambda itself (region, function name, credentials)


@dataclass(frozen=True)
class Usage:
    """One read: the variable (or secret) name, how it is read, and where."""

    name: str
    kind: str  # "env" | "secret" | "env-prefix" | "secret-prefix" (a name built from this prefix)
    where: str


def _receiver(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_receiver(node.value)}.{node.attr}"
    return ""


def _constants(tree: ast.Module) -> dict[str, str]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value.value
    return out


def _name_of(arg: ast.expr, consts: dict[str, str]) -> tuple[str, str] | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value, "env"
    if isinstance(arg, ast.Name) and arg.id in consts:
        return consts[arg.id], "env"
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value), "env-prefix"
    return None


def _is_env_name(name: str) -> bool:
    return bool(name) and name.upper() == name and name[0].isalpha() and " " not in name


def usages(root: Path = ROOT) -> list[Usage]:
    """Every environment variable / secret read in app.py, chalicelib/ and plugins/."""
    found: set[Usage] = set()
    files = [root / "app.py"] + sorted((root / "chalicelib").rglob("*.py")) + sorted((root / "plugins").rglob("*.py"))
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        consts = _constants(tree)
        rel = str(path.relative_to(root))
        for node in ast.walk(tree):
            hit = None
            if isinstance(node, ast.Call) and node.args:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "setdefault") \
                        and _receiver(func.value) in ENV_RECEIVERS:
                    hit = _name_of(node.args[0], consts)
                elif _receiver(func) in ("os.getenv", "getenv"):
                    hit = _name_of(node.args[0], consts)
                elif _receiver(func) == "get_secret":
                    named = _name_of(node.args[0], consts)
                    hit = (named[0], "secret" if named[1] == "env" else "secret-prefix") if named else None
            elif isinstance(node, ast.Subscript) and _receiver(node.value) in ENV_RECEIVERS:
                hit = _name_of(node.slice, consts)
            if hit and _is_env_name(hit[0].rstrip("_")) and not hit[0].startswith(RUNTIME_PROVIDED):
                found.add(Usage(hit[0], hit[1], f"{rel}:{getattr(node, 'lineno', 0)}"))
    return sorted(found, key=lambda u: (u.name, u.where))


if __name__ == "__main__":
    for u in usages():
        print(f"{u.name:36} {u.kind:10} {u.where}")
    sys.exit(0)
