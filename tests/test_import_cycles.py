"""No new import cycle between modules, and the known ones only ever go (issue 18).

grimp (import-linter's graph) reads every import statement, those inside functions too, so a cycle hidden by
an import inside a function counts. A cycle is named by its modules (a strongly connected component of the graph).
"""

from __future__ import annotations

import grimp

# Cycles known and accepted (none now). When one is broken
# this test fails until its line goes; when a new one appears, it fails too.
KNOWN: set[frozenset[str]] = set()


def cycles(package: str = "backend") -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def test_no_new_import_cycle_and_the_known_ones_shrink() -> None:
    found = cycles()
    new = sorted(sorted(c) for c in found - KNOWN)
    gone = sorted(sorted(c) for c in KNOWN - found)
    assert not new, f"a new import cycle (or a known one grew): {new}"
    assert not gone, f"a known cycle changed or is gone: update KNOWN in this file: {gone}"
