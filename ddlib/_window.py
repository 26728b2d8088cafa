r"""The two layouts of :class:`ddlib.attention.DDAttention`'s passes (private; a test proves them equal).

Both compute the same two passes on the right-hand sides ``F`` ``(n, B)`` (columns; any strides) with the folded
factors ``K``, ``Q`` ``(n_sub, n_max, c)`` of the padded box layout (:func:`fold`: the ``r`` local columns with their
weights, then the ``k`` columns of the coarse basis on the box cores, :func:`core_columns`), which must vanish on
padding slots:

* **restrict**, :math:`T_i = K_i^T R_i F` for every box: ``(n_sub, c, B)``;
* **prolong**, :math:`U = \sum_i R_i^T Q_i T_i`: ``(n, B)``.

:class:`GatherPlan` (every dimension) gathers the padded boxes (``index_select``), multiplies with
:func:`torch.bmm` and scatter-adds back (``index_add``), a chunk of boxes at a time; autograd differentiates it.

:class:`WindowPlan` (1D, interface rule, ``N >= 3``) uses that box ``i`` is the window of :math:`L = b + 2\delta`
consecutive nodes starting at :math:`s_i = ib - \delta` (:math:`s_0 = 0`): restrict is one batched product on strided
views of ``F`` (no gather, whatever its strides, so rows ``f.T`` cost nothing); prolong writes every window's core
block (nodes :math:`ib .. ib + b - 1`) straight into the output and adds the :math:`2\delta` overlap rows of each
window as slice additions (no scatter). The two passes are adjoint, so each one's backward is the other one plus
:meth:`WindowPlan.outer` (:class:`_Restrict`, :class:`_Prolong`: hand-written, no full-size autograd temporaries).
``DDAttention`` takes it from :data:`WINDOW_MIN_ENTRIES` right-hand-side entries on.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

__all__ = ["GatherPlan", "WindowPlan", "core_columns", "fold", "CHUNK_BYTES", "WINDOW_MIN_ENTRIES"]

#: Bytes of the gathered boxes that :class:`GatherPlan` processes at a time.
CHUNK_BYTES = 2**20
#: Right-hand-side entries (``n`` times the batch) from which the window layout is the faster one: below, its
#: per-call work in Python (views, hand-written backward) outweighs the gather and scatter it saves. Measured
#: (paired) on the book's machine: a training step at parity near ``n B = 6.5e4`` (``n = 1023, B = 64``;
#: ``n = 2047, B = 32``), the gather layout 1.3 times faster at ``n = 255, B = 32``, the window layout 1.7 times
#: faster at ``n = 65535, B = 64``.
WINDOW_MIN_ENTRIES = 2**16


def core_columns(dec, Phi) -> tuple[np.ndarray, np.ndarray]:
    r"""The coarse basis on the box *cores* (each box without its overlap; the cores partition the nodes).

    Returns ``index`` ``(n_sub, k)``: the ``k`` (at most) coarse functions that touch core ``i`` (``N_0`` on padding),
    and ``values`` ``(n_sub, n_max, k)``: :math:`\Phi` on the core slots of box ``i``, zero elsewhere. Then
    :math:`\Phi^TF = \sum_i \mathrm{values}_i^T R_iF` scattered by ``index`` and :math:`\Phi C` on core ``i`` is
    :math:`\mathrm{values}_i\,C_{\mathrm{index}_i}`: the coarse level rides in ``k`` extra columns of both passes
    (``k = 2^d`` for the hat space, :math:`3^d` for Nicolaides).
    """
    N0 = Phi.shape[1]
    if N0 == 0:
        return np.zeros((dec.n_sub, 0), dtype=np.int64), np.zeros((dec.n_sub, dec.n_max, 0))
    core = (dec.padded_partition_of_unity("boolean") > 0) & dec.mask
    box, slot = np.nonzero(core)
    P = sp.csr_matrix(Phi)[dec.padded_indices[box, slot]].tocoo()
    b, s, col = box[P.row], slot[P.row], P.col
    pairs, local = np.unique(b * N0 + col, return_inverse=True)
    counts = np.bincount(pairs // N0, minlength=dec.n_sub)
    k = int(counts.max()) if pairs.size else 0
    j = np.arange(pairs.size) - np.repeat(np.cumsum(counts) - counts, counts)
    index = np.full((dec.n_sub, k), N0, dtype=np.int64)
    index[pairs // N0, j] = pairs % N0
    values = np.zeros((dec.n_sub, dec.n_max, k))
    values[b, s, j[local]] = P.data
    return index, values


class _Fold(torch.autograd.Function):
    r"""One pass that lays out a folded factor: :math:`[P_{c(i)} \odot w_i \mid V_i]` per box ``i`` (``c``: the
    box's position class for shared factors, else ``i``; ``w`` the slot weights; ``V`` fixed columns). Backward:
    :math:`dP = dX_{:, :, :r} \odot w`, summed over the boxes of a class."""

    @staticmethod
    def forward(P, cls, w, V):
        r = P.shape[2]
        out = P.new_empty(w.shape[0], w.shape[1], r + V.shape[2])
        torch.mul(P if cls is None else P.index_select(0, cls), w, out=out[:, :, :r])
        out[:, :, r:] = V
        return out

    @staticmethod
    def setup_context(ctx, inputs, output):
        P, cls, w, _ = inputs
        ctx.save_for_backward(w)
        ctx.cls, ctx.classes, ctx.r = cls, P.shape[0], P.shape[2]

    @staticmethod
    def vmap(info, in_dims, P, cls, w, V):
        """Under :func:`torch.func.vmap` over stacked factors ``P`` (``S`` members; ``cls``, ``w``, ``V`` shared):
        one fold of the ``S`` members' boxes side by side, class ``c`` of member ``j`` being class ``j C + c``."""
        if any(d is not None for d in in_dims[1:]):
            raise ValueError("only the factor P may be batched in a fold")
        S, boxes = info.batch_size, w.shape[0]
        P = P.movedim(in_dims[0], 0) if in_dims[0] is not None else P.expand(S, *P.shape)
        if cls is not None:
            cls = (torch.arange(S, device=P.device)[:, None] * P.shape[1] + cls).reshape(-1)
        out = _Fold.apply(P.reshape(-1, *P.shape[2:]), cls, w.repeat(S, 1, 1), V.repeat(S, 1, 1))
        return out.view(S, boxes, *out.shape[1:]), 0

    @staticmethod
    def backward(ctx, dX):
        (w,) = ctx.saved_tensors
        dP = dX[:, :, :ctx.r] * w
        if ctx.cls is not None:
            dP = dP.new_zeros(ctx.classes, *dP.shape[1:]).index_add_(0, ctx.cls, dP)
        return dP, None, None, None


#: ``fold(P, cls, w, V)``: a factor in the layout of both passes (:class:`_Fold`).
fold = _Fold.apply


class GatherPlan:
    """Restrict and prolong by ``index_select``, :func:`torch.bmm` and ``index_add`` (every dimension), a chunk of
    boxes at a time: each chunk's gathered block (about :data:`CHUNK_BYTES`) stays in cache between the gather and
    the product, and no temporary grows with ``n`` (large fresh allocations cost page faults on every call)."""

    def __init__(self, padded_indices: np.ndarray, n: int):
        self.idx = torch.as_tensor(padded_indices)
        self.n, self.n_sub, self.n_max = n, *padded_indices.shape

    def _chunks(self, F: torch.Tensor) -> list[int]:
        """Boxes per chunk (a list summing to ``n_sub``)."""
        step = max(1, CHUNK_BYTES // (self.n_max * F.shape[1] * F.element_size()))
        return [min(step, self.n_sub - a) for a in range(0, self.n_sub, step)]

    def restrict(self, F: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        F = F.contiguous()  # rows f.T: one transposition, then every gathered row is B contiguous numbers
        sizes = self._chunks(F)  # split, not slices: its backward is one concatenation, not a full-size copy each
        T = [torch.bmm(k.transpose(1, 2), F.index_select(0, i.reshape(-1)).view(*i.shape, F.shape[1]))
             for k, i in zip(K.split(sizes), self.idx.to(F.device).split(sizes))]
        return torch.cat(T) if len(T) > 1 else T[0]

    def prolong(self, Q: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        U = T.new_zeros(self.n, T.shape[2])
        sizes = self._chunks(U)
        for q, t, i in zip(Q.split(sizes), T.split(sizes), self.idx.to(T.device).split(sizes)):
            U.index_add_(0, i.reshape(-1), torch.bmm(q, t).view(-1, T.shape[2]))
        return U


class WindowPlan:
    r"""The sliding-window layout of a 1D decomposition: ``N`` windows of ``L = b + 2 delta`` slots.

    Parameters
    ----------
    N, box, delta, n : int
        Blocks (``N >= 3``), nodes per block :math:`b = H/h`, overlap and unknowns (``n = N b - 1``).
    """

    def __init__(self, N: int, box: int, delta: int, n: int):
        if N < 3 or n != N * box - 1:
            raise ValueError(f"the window layout needs N >= 3 and n = N * box - 1; got N = {N}, box = {box}, n = {n}")
        self.N, self.b, self.d, self.n, self.L = N, box, delta, n, box + 2 * delta

    def restrict(self, F: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        return _Restrict.apply(F, K, self) if torch.is_grad_enabled() else self._restrict(F, K)

    def prolong(self, Q: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        return _Prolong.apply(Q, T, self) if torch.is_grad_enabled() else self._prolong(Q, T)

    # ------------------------------------------------------------------------------------------------- kernels
    def pieces(self, F: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The windows of ``F`` ``(n, B)`` as ``(1, L, B)``, ``(N - 2, L, B)`` (strided views) and ``(1, L, B)`` (the
        last window, zero-padded beyond node ``n - 1``)."""
        b, d, N, L = self.b, self.d, self.N, self.L
        return (F[None, :L], F[b - d:].unfold(0, L, b)[:N - 2].transpose(1, 2),
                torch.nn.functional.pad(F[(N - 1) * b - d:], (0, 0, 0, d + 1))[None])

    def _per_window(self, F: torch.Tensor, other: torch.Tensor, shape, left: bool) -> torch.Tensor:
        """``other_i^T X_i`` (``left``) or ``X_i other_i^T`` per window ``X_i`` of ``F``, written into one array."""
        out = F.new_empty(shape)
        split = [1, self.N - 2, 1]
        for X, M, o in zip(self.pieces(F), other.transpose(1, 2).split(split), out.split(split)):
            torch.bmm(M, X, out=o) if left else torch.bmm(X, M, out=o)
        return out

    def _restrict(self, F: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        r""":math:`T_i = K_i^TX_i`, ``(N, c, B)``."""
        return self._per_window(F, K, (self.N, K.shape[2], F.shape[1]), left=True)

    def outer(self, F: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        r""":math:`X_iT_i^T` per window ``(N, L, c)``: the gradient of either pass with respect to its factor."""
        return self._per_window(F, T, (self.N, self.L, T.shape[1]), left=False)

    def _prolong(self, Q: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        r""":math:`U = \sum_i R_i^TQ_iT_i`: core blocks by two batched products into the output, overlaps added."""
        b, d, N, B = self.b, self.d, self.N, T.shape[2]
        Z = T.new_empty(N, b, B)                                          # node i b + j in Z[i, j]
        torch.bmm(Q[:1, :b], T[:1], out=Z[:1])                           # window 0 starts at node 0
        torch.bmm(Q[1:, d:d + b], T[1:], out=Z[1:])
        if d:
            Z[:-1, b - d:] += torch.bmm(Q[1:, :d], T[1:])                 # left overlap of window i: block i - 1
            Z[1, :d] += torch.mm(Q[0, b:b + d], T[0])                     # right overlap of window 0: block 1
            Z[2:, :d] += torch.bmm(Q[1:-1, d + b:], T[1:-1])              # right overlap of window i: block i + 1
        return Z.view(N * b, B)[:self.n]


class _Restrict(torch.autograd.Function):
    r""":math:`T = \mathrm{restrict}(F, K)`; backward :math:`dF = \mathrm{prolong}(K, dT)`, :math:`dK_i = X_i\,dT_i^T`.
    Not itself differentiable (``once_differentiable``)."""

    @staticmethod
    def forward(ctx, F, K, plan):
        ctx.save_for_backward(F, K)
        ctx.plan = plan
        return plan._restrict(F, K)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dT):
        F, K = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (ctx.plan._prolong(K, dT) if need[0] else None, ctx.plan.outer(F, dT) if need[1] else None, None)


class _Prolong(torch.autograd.Function):
    r""":math:`U = \mathrm{prolong}(Q, T)`; backward :math:`dT = \mathrm{restrict}(G, Q)`, :math:`dQ_i = G_iT_i^T`
    on the slots the pass reads (window 0 ends at its box). Not itself differentiable."""

    @staticmethod
    def forward(ctx, Q, T, plan):
        ctx.save_for_backward(Q, T)
        ctx.plan = plan
        return plan._prolong(Q, T)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G):
        Q, T = ctx.saved_tensors
        plan, need = ctx.plan, ctx.needs_input_grad
        dQ = None
        if need[0]:
            dQ = plan.outer(G, T)
            dQ[0, plan.b + plan.d:] = 0                                   # beyond box 0: not read by prolong
        return dQ, plan._restrict(G, Q) if need[1] else None, None
