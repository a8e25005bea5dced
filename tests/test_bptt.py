"""The hand-written backward through time (bptt.py) against autograd through the readable loop and
against nn.LSTM: logits, every parameter's gradient and the input's gradient."""

import csv
import io
import json
import os

import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT
from lstm_mnist import LSTMClassifier, bptt, products
from lstm_mnist.cell import LSTMCell
from lstm_mnist.reference import FusedLSTMClassifier


def logits_and_gradients(model, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """The logits, the gradient of every parameter and of the images, for one cross-entropy loss."""
    model.zero_grad(set_to_none=True)
    images = images.clone().requires_grad_(True)
    logits = model(images)
    F.cross_entropy(logits, labels).backward()
    results = {"logits": logits.detach(), "images": images.grad}
    results.update({name: p.grad for name, p in model.named_parameters()})
    return results


def assert_all_close(ours: dict, theirs: dict, tolerance: float) -> None:
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert ours[name] is not None, name
        torch.testing.assert_close(ours[name], theirs[name], rtol=tolerance, atol=tolerance, msg=name)


def fast_and_readable(model, images, labels) -> tuple[dict, dict]:
    model.fast = True
    fast = logits_and_gradients(model, images, labels)
    model.fast = False
    readable = logits_and_gradients(model, images, labels)
    return fast, readable


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("forget_bias", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("input_projection", [False, True])
@pytest.mark.parametrize("tanh_through_sigmoid", [True, False])
def test_fast_path_equals_the_readable_loop_in_float64(forget_bias, input_projection, tanh_through_sigmoid,
                                                       monkeypatch):
    monkeypatch.setattr(bptt, "tanh_through_sigmoid", tanh_through_sigmoid)
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=24, forget_bias=forget_bias, input_projection=input_projection)
    images, labels = torch.rand(6, 28, 28), torch.randint(0, 10, (6,))
    fast, readable = fast_and_readable(model, images, labels)
    assert readable["images"].abs().max() > 0 and readable["cell.weight_hh"].abs().max() > 0
    assert_all_close(fast, readable, 1e-10)


@pytest.mark.usefixtures("float64")
def test_fast_path_equals_nn_lstm_in_float64():
    torch.manual_seed(1)
    model = LSTMClassifier(hidden_size=20)
    ref = FusedLSTMClassifier(model)
    images, labels = torch.rand(5, 28, 28), torch.randint(0, 10, (5,))
    ours, theirs = logits_and_gradients(model, images, labels), logits_and_gradients(ref, images, labels)
    torch.testing.assert_close(ours["logits"], theirs["logits"], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours["images"], theirs["images"], rtol=1e-10, atol=1e-10)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        torch.testing.assert_close(ours[f"cell.{name}"], theirs[f"lstm.{name}_l0"], rtol=1e-10, atol=1e-10, msg=name)


@pytest.mark.parametrize("onednn", [True, False])
def test_fast_path_equals_the_readable_loop_in_float32(onednn, monkeypatch):
    if onednn and products.ONEDNN_LINEAR is None:
        pytest.skip("this PyTorch has no oneDNN linear op")
    monkeypatch.setattr(products, "use_onednn", onednn)
    torch.manual_seed(2)
    model = LSTMClassifier(hidden_size=32)
    images, labels = torch.rand(16, 28, 28), torch.randint(0, 10, (16,))
    fast, readable = fast_and_readable(model, images, labels)
    assert_all_close(fast, readable, 1e-5)


def test_onednn_and_fallback_branches_agree(monkeypatch):
    if products.ONEDNN_LINEAR is None:
        pytest.skip("this PyTorch has no oneDNN linear op: only the fallback runs here")
    torch.manual_seed(3)
    model = LSTMClassifier(hidden_size=32)
    images, labels = torch.rand(16, 28, 28), torch.randint(0, 10, (16,))
    results = []
    for onednn in (True, False):
        monkeypatch.setattr(products, "use_onednn", onednn)
        results.append(logits_and_gradients(model, images, labels))
    assert_all_close(results[0], results[1], 1e-5)


@pytest.mark.parametrize("vendor, family, flags, faster", [
    ("AuthenticAMD", "26", "fpu avx2 avx512f avx512bw", True),  # Zen 5: AVX-512 at full width; MKL runs AVX2
    ("AuthenticAMD", "25", "fpu avx2 avx512f avx512bw", False),  # Zen 4: AVX-512 in two 256-bit halves
    ("AuthenticAMD", "25", "fpu avx2", False),  # Zen 3: no AVX-512
    ("AuthenticAMD", "26", "fpu avx2", False),  # a virtual machine that hides AVX-512
    ("GenuineIntel", "6", "fpu avx2 avx512f", False),  # MKL runs its own AVX-512 code on Intel
    (None, None, None, False),  # no /proc/cpuinfo (macOS, Windows)
])
def test_onednn_is_the_default_only_where_it_is_faster(vendor, family, flags, faster):
    cpu = {} if vendor is None else {"vendor_id": vendor, "cpu family": family, "model": "2", "flags": flags}
    assert products.onednn_is_faster(cpu) is faster


def test_the_default_library_is_chosen_from_this_processor():
    cpu = products.cpu_fields()
    if os.path.exists("/proc/cpuinfo"):
        assert cpu  # its first processor's fields: an x86's vendor_id and flags, an ARM's Features, ...
    assert products.use_onednn == (products.ONEDNN_LINEAR is not None and products.onednn_is_faster(cpu))


ZEN5 = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nflags\t\t: fpu avx2 avx512f\n\n"
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd aes\nCPU implementer\t: 0x41\n\nprocessor\t: 1\n"
S390 = "vendor_id       : IBM/S390\n# processors    : 2\nfeatures\t: esan3 zarch stfle msa\n"


@pytest.mark.parametrize("text, faster", [(ZEN5 + ZEN5, True), (ARM, False), (S390, False), ("", False)])
def test_any_linux_cpuinfo_is_read_and_only_a_zen_5_takes_onednn(monkeypatch, text, faster):
    """An ARM's /proc/cpuinfo has no vendor_id nor flags, an s390's no flags: read, and MKL's (F.linear) kept."""
    monkeypatch.setattr(products, "open", lambda *args, **kwargs: io.StringIO(text), raising=False)
    cpu = products.cpu_fields()
    assert bool(cpu) == bool(text) and ("vendor_id" in cpu) == ("vendor_id" in text)
    assert products.onednn_is_faster(cpu) is faster


def test_the_onednn_branch_is_taken_only_for_float32_on_the_cpu(monkeypatch):
    calls = []
    monkeypatch.setattr(products, "use_onednn", True)
    monkeypatch.setattr(products, "ONEDNN_LINEAR", lambda *args: calls.append(args) or F.linear(*args[:3]))
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(products.linear(x, w), x @ w.T)
    assert len(calls) == 1
    products.linear(x.double(), w.double())
    assert len(calls) == 1  # float64: F.linear


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("check", [torch.autograd.gradcheck, torch.autograd.gradgradcheck])
def test_gradcheck_on_a_small_sequence(check):
    """gradgradcheck: a gradient of the gradient (create_graph=True) too."""
    torch.manual_seed(4)
    cell = LSTMCell(3, 4, forget_bias=1.0)
    x = torch.randn(2, 5, 3, requires_grad=True)  # (B, T, I)
    inputs = (x, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, 1.0)
    assert check(bptt.LSTMThroughTime.apply, inputs)


def test_model_fast_false_takes_the_readable_loop(monkeypatch):
    calls = []
    forward = LSTMCell.forward

    def counted_forward(self, *args, **kwargs):
        calls.append(1)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(LSTMCell, "forward", counted_forward)
    model = LSTMClassifier(hidden_size=8)
    model(torch.rand(2, 28, 28))
    assert calls == []  # fast: one autograd node; the cell's forward is never called
    model.fast = False
    model(torch.rand(2, 28, 28))
    assert len(calls) == 28  # readable: the cell reads each of the 28 rows


def test_rnn_and_gru_keep_the_loop_and_records_are_still_filled():
    for cell in ("rnn", "gru"):
        model = LSTMClassifier(hidden_size=8, cell=cell)
        assert model.fast  # the switch is there, but only the LSTM has a sequence path
        model(torch.rand(2, 28, 28))
    model = LSTMClassifier(hidden_size=8)
    records = []
    model.read(torch.rand(1, 28, 28), records=records)  # trace.py's way: the loop, step by step
    assert len(records) == 28 and set(records[0]) == {"gates", "i", "f", "g", "o", "c", "h"}


@pytest.mark.parametrize("onednn", [False, True])
def test_evaluation_without_gradients_gives_the_same_logits(onednn, monkeypatch):
    if onednn and products.ONEDNN_LINEAR is None:
        pytest.skip("this PyTorch has no oneDNN linear op")
    monkeypatch.setattr(products, "use_onednn", onednn)
    torch.manual_seed(5)
    model = LSTMClassifier(hidden_size=16)
    images = torch.rand(4, 28, 28)
    with torch.inference_mode():
        fast = model(images)  # nothing kept for a backward
    model.fast = False
    with torch.no_grad():
        readable = model(images)
    torch.testing.assert_close(fast, readable, rtol=1e-5, atol=1e-5)


def test_a_cell_with_other_equations_or_a_hook_takes_the_readable_loop():
    """A subclass of LSTMCell (the notebook's peephole cell) or a gate_hook changes what a step
    computes; the fast path would silently ignore it, so the model reads through the cell."""
    calls = []

    class CountingCell(LSTMCell):
        def forward(self, input_, state, records=None):
            calls.append(1)
            return super().forward(input_, state, records)

    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    model.cell = CountingCell(28, 8)
    model(torch.rand(2, 28, 28))
    assert len(calls) == 28
    model = LSTMClassifier(hidden_size=8)
    seen = []
    model.cell.gate_hook = lambda gates: seen.append(1) or gates
    model(torch.rand(2, 28, 28))
    assert len(seen) == 28


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("tanh_through_sigmoid", [True, False])
def test_inference_equals_the_readable_loop_in_float64(tanh_through_sigmoid, monkeypatch):
    """Evaluation's own loop (no autograd node, no buffer over the steps, tanh as 2 sigma(2x) - 1 on
    a CPU) computes the readable loop's logits."""
    monkeypatch.setattr(bptt, "tanh_through_sigmoid", tanh_through_sigmoid)
    torch.manual_seed(6)
    model = LSTMClassifier(hidden_size=24, forget_bias=1.0)
    images = torch.rand(7, 28, 28) * 4 - 2  # wider than [0, 1]: more of tanh's range
    with torch.inference_mode():
        fast = model(images)
    model.fast = False
    with torch.no_grad():
        readable = model(images)
    torch.testing.assert_close(fast, readable, rtol=1e-10, atol=1e-10)


def test_sigmoid_tanh_is_tanh():
    x = torch.linspace(-20, 20, 4001)
    torch.testing.assert_close(bptt.sigmoid_tanh(x), torch.tanh(x), rtol=0, atol=2e-7)
    x64 = x.double()
    torch.testing.assert_close(bptt.sigmoid_tanh(x64), torch.tanh(x64), rtol=0, atol=1e-15)
    assert bptt.sigmoid_tanh(torch.tensor([-100.0, 0.0, 100.0])).tolist() == [-1.0, 0.0, 1.0]


def test_the_fast_path_gives_the_cell_the_sigmoid_tanh_only_on_a_cpu(monkeypatch):
    assert bptt.tanh_for(torch.zeros(1)) is bptt.sigmoid_tanh
    assert bptt.tanh_for(torch.zeros(1, device="meta")) is torch.tanh  # any device but the CPU
    monkeypatch.setattr(bptt, "tanh_through_sigmoid", False)
    assert bptt.tanh_for(torch.zeros(1)) is torch.tanh


def test_evaluation_takes_the_inference_loop_and_training_the_autograd_node(monkeypatch):
    calls = []
    monkeypatch.setattr(bptt, "inference", lambda *args: calls.append("inference") or torch.zeros(2, 8))
    model = LSTMClassifier(hidden_size=8)
    with torch.no_grad():
        model(torch.rand(2, 28, 28))
    assert calls == ["inference"]
    model(torch.rand(2, 28, 28)).sum().backward()  # gradients wanted: LSTMThroughTime
    assert calls == ["inference"] and model.cell.weight_hh.grad is not None


def test_a_module_hook_on_the_cell_still_fires():
    """A forward hook on the cell (a user's probe) is called at every row: the model takes the loop."""
    model = LSTMClassifier(hidden_size=8)
    outputs = []
    handle = model.cell.register_forward_hook(lambda module, args, output: outputs.append(output[0]))
    model(torch.rand(2, 28, 28))
    handle.remove()
    assert len(outputs) == 28


def test_the_onednn_switch_falls_back_where_the_op_is_missing(monkeypatch):
    """use_onednn on a PyTorch without the private op computes with F.linear instead of failing."""
    monkeypatch.setattr(products, "use_onednn", True)
    monkeypatch.setattr(products, "ONEDNN_LINEAR", None)
    x, w, b = torch.rand(3, 5), torch.rand(4, 5), torch.rand(4)
    torch.testing.assert_close(products.linear(x, w, b), F.linear(x, w, b))


def backward_hook_calls(register, fast: bool) -> int:
    """How many times a backward hook that ``register`` puts on a fresh model's cell (or on every
    module) is called in one backward pass, with the model's ``fast`` switch as given."""
    torch.manual_seed(0)
    model = LSTMClassifier(hidden_size=8)
    model.fast = fast
    calls = []
    handle = register(model.cell, lambda *args: calls.append(1))
    try:
        model(torch.rand(2, 28, 28, requires_grad=True)).sum().backward()
    finally:
        handle.remove()
    return len(calls)


@pytest.mark.parametrize("register", [
    lambda cell, hook: cell.register_full_backward_hook(hook),
    lambda cell, hook: cell.register_full_backward_pre_hook(hook),
    lambda cell, hook: torch.nn.modules.module.register_module_full_backward_hook(hook),
], ids=["full_backward_hook", "full_backward_pre_hook", "global_backward_hook"])
def test_a_backward_hook_on_the_cell_fires_as_in_the_readable_loop(register):
    """A backward hook on the cell (a user's probe of its gradients) is called by default as in the
    readable loop: the fast path, which never calls the cell, would skip it silently, so the model
    takes the loop."""
    readable = backward_hook_calls(register, fast=False)
    assert readable > 0 and backward_hook_calls(register, fast=True) == readable



TINY_RUN = ["--epochs", "1", "--limit-train", "32", "--batch-size", "16", "--hidden-size", "8", "--no-figure",
            "--overwrite"]


@pytest.mark.parametrize("script", ["evaluate.py", "predict.py", "train.py"])
def test_readable_flag_reads_through_the_cells_forward(script, run_in_process, small_checkpoint, synthetic_dir,
                                                       tmp_path, monkeypatch):
    """--readable takes the loop through LSTMCell.forward (a breakpoint there stops) in evaluate.py and
    predict.py as in train.py, with the same results; without it no command calls the cell's forward."""
    calls = []
    forward = LSTMCell.forward
    monkeypatch.setattr(LSTMCell, "forward", lambda self, *args: calls.append(1) or forward(self, *args))
    run = ["--out", str(tmp_path / "run.pt"), *TINY_RUN]
    given = {"evaluate.py": [str(small_checkpoint), "--json", "--data-dir", str(synthetic_dir)],
             "predict.py": [str(small_checkpoint), str(ROOT / "docs" / "digits"), "--out", "-"],
             "train.py": [*run, "--data-dir", str(synthetic_dir)]}[script]
    results = []
    for readable in ([], ["--readable"]):
        calls.clear()
        result = run_in_process(script, *given, *readable, "--device", "cpu")
        assert result.returncode == 0, result.stderr
        results.append((len(calls), result.stdout))
    assert results[0][0] == 0 and results[1][0] > 0 and results[1][0] % 28 == 0  # 28 rows a batch
    if script == "evaluate.py":
        assert json.loads(results[0][1])["accuracy"] == json.loads(results[1][1])["accuracy"]
    if script == "predict.py":  # the same answers; the probabilities to float rounding (6 decimals)
        fast, slow = ([row[:2] for row in csv.reader(io.StringIO(stdout))] for _, stdout in results)
        assert fast == slow and len(fast) == 11


@pytest.mark.parametrize("hidden_size", [32, 128])
def test_fast_path_equals_nn_lstm_in_float32(hidden_size):
    """Issue 12's float32 promise, against nn.LSTM (oneDNN's LSTM on a CPU) as well as the readable
    loop: logits, the images' gradient and every cell and head gradient to 1e-5."""
    torch.manual_seed(7)
    model = LSTMClassifier(hidden_size=hidden_size)
    ref = FusedLSTMClassifier(model)
    images, labels = torch.rand(16, 28, 28), torch.randint(0, 10, (16,))
    ours, theirs = logits_and_gradients(model, images, labels), logits_and_gradients(ref, images, labels)
    names = {"logits": "logits", "images": "images", "head.weight": "head.weight", "head.bias": "head.bias"}
    names |= {f"cell.{name}": f"lstm.{name}_l0" for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    assert_all_close({name: ours[name] for name in names}, {name: theirs[ref_name] for name, ref_name in names.items()},
                     1e-5)


def test_the_fast_path_runs_the_cells_own_equations_at_every_row(monkeypatch):
    """Equations (2)-(7) exist once: bptt.py's training node and its evaluation loop both call cell.py's
    cell_equations at each of the 28 rows, rather than a copy of them."""
    from lstm_mnist import cell as cell_module

    assert bptt.cell_equations is cell_module.cell_equations
    calls = []
    monkeypatch.setattr(bptt, "cell_equations", lambda *args, **kwargs: calls.append(1)
                        or cell_module.cell_equations(*args, **kwargs))
    model = LSTMClassifier(hidden_size=8)
    model(torch.rand(2, 28, 28)).sum().backward()  # LSTMThroughTime
    assert len(calls) == 28 and model.cell.weight_hh.grad is not None
    with torch.no_grad():
        model(torch.rand(2, 28, 28))  # inference
    assert len(calls) == 56


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")  # PyTorch's own jvp loads it
def test_torch_func_transforms_take_the_readable_loop_and_agree_with_autograd():
    """torch.func.grad, vmap over it (per-sample gradients) and jvp failed on the default model with
    'it must override the setup_context staticmethod': under a transform the model takes the loop."""
    from torch.func import functional_call, grad, jvp, vmap

    torch.manual_seed(3)
    model = LSTMClassifier(hidden_size=8)
    images, labels = torch.rand(3, 28, 28), torch.randint(0, 10, (3,))
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss(params, images, labels):
        return F.cross_entropy(functional_call(model, params, (images,)), labels)

    expected = logits_and_gradients(model, images, labels)  # autograd through the fast path
    got = grad(loss)(params, images, labels)
    for name in params:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-5, atol=1e-6)
    per_sample = vmap(grad(lambda p, x, y: loss(p, x[None], y[None])), in_dims=(None, 0, 0))(params, images, labels)
    one = logits_and_gradients(model, images[1:2], labels[1:2])
    torch.testing.assert_close(per_sample["cell.weight_hh"][1], one["cell.weight_hh"], rtol=1e-5, atol=1e-6)
    logits, tangent = jvp(lambda x: model(x), (images,), (torch.ones_like(images),))
    torch.testing.assert_close(logits, model(images), rtol=1e-5, atol=1e-6)
    assert model.fast and tangent.abs().max() > 0


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit.trace")  # deprecated, still used
def test_torch_jit_trace_and_torch_export_record_a_model_that_equals_it():
    """torch.jit.trace of the default model failed PyTorch's own check ('Graphs differed across
    invocations'): under a trace the model takes the readable loop. torch.export records the fast path."""
    torch.manual_seed(4)
    model = LSTMClassifier(hidden_size=16).eval()
    images, other = torch.rand(3, 28, 28), torch.rand(5, 28, 28)  # the recording, and a batch of another size
    traced = torch.jit.trace(model, images)
    exported = torch.export.export(model, (images,), dynamic_shapes=({0: torch.export.Dim("B")},)).module()
    for recorded in (traced, exported):
        torch.testing.assert_close(recorded(other), model(other), rtol=1e-5, atol=1e-6)
    assert model.fast


def test_autocast_gives_the_fast_path_what_it_gives_the_readable_loop():
    """Mixed precision (torch.autocast, bfloat16 on a CPU): the same logits and gradients as the loop,
    to bfloat16's precision."""
    torch.manual_seed(5)
    model = LSTMClassifier(hidden_size=16)
    images, labels = torch.rand(4, 28, 28), torch.randint(0, 10, (4,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fast, readable = fast_and_readable(model, images, labels)
    assert fast["logits"].dtype == torch.bfloat16
    assert_all_close(fast, readable, tolerance=2e-2)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")  # PyTorch's own jvp loads it
@pytest.mark.parametrize("grad_enabled", [False, True])
def test_forward_mode_ad_takes_the_readable_loop_and_agrees_with_it(grad_enabled):
    """torch.autograd.forward_ad (a dual tensor's tangent through the model) failed on the default model
    ('addmm_out that does not support it', or 'must implement the jvp function'); it takes the loop."""
    import torch.autograd.forward_ad as fwAD

    torch.manual_seed(3)
    model = LSTMClassifier(hidden_size=8)
    images, direction = torch.rand(3, 28, 28), torch.randn(3, 28, 28)
    tangents = []
    for fast in (True, False):
        model.fast = fast
        with fwAD.dual_level(), torch.set_grad_enabled(grad_enabled):
            tangents.append(fwAD.unpack_dual(model(fwAD.make_dual(images, direction))).tangent)
    assert tangents[0] is not None and tangents[0].abs().max() > 0
    torch.testing.assert_close(tangents[0], tangents[1], rtol=0, atol=0)


@pytest.mark.usefixtures("float64")
def test_a_gradient_of_the_gradient_equals_the_readable_loops():
    """create_graph=True (a gradient penalty, a Hessian-vector product) said 'The differentiated Tensor
    at index 0 appears to not have been used in the graph', later that it needed model.fast = False;
    now the fast path gives what the readable loop gives, for the weights and for the images."""
    torch.manual_seed(3)
    model = LSTMClassifier(hidden_size=8)
    images, labels = torch.rand(3, 28, 28), torch.randint(0, 10, (3,))

    def second_order():  # d/d(everything) of |dL/dW_hh|^2 + |dL/dimages|^2
        x = images.clone().requires_grad_()
        loss = F.cross_entropy(model(x), labels)
        first = torch.autograd.grad(loss, (model.cell.weight_hh, x), create_graph=True)
        penalty = sum(g.square().sum() for g in first)
        return torch.autograd.grad(penalty, (x, *model.parameters()))

    fast = second_order()
    model.fast = False
    readable = second_order()
    for got, expected in zip(fast, readable, strict=True):
        assert expected.abs().max() > 0
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)


@pytest.mark.usefixtures("float64")
def test_a_hook_on_an_input_runs_once_in_a_gradient_of_the_gradient():
    """A hook on a weight or on the images (register_hook: to clip, scale or log a gradient) ran twice on the
    fast path with create_graph=True, once as its backward differentiated the loop again and once as the
    gradient it returned reached the tensor: a hook that doubles the gradient made it 4x, not 2x."""
    torch.manual_seed(3)
    model = LSTMClassifier(hidden_size=8, normalize=False)  # the images are then what the cell reads
    images, labels = torch.rand(3, 28, 28, requires_grad=True), torch.randint(0, 10, (3,))
    calls = []
    for tensor in (model.cell.weight_hh, images):
        tensor.register_hook(lambda grad: calls.append(1) or 2 * grad)

    def gradients():
        calls.clear()
        loss = F.cross_entropy(model(images), labels)
        found = torch.autograd.grad(loss, (model.cell.weight_hh, images), create_graph=True)
        assert len(calls) == 2  # each hook once
        return found

    fast = gradients()
    model.fast = False
    for got, expected in zip(fast, gradients(), strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
