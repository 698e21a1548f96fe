"""Exact path-dependent TreeSHAP from tables computed once per model (Fast TreeSHAP v2).

A leaf's share of a feature's SHAP value depends on the row only through which of the
leaf's path features the row agrees with (follows the path's way at every split on that
feature). A path has at most `depth` distinct features, so each leaf has at most
2 ** depth such patterns: their contributions are computed once, when the model is read,
and explaining a row is then one table look-up per leaf. The result is XGBoost's
`pred_contribs` (the same algorithm, the same cover fractions) at a fraction of the cost
for trees of depth 6 (docs/PERFORMANCE.md); deeper trees make the tables too large, and
XGBoost serves them.

Yang, "Fast TreeSHAP: Accelerating SHAP Value Computation for Trees", 2021.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

# the forest's array aliases: the tables are built from its arrays
from tapewatch.detect.forest import BLOCK_ROWS, F32, FEATURE_BITS, I32, I64, Forest

#: tables above this many values (4 bytes each) are not built: XGBoost explains instead
MAX_TABLE_VALUES = 16_000_000
#: a leaf's entries are padded to this many features (zeros, added to feature 0) where its
#: forest is no deeper: a loop of fixed length, unrolled, no branch mispredicted on a
#: leaf's own count
UNROLLED = 6
#: feature numbers are stored in a byte
MAX_FEATURES = 256


@dataclass(frozen=True)
class ShapTables:
    """Every split's test, every leaf's distinct path features and contribution table.

    Splits are listed tree by tree in node order (a parent before its children), with
    nodes numbered within their tree: split `s` of tree t (`tree_splits[t] <= s <
    tree_splits[t + 1]`) is node `split_node[s]`, sends a row to `split_left[s]` when its
    feature `split_feature[s]` is below `split_condition[s]` (or missing and
    `split_default_left[s]`), else to `split_right[s]`; `split_bit[s]` is the bit of its
    feature among the distinct features of the paths through it, numbered in the order a
    path meets them (the same on every path through the split).

    Leaf `l` of tree t (`tree_leaves[t] <= l < tree_leaves[t + 1]`) is node `leaf_node[l]`;
    its path tests `features[l, :n_distinct[l]]`, and
    `values[offsets[l] + pattern * stride + k]` is its part of feature `features[l, k]`'s
    SHAP value for a row that agrees with the path on exactly the distinct features whose
    bits are set in `pattern` (`all_agree[l]` has a bit for each); entries from
    `n_distinct[l]` to `stride` are zero.
    """

    tree_splits: I64
    split_node: I32
    split_feature: I32
    split_condition: F32
    split_default_left: npt.NDArray[np.bool_]
    split_left: I32
    split_right: I32
    split_bit: I32
    tree_leaves: I64
    leaf_node: I32
    n_distinct: I64
    all_agree: I32
    features: npt.NDArray[np.uint8]
    offsets: I32
    values: F32
    n_features: int
    stride: int

    @classmethod
    def build(cls, forest: Forest, max_values: int | None = None) -> ShapTables | None:
        """Tables of a forest, or None when they would hold more than `max_values` values
        (`MAX_TABLE_VALUES` by default)."""
        roots, nodes, covers = forest.roots, forest.nodes, forest.covers
        own = np.arange(len(nodes))
        is_split = nodes[:, 0] != own
        if not (np.all(nodes[is_split, :2] > own[is_split, None])):
            return None  # a child before its parent: the one-pass walk cannot serve
        n_leaves = int(np.count_nonzero(~is_split))
        width = max(int(forest.depths.max(initial=0)), 1)
        stride = max(width, UNROLLED)
        if forest.n_features > MAX_FEATURES:
            return None
        leaf_node = np.empty(n_leaves, np.int64)
        n_distinct = np.zeros(n_leaves, np.int64)
        features = np.zeros((n_leaves, stride), np.int64)
        zeros = np.ones((n_leaves, width), np.float64)
        tree_leaves = np.zeros(len(roots) + 1, np.int64)
        node_slot = np.zeros(len(nodes), np.int64)
        _paths(
            roots, nodes, covers, width, leaf_node, n_distinct, features, zeros, tree_leaves,
            node_slot,
        )  # fmt: skip
        sizes = (2**n_distinct) * stride
        if int(sizes.sum()) > (MAX_TABLE_VALUES if max_values is None else max_values):
            return None
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        values = np.zeros(int(sizes.sum()), np.float32)
        leaf_values = nodes[leaf_node, 3].view(np.float32).astype(np.float64)
        _tables(n_distinct, zeros, leaf_values, offsets, stride, values)

        tree_of = np.repeat(np.arange(len(roots)), np.diff(np.append(roots, len(nodes))))
        local = own - roots[tree_of]
        splits = np.flatnonzero(is_split)
        packed = nodes[splits, 2]
        i32 = np.int32
        return cls(
            tree_splits=np.searchsorted(splits, np.append(roots, len(nodes))).astype(np.int64),
            split_node=local[splits].astype(i32),
            split_feature=(packed & FEATURE_BITS).astype(i32),
            split_condition=nodes[splits, 3].view(np.float32).copy(),
            split_default_left=packed < 0,  # the default-left flag is the sign bit
            split_left=local[nodes[splits, 0]].astype(i32),
            split_right=local[nodes[splits, 1]].astype(i32),
            split_bit=np.left_shift(1, node_slot[splits]).astype(i32),
            tree_leaves=tree_leaves,
            leaf_node=local[leaf_node].astype(i32),
            n_distinct=n_distinct,
            all_agree=((1 << n_distinct) - 1).astype(i32),
            features=features.astype(np.uint8),
            offsets=offsets.astype(i32),
            values=values,
            n_features=forest.n_features,
            stride=stride,
        )

    def contributions(self, x: F32) -> F32:
        """Each row's SHAP value per feature (n x n_features)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros((len(x), self.n_features), dtype=np.float32)
        _explain(
            x, self.tree_splits, self.split_node, self.split_feature, self.split_condition,
            self.split_default_left, self.split_left, self.split_right, self.split_bit,
            self.tree_leaves, self.leaf_node, self.all_agree, self.features, self.offsets,
            self.values, out,
        )  # fmt: skip
        return out


@njit(cache=True, nogil=True)
def _paths(  # type: ignore[no-untyped-def]
    roots, nodes, covers, width, leaf_node, n_distinct, features, zeros, tree_leaves, node_slot,
):  # fmt: skip
    """Walk every tree depth first, recording each leaf's distinct path features, each
    one's cover fraction (the product over its splits of child / parent cover) and each
    split's feature number on the paths through it."""
    n_trees = len(roots)
    leaf = 0
    stack = np.empty(width + 1, np.int64)
    way = np.zeros(width + 1, np.int64)  # 0: left next, 1: right next, 2: done
    for t in range(n_trees):
        tree_leaves[t] = leaf
        top = 0
        stack[0] = roots[t]
        way[0] = 0
        while top >= 0:
            n = stack[top]
            if nodes[n, 0] == n:  # a leaf: record the path to it
                leaf_node[leaf] = n
                d = 0
                for s in range(top):
                    parent = stack[s]
                    feature = nodes[parent, 2] & FEATURE_BITS
                    slot = -1
                    for k in range(d):
                        if features[leaf, k] == feature:
                            slot = k
                    if slot < 0:
                        slot = d
                        features[leaf, d] = feature
                        zeros[leaf, d] = 1.0
                        d += 1
                    share = covers[stack[s + 1]] / covers[parent] if covers[parent] > 0 else 0.0
                    zeros[leaf, slot] *= share
                    node_slot[parent] = slot
                n_distinct[leaf] = d
                leaf += 1
                top -= 1
                continue
            if way[top] == 2:
                top -= 1
                continue
            child = nodes[n, 0] if way[top] == 0 else nodes[n, 1]
            way[top] += 1
            top += 1
            stack[top] = child
            way[top] = 0
    tree_leaves[n_trees] = leaf


@njit(cache=True, nogil=True)
def _tables(n_distinct, zeros, leaf_values, offsets, stride, values):  # type: ignore[no-untyped-def]
    """Each leaf's contribution to each distinct path feature, for every agreement pattern:
    v * (o_i - z_i) * sum over subsets S of the other features of
    |S|! (d - |S| - 1)! / d! * prod_{j in S} o_j * prod_{j not in S} z_j."""
    largest = 0
    for d in n_distinct:
        largest = max(largest, d)
    poly = np.empty(largest + 1, np.float64)
    for leaf in range(len(n_distinct)):
        d = n_distinct[leaf]
        if d == 0:
            continue
        weights = np.empty(d, np.float64)
        for k in range(d):
            weights[k] = math.exp(math.lgamma(k + 1) + math.lgamma(d - k) - math.lgamma(d + 1))
        v = leaf_values[leaf]
        for pattern in range(1 << d):
            for i in range(d):
                # coefficients of prod_{j != i} (z_j + o_j y): poly[k] sums subsets of size k
                poly[0] = 1.0
                size = 0
                for j in range(d):
                    if j == i:
                        continue
                    z = zeros[leaf, j]
                    o = 1.0 if (pattern >> j) & 1 else 0.0
                    poly[size + 1] = 0.0
                    for k in range(size + 1, 0, -1):
                        poly[k] = poly[k] * z + poly[k - 1] * o
                    poly[0] *= z
                    size += 1
                total = 0.0
                for k in range(size + 1):
                    total += weights[k] * poly[k]
                o_i = 1.0 if (pattern >> i) & 1 else 0.0
                values[offsets[leaf] + pattern * stride + i] = v * (o_i - zeros[leaf, i]) * total


@njit(cache=True, nogil=True)
def _explain(  # type: ignore[no-untyped-def]
    x, tree_splits, split_node, split_feature, split_condition, split_default_left,
    split_left, split_right, split_bit, tree_leaves, leaf_node, all_agree, features,
    offsets, values, out,
):  # fmt: skip
    n_trees = len(tree_leaves) - 1
    stride = features.shape[1]
    largest = 0
    for t in range(n_trees):
        largest = max(largest, 2 * (tree_leaves[t + 1] - tree_leaves[t]))
    # per node, the bits of the path features on which the row left the path to it;
    # parents come before their children, so one pass in node order fills it (no
    # branches on the row's values: a mispredicted branch per split costs more than this)
    missed = np.zeros(largest, np.int32)
    # rows go through a tree a block at a time, so the tree's tables stay in cache while
    # the block reads them (a row alone would fetch them from memory tree after tree)
    for start in range(0, x.shape[0], BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, x.shape[0])
        for t in range(n_trees):
            for r in range(start, stop):
                row = x[r]
                o = out[r]
                missed[0] = 0
                for s in range(tree_splits[t], tree_splits[t + 1]):
                    here = missed[split_node[s]]
                    value = row[split_feature[s]]
                    left = np.int32(
                        (value < split_condition[s]) | ((value != value) & split_default_left[s])
                    )
                    bit = split_bit[s]
                    missed[split_left[s]] = here | (bit * (1 - left))
                    missed[split_right[s]] = here | (bit * left)
                for leaf in range(tree_leaves[t], tree_leaves[t + 1]):
                    base = offsets[leaf] + (all_agree[leaf] & ~missed[leaf_node[leaf]]) * stride
                    f = features[leaf]
                    if stride == 6:  # the same for every leaf: written out, as UNROLLED says
                        o[f[0]] += values[base]
                        o[f[1]] += values[base + 1]
                        o[f[2]] += values[base + 2]
                        o[f[3]] += values[base + 3]
                        o[f[4]] += values[base + 4]
                        o[f[5]] += values[base + 5]
                    else:
                        for k in range(stride):
                            o[f[k]] += values[base + k]
