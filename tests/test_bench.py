"""The benchmark runs and its variants agree; the opt-in fast path computes what the default does."""

import json

import torch

from conftest import run_script
from lstm_mnist import ModelConfig
from lstm_mnist.data import load_mnist
from lstm_mnist.training import RunOptions, TrainConfig, train


def test_benchmark_smoke_run_prints_and_writes_every_variant(tmp_path):
    out = tmp_path / "bench.json"
    result = run_script("-m", "lstm_mnist.bench", "--device", "cpu", "--smoke", "--batch-size", "16",
                        "--hidden-size", "16", "--json", str(out))
    assert result.returncode == 0, result.stderr
    [cpu] = json.loads(out.read_text())
    assert [r["variant"] for r in cpu["rows"]] == ["hand-written", "nn.LSTMCell loop", "nn.LSTM"]
    assert cpu["max_logit_difference"] < 1e-4
    for row in cpu["rows"]:
        assert row["ms_per_step"] > 0 and row["eval_10k_seconds"] > 0
    assert "| nn.LSTM |" in result.stdout and "× nn.LSTM" in result.stdout


def test_compiled_training_matches_eager(synthetic_dir, tmp_path):
    """--compile trains to the same weights as the default path, within float rounding."""
    mnist = load_mnist(synthetic_dir)
    config = TrainConfig(epochs=1, batch_size=32, limit_train=100)
    results = []
    for compile_model in (False, True):
        model, _ = train(ModelConfig(hidden_size=16), config, mnist, tmp_path / f"{compile_model}.pt",
                         options=RunOptions(compile=compile_model))
        results.append(model.state_dict())
    for name in results[0]:
        torch.testing.assert_close(results[1][name], results[0][name], rtol=1e-4, atol=1e-5, msg=name)
