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


def platform_error_codes() -> tuple[set[str], set[int]]:
    """The error codes the platform adapters know (Slack's error strings, Discord's JSON codes): only they may
    name them; they classify them into the core's kinds of failure (``PermanentSendError.kind``)."""
    from bot.platforms.discord import roles as discord_roles
    from bot.platforms.discord import sender as discord_sender
    from bot.platforms.slack import linker as slack_linker
    from bot.platforms.slack import sender as slack_sender

    words: set[str] = set(slack_sender.FAILURE_KINDS) | slack_sender.TRANSIENT_ERRORS | slack_sender.ALREADY_IN
    words |= slack_sender.NEEDS_SCOPE | slack_linker.NOT_FOUND | slack_linker.FATAL | {"cannot_dm", "ratelimited"}
    numbers: set[int] = set(discord_sender.FAILURE_KINDS) | {discord_roles.MISSING_PERMISSIONS}
    return {w for w in words if "_" in w or w == "ratelimited"}, numbers


def error_code_mentions(path: Path, words: set[str], numbers: set[int]) -> list[str]:
    """Where ``path`` names a platform's error code in code (strings, including patterns, or numbers)."""
    word = re.compile(r"(?<![a-z_])(" + "|".join(sorted(map(re.escape, words))) + r")")
    number = re.compile(r"(?<!\d)(" + "|".join(str(n) for n in sorted(numbers)) + r")(?!\d)")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in skip:
            continue
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node.value, str) and (word.search(node.value) or number.search(node.value)):
            found.append(f"{where} names a platform error code in {node.value[:60]!r}")
        elif isinstance(node.value, int) and not isinstance(node.value, bool) and node.value in numbers:
            found.append(f"{where} names the platform error code {node.value}")
    return found


def test_core_storage_and_features_name_no_platform_error_code():
    words, numbers = platform_error_codes()
    assert {"cannot_dm_bot", "user_not_found", "channel_not_found"} <= words and {50007, 10013} <= numbers
    offences = [o for path in neutral_files() for o in error_code_mentions(path, words, numbers)]
    assert offences == []


def test_the_error_code_check_catches_a_code(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text(
        'import re\n\nR = [re.compile(r"50007|cannot_dm"), "user_not_found"]\nCODE = 10013\n\n'
        'def f():\n    """50007 in prose is fine."""\n'
    )
    found = error_code_mentions(bad, *platform_error_codes())
    assert len(found) == 3, found
