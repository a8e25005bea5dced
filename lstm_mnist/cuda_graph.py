"""CUDA graphs: the whole training step recorded once and replayed (``train.py --cuda-graphs``).

On a GPU the fast path's training step is about 550 small kernels (``python -m lstm_mnist.bench``
counts them). At batch 128 each computes for a few microseconds, less than Python and PyTorch's
dispatcher take to launch it, so the GPU mostly waits for the CPU. A CUDA graph records the
kernels of one step once, with the addresses of everything they read and write, and the GPU
replays all of them from one launch.

What that asks of the training step (PyTorch's guide, "CUDA Graphs", whole-network capture):

- Fixed addresses. Each batch is copied into the same two tensors, the ones the graph reads,
  and its loss and logits come back in the same two tensors, rewritten at every replay.
- Nothing decided on the host. The learning rate changes at every step, so Adam reads it from a
  GPU tensor that ``training.set_learning_rate`` fills before each replay; Adam keeps its step
  counts on the GPU too (``capturable=True``; ``make_capturable``).
- A few eager steps first (``WARMUP_STEPS``, on a side stream), so that what PyTorch initialises
  lazily (cuBLAS, Adam's moments, autograd's streams) is there before the recording.
- One shape. A batch of another size (the last, smaller one of an epoch) runs eagerly; the
  graph goes on with the next full batch. Both update the same weights and moments in place.

The kernels are those of the eager step, so the numbers are too, except Adam's bias corrections,
which its capturable form computes on the GPU in float32 instead of on the host in float64: the
weights agree to float rounding (tests/test_cuda.py). Checkpoints store a plain Adam's state
(``checkpoint.optimizer_state``): a run trained with graphs resumes or evaluates without them, on any device.
"""

from collections.abc import Callable

import torch
from torch import Tensor

from .errors import LSTMMnistError

WARMUP_STEPS = 3  # eager steps before the recording (PyTorch's guide uses 3)

Step = Callable[[Tensor, Tensor, int], tuple[Tensor, Tensor]]  # (images, labels, batch_size) -> (loss, logits)


class RecordingError(LSTMMnistError):
    """The training step could not be recorded as a CUDA graph; ``reason``: why, in one line."""

    def __init__(self, reason: str):
        super().__init__(f"--cuda-graphs: the training step could not be recorded as a CUDA graph ({reason}); "
                         "train without --cuda-graphs")
        self.reason = reason


def unusable_because(device: torch.device, compile: bool, processes: int) -> str | None:
    """Why the training step cannot be recorded here (a line for the user), or None: it takes CUDA,
    and no other machinery around the step (torch.compile, or torchrun's several processes)."""
    if device.type != "cuda":
        return f"--cuda-graphs needs a CUDA device; the device here is {device} (use --device cuda, or train " \
               "without --cuda-graphs)"
    if compile:
        return "--cuda-graphs and --compile are two ways to launch fewer kernels: choose one"
    if processes > 1:
        return "--cuda-graphs is for one process; under torchrun, train without it"
    return None


def make_capturable(optimizer: torch.optim.Optimizer) -> None:
    """Change Adam in place so that its step can be recorded: its learning rate a tensor on the
    parameters' device, its step counts there too, ``capturable`` set."""
    for group in optimizer.param_groups:
        device = group["params"][0].device
        group["capturable"] = True
        # 0-dim, float32 like the weights it scales; training.set_learning_rate fills it before each step
        group["lr"] = torch.tensor(float(group["lr"]), device=device)
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            if "step" in state:
                state["step"] = state["step"].to(device=device, dtype=torch.float32)
    # Adam warns once that capturable=True is slower when not recorded: the warm-up steps are that, on purpose
    optimizer._warned_capturable_if_run_uncaptured = True


class GraphedStep:
    """``step`` (forward, loss, backward, Adam on one batch) recorded as a CUDA graph after
    ``WARMUP_STEPS`` eager steps and replayed for every full batch (``batch_size`` images); a
    batch of another size runs eagerly (so a run whose batches are all smaller, ``--limit-train``
    below the batch size, never records one). Returns the loss and the logits like ``step``; after a
    replay they are the graph's own tensors, valid until the next call. The parameters' ``.grad``
    are the graph's gradient tensors after a replay, until an eager step replaces them."""

    def __init__(self, step: Step, optimizer: torch.optim.Optimizer, batch_size: int):
        self.step = step
        self.optimizer = optimizer
        self.batch_size = batch_size  # the size recorded: a full batch
        self.warmup_left = WARMUP_STEPS
        self.graph: torch.cuda.CUDAGraph | None = None
        self.images = self.labels = self.loss = self.logits = None  # the graph's tensors, once recorded

    def __call__(self, images: Tensor, labels: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
        if len(labels) != self.batch_size:  # another size (an epoch's last batch): eagerly, whenever it comes
            return self.step(images, labels, batch_size)
        if self.graph is None and self.warmup_left > 0:
            self.warmup_left -= 1
            return self.warm_up(images, labels, batch_size)
        if self.graph is None:
            self.record_or_explain(images, labels, batch_size)
        self.images.copy_(images)  # (B, T, I) into the address the graph reads
        self.labels.copy_(labels)  # (B,)
        self.graph.replay()
        return self.loss, self.logits

    def warm_up(self, images: Tensor, labels: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
        """One eager step on a side stream, as PyTorch's guide does before recording."""
        side, main = torch.cuda.Stream(images.device), torch.cuda.current_stream(images.device)
        side.wait_stream(main)  # the batch is ready, and the last step's results are read, before it starts
        with torch.cuda.stream(side):
            loss, logits = self.step(images, labels, batch_size)
        main.wait_stream(side)
        return loss, logits

    def record_or_explain(self, images: Tensor, labels: Tensor, batch_size: int) -> None:
        """``record``, or an operation that cannot be recorded explained in one line, not a traceback."""
        try:
            self.record(images, labels, batch_size)
        except RuntimeError as e:
            # ending a failed recording raises an error of its own, with the first one as its context
            cause = e.__context__ if isinstance(e.__context__, RuntimeError) else e
            reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
            raise RecordingError(reason) from e

    def record(self, images: Tensor, labels: Tensor, batch_size: int) -> None:
        """Record one step on copies of this batch (recording computes nothing: the caller
        replays it next)."""
        self.images, self.labels = images.clone(), labels.clone()
        self.optimizer.zero_grad(set_to_none=True)  # the warm-up's gradients freed before recording, as the guide does
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss, self.logits = self.step(self.images, self.labels, batch_size)
