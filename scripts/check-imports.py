#!/usr/bin/env python3
"""The import graph between spool's top-level modules, and its cycles.

Every layer of the book is a top-level module of the library (`format`, `log`,
`idempotence`, `group`, `wire`, `broker`, …). A layer may use the ones below
it; two layers that use each other are one tangled layer, which a reader cannot
learn one at a time and a change cannot touch one at a time. This script reads
`src/**/*.rs`, finds every path into another top-level module in code
(`crate::log::…`, `use crate::{format, log::Log}`, or `super::…` climbing out
of the module), builds the graph between top-level modules, and fails, printing
each cycle with the references that make it, if there is one.

Doc comments (`///`, `//!`) do not make a dependency: a link from `log`'s docs
to `crate::broker` documents, it does not import. Unit tests (`#[cfg(test)]`
modules, inline or in their own file) do not either unless `--tests` is given:
a lower layer's test may check it against an upper one (`zero_copy`'s encoder
against `wire`'s codec) without the layer itself leaning on it. Both are
listed as notes.

    scripts/check-imports.py          # exit 1 and print the cycles, if any
    scripts/check-imports.py --tests  # the same, counting unit tests' imports
    scripts/check-imports.py --dot    # the graph in Graphviz dot (for the book)
    scripts/check-imports.py -v       # every edge with where it comes from

Simplifications: `src/lib.rs` declares the modules and `src/main.rs` is the
binary, so both are left out. Paths in macros (`$crate::`) and in strings are
ignored. `super::` is resolved against the file's module path only, not inline
`mod x { … }` blocks (there is no `super::super` inside one today).

Python standard library only.
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
EXCLUDED = {"lib.rs", "main.rs"}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# What the code scan blanks out, in the order an earlier match wins: block
# comments, line comments, raw strings, strings, then char literals (so that
# '"' does not open a string).
NOT_CODE = re.compile(
    r"/\*.*?\*/"
    r"|//[^\n]*"
    r'|r(#*)".*?"\1'
    r'|b?"(?:\\.|[^"\\])*"'
    r"|b?'(?:\\.|[^'\\])'",
    re.S,
)
CRATE_PATH = re.compile(r"(?<![\w$])crate::\s*(\{|" + IDENT + ")")
SUPER_PATH = re.compile(r"(?<![\w:])((?:super\s*::\s*)+)(\{|" + IDENT + ")")
DOC_LINK = re.compile(r"(?<![\w$])crate::(" + IDENT + ")")


def top_modules():
    """The library's top-level modules: `src/x.rs` and `src/x/`."""
    tops = {p.stem for p in SRC.glob("*.rs") if p.name not in EXCLUDED}
    tops |= {p.name for p in SRC.iterdir() if p.is_dir()}
    return tops


def module_path(path):
    """`src/broker/groups/apis.rs` → ["broker", "groups", "apis"]; `mod.rs` names its directory."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return parts


def blank(match):
    """A match replaced by spaces, keeping its newlines so line numbers hold."""
    return re.sub(r"[^\n]", " ", match.group(0))


def line_of(text, index):
    return text.count("\n", 0, index) + 1


def braced_heads(text, start):
    """The first path segment of each item of the `{ … }` group opening at
    `start`: `{format, log::{Log, LogError}, self}` → format, log, self."""
    depth, heads, expect = 0, [], True
    for m in re.finditer(r"[{},]|" + IDENT, text[start:]):
        token = m.group(0)
        if token == "{":
            depth += 1
            expect = depth == 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                break
        elif token == ",":
            expect = depth == 1
        elif expect and depth == 1:
            heads.append(token)
            expect = False
        else:
            expect = False
    return heads


TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*([{;])")


def test_spans(code):
    """The character ranges of inline `#[cfg(test)] mod x { … }` blocks."""
    spans = []
    for m in TEST_MODULE.finditer(code):
        if m.group(2) != "{":
            continue
        depth = 0
        for i in range(m.end(2) - 1, len(code)):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                spans.append((m.start(), i))
                break
    return spans


def test_files(path, code):
    """The files of `#[cfg(test)] mod x;` declared in `path`."""
    here = path.parent if path.name == "mod.rs" else path.with_suffix("")
    names = [m.group(1) for m in TEST_MODULE.finditer(code) if m.group(2) == ";"]
    return {f for n in names for f in (here / f"{n}.rs", here / n / "mod.rs") if f.exists()}


def references(path, code, tops):
    """(line, top-level module, in test code) for each path in `path`'s code
    (comments and strings blanked) into another top-level module."""
    own = module_path(path)
    spans = test_spans(code)
    found = []

    def add(at, heads):
        for head in heads:
            if head in tops and head != own[0]:
                found.append((line_of(code, at), head, any(a <= at <= b for a, b in spans)))

    for m in CRATE_PATH.finditer(code):
        add(m.start(), braced_heads(code, m.start(1)) if m.group(1) == "{" else [m.group(1)])
    for m in SUPER_PATH.finditer(code):
        climbs = m.group(1).count("super")
        # `super` from `broker::groups::apis` is `broker::groups`; only a path
        # that climbs to the crate root names a top-level module next.
        if climbs == len(own):
            add(m.start(), braced_heads(code, m.start(2)) if m.group(2) == "{" else [m.group(2)])
    return found


def doc_links(path, text, tops):
    """(line, top-level module) for each `crate::x` in a `///` or `//!` comment."""
    own = module_path(path)
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith("///") or stripped.startswith("//!"):
            for m in DOC_LINK.finditer(stripped):
                if m.group(1) in tops and m.group(1) != own[0]:
                    found.append((number, m.group(1)))
    return found


def scan():
    """Edges {(from, to): [where, …]} in code, in unit tests and in doc comments."""
    tops = top_modules()
    paths = [p for p in sorted(SRC.rglob("*.rs")) if not (p.parent == SRC and p.name in EXCLUDED)]
    codes = {p: NOT_CODE.sub(blank, p.read_text(encoding="utf-8")) for p in paths}
    tests = {f for p in paths for f in test_files(p, codes[p])}
    # A test module's own `mod x;` children are test code too.
    while True:
        more = {f for p in tests for f in test_files(p, codes[p])} - tests
        if not more:
            break
        tests |= more
    code_edges, test_edges, doc_edges = defaultdict(list), defaultdict(list), defaultdict(list)
    for path in paths:
        here = module_path(path)[0]
        where = path.relative_to(ROOT)
        for number, target, in_test in references(path, codes[path], tops):
            edges = test_edges if in_test or path in tests else code_edges
            edges[(here, target)].append(f"{where}:{number}")
        for number, target in doc_links(path, path.read_text(encoding="utf-8"), tops):
            doc_edges[(here, target)].append(f"{where}:{number}")
    return tops, code_edges, test_edges, doc_edges


def strongly_connected(nodes, edges):
    """Tarjan's algorithm: the graph's strongly connected components."""
    successors = defaultdict(set)
    for a, b in edges:
        successors[a].add(b)
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(successors[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            components.append(sorted(component))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return components


def elementary_cycles(component, edges):
    """Every simple cycle inside one component, each once, starting at its
    smallest module (the graphs here have a dozen nodes, so a search is fine)."""
    inside = set(component)
    successors = defaultdict(list)
    for a, b in sorted(edges):
        if a in inside and b in inside:
            successors[a].append(b)
    cycles = []

    def walk(start, node, path):
        for nxt in successors[node]:
            if nxt == start:
                cycles.append(path + [start])
            elif nxt > start and nxt not in path:
                walk(start, nxt, path + [nxt])

    for start in sorted(inside):
        walk(start, start, [start])
    return cycles


def dot(tops, code_edges, cyclic):
    """The graph in Graphviz dot; edges inside a cycle drawn red."""
    lines = ["digraph spool_modules {", "  rankdir=BT;", "  node [shape=box, fontname=monospace];"]
    lines += [f"  {t};" for t in sorted(tops)]
    for (a, b), where in sorted(code_edges.items()):
        style = ", color=red" if (a, b) in cyclic else ""
        lines.append(f'  {a} -> {b} [label="{len(where)}"{style}];')
    lines.append("}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dot", action="store_true", help="print the graph in Graphviz dot and exit 0")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every edge and where it comes from")
    parser.add_argument("--tests", action="store_true", help="count unit tests' imports as the code's")
    args = parser.parse_args()

    tops, code_edges, test_edges, doc_edges = scan()
    if args.tests:
        for edge, where in test_edges.items():
            code_edges[edge].extend(where)
        test_edges = {}
    components = [c for c in strongly_connected(tops, code_edges) if len(c) > 1]
    cycles = [cycle for c in components for cycle in elementary_cycles(c, code_edges)]
    cyclic = {(a, b) for cycle in cycles for a, b in zip(cycle, cycle[1:])}

    if args.dot:
        print(dot(tops, code_edges, cyclic))
        return 0
    if args.verbose:
        for (a, b), where in sorted(code_edges.items()):
            print(f"{a} -> {b}: {', '.join(where)}")
    test_only = sorted(set(test_edges) - set(code_edges))
    if test_only:
        print("note: unit tests import where the code does not (not counted; --tests counts them):")
        for a, b in test_only:
            print(f"  {a} -> {b}: {', '.join(test_edges[(a, b)])}")
    doc_only = sorted(set(doc_edges) - set(code_edges))
    if doc_only:
        print("note: doc comments link where code does not import (not counted):")
        for a, b in doc_only:
            print(f"  {a} -> {b}: {', '.join(doc_edges[(a, b)])}")
    if not cycles:
        print(f"no cycles between {len(tops)} top-level modules ({len(code_edges)} edges)")
        return 0
    print(f"{len(cycles)} import cycle(s) between top-level modules:")
    for cycle in sorted(cycles, key=lambda c: (len(c), c)):
        print("  " + " -> ".join(cycle))
        for a, b in zip(cycle, cycle[1:]):
            where = code_edges[(a, b)]
            more = f" (+{len(where) - 3} more)" if len(where) > 3 else ""
            print(f"      {a} -> {b}: {', '.join(where[:3])}{more}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
