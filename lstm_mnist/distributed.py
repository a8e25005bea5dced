"""Data-parallel training with PyTorch's own engine, when started by ``torchrun``.

``torchrun --nproc_per_node=N train.py ...`` starts N processes and tells each its RANK,
LOCAL_RANK and WORLD_SIZE. Each process (rank) holds the whole model and the whole data set,
draws the same shuffled global batches, trains on its own shard of every batch (every N-th
image from position RANK), and DistributedDataParallel averages the gradients, so a step
is the step a single process would take on the whole global batch. Rank 0 alone writes the
checkpoint and the metrics file and prints. Backends: gloo on CPUs, NCCL on CUDA GPUs.
"""

import os

import torch
import torch.distributed as dist

from .errors import LSTMMnistError
from .files import shown

BESIDE_WORLD_SIZE = ("RANK", "MASTER_ADDR", "MASTER_PORT")  # what torchrun also sets, and joining the group needs


def launched_by_torchrun() -> bool:
    """Whether torchrun started this process as one of several (WORLD_SIZE above 1). ``LSTMMnistError``
    for a WORLD_SIZE that torchrun did not set: not a number of processes, or without the variables
    torchrun sets beside it (an ``export WORLD_SIZE=2`` left in a shell): PyTorch's traceback before."""
    text = os.environ.get("WORLD_SIZE")
    if text is None:
        return False
    size = int(text) if text.strip().isdecimal() else 0  # isdigit() takes "²", which int() refuses
    if size < 1:
        raise LSTMMnistError(f"WORLD_SIZE={shown(text)} in the environment is not a number of processes; unset "
                             "WORLD_SIZE to train in one process (torchrun sets it for each of several)")
    missing = [name for name in BESIDE_WORLD_SIZE if not os.environ.get(name)]
    if size > 1 and missing:
        raise LSTMMnistError(f"WORLD_SIZE={size} is set in the environment, but not {', '.join(missing)}, which "
                             f"torchrun sets beside it: start {size} processes with torchrun --nproc_per_node={size} "
                             "(see --help), or unset WORLD_SIZE to train in one")
    return size > 1


def setup(device: torch.device) -> torch.device:
    """Join the process group; return this rank's device (its own GPU, cuda:LOCAL_RANK)."""
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def sum_over_ranks(*values: torch.Tensor) -> list[torch.Tensor]:
    """Each value summed over all ranks (unchanged in a single process)."""
    if world_size() == 1:
        return list(values)
    summed = []
    for value in values:
        value = value.clone()
        dist.all_reduce(value)
        summed.append(value)
    return summed


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if it is True on any (so all ranks stop at the same step)."""
    if world_size() == 1:
        return flag
    tensor = torch.tensor(int(flag), device=device)
    dist.all_reduce(tensor)
    return bool(tensor.item())


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """What the training step calls: the model itself, or DistributedDataParallel around it
    (which averages the gradients over the ranks during backward)."""
    if world_size() == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model)


def shard(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's share of a global batch: every WORLD_SIZE-th image from position RANK."""
    if world_size() == 1:
        return images, labels
    return images[rank() :: world_size()], labels[rank() :: world_size()]


def weighted_for_ddp(loss: torch.Tensor, shard_size: int, batch_size: int) -> torch.Tensor:
    """The loss to call backward on. DDP averages the ranks' gradients, so each shard's mean loss
    is weighed by its share of the global batch times the world size: the average is then the
    gradient of the global batch's mean loss (shards may differ by one image)."""
    if world_size() == 1:
        return loss
    return loss * (shard_size * world_size() / batch_size)


def lost_a_worker(error: BaseException) -> bool:
    """Whether ``error`` is the process group breaking (a rank died: gloo's or NCCL's error), as
    opposed to any other failure, which is reported as itself."""
    if world_size() == 1:
        return False
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error).lower()
    return any(word in text for word in ("gloo", "nccl", "connection closed", "connection reset", "broken pipe"))
