r"""The 1D sliding-window fast path of :class:`ddlib.attention.DDAttention` (private; a test proves it equal to the
generic gather path of every dimension).

On a 1D decomposition with the interface rule and ``N >= 3`` blocks of :math:`b = H/h` nodes, subdomain ``i`` is the
window of :math:`L = b + 2\delta` consecutive nodes starting at :math:`s_i = ib - \delta` (:math:`s_0 = 0`): the padded
layout of the decomposition *is* a strided view of the right-hand sides. One batched product over the windows
:math:`X_i` gives :math:`T_i = \tilde K_i^T X_i`, the local coefficients and, from two extra columns holding the hat
functions in closed form, :math:`\Phi^TF`; after the coarse step a second batched product writes every window's core
block (nodes ``i b .. i b + b - 1``) straight into the output, including :math:`\Phi Q_0K_0^T\Phi^TF`, and the
``2 delta`` overlap rows are added as two slice additions. No gather, no scatter, :math:`O(Bn)` memory traffic.

The pass is one :class:`torch.autograd.Function` with a hand-written backward (:class:`_WindowApply`: the same batched
products, transposed), so autograd keeps no full-size temporaries of the slicing. It works on operands stacked on a
leading member axis (one model is a stack of one) and has a batching rule, so :func:`torch.func.vmap` over the stacked
parameters of many models (:mod:`ddlib.batched`) runs the same pass with the members side by side.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["WindowPlan"]


class WindowPlan:
    r"""What the window layout needs of a decomposition: ``N`` windows of ``L = b + 2 delta`` slots, the hat values.

    Parameters
    ----------
    N, box, delta, n : int
        Blocks (``N >= 3``), nodes per block :math:`b = H/h`, overlap and unknowns (``n = N b - 1``).
    dtype, device
        Of the hat buffers.
    """

    def __init__(self, N: int, box: int, delta: int, n: int, dtype=torch.float64, device="cpu"):
        if N < 3 or n != N * box - 1:
            raise ValueError(f"the window layout needs N >= 3 and n = N * box - 1; got N = {N}, box = {box}, n = {n}")
        self.N, self.b, self.d, self.n = N, box, delta, n
        self.L = box + 2 * delta
        b = np.arange(1, box + 1) / box               # the two hat pieces on the core of a window: 1 - (j+1)/b, (j+1)/b
        core = np.zeros(N, dtype=np.int64)
        core[1:] = delta                                  # o_i: slot of the core's first node in window i
        hat = np.zeros((N, self.L, 2))
        rows, slots = np.arange(N)[:, None], core[:, None] + np.arange(box)[None, :]
        hat[rows, slots, 0], hat[rows, slots, 1] = 1.0 - b, b
        kw = dict(dtype=dtype, device=device)
        self.hat_win = torch.as_tensor(hat, **kw)
        self.hat_core = torch.as_tensor(hat[rows, slots], **kw)
        i = torch.cat([torch.arange(N - 1), torch.arange(1, N)])[:, None].expand(-1, delta)
        j = torch.cat([torch.arange(box - delta, box)[None].expand(N - 1, -1),
                       torch.arange(delta)[None].expand(N - 1, -1)])
        self.tail_slots = (i.to(device), j.to(device))

    def to(self, dtype, device) -> "WindowPlan":
        return WindowPlan(self.N, self.b, self.d, self.n, dtype, device)

    # ------------------------------------------------------------------------------------------------ operands
    def operands(self, K: torch.Tensor | None, Q: torch.Tensor | None, coarse) -> dict:
        r"""The factors of the window formulation: ``Kw`` :math:`[K_i \mid \phi^a \mid \phi^b]` per window
        ``(N, L, c)``, ``Qc`` the core rows of :math:`[Q_i \mid \phi^a \mid \phi^b]` ``(N, b, c)``, ``Qtail`` the
        ``delta`` rows before and after the core of :math:`Q_i` ``(N, 2 delta, r)``; weights and scales are folded
        into ``K`` and ``Q`` by the caller. ``coarse`` is None (no coarse level), a pair ``(Q0, K0)`` or a fixed
        symmetric solve ``S -> C`` (the Galerkin block)."""
        b, d = self.b, self.d
        ops = {"r": 0, "coarse": coarse}
        Kparts, Qparts = [], []
        if K is not None:
            Kparts.append(K)
            # split, not slices: its backward is one concatenation instead of a zero-filled copy per slice
            Q0w, Qiw = Q.split([1, Q.shape[0] - 1])
            core0, right0, _ = Q0w.split([b, d, Q.shape[1] - b - d], 1)
            lefti, corei, righti = Qiw.split([d, b, d], 1)
            Qparts.append(torch.cat([core0, corei]))
            if d:
                left = torch.cat([Q.new_zeros(1, d, Q.shape[-1]), lefti])
                ops["Qtail"] = torch.cat([left, torch.cat([right0, righti])], 1)
            ops["r"] = K.shape[-1]
        if coarse is not None:
            Kparts.append(self.hat_win)
            Qparts.append(self.hat_core)
        ops["Kw"] = torch.cat(Kparts, 2) if len(Kparts) > 1 else Kparts[0]
        ops["Qc"] = torch.cat(Qparts, 2) if len(Qparts) > 1 else Qparts[0]
        return ops

    def apply(self, F: torch.Tensor, ops: dict) -> torch.Tensor:
        r"""The local level and/or the hat coarse level on the columns of ``F`` ``(n, B)``; differentiable (one
        :class:`_WindowApply`, which :func:`torch.func.vmap` maps over stacked operands)."""
        Q0, K0 = ops["coarse"] if isinstance(ops["coarse"], tuple) else (None, None)
        solve = ops["coarse"] if callable(ops["coarse"]) else None
        one = lambda t: None if t is None else t[None]  # noqa: E731  (the member axis of one model)
        U = _WindowApply.apply(F[None], one(ops["Kw"]), one(ops["Qc"]), one(ops.get("Qtail")), one(Q0), one(K0),
                               self, ops["r"], ops["coarse"] is not None, solve)[0]
        return U[0]

    # ------------------------------------------------------------------------------------------------- passes
    # Every pass below works on operands stacked on a leading member axis: F (S, n, B), Kw (S, N, L, c), Qc (S, N, b,
    # c), Qtail (S, N, 2 delta, r), Q0 and K0 (S, N0, r0); one model is S = 1, and all products fold the member axis
    # into the window axis of one torch.bmm.
    def pieces(self, F: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The windows of ``F`` ``(S, n, B)`` as ``(S, 1, L, B)``, ``(S, N - 2, L, B)`` (strided views) and
        ``(S, 1, L, B)`` (the last window, zero-padded beyond node ``n - 1``)."""
        b, d, N, L = self.b, self.d, self.N, self.L
        return (F[:, None, :L], F[:, b - d:].unfold(1, L, b)[:, :N - 2].transpose(2, 3),
                torch.nn.functional.pad(F[:, (N - 1) * b - d:], (0, 0, 0, d + 1))[:, None])

    def restrict(self, F: torch.Tensor, Kw: torch.Tensor) -> torch.Tensor:
        r""":math:`T_i = \tilde K_i^T X_i` for all windows, shape ``(S, N, c, B)``."""
        T = F.new_empty(F.shape[0], self.N, Kw.shape[-1], F.shape[-1])
        for X, K, out in zip(self.pieces(F), Kw.transpose(2, 3).split([1, self.N - 2, 1], 1),
                             T.split([1, self.N - 2, 1], 1)):
            _bmm(K, X, out)
        return T

    def solve(self, solve, s: torch.Tensor) -> torch.Tensor:
        """The fixed coarse solve ``solve`` (columns ``(N0, B)`` to ``(N0, B)``) of every member's ``s`` ``(S, N0, B)``,
        as one solve with the members side by side."""
        S, N0, B = s.shape
        return solve(s.transpose(0, 1).reshape(N0, S * B)).reshape(N0, S, B).transpose(0, 1)

    def forward(self, F: torch.Tensor, ops: dict):
        r"""The pass on the operands ``ops`` (no gradient); returns the output ``U`` ``(S, n, B)``, the coefficients
        ``T`` ``(S, N, c, B)`` after the coarse step and the hat sums ``s`` (:math:`\Phi^TF`, ``(S, N - 1, B)``; empty
        without a coarse level)."""
        b, d, N, n = self.b, self.d, self.N, self.n
        S, B, r = F.shape[0], F.shape[-1], ops["r"]
        T = self.restrict(F, ops["Kw"])                                    # (S, N, c, B)
        s = F.new_zeros(0)
        if ops["coarse"] is not None:
            Ga, Gb = T[:, :, r], T[:, :, r + 1]
            s = Gb[:, :-1] + Ga[:, 1:]                                     # Phi^T F, (S, N - 1, B): node k b - 1
            coarse = ops["coarse"]
            c = self.solve(coarse, s) if callable(coarse) else coarse[0] @ (coarse[1].transpose(1, 2) @ s)
            T[:, 0, r].zero_()                                             # window i needs c_i (slot r) and c_{i+1}
            T[:, 1:, r] = c
            T[:, :-1, r + 1] = c
            T[:, -1, r + 1].zero_()
        Z = _bmm(ops["Qc"], T)                                             # (S, N, b, B): node i b + j in Z[:, i, j]
        if "Qtail" in ops:
            tails = _bmm(ops["Qtail"], T[:, :, :r])                       # (S, N, 2 delta, B)
            Z[:, :-1, b - d:] += tails[:, 1:, :d]                          # left overlap of window i + 1
            Z[:, 1:, :d] += tails[:, :-1, d:]                              # right overlap of window i - 1
        return Z.view(S, N * b, B)[:, :n], T, s


def _bmm(A: torch.Tensor, X: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """``A @ X`` for stacks of windows ``(S, k, p, q)`` and ``(S, k, q, t)``: one :func:`torch.bmm` over the ``S k``
    pairs (views for one member; the strided window views of several members are copied once), into ``out`` when
    given."""
    S, k, p, q = A.shape
    flat = torch.bmm(A.reshape(S * k, p, q), X.reshape(S * k, q, X.shape[-1]),
                     out=None if out is None or S > 1 else out.view(k, p, X.shape[-1]))
    if out is None:
        return flat.view(S, k, p, X.shape[-1])
    if S > 1:
        out.copy_(flat.view(S, k, p, X.shape[-1]))
    return out


class _WindowApply(torch.autograd.Function):
    r"""One pass of :meth:`WindowPlan.forward` on stacked operands with a hand-written backward, and a batching rule
    (:meth:`vmap`: the batch axis becomes the member axis), so that :func:`torch.func.vmap` over stacked parameters
    (:mod:`ddlib.batched`) takes this path too. Returns ``(U, T, s)``; ``T`` and ``s`` are kept for the backward.

    Backward, for the output gradient :math:`G` (blocks :math:`G_i`): :math:`d\tilde Q_{i,core} = G_i T_i^T`,
    :math:`dT_i = \tilde Q_{i,core}^T G_i` plus :math:`Q_{tail,i}^T\,dtail_i` (the overlap rows of :math:`G` that window
    ``i`` wrote), :math:`dQ_{tail,i} = dtail_i T_{i,1:r}^T`; through the coarse step :math:`dc` (the sum of the two
    slots that received :math:`c_k`), :math:`dQ_0 = dc\,(K_0^Ts)^T`, :math:`dK_0 = s\,(Q_0^Tdc)^T`,
    :math:`ds = K_0Q_0^Tdc` (or the fixed symmetric solve of :math:`dc`) into the hat rows; finally
    :math:`d\tilde K_i = X_i\,dT_i^T` and :math:`dX_i = \tilde K_i\,dT_i` added back onto the nodes of window ``i``.
    Not itself differentiable (``once_differentiable``); the output must not be modified in place while grad is on.
    """

    @staticmethod
    def forward(F, Kw, Qc, Qtail, Q0, K0, plan, r, coarse, solve):
        ops = {"r": r, "Kw": Kw, "Qc": Qc, "coarse": (solve if solve is not None else (Q0, K0)) if coarse else None}
        if Qtail is not None:
            ops["Qtail"] = Qtail
        return plan.forward(F, ops)

    @staticmethod
    def setup_context(ctx, inputs, output):
        F, Kw, Qc, Qtail, Q0, K0, plan, r, coarse, solve = inputs
        _, T, s = output
        ctx.mark_non_differentiable(T, s)
        ctx.save_for_backward(F, Kw, Qc, Qtail, Q0, K0, T, s)
        ctx.plan, ctx.coarse, ctx.r, ctx.solve = plan, coarse, r, solve

    @staticmethod
    def vmap(info, in_dims, F, Kw, Qc, Qtail, Q0, K0, plan, r, coarse, solve):
        """Under :func:`torch.func.vmap`: the members of the vmapped batch, each a stack of one, side by side."""
        def members(t, dim):
            if t is None:
                return None
            t = t.expand(info.batch_size, *t.shape) if dim is None else t.movedim(dim, 0)
            return t.flatten(0, 1)                                         # (batch, 1, ...) -> (batch, ...)
        args = [members(t, dim) for t, dim in zip((F, Kw, Qc, Qtail, Q0, K0), in_dims[:6])]
        U, T, s = _WindowApply.apply(*args, plan, r, coarse, solve)
        return (U[:, None], T[:, None], s[:, None] if s.numel() else s), (0, 0, 0 if s.numel() else None)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gU, _gT, _gs):
        F, Kw, Qc, Qtail, Q0, K0, T, s = ctx.saved_tensors
        need, plan = ctx.needs_input_grad, ctx.plan
        b, d, N, n = plan.b, plan.d, plan.N, plan.n
        r, S, B = ctx.r, gU.shape[0], gU.shape[-1]
        Gm = gU[:, :(N - 1) * b].unflatten(1, (N - 1, b))                 # blocks 0 .. N-2 (views)
        Gl = torch.nn.functional.pad(gU[:, (N - 1) * b:], (0, 0, 0, N * b - n))[:, None]

        def blockwise(left, right, shape):  # left_i @ right_i over all blocks, one of the two being G
            out = gU.new_empty(shape)
            for a, c, o in zip(left, right, out.split([N - 1, 1], 1)):
                _bmm(a, c, o)
            return out

        c = T.shape[2]
        dQc = blockwise((Gm, Gl), T.transpose(2, 3).split([N - 1, 1], 1), (S, N, b, c)) if need[2] else None
        dT = blockwise(Qc.transpose(2, 3).split([N - 1, 1], 1), (Gm, Gl), (S, N, c, B))
        dQtail = None
        if Qtail is not None:
            dtail = gU.new_zeros(S, N, 2 * d, B)   # the overlap rows window i wrote: block i - 1's last, i + 1's first
            dtail[:, 1:, :d] = Gm[:, :, b - d:]
            dtail[:, :-2, d:] = Gm[:, 1:, :d]
            dtail[:, -2, d:] = Gl[:, 0, :d]
            if need[3]:
                dQtail = _bmm(dtail, T[:, :, :r].transpose(2, 3))
            dT[:, :, :r] += _bmm(Qtail.transpose(2, 3), dtail)
        dQ0 = dK0 = None
        if ctx.coarse:
            dc = dT[:, 1:, r] + dT[:, :-1, r + 1]                          # c_k sat in window k and window k - 1
            if ctx.solve is not None:  # the fixed Galerkin block is symmetric
                ds = plan.solve(ctx.solve, dc)
            else:
                dy = Q0.transpose(1, 2) @ dc
                if need[4]:
                    dQ0 = dc @ (K0.transpose(1, 2) @ s).transpose(1, 2)
                if need[5]:
                    dK0 = s @ dy.transpose(1, 2)
                ds = K0 @ dy
            dT[:, 0, r] = 0
            dT[:, 1:, r] = ds
            dT[:, :-1, r + 1] = ds
            dT[:, -1, r + 1] = 0
        dKw = None
        if need[1]:
            dKw = Kw.new_empty(Kw.shape)
            for X, t, o in zip(plan.pieces(F), dT.split([1, N - 2, 1], 1), dKw.split([1, N - 2, 1], 1)):
                _bmm(X, t.transpose(2, 3), o)
        dF = None
        if need[0]:
            dX = _bmm(Kw, dT)                                              # (S, N, L, B): window i's share of dF
            core = torch.cat([dX[:, :1, :b], dX[:, 1:, d:d + b]], 1)       # (S, N, b, B), window 0 starts at node 0
            if d:
                core[:, 1:, :d] += torch.cat([dX[:, :1, b:b + d], dX[:, 1:, d + b:]], 1)[:, :-1]  # right -> block i + 1
                core[:, :-1, b - d:] += dX[:, 1:, :d]                                             # left -> block i - 1
            dF = core.view(S, N * b, B)[:, :n]
        return dF, dKw, dQc, dQtail, dQ0, dK0, None, None, None, None
