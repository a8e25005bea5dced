"""The GPU: the fast path on CUDA computes what the CPU does, CUDA checkpoints move to the CPU,
every command runs with --device cuda, --deterministic repeats itself bit for bit, and
--cuda-graphs (the step recorded once, replayed) trains what eager steps train.

Skipped on a machine without CUDA; scripts/gpu_check.sh runs these on one that has it."""

import json
import shutil

import pytest
import torch
import torch.nn.functional as F

from conftest import ROOT, run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.data import load_mnist
from lstm_mnist.training import RunOptions, TrainConfig, fit

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device here (scripts/gpu_check.sh runs these where one is)")

TINY = ["--hidden-size", "16", "--batch-size", "8", "--limit-train", "64", "--epochs", "1", "--seed", "3"]


def one_training_step(model, images, labels) -> dict[str, torch.Tensor]:
    """The weights after one Adam step on one batch, on the CPU."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    F.cross_entropy(model(images), labels).backward()
    optimizer.step()
    return {name: p.detach().cpu() for name, p in model.named_parameters()}


@pytest.mark.parametrize("fast", [True, False])
def test_a_training_step_on_cuda_equals_the_cpu_one(fast):
    torch.manual_seed(0)
    cpu = LSTMClassifier(hidden_size=32)
    cuda = LSTMClassifier(hidden_size=32).cuda()
    cuda.load_state_dict(cpu.state_dict())
    cpu.fast = cuda.fast = fast
    images, labels = torch.rand(16, 28, 28), torch.randint(0, 10, (16,))
    on_cpu = one_training_step(cpu, images, labels)
    on_cuda = one_training_step(cuda, images.cuda(), labels.cuda())
    for name in on_cpu:
        torch.testing.assert_close(on_cuda[name], on_cpu[name], rtol=1e-4, atol=1e-4, msg=name)


@pytest.fixture(scope="module")
def cuda_checkpoint(synthetic_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cuda") / "cuda.pt"
    result = run_script("train.py", *TINY, "--device", "cuda", "--data-dir", str(synthetic_dir), "--out", str(out),
                        "--no-figure")
    assert result.returncode == 0, result.stderr
    return out


def test_a_cuda_checkpoint_evaluates_on_the_cpu_and_on_cuda(cuda_checkpoint, synthetic_dir):
    reports = {}
    for device in ("cpu", "cuda"):
        result = run_script("evaluate.py", str(cuda_checkpoint), "--json", "--device", device,
                            "--data-dir", str(synthetic_dir))
        assert result.returncode == 0, result.stderr
        reports[device] = json.loads(result.stdout)
    assert reports["cpu"]["n"] == reports["cuda"]["n"] == 300
    assert abs(reports["cpu"]["accuracy"] - reports["cuda"]["accuracy"]) <= 1 / 300  # at most one image differs


def test_inspect_and_predict_run_on_cuda(cuda_checkpoint, synthetic_dir, tmp_path):
    result = run_script("inspect_digit.py", str(cuda_checkpoint), "--index", "3", "--data-dir", str(synthetic_dir),
                        "--device", "cuda", "--no-figure")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "digits"
    folder.mkdir()
    shutil.copy(ROOT / "docs" / "digits" / "test-7.png", folder)
    result = run_script("predict.py", str(cuda_checkpoint), str(folder), "--out", str(tmp_path / "p.csv"),
                        "--device", "cuda")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p.csv").read_text().count("\n") == 2  # header and one image


def test_deterministic_gives_identical_weights_twice(synthetic_dir, tmp_path):
    runs = []
    for name in ("a.pt", "b.pt"):
        result = run_script("train.py", *TINY, "--device", "cuda", "--deterministic", "--data-dir",
                            str(synthetic_dir), "--out", str(tmp_path / name), "--no-figure")
        assert result.returncode == 0, result.stderr
        runs.append(ckpt.load(tmp_path / name)["model"])
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_cuda_graphs_train_what_eager_steps_train(synthetic_dir, tmp_path, monkeypatch):
    """7 batches an epoch (6 of 16 images, then 4): 3 eager warm-up steps, the graph recorded at the
    4th and replayed, the smaller last batch eagerly, the next epoch all replays but its last."""
    replays = []
    replay = torch.cuda.CUDAGraph.replay
    monkeypatch.setattr(torch.cuda.CUDAGraph, "replay", lambda graph: replays.append(graph) or replay(graph))
    data = load_mnist(synthetic_dir).to("cuda")
    config = TrainConfig(epochs=2, batch_size=16, limit_train=100, lr=0.01)
    weights, metrics = {}, {}
    for graphs in (False, True):
        torch.manual_seed(0)
        model = LSTMClassifier(hidden_size=32).cuda()
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        metrics[graphs] = fit(model, optimizer, data, config, tmp_path / f"{graphs}.pt",
                              options=RunOptions(log_every=1, cuda_graphs=graphs))
        weights[graphs] = {name: p.detach().cpu() for name, p in model.named_parameters()}
    for name in weights[False]:  # Adam's capturable form rounds its bias corrections in float32
        torch.testing.assert_close(weights[True][name], weights[False][name], rtol=1e-4, atol=1e-5, msg=name)
    losses = {graphs: [m["running_loss"] for m in metrics[graphs] if m["event"] == "log"] for graphs in metrics}
    assert len(replays) == 9 and len(set(map(id, replays))) == 1  # 12 full batches, 3 warm-ups: one graph
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)  # running losses read from the graph's tensors


def test_train_py_with_cuda_graphs_leaves_a_checkpoint_that_resumes_on_the_cpu(synthetic_dir, tmp_path):
    out = tmp_path / "graphed.pt"
    flags = ["--hidden-size", "16", "--batch-size", "8", "--limit-train", "60", "--epochs", "2", "--seed", "3",
             "--data-dir", str(synthetic_dir), "--out", str(out), "--no-figure"]
    result = run_script("train.py", *flags, "--device", "cuda", "--cuda-graphs", "--stop-after", "1")
    assert result.returncode == 0, result.stderr
    assert ckpt.load(out)["optimizer"]["param_groups"][0]["capturable"] is False  # a plain Adam's state
    result = run_script("train.py", "--resume", str(out), "--device", "cpu", "--data-dir", str(synthetic_dir),
                        "--no-figure")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout


@pytest.mark.parametrize("flags, message", [
    (["--compile"], "--cuda-graphs and --compile are two ways to launch fewer kernels: choose one"),
])
def test_cuda_graphs_refuses_what_it_cannot_combine_with(flags, message, synthetic_dir, tmp_path):
    result = run_script("train.py", "--device", "cuda", "--cuda-graphs", *flags, "--data-dir", str(synthetic_dir),
                        "--out", str(tmp_path / "run.pt"))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run.pt").exists()
