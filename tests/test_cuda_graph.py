"""CUDA graphs (--cuda-graphs) as far as a CPU can check them: the learning rate a graph reads is
written in place, a checkpoint holds a plain Adam's state that resumes exactly, and the flag is
refused where it cannot work. tests/test_cuda.py records and replays real graphs on a GPU."""

import pytest
import torch
import torch.nn.functional as F

from conftest import run_script
from lstm_mnist import LSTMClassifier
from lstm_mnist import checkpoint as ckpt
from lstm_mnist.checkpoint import Progress
from lstm_mnist.cuda_graph import make_capturable
from lstm_mnist.data import load_mnist
from lstm_mnist.training import RunOptions, TrainConfig, fit, set_learning_rate


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
    adam_step(resumed_model, resumed)
    continued, _ = adam_after_steps(3)
    for a, b in zip(resumed_model.parameters(), continued.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fit_refuses_cuda_graphs_on_a_cpu(synthetic_dir, tmp_path):
    model = LSTMClassifier(hidden_size=8)
    with pytest.raises(ValueError, match="CUDA graphs need a CUDA device"):
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
