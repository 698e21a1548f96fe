"""An XGBoost tree ensemble as flat arrays, evaluated by a compiled kernel.

Every call into XGBoost's predictor has a fixed cost before the first tree (the proxy
matrix, the configuration, the thread pool), and the screen's early exits make up to five
calls a batch: for the few events of a paced stream or an API request that was most of
the model's cost. Here the trees are read once from the booster's own JSON dump
into node arrays, and one numba kernel walks them, early exits included, in a single
call that releases the GIL. Its traversal is XGBoost's (a missing value takes the
node's default branch, otherwise `value < condition` goes left) and it adds the leaves
in XGBoost's order in float32, so it gives XGBoost's margins (a test holds it to them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from numba import njit

if TYPE_CHECKING:
    import xgboost as xgb

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

#: rows walked through a tree together, as XGBoost does, so a tree's nodes stay in cache
BLOCK_ROWS = 64


@dataclass(frozen=True)
class Forest:
    """The trees of one booster, node arrays concatenated, with each tree's first node
    (`roots`) and output group (`groups`: the class of a multi-class model, else 0)."""

    roots: I64
    #: each tree's depth (steps from the root to its deepest leaf)
    depths: I64
    groups: I64
    #: one row of four 32-bit fields per node, so a step down a tree reads one cache line:
    #: left child, right child (a leaf's are itself), split feature with the default-left flag in
    #: the top bit, and the split condition, or a leaf's value, as float32 bits
    nodes: I32
    #: the margin every row starts from, per group
    base: F32
    n_features: int
    #: the first tree of each boosting round, and the end of the last
    round_starts: I64
    #: each node's mean value over the training rows that reached it (weighted by their
    #: hessians), the reference of path attributions; a leaf's is its value
    means: F32
    #: each node's cover (the training rows' hessian sum), TreeSHAP's weights
    covers: F64

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.roots)

    @property
    def n_groups(self) -> int:
        """Outputs per row (classes of a multi-class model, else 1)."""
        return len(self.base)

    @classmethod
    def from_booster(cls, booster: xgb.Booster) -> Forest:
        """The trees of a fitted gbtree booster with numeric splits."""
        trees = cls._trees(booster)
        return replace(trees, base=_base_margins(booster, trees))

    @classmethod
    def _trees(cls, booster: xgb.Booster) -> Forest:
        """The trees, with a base margin of zero."""
        model = json.loads(booster.save_raw("json"))["learner"]
        trees = model["gradient_booster"]["model"]["trees"]
        if any(any(t["split_type"]) for t in trees):
            raise ValueError("categorical splits are not supported")
        sizes = [len(t["left_children"]) for t in trees]
        roots = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

        def joined(name: str, dtype: type) -> npt.NDArray[Any]:
            return np.concatenate([np.asarray(t[name], dtype=dtype) for t in trees])

        offsets = np.repeat(roots, sizes).astype(np.int32)
        left, right = joined("left_children", np.int32), joined("right_children", np.int32)
        leaf = left < 0
        nodes = np.empty((len(left), 4), dtype=np.int32)
        # a leaf's children are itself, so rows walked in step stay on their leaf
        own = np.arange(len(left), dtype=np.int32)
        nodes[:, 0] = np.where(leaf, own, left + offsets)
        nodes[:, 1] = np.where(leaf, own, right + offsets)
        default = joined("default_left", np.int32).astype(np.uint32) << np.uint32(31)
        nodes[:, 2] = (joined("split_indices", np.uint32) | default).view(np.int32)
        nodes[:, 3] = joined("split_conditions", np.float32).view(np.int32)
        n_groups = max(1, int(model["learner_model_param"]["num_class"]))
        means = np.concatenate(
            [
                _node_means(
                    t["left_children"], t["right_children"], t["split_conditions"], t["sum_hessian"]
                )
                for t in trees
            ]
        )
        return cls(
            roots=roots,
            depths=np.asarray(
                [_depth(t["left_children"], t["right_children"]) for t in trees], np.int64
            ),
            groups=np.asarray(model["gradient_booster"]["model"]["tree_info"], np.int64),
            nodes=nodes,
            base=np.zeros(n_groups, dtype=np.float32),
            n_features=int(model["learner_model_param"]["num_feature"]),
            round_starts=np.asarray(
                model["gradient_booster"]["model"]["iteration_indptr"], np.int64
            ),
            means=means,
            covers=joined("sum_hessian", np.float64),
        )

    def save(self, path: Path, source: str) -> None:
        """Write the arrays to an `.npz` file, with the hash of the booster file they were
        read from (`source`)."""
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        arrays["source"] = np.asarray(source)
        with path.open("wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds too narrowly

    @classmethod
    def load(cls, path: Path, source: str) -> Forest | None:
        """The forest `save` wrote, or None when the file is missing or was read from
        another booster file than the one whose hash is `source`."""
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as saved:
            if "source" not in saved.files or str(saved["source"]) != source:
                return None
            values = {f.name: saved[f.name] for f in fields(cls)}
        values["n_features"] = int(values["n_features"])
        return cls(**values)

    @property
    def n_rounds(self) -> int:
        """Boosting rounds."""
        return len(self.round_starts) - 1

    def margins(self, x: F32, rounds: tuple[int, int] = (0, 0)) -> F32:
        """Margins (n x groups, or n for one group) of the boosting rounds in `rounds`
        (all when (0, 0)), each range's margins including the base once, as XGBoost's do."""
        first, last = rounds
        last = self.n_rounds if last == 0 else min(last, self.n_rounds)
        begin, end = int(self.round_starts[first]), int(self.round_starts[last])
        x = self._rows(x)
        out = np.empty((len(x), self.n_groups), dtype=np.float32)
        out[:] = self.base
        _add_trees(x, begin, end, self.roots, self.depths, self.groups, self._nodes(), out)
        return out[:, 0] if self.n_groups == 1 else out

    def cascade(self, x: F32, stage_ends: I64, cutoffs: F64, base64: float) -> F64:
        """Margins of a one-group model with early exits: after the rounds up to each
        stage's end, a row whose margin is below that stage's cutoff stops there (the
        last stage's cutoff is -inf when every row should run every round)."""
        if self.n_groups != 1:
            raise ValueError("early exits need a model with one output")
        stage_ends = self.round_starts[np.minimum(stage_ends, self.n_rounds)]
        x = self._rows(x)
        out = np.empty(len(x), dtype=np.float64)
        _cascade(
            x,
            stage_ends,
            cutoffs,
            self.roots,
            self.depths,
            self._nodes(),
            float(self.base[0]),
            base64,
            out,
        )
        return out

    def path_contributions(self, x: F32) -> F32:
        """Saabas attributions of a one-group model (n x (features + 1), the last column
        the bias): along each row's path in every tree, the change of the node mean at a
        split goes to the split's feature. They add up to the margin; XGBoost's
        `approx_contribs` computes the same."""
        if self.n_groups != 1:
            raise ValueError("path contributions need a model with one output")
        x = self._rows(x)
        out = np.zeros((len(x), self.n_features + 1), dtype=np.float32)
        _path_contributions(x, self.roots, self._nodes(), self.means, out)
        out[:, -1] += self.base[0]
        return out

    def _rows(self, x: F32) -> F32:
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got {x.shape}")
        rows: F32 = np.asarray(x, dtype=np.float32)
        return rows

    def _nodes(self) -> tuple[I32, F32]:
        """The node table and its float view (the same memory)."""
        return self.nodes, self.nodes.view(np.float32)


def _node_means(left: list[int], right: list[int], value: list[float], hessian: list[float]) -> F32:
    """Each node's hessian-weighted mean leaf value, in float32 as XGBoost computes it."""
    means = np.zeros(len(left), dtype=np.float32)
    h = np.asarray(hessian, dtype=np.float32)

    def fill(node: int) -> np.float32:
        if left[node] < 0:
            means[node] = np.float32(value[node])
        else:
            a, b = left[node], right[node]
            total = np.float32(fill(a) * h[a])
            total = np.float32(total + np.float32(fill(b) * h[b]))
            means[node] = np.float32(total / h[node])
        return np.float32(means[node])

    fill(0)
    return means


def _depth(left: list[int], right: list[int]) -> int:
    depth, level = 0, [0]
    while True:
        level = [c for n in level if left[n] >= 0 for c in (left[n], right[n])]
        if not level:
            return depth
        depth += 1


def _base_margins(booster: xgb.Booster, trees: Forest) -> F32:
    """The margin XGBoost starts every row from, in float32, exactly.

    XGBoost only gives margins with trees in them, and a margin less a leaf is off by
    a rounding step now and then. So every one-round margin of a few probe rows, each
    the float32 sum of the base and a known leaf, votes: of the float32 values near the
    first estimate, the base is the one that reproduces the most of them."""
    n = trees.n_features
    probes = np.array(
        [np.zeros(n), np.full(n, np.nan), np.full(n, -1e30), np.full(n, 1e30), np.ones(n)],
        dtype=np.float32,
    )
    rounds = range(trees.n_rounds)
    wanted = np.stack(
        [
            np.asarray(
                booster.inplace_predict(probes, predict_type="margin", iteration_range=(k, k + 1)),
                dtype=np.float32,
            ).reshape(len(probes), -1)
            for k in rounds
        ]
    )
    # the same margins from a base of zero are the leaves themselves
    leaves = np.stack([trees.margins(probes, (k, k + 1)).reshape(len(probes), -1) for k in rounds])
    base = np.empty(trees.n_groups, dtype=np.float32)
    for g in range(trees.n_groups):
        want, leaf = wanted[:, :, g].ravel(), leaves[:, :, g].ravel()
        first = np.float32(want[0] - leaf[0])
        candidates = [first]  # and the 16 float32 values on either side of it
        for direction in (np.float32(np.inf), np.float32(-np.inf)):
            c = first
            for _ in range(16):
                c = np.nextafter(c, direction, dtype=np.float32)
                candidates.append(c)
        votes = [int(np.sum((np.float32(c) + leaf).astype(np.float32) == want)) for c in candidates]
        base[g] = candidates[int(np.argmax(votes))]
    return base


#: a split's feature in its packed column (the sign bit is the default-left flag)
FEATURE_BITS = np.int32(0x7FFFFFFF)


@njit(cache=True, nogil=True, inline="always")
def _walk(
    x: F32, rows: I64, n_rows: int, root: int, depth: int, nodes: I32, conditions: F32, at: I64
) -> None:
    """Walk rows down one tree level by level, in step, without branches: the rows'
    chains of loads overlap instead of waiting on each other's mispredicted branches."""
    for i in range(n_rows):
        at[i] = root
    for _ in range(depth):
        for i in range(n_rows):
            node = at[i]
            split = nodes[node, 2]
            v = x[rows[i], split & FEATURE_BITS]
            # right when at or above the split, or missing and sent right by default, as
            # a number indexing the children: a conditional here compiled to branches,
            # mispredicted on every other split
            right = np.int64((v >= conditions[node, 3]) | ((v != v) & (split >= 0)))
            at[i] = nodes[node, right]


@njit(cache=True, nogil=True)
def _add_trees(
    x: F32,
    begin: int,
    end: int,
    roots: I64,
    depths: I64,
    groups: I64,
    tables: tuple[I32, F32],
    out: F32,
) -> None:
    nodes, conditions = tables
    n = x.shape[0]
    rows = np.empty(BLOCK_ROWS, np.int64)
    at = np.empty(BLOCK_ROWS, np.int64)
    for start in range(0, n, BLOCK_ROWS):
        n_rows = min(start + BLOCK_ROWS, n) - start
        for i in range(n_rows):
            rows[i] = start + i
        for t in range(begin, end):
            g = groups[t]
            _walk(x, rows, n_rows, roots[t], depths[t], nodes, conditions, at)
            for i in range(n_rows):
                out[start + i, g] += conditions[at[i], 3]


@njit(cache=True, nogil=True)
def _cascade(
    x: F32,
    stage_ends: I64,
    cutoffs: F64,
    roots: I64,
    depths: I64,
    tables: tuple[I32, F32],
    base32: float,
    base64: float,
    out: F64,
) -> None:
    # each stage's trees are summed in float32 from the base, as XGBoost sums an iteration
    # range, and the stages are joined in float64 with the base counted once
    nodes, conditions = tables
    n = x.shape[0]
    alive = np.empty(BLOCK_ROWS, np.int64)
    part = np.empty(BLOCK_ROWS, np.float32)
    at = np.empty(BLOCK_ROWS, np.int64)
    for start in range(0, n, BLOCK_ROWS):
        n_alive = 0
        for r in range(start, min(start + BLOCK_ROWS, n)):
            out[r] = 0.0
            alive[n_alive] = r
            n_alive += 1
        t = 0
        for s in range(len(stage_ends)):
            if n_alive == 0:
                break
            part[:n_alive] = np.float32(base32)
            while t < stage_ends[s]:
                _walk(x, alive, n_alive, roots[t], depths[t], nodes, conditions, at)
                for i in range(n_alive):
                    part[i] += conditions[at[i], 3]
                t += 1
            kept = 0
            for i in range(n_alive):
                r = alive[i]
                out[r] = np.float64(part[i]) if s == 0 else out[r] + (np.float64(part[i]) - base64)
                if out[r] >= cutoffs[s]:
                    alive[kept] = r
                    kept += 1
            n_alive = kept


@njit(cache=True, nogil=True)
def _path_contributions(x: F32, roots: I64, tables: tuple[I32, F32], means: F32, out: F32) -> None:
    nodes, conditions = tables
    bias = out.shape[1] - 1
    for r in range(x.shape[0]):
        for t in range(len(roots)):
            node = roots[t]
            out[r, bias] += means[node]
            while nodes[node, 0] != node:
                # `_walk`'s step, written out again: numba compiled a shared helper into a
                # walk nine times slower
                split = nodes[node, 2]
                f = split & FEATURE_BITS
                v = x[r, f]
                right = np.int64((v >= conditions[node, 3]) | ((v != v) & (split >= 0)))
                child = nodes[node, right]
                out[r, f] += means[child] - means[node]
                node = child
