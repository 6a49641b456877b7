#!/usr/bin/env python3
"""Prints the module map of docs/ARCHITECTURE.md: lines per file of the core's features and
who imports whom.

Run from the repository's root: `python3 scripts/module-map.py`.

A module is a top-level module of the crate (`src/X.rs` or `src/X/`) or, inside the core, a
submodule (`core::X`); `core` alone is the composition root's own files (`mod.rs`,
`message.rs`, `conversation.rs`, `state.rs`). Imports are the `crate::…` paths and, inside the
core, the `super::…` paths that leave the file's own module, outside `#[cfg(test)] mod tests`.
Lines are `wc -l` of each file, tests beside the code included.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = "src"
CORE_ROOT_FILES = {"mod.rs", "message.rs", "conversation.rs", "state.rs"}
FEATURES = ["registration", "status", "family", "checkin", "business", "wallet", "support",
            "prescriptions", "keywords"]


def module_of(path):
    rel = os.path.relpath(path, ROOT).split(os.sep)
    if rel[0] == "core" and len(rel) > 1:
        if len(rel) == 2 and rel[1] in CORE_ROOT_FILES:
            return "core"
        name = rel[1][:-3] if rel[1].endswith(".rs") else rel[1]
        return f"core::{name}"
    name = rel[0][:-3] if rel[0].endswith(".rs") else rel[0]
    return name


def without_tests(text):
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod tests\b", text, re.M)
    return text[: m.start()] if m else text


def core_children():
    out = set()
    for entry in os.listdir(os.path.join(ROOT, "core")):
        name = entry[:-3] if entry.endswith(".rs") else entry
        if entry not in CORE_ROOT_FILES:
            out.add(name)
    return out


def main():
    if not os.path.isdir(ROOT):
        sys.exit("run from the repository's root")
    children = core_children()
    lines = {}
    uses = defaultdict(set)
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            text = open(path, encoding="utf-8").read()
            lines[path] = text.count("\n")
            me = module_of(path)
            body = without_tests(text)
            for m in re.finditer(r"\bcrate::(\w+)(?:::(\w+|\{[^}]*\}))?", body):
                top, sub = m.group(1), m.group(2) or ""
                subs = [x.strip().split("::")[0] for x in sub.strip("{}").split(",")]
                for name in subs:
                    target = f"core::{name}" if top == "core" and name in children else top
                    if target != me:
                        uses[me].add(target)
            rel = os.path.relpath(path, ROOT).split(os.sep)
            if rel[0] == "core":
                depth = len(rel) - 2  # files under src/core/X/ are one level down
                pattern = (
                    r"\bsuper::(\w+|\{[^}]*\})"
                    if depth == 0
                    else r"\bsuper::super::(\w+|\{[^}]*\})"
                )
                if not (depth == 0 and f == "mod.rs"):
                    for m in re.finditer(pattern, body):
                        for name in m.group(1).strip("{}").split(","):
                            name = name.strip().split("::")[0]
                            if not name:
                                continue
                            target = f"core::{name}" if name in children else "core"
                            if target != me:
                                uses[me].add(target)
    print("## Features (lines; files)")
    for feat in FEATURES:
        files = sorted(
            ((p, n) for p, n in lines.items() if module_of(p) == f"core::{feat}"),
            key=lambda x: -x[1],
        )
        total = sum(n for _, n in files)
        parts = ", ".join(f"`{os.path.relpath(p, os.path.join(ROOT, 'core', feat)) if os.path.isdir(os.path.join(ROOT, 'core', feat)) else os.path.basename(p)}` {n}" for p, n in files)
        print(f"| {feat} | {total} | {parts} |")
    print()
    print("## Largest files")
    for p, n in sorted(lines.items(), key=lambda x: -x[1])[:12]:
        print(f"{n:6} {os.path.relpath(p, ROOT)}")
    print()
    print("## Who imports whom")
    mods = sorted(set(module_of(p) for p in lines) - {"core::layout_tests", "lib", "main"})
    for m in mods:
        print(f"{m} -> {', '.join(sorted(uses[m]))}")


if __name__ == "__main__":
    main()
