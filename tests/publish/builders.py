"""Small hierarchical tables for the disclosure-control tests, built from leaf counts."""

from __future__ import annotations

import itertools

from pupildata.publish.sdc import Dimension, Table


def geography(shape: list[int]) -> Dimension:
    """A national total over regions R0.., each over its authorities L<r><i>."""
    pairs = []
    for r, n in enumerate(shape):
        pairs.append((f"R{r}", "Total"))
        pairs += [(f"L{r}{i}", f"R{r}") for i in range(n)]
    return Dimension.tree("geo", pairs)


def leaves(dim: Dimension, code: str) -> list[str]:
    kids = dim.children()
    if code not in kids:
        return [code]
    return [leaf for kid in kids[code] for leaf in leaves(dim, kid)]


def aggregate(name: str, measure: str, dims: tuple[Dimension, ...], leaf: dict[tuple[str, ...], int]) -> Table:
    """Every cell of the table is the sum of the leaf counts below it."""
    values: dict[tuple[str, ...], float] = {}
    for coords in itertools.product(*(d.codes for d in dims)):
        below = itertools.product(*(leaves(d, c) for d, c in zip(dims, coords, strict=True)))
        values[coords] = float(sum(leaf[cell] for cell in below))
    return Table(name, measure, dims, values)


def leaf_cells(dims: tuple[Dimension, ...]) -> list[tuple[str, ...]]:
    return list(itertools.product(*(leaves(d, d.root) for d in dims)))
