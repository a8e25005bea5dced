"""CUDA graphs (--cuda-graphs) as far as a CPU can check them: the learning rate a graph reads is
written in place, a checkpoint holds a plain Adam's state that resumes exactly, the flag is
refused where it cannot work, and GraphedStep's warm-up, recording and replays (with torch.cuda's
graph API emulated) train what plain steps train. tests/test_cuda.py records and replays real
graphs on a GPU."""

import contextlib
import copy

import pytest
import torch
import torch.nn.functional as F

from conftest import run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import bench
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.checkpoint import Progress
from lstm_mnist import products
from lstm_mnist import training
from lstm_mnist.cuda_graph import GraphedStep, make_capturable, unusable_because
from lstm_mnist.data import load_mnist
from lstm_mnist.training import RunOptions, TrainConfig, fit, set_learning_rate, step_function


IMAGES = torch.rand(4, 28, 28, generator=torch.Generator().manual_seed(0))  # (4, T, I)
LABELS = torch.tensor([0, 1, 2, 3])


def adam_step(model: LSTMClassifier, optimizer: torch.optim.Adam) -> None:
    optimizer.zero_grad()
    F.cross_entropy(model(IMAGES), LABELS).backward()
    optimizer.step()


def adam_after_steps(steps: int, seed: int = 0) -> tuple[LSTMClassifier, torch.optim.Adam]:
    torch.manual_seed(seed)
    model = LSTMClassifier(hidden_size=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        adam_step(model, optimizer)
    return model, optimizer


def test_the_learning_rate_a_graph_reads_is_written_in_place():
    _, optimizer = adam_after_steps(1)
    make_capturable(optimizer)
    lr = optimizer.param_groups[0]["lr"]
    assert torch.is_tensor(lr) and optimizer.param_groups[0]["capturable"]
    set_learning_rate(optimizer, 0.25)
    assert optimizer.param_groups[0]["lr"] is lr and lr.item() == 0.25  # the same tensor: the address the graph reads
    _, plain = adam_after_steps(0)
    set_learning_rate(plain, 0.25)
    assert plain.param_groups[0]["lr"] == 0.25


def test_a_checkpoint_of_a_graphed_run_holds_a_plain_adam_that_resumes_exactly():
    model, optimizer = adam_after_steps(2)
    plain = ckpt.make(model, optimizer, TrainConfig(), Progress(step=2), [])["optimizer"]
    make_capturable(optimizer)  # what --cuda-graphs does to Adam
    graphed = ckpt.make(model, optimizer, TrainConfig(), Progress(step=2), [])["optimizer"]
    # the live Adam is left as the graph needs it: a checkpoint changes copies of its state, not its own
    assert optimizer.param_groups[0]["capturable"] and torch.is_tensor(optimizer.param_groups[0]["lr"])
    assert all(graphed["state"][i] is not optimizer.state[p] for i, p in enumerate(model.parameters()))
    # lr a number again (rounded to float32: the schedule sets it anew before every step), capturable off
    assert graphed["param_groups"][0]["lr"] == pytest.approx(plain["param_groups"][0]["lr"], rel=1e-7)
    assert [g | {"lr": 0} for g in graphed["param_groups"]] == [g | {"lr": 0} for g in plain["param_groups"]]
    for index, entry in plain["state"].items():
        for key, value in entry.items():
            assert graphed["state"][index][key].device.type == "cpu"
            torch.testing.assert_close(graphed["state"][index][key], value, rtol=0, atol=0, msg=key)
    # the plain state resumes: a new Adam loaded from it takes the step the original would have taken
    resumed_model, resumed = adam_after_steps(0, seed=1)
    resumed_model.load_state_dict(model.state_dict())
    resumed.load_state_dict(graphed)
    set_learning_rate(resumed, 0.01)  # what train_epoch does before every step
    adam_step(resumed_model, resumed)
    continued, _ = adam_after_steps(3)
    for a, b in zip(resumed_model.parameters(), continued.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fit_refuses_cuda_graphs_on_a_cpu(synthetic_dir, tmp_path):
    model = LSTMClassifier(hidden_size=8)
    with pytest.raises(ValueError, match="--cuda-graphs needs a CUDA device"):
        fit(model, torch.optim.Adam(model.parameters()), load_mnist(synthetic_dir), TrainConfig(epochs=1),
            tmp_path / "run.pt", options=RunOptions(cuda_graphs=True))
    assert not (tmp_path / "run.pt").exists()


@pytest.mark.parametrize("flags, message", [
    (["--device", "cpu", "--cuda-graphs"], "--cuda-graphs needs a CUDA device; the device here is cpu"),
])
def test_cuda_graphs_flag_is_refused_where_it_cannot_work(flags, message, synthetic_dir, tmp_path):
    result = run_script("train.py", *flags, "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run.pt"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run.pt").exists()


class EmulatedGraph:
    """What a CUDA graph does, emulated on a CPU (there is no CUDA here): recording computes
    nothing, and a replay runs the recorded step again on the tensors it was recorded with,
    its loss and logits written into the tensors the recording returned."""

    def __init__(self):
        self.step = self.inputs = self.outputs = None
        self.replays = 0

    def replay(self):
        self.replays += 1
        loss, logits = self.step(*self.inputs)
        for output, value in zip(self.outputs, (loss, logits)):
            output.copy_(value)


def emulate_cuda_graphs(monkeypatch, model, optimizer) -> list[EmulatedGraph]:
    """torch.cuda's stream and graph API, emulated for cuda_graph.GraphedStep; returns the graphs it records."""
    recorded = []

    @contextlib.contextmanager
    def graph(g):  # the step runs inside the block: put the weights and Adam back after it, as if it had not
        weights, adam = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
        yield
        model.load_state_dict(weights)
        optimizer.load_state_dict(adam)
        recorded.append(g)

    class Stream:
        def __init__(self, device=None):
            pass

        def wait_stream(self, other):
            pass

    original_record = GraphedStep.record

    def record(self, images, labels, batch_size):
        original_record(self, images, labels, batch_size)
        self.graph.step = self.step
        self.graph.inputs, self.graph.outputs = (self.images, self.labels, batch_size), (self.loss, self.logits)

    monkeypatch.setattr(torch.cuda, "CUDAGraph", EmulatedGraph)
    monkeypatch.setattr(torch.cuda, "graph", graph)
    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", Stream)
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(GraphedStep, "record", record)
    return recorded


@pytest.mark.parametrize("images, replays", [(100, 15), (60, 6)])
def test_graphed_step_warms_up_records_full_batches_once_and_replays_them(images, replays, synthetic_dir,
                                                                         tmp_path, monkeypatch):
    """GraphedStep's own logic, which CI cannot run on a GPU: three eager warm-up steps, one
    recording at a full batch (never at an epoch's smaller last batch, even when that comes
    fourth), replays of the batch copied into the recorded tensors, smaller batches eagerly. With
    the graph API emulated, three epochs train exactly what plain steps train."""
    data = load_mnist(synthetic_dir)
    config = TrainConfig(epochs=3, batch_size=16, limit_train=images, lr=0.01)  # 7 or 4 batches an epoch
    results = {}
    for graphed in (False, True):
        torch.manual_seed(0)
        model = LSTMClassifier(hidden_size=8)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        step = step_function(model, optimizer, config, RunOptions())
        if graphed:  # what step_function does with cuda_graphs=True, but for Adam's capturable form (CUDA only)
            recorded = emulate_cuda_graphs(monkeypatch, model, optimizer)
            step = GraphedStep(step, optimizer, config.batch_size)
            monkeypatch.setattr(training, "step_function", lambda *args: step)
        metrics = fit(model, optimizer, data, config, tmp_path / f"{graphed}.pt", options=RunOptions(log_every=1))
        results[graphed] = model.state_dict(), [m for m in metrics if m["event"] == "log"]
    assert len(recorded) == 1 and recorded[0] is step.graph
    assert step.graph.replays == replays  # every full batch after the three warm-up steps
    assert step.images.shape == (16, 28, 28) and step.warmup_left == 0
    for name, weight in results[False][0].items():
        assert torch.equal(results[True][0][name], weight), name
    assert [m["running_loss"] for m in results[True][1]] == [m["running_loss"] for m in results[False][1]]


def test_benchmark_times_the_other_variants_when_the_step_cannot_be_recorded(monkeypatch):
    """On a GPU the benchmark also times the step as a CUDA graph. If recording fails, that variant is
    left out with its reason and the others are still timed, printed and kept (not the whole benchmark
    lost to one variant). The graph API is emulated, its recording made to fail as a real one does."""
    emulate_cuda_graphs(monkeypatch, model=None, optimizer=None)

    @contextlib.contextmanager
    def failing_graph(g):  # the step runs inside the block, then ending the recording fails
        yield
        raise RuntimeError("operation not permitted when stream is capturing\nCUDA kernel errors might be ...")

    monkeypatch.setattr(torch.cuda, "graph", failing_graph)
    monkeypatch.setattr(bench.cuda_graph, "make_capturable", lambda optimizer: None)  # Adam's capturable form: CUDA only
    monkeypatch.setattr(bench, "variants_on", lambda device, variants: (bench.FAST, bench.GRAPHED, "nn.LSTM"))
    result = bench.benchmark(torch.device("cpu"), batch_size=8, hidden_size=8, rounds=2, steps=1, eval_batch_size=50,
                             memory=False, variants=(bench.FAST, "nn.LSTM"), eval_images=100)
    assert [row["variant"] for row in result["rows"]] == [bench.FAST, "nn.LSTM"]
    reason = "could not be recorded as a CUDA graph: operation not permitted when stream is capturing"
    assert result["left_out"] == {bench.GRAPHED: reason}
    assert all(row["ms_per_step"] > 0 for row in result["rows"])
    assert f"| {bench.GRAPHED} | left out: {reason} |" in bench.format_table(result)


@pytest.mark.parametrize("compile_, processes, refused", [
    (False, 1, None),
    (True, 1, "--cuda-graphs and --compile are two ways to launch fewer kernels: choose one"),
    (False, 2, "--cuda-graphs is for one process; under torchrun, train without it"),
])
def test_cuda_graphs_are_refused_with_compile_or_torchrun_on_a_cuda_device(compile_, processes, refused):
    """What train.py checks on a GPU before training (tests/test_cuda.py runs the --compile case there):
    a torch.device("cuda") is only a name, so the decision is checked here without one."""
    for name in ("cuda", "cuda:1"):
        assert unusable_because(torch.device(name), compile_, processes) == refused


def test_the_benchmark_adds_the_graphed_variant_on_cuda_only_right_after_the_fast_path():
    """On CUDA the benchmark also times the fast path as a CUDA graph, next to it; never on a CPU (there
    the fast path with the other library's products comes next, where PyTorch has oneDNN's op), and never
    without the fast path (whose step it records)."""
    variants = (bench.FAST, "nn.LSTM")
    assert bench.variants_on(torch.device("cuda"), variants) == (bench.FAST, bench.GRAPHED, "nn.LSTM")
    other = ((bench.MKL if products.use_onednn else bench.ONEDNN),) if products.ONEDNN_LINEAR is not None else ()
    assert bench.variants_on(torch.device("cpu"), variants) == (bench.FAST, *other, "nn.LSTM")
    assert bench.variants_on(torch.device("cuda"), ("nn.LSTM",)) == ("nn.LSTM",)
    assert bench.variants_on(torch.device("cpu"), ("nn.LSTM",)) == ("nn.LSTM",)
