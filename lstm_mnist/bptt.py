"""Backpropagation through time, written by hand: the LSTM's backward pass over a whole sequence.

cell.py's forward equations, for t = 0 .. T-1, starting from h_{-1} = c_{-1} = 0 (B, H)::

    (1) gates = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh       (B, 4H)
    (2) i_t = sigma(i_pre)   (3) f_t = sigma(f_pre + forget_bias)   (4) g_t = tanh(g_pre)   (5) o_t = sigma(o_pre)
    (6) c_t = f_t * c_{t-1} + i_t * g_t                     (B, H)
    (7) h_t = o_t * tanh(c_t)                               (B, H)

The classifier reads only the last output h_{T-1}, so the loss L reaches the sequence through
dh_{T-1} = dL/dh_{T-1} (B, H). Write dX for dL/dX, ``*`` for the element-wise product and use
sigma' = sigma (1 - sigma), tanh' = 1 - tanh². Going backwards, t = T-1 .. 0, each equation
gives (numbered like the forward equation it differentiates; dc_T = 0 and dgates_T = 0)::

    (1) dh_t     = dh_from_the_head (t = T-1 only) + dgates_{t+1} @ W_hh     (B, H)
    (7) do_t     = dh_t * tanh(c_t)                                          (B, H)
    (7,6) dc_t   = dc_{t+1} * f_{t+1} + dh_t * o_t * (1 - tanh²(c_t))        (B, H)
    (6) di_t     = dc_t * g_t,   df_t = dc_t * c_{t-1},   dg_t = dc_t * i_t   (B, H) each
    (5) do_pre_t = do_t * o_t * (1 - o_t)                                    (B, H)
    (4) dg_pre_t = dg_t * (1 - g_t²)                                         (B, H)
    (3) df_pre_t = df_t * f_t * (1 - f_t)                                    (B, H)
    (2) di_pre_t = di_t * i_t * (1 - i_t)                                    (B, H)
        dgates_t = [di_pre_t | df_pre_t | dg_pre_t | do_pre_t]               (B, 4H)

dc_t has two terms because c_t reaches the loss two ways: through h_t (7) and through c_{t+1} (6).
Only dh_t and dc_t carry information from step t+1 to step t: that recurrence is the only part
that has to run step by step. Everything else is computed for all steps at once: each dgates_t
is dh_t or dc_t times a factor that the forward pass already knows (``factors`` below).

The parameters are shared by every step, so their gradients are sums over the steps of what
equation (1) gives at each step::

    dW_ih = sum_t dgates_t^T x_t        (4H, I)       dW_hh = sum_t dgates_t^T h_{t-1}    (4H, H)
    db_ih = db_hh = sum_t sum_b dgates_t (4H,)        dx_t  = dgates_t W_ih               (B, I)

A sum over t of products (4H, B) x (B, n) is ONE product (4H, T·B) x (T·B, n) of the steps
stacked along the batch axis: with [x_t, h_{t-1}] stacked as rows of ``xh`` (T·B, I+H) and the
dgates_t as rows of ``dgates`` (T·B, 4H), [dW_ih | dW_hh] = dgates^T xh. That is how cuDNN and
oneDNN compute them: one large product runs far faster than T small ones.

``LSTMThroughTime`` is one ``torch.autograd.Function`` over the whole sequence: autograd sees one
node per sequence instead of about fifteen per step. Its forward runs cell.py's own
``cell_equations`` (equations (2)-(7) exist once); its backward is the table above (or, for a
gradient of the gradient, the loop run again with autograd: ``_differentiable_backward``).
``LSTMClassifier`` uses it by default (``model.fast``); the readable loop with autograd through
``LSTMCell.forward`` is the oracle it is tested against (tests/test_bptt.py), in float64 to 1e-10.

What makes it fast on a CPU, beyond the one node (each measured; the README has the figures):
tanh computed as 2 sigma(2x) - 1 (``sigmoid_tanh``, given to ``cell_equations``); each step's
gates and state copied into one buffer over all steps while they are still in cache; the buffers'
per-step views made once, before the loops; the factors turned into the gate gradients in place;
glibc told to keep freed memory (allocator.py).

The matrix products go through ``linear`` (products.py): ``F.linear`` (MKL), or on a CPU in float32
PyTorch's private oneDNN op (the library ``nn.LSTM`` uses) where ``products.use_onednn`` asks for it
(by default on the processors where oneDNN is faster).
Shapes: B batch, T steps, I inputs per step, H hidden.
"""

import functools

import torch
from torch import Tensor

from . import allocator, products
from .cell import LSTMCell, cell_equations
from .products import linear


class LSTMThroughTime(torch.autograd.Function):
    """h_{T-1} (B, H) from x (B, T, I) and the cell's parameters, zero initial state."""

    @staticmethod
    def forward(ctx, x: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor,
                forget_bias: float) -> Tensor:
        B, T, I = x.shape
        H = weight_hh.size(1)
        weight = torch.cat([weight_ih, weight_hh], dim=1)  # (4H, I+H): [W_ih | W_hh]
        bias = bias_ih + bias_hh  # (4H,)
        xh = x.new_empty(T, B, I + H)  # row t: [x_t, h_{t-1}]
        xh[0, :, I:] = 0  # h_{-1} = 0
        xh[:, :, :I] = x.transpose(0, 1)  # (T, B, I)
        c = x.new_zeros(B, H)  # c_{-1}
        saved = x.new_empty(T, 5, B, H)  # row t: i_t, f_t, g_t, o_t, c_t, what the backward needs
        tanh = tanh_for(x)
        # the buffers' parts as lists of steps, made once: indexing them inside the loop would cost more
        xh_steps, h_slots, saved_steps = xh.unbind(0), xh[1:, :, I:].unbind(0), saved.unbind(0)
        for t in range(T):
            gates = linear(xh_steps[t], weight, bias)  # (1) (B, 4H)
            step = cell_equations(gates, c, forget_bias, tanh=tanh)  # (2)-(7): cell.py's own code
            if t + 1 < T:
                h_slots[t].copy_(step.h)  # h_t into row t+1 of xh, read by step t+1
            # copied while still in cache, so that the step's own memory is reused at the next step
            torch.stack((step.i, step.f, step.g, step.o, step.c), out=saved_steps[t])  # (5, B, H)
            c = step.c
        ctx.save_for_backward(xh, saved, x, weight_ih, weight_hh, bias_ih, bias_hh)
        ctx.forget_bias = forget_bias
        return step.h  # (B, H)

    @staticmethod
    def backward(ctx, dh_last: Tensor):
        if torch.is_grad_enabled():  # backward(create_graph=True): a gradient that must itself be differentiable
            return _differentiable_backward(ctx, dh_last)
        xh, saved, _, weight_ih, weight_hh, _, _ = ctx.saved_tensors
        i, f, g, o, c = saved.unbind(1)  # (T, B, H) each
        T, B, H = c.shape
        I = xh.size(2) - H
        # dgates (T, B, 4, H) holds the factors at first; step t turns its own into dgates_t, in place
        dh_coef, dgates = _factors(i, f, g, o, c)  # (T, B, H), (T, B, 4, H)
        # the same tensors as lists of T steps, made once (indexing them inside the loop would cost more):
        # dgates_t whole (B, 4H), its i, f, g blocks (B, 3, H), which are dc_t times their factors, and
        # its o block (B, H), dh_t times its factor
        dgates_steps = dgates.view(T, B, 4 * H).unbind(0)
        from_dc_steps, from_dh_steps = dgates[:, :, :3].unbind(0), dgates[:, :, 3].unbind(0)
        dh_coef_steps, f_steps, weight_hh_t = dh_coef.unbind(0), f.unbind(0), weight_hh.t()
        dh = dh_last  # (B, H): dh_{T-1}, from the head
        for t in reversed(range(T)):  # the recurrence: the only step-by-step part
            if t == T - 1:
                dc = dh * dh_coef_steps[t]  # (7) dc_{T-1}, as dc_T = 0 (B, H)
            else:
                dh = linear(dgates_steps[t + 1], weight_hh_t)  # (1) dgates_{t+1} @ W_hh (B, H)
                # (7,6) dc_t = dc_{t+1} * f_{t+1} + dh_t * dh_coef_t, in place (B, H)
                dc.mul_(f_steps[t + 1]).addcmul_(dh, dh_coef_steps[t])
            from_dc_steps[t].mul_(dc.unsqueeze(1))  # (2),(3),(4): di_pre, df_pre, dg_pre = dc_t * factors
            from_dh_steps[t].mul_(dh)  # (5),(7): do_pre = dh_t * factor (B, H)

        dgates = dgates.view(T * B, 4 * H)  # the steps stacked
        # [dW_ih | dW_hh] = dgates^T xh, the sum over steps as one product, computed as its transpose
        # xh^T dgates (I+H, 4H): the same numbers, and MKL (F.linear) computes that orientation about 10% faster
        dweight_t = linear(xh.view(T * B, I + H).t(), dgates.t())  # (I+H, 4H)
        dbias = dgates.sum(0)  # (4H,)
        dx = None
        if ctx.needs_input_grad[0]:
            dx = linear(dgates, weight_ih.t()).view(T, B, I).transpose(0, 1)  # dgates_t @ W_ih (B, T, I)
        return dx, dweight_t[:I].t(), dweight_t[I:].t(), dbias, dbias, None


def _differentiable_backward(ctx, dh_last: Tensor) -> tuple:
    """``backward(create_graph=True)`` (a gradient penalty, a Hessian-vector product): the table above
    works on numbers saved without a graph, so its result could not be differentiated again. Instead the
    loop is run once more from the saved inputs, with autograd, and autograd differentiates it: slower,
    and exact to any order. It is differentiated through a view of each input: asked for the gradient of an
    input itself, autograd.grad would run the input's hooks (``tensor.register_hook``) here, and they run
    again when the gradient returned reaches it."""
    inputs = [t.view_as(t) if needed else t for t, needed in zip(ctx.saved_tensors[2:], ctx.needs_input_grad)]
    x, weight_ih, weight_hh, bias_ih, bias_hh = inputs  # (B, T, I), (4H, I), (4H, H), (4H,), (4H,)
    h = c = x.new_zeros(x.size(0), weight_hh.size(1))  # h_{-1}, c_{-1} (B, H)
    for x_t in x.unbind(1):  # T rows of (B, I)
        gates = x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh  # (1) (B, 4H)
        step = cell_equations(gates, c, ctx.forget_bias)  # (2)-(7): cell.py's own code
        h, c = step.h, step.c
    wanted = [tensor for tensor, needed in zip(inputs, ctx.needs_input_grad) if needed]
    grads = iter(torch.autograd.grad(h, wanted, dh_last, create_graph=True))
    return *(next(grads) if needed else None for needed in ctx.needs_input_grad[:5]), None


def _factors(i: Tensor, f: Tensor, g: Tensor, o: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """What the backward multiplies dh_t and dc_t by, for all steps at once (the table above):
    dh_coef = o (1 - tanh²c) (T, B, H), and factors (T, B, 4, H) such that
    dgates_t = [dc_t, dc_t, dc_t, dh_t] * factors_t."""
    tanh_c = tanh_for(c)(c)  # (T, B, H)
    dh_coef = torch.addcmul(o, o * tanh_c, tanh_c, value=-1)  # (7): dc_t gets dh_t * o_t * (1 - tanh²c_t)
    factors = torch.empty(*c.shape[:2], 4, c.size(2), dtype=c.dtype, device=c.device)  # (T, B, 4, H)
    # sigma (1 - sigma) is written sigma - sigma * sigma: one addcmul, into its place, then a product in place
    torch.addcmul(i, i, i, value=-1, out=factors[:, :, 0]).mul_(g)  # (6),(2): di_pre = dc * g * i (1 - i)
    factors[0, :, 1] = 0  # (6),(3): df_pre = dc * c_{t-1} * f (1 - f), and c_{-1} = 0
    torch.addcmul(f[1:], f[1:], f[1:], value=-1, out=factors[1:, :, 1]).mul_(c[:-1])
    torch.addcmul(i, i * g, g, value=-1, out=factors[:, :, 2])  # (6),(4): dg_pre = dc * i * (1 - g²)
    torch.addcmul(o, o, o, value=-1, out=factors[:, :, 3]).mul_(tanh_c)  # (7),(5): do_pre = dh * tanh(c) * o (1 - o)
    return dh_coef, factors


def last_output(cell: LSTMCell, x: Tensor) -> Tensor:
    """The cell's last output h_{T-1} (B, H) after reading the rows x (B, T, I) from a zero
    state: what the readable loop in model.py computes, as one autograd node (or, when no gradient
    is wanted, as ``inference`` below)."""
    parameters = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    if x.device.type == "cpu":
        allocator.keep_freed_memory()  # else every step's temporaries come as fresh pages (allocator.py)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x, *parameters)):
        return LSTMThroughTime.apply(x, *parameters, cell.forget_bias)
    return inference(x, *parameters, cell.forget_bias)


def inference(x: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor,
              forget_bias: float) -> Tensor:
    """h_{T-1} (B, H) when no gradient is wanted (evaluation): the same loop, keeping nothing for a
    backward and allocating nothing over all steps (at batch 1000 a (T, B, I+H) buffer is 17 MB, fresh
    pages every batch): equation (1) is two products added into one (B, 4H) buffer."""
    B = x.size(0)
    H = weight_hh.size(1)
    bias = bias_ih + bias_hh  # (4H,)
    if products.onednn_computes(x):  # products.use_onednn: equation (1) as one oneDNN product
        return inference_through_onednn(x, torch.cat([weight_ih, weight_hh], dim=1), bias, forget_bias)
    gates = x.new_empty(B, 4 * H)  # (B, 4H), rewritten at every step
    h = c = x.new_zeros(B, H)  # h_{-1}, c_{-1}
    tanh = tanh_for(x)
    for x_t in x.unbind(1):  # T rows of (B, I)
        torch.addmm(bias, x_t, weight_ih.t(), out=gates)  # (1) W_ih x_t + b_ih + b_hh (B, 4H)
        gates.addmm_(h, weight_hh.t())  # (1) ... + W_hh h_{t-1}
        step = cell_equations(gates, c, forget_bias, tanh=tanh)  # (2)-(7): cell.py's own code
        h, c = step.h, step.c
    return h  # (B, H)


def inference_through_onednn(x: Tensor, weight: Tensor, bias: Tensor, forget_bias: float) -> Tensor:
    """``inference`` with equation (1) as one oneDNN product of [W_ih | W_hh] (4H, I+H) and the row
    [x_t, h_{t-1}], held in one (B, I+H) buffer (oneDNN cannot add into a buffer as ``addmm_`` does)."""
    B, _, I = x.shape
    xh = x.new_zeros(B, weight.size(1))  # [x_t, h_{t-1}]; h_{-1} = 0
    c = x.new_zeros(B, weight.size(1) - I)  # c_{-1} (B, H)
    tanh = tanh_for(x)
    for x_t in x.unbind(1):  # T rows of (B, I)
        xh[:, :I] = x_t
        step = cell_equations(products.onednn(xh, weight, bias), c, forget_bias, tanh=tanh)  # (1), then (2)-(7)
        xh[:, I:] = step.h
        c = step.c
    return step.h  # (B, H)


# On a CPU the fast path (training and evaluation) gives cell.py's equations tanh computed as
# 2 sigma(2x) - 1: the same function (to float rounding; near 0 the error is absolute, not relative),
# faster. On the AMD EPYC measured, torch.tanh of a (128, 128) slice of the gates took 66 us and this
# 13 us, and tanh is two of the step's five activations: the training step went from 1.58x to 1.45x
# nn.LSTM, inference of 10,000 images from 1.24x to about 1x.
tanh_through_sigmoid = True


def sigmoid_tanh(x: Tensor) -> Tensor:
    """tanh(x) computed as 2 sigma(2x) - 1 (tanh(x) = (1 - e^{-2x}) / (1 + e^{-2x}) = 2 / (1 + e^{-2x}) - 1),
    in three operations: x + x, sigma, and -1 + 2 sigma as one add (``constant`` holds the -1)."""
    return torch.add(constant(-1.0, x.dtype), torch.sigmoid(x + x), alpha=2)


@functools.cache
def constant(value: float, dtype: torch.dtype) -> Tensor:
    """``value`` as a 0-dim CPU tensor of ``dtype``, made once. Added to a tensor of the same dtype (on
    any device) it is read as it is, where a Python number is first made a tensor and converted to the
    dtype, at every call: three more dispatched operations, about 2 us each time."""
    return torch.tensor(value, dtype=dtype)


def tanh_for(x: Tensor):
    """The tanh the fast path gives cell_equations for a tensor like ``x``."""
    return sigmoid_tanh if tanh_through_sigmoid and x.device.type == "cpu" else torch.tanh
