"""The core, storage and features name no platform: adding one means a folder under bot/platforms/ only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.platforms import platforms

ROOT = Path(__file__).resolve().parent.parent
NEUTRAL = ["bot/core", "bot/storage", "cogs"]
PLATFORM_LIBRARIES = ("discord", "slack_bolt", "slack_sdk", "bot.platforms")


def neutral_files() -> list[Path]:
    return sorted(p for d in NEUTRAL for p in (ROOT / d).rglob("*.py"))


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (prose may mention platforms; code may not)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def platform_mentions(path: Path, names: set[str]) -> list[str]:
    """Where ``path`` imports a platform library or names a platform in code (identifiers or strings)."""
    word = re.compile(r"(?i)(?<![a-z])(" + "|".join(sorted(names)) + r")(?![a-z])")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"{where} imports {m}" for m in modules if m.startswith(PLATFORM_LIBRARIES)]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if word.search(node.value):
                found.append(f"{where} names a platform in {node.value[:60]!r}")
        elif isinstance(node, ast.Name | ast.arg | ast.Attribute | ast.FunctionDef | ast.AsyncFunctionDef):
            ident = getattr(node, "id", None) or getattr(node, "arg", None) or getattr(node, "attr", None)
            ident = ident or getattr(node, "name", "")
            if word.search(ident.replace("_", " ")):
                found.append(f"{where} names a platform in {ident}")
    return found


def test_core_storage_and_features_name_no_platform():
    names = set(platforms())
    assert {"discord", "slack", "console"} <= names
    offences = [o for path in neutral_files() for o in platform_mentions(path, names)]
    assert offences == []


def test_the_check_itself_catches_a_platform_name(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text('import discord\n\ndef f(x):\n    """On Slack this is fine."""\n    return x == "slack"\n')
    found = platform_mentions(bad, set(platforms()))
    assert len(found) == 2 and "imports discord" in found[0] and "'slack'" in found[1]
