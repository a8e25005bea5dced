"""Benchmark: the hand-written model (fast path and readable loop) against nn.LSTMCell and nn.LSTM.

    python -m lstm_mnist.bench                       # CPU (and CUDA if present), prints a table
    python -m lstm_mnist.bench --device cpu --json bench.json
    python -m lstm_mnist.bench --smoke               # a few steps of each: checks it runs (CI)
    python scripts/bench_table.py bench.json --readme README.md   # the README's table from the JSON

Every variant gets the same weights (copied from the hand-written model) and is first checked
to compute the same logits, so none is fast because it is wrong. Training steps (forward,
cross-entropy, backward, Adam; batch 128 by default) are then timed in one process,
interleaved: round after round, each variant runs a few steps, and the median per-step time
is reported, with the time for a 55,000-image epoch at that speed, images per second, the
ratio to nn.LSTM, the time to evaluate 10,000 images (the best of three interleaved rounds),
and peak memory (on CUDA the caching allocator's peak; on Linux CPUs how far the resident
memory of a separate process that runs only that variant rises while it trains and evaluates),
and the number of computing operations one training step launches (forward, backward and Adam;
views not counted): on a GPU each is a kernel launch. On CUDA one more variant runs: the fast path's
step recorded as a CUDA graph and replayed (train.py --cuda-graphs), one launch a step; on a CPU,
the fast path with its matrix products computed by the other library: by oneDNN, the library nn.LSTM
uses, where the default is MKL, and by MKL where the processor made oneDNN the default
(products.use_onednn: which is faster depends on the processor). The processor's name is printed
with the table: the ratios depend on it.
"""

import argparse
import collections
import contextlib
import copy
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from tqdm import tqdm

from . import cli, cuda_graph, products
from .data import find_files, load_mnist
from .errors import DataError, LSTMMnistError
from .files import write_json
from .model import LSTMClassifier, ModelConfig
from .reference import FusedLSTMClassifier, LSTMCellLoopClassifier
from .reporting import bar_size
from .training import train_step
from .words import counted

TRAIN_IMAGES = 55_000
TEST_IMAGES = 10_000
FAST = "hand-written, fast path (default)"
VARIANTS = (FAST, "hand-written, readable loop", "readable loop, compiled", "nn.LSTMCell loop", "nn.LSTM")
GRAPHED = "fast path, CUDA graph (--cuda-graphs)"  # on CUDA only, after FAST: its step recorded and replayed


# on a CPU only, after FAST, the library that FAST does not use (products.use_onednn, products.py)
ONEDNN, MKL = "fast path, oneDNN products", "fast path, MKL products"


def variants_on(device: torch.device, variants: tuple[str, ...]) -> tuple[str, ...]:
    """The variants run on ``device``: on CUDA the fast path is also run as a CUDA graph, after it; on a
    CPU whose PyTorch has oneDNN's op, with its matrix products computed by the other library, after it."""
    if FAST not in variants:
        return variants
    other_library = MKL if products.use_onednn else ONEDNN
    second = GRAPHED if device.type == "cuda" else other_library if products.ONEDNN_LINEAR is not None else None
    if second is None:
        return variants
    return (FAST, second, *(v for v in variants if v != FAST))


class WithProducts(torch.nn.Module):
    """A model whose forward runs with products.use_onednn set to ``onednn`` (``step_closure`` sets it
    for the backward)."""

    def __init__(self, model: torch.nn.Module, onednn: bool):
        super().__init__()
        self.model = model
        self.onednn = onednn

    def forward(self, images):
        with products_by(self.onednn):
            return self.model(images)


@contextlib.contextmanager
def products_by(onednn: bool):
    """products.use_onednn set to ``onednn`` within: the fast path's float32 products on a CPU go to
    oneDNN (True) or MKL (False)."""
    saved, products.use_onednn = products.use_onednn, onednn
    try:
        yield
    finally:
        products.use_onednn = saved


def build(variant: str, model: LSTMClassifier) -> torch.nn.Module:
    if variant == FAST:  # bptt.py: one autograd node per sequence, backward by hand
        return model
    if variant == GRAPHED:  # the same, with its own Adam (cuda_graph.py)
        return copy.deepcopy(model)
    if variant in (ONEDNN, MKL):  # the same, its products computed by that library (products.py)
        return WithProducts(copy.deepcopy(model), onednn=variant == ONEDNN)
    if variant == "hand-written, readable loop":  # model.fast = False: autograd through the cell's loop
        readable = copy.deepcopy(model)
        readable.fast = False
        return readable
    if variant == "readable loop, compiled":  # train.py --compile (torch.compile traces the readable loop)
        return torch.compile(copy.deepcopy(model), dynamic=True)
    if variant == "nn.LSTMCell loop":
        return LSTMCellLoopClassifier(model)
    if variant == "nn.LSTM":
        return FusedLSTMClassifier(model)
    raise ValueError(f"unknown variant {variant!r}")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_closure(model, optimizer, images, labels, graphed: bool = False) -> Callable[[], object]:
    """One training step of ``model`` on this batch (forward, cross-entropy, backward, Adam:
    training.train_step), as a function of nothing; ``graphed``: recorded as a CUDA graph after a
    few eager steps, then replayed (cuda_graph.py; Adam is made capturable here)."""
    def step(images, labels, batch_size):
        return train_step(model, model, optimizer, images, labels, None, batch_size)

    if graphed:
        cuda_graph.make_capturable(optimizer)
        step = cuda_graph.GraphedStep(step, optimizer, len(labels))
    if isinstance(model, WithProducts):  # the backward's products too

        def with_products():
            with products_by(model.onednn):
                return step(images, labels, len(labels))

        return with_products
    return lambda: step(images, labels, len(labels))


def time_steps(step: Callable[[], object], steps: int, device) -> float:
    """Seconds per training step (``step_closure``), averaged over ``steps`` steps."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


@torch.inference_mode()
def time_evaluation(model, images, batch_size: int, device) -> float:
    """Seconds to compute the logits of all ``images``."""
    model.eval()
    synchronize(device)
    start = time.perf_counter()
    for i in range(0, len(images), batch_size):
        model(images[i : i + batch_size]).argmax(1)
    synchronize(device)
    model.train()
    return time.perf_counter() - start


def cpu_model() -> str:
    """The processor's name: Linux's /proc/cpuinfo 'model name' with its family and model numbers
    (some virtual machines name every AMD EPYC alike; family 25 model 1 is a Zen 3, model 17 a Zen 4,
    family 26 a Zen 5), else what platform says."""
    fields = products.cpu_fields()
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    name = fields["model name"]
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


class OpCounter(TorchDispatchMode):
    """Counts the operations that compute something (a kernel each on a GPU): every op that reaches
    the dispatcher except views, allocations and reads of a scalar back to Python."""

    SKIPPED = {"empty", "empty_strided", "_local_scalar_dense", "_record_function_enter_new",
               "_record_function_exit"}

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        is_view = any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns)
        if not is_view and func.overloadpacket.__name__ not in self.SKIPPED:
            self.counts[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def count_ops(step: Callable[[], object]) -> int:
    """Computing operations in one training step (``step_closure``): forward, cross-entropy, backward, Adam."""
    with OpCounter() as counter:
        step()
    return sum(counter.counts.values())


def count_gpu_path_ops(model: LSTMClassifier, batch_size: int) -> int | None:
    """Computing operations of one training step of the fast path as it runs on a GPU, where tanh is
    one op (on a CPU bptt.py computes it in three, faster there): counted on PyTorch's meta device,
    which takes the model's CUDA code path and computes nothing, with Adam's multi-tensor (foreach)
    step, its default on CUDA (its step counters, which stay on the CPU there, are counted too).
    Adam's first step, which also creates its state, is left out. None on a PyTorch whose meta device
    lacks Adam's multi-tensor addcdiv (2.3); any other missing operation is an error."""
    model = copy.deepcopy(model).to("meta")
    optimizer = torch.optim.Adam(model.parameters(), foreach=True)  # what Adam does on CUDA by default
    images = torch.empty(batch_size, 28, 28, device="meta")
    labels = torch.empty(batch_size, dtype=torch.long, device="meta")
    step = step_closure(model, optimizer, images, labels)
    try:
        count_ops(step)
        return count_ops(step)
    except NotImplementedError as e:
        if "_foreach_addcdiv" not in str(e):
            raise
        return None


def check_agreement(models: dict, images, device) -> float:
    """The largest logit difference between any variant and the first one."""
    with torch.no_grad():
        reference = next(iter(models.values()))(images)
        worst = max((m(images) - reference).abs().max().item() for m in models.values())
    tolerance = 1e-4 if device.type == "cpu" else 1e-2  # cuDNN / TF32 on a GPU round differently
    if worst > tolerance:
        raise LSTMMnistError(f"variants disagree: max logit difference {worst:.2e} > {tolerance:.0e}")
    return worst


def peak_memory_cpu(variant: str, batch_size: int, hidden_size: int) -> float:
    """How much a fresh process's peak resident memory (MB) grows while it trains ``variant``
    for a few steps and evaluates 1,000 images (PyTorch itself, loaded before, not counted)."""
    code = f"from lstm_mnist.bench import probe; print(probe({variant!r}, {batch_size}, {hidden_size}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise LSTMMnistError(f"the memory probe of {variant!r} failed: {last_line(out.stderr)}")
    return float(out.stdout.split()[-1])


def last_line(stderr: str) -> str:
    """A failed subprocess's last line on stderr (its error message), or a note that it wrote none."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "it printed no error message"


def _status_kib(field: str) -> int:
    """A line of Linux's /proc/self/status, in KiB (VmRSS: resident now, VmHWM: peak)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def probe(variant: str, batch_size: int, hidden_size: int) -> float:
    """Train ``variant`` for a few steps; return how far resident memory rose above what it was
    before (MB): the peak after the peak was reset (Linux's clear_refs), minus the start."""
    torch.manual_seed(0)
    model = build(variant, LSTMClassifier(hidden_size=hidden_size))
    optimizer = torch.optim.Adam(model.parameters())
    images, labels = torch.rand(batch_size, 28, 28), torch.randint(0, 10, (batch_size,))
    test_images = torch.rand(1000, 28, 28)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident size
    before = _status_kib("VmRSS")
    time_steps(step_closure(model, optimizer, images, labels), 3, torch.device("cpu"))
    time_evaluation(model, test_images, 1000, torch.device("cpu"))
    return (_status_kib("VmHWM") - before) / 1024


def time_to_accuracy(device: str, data_dir: str, extra: list[str]) -> dict:
    """Wall time of ``python train.py`` with its defaults (3 epochs), from process start (data
    loading included) to exit, and the test accuracy it reached."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.pt"
        start = time.perf_counter()
        command = [sys.executable, str(root / "train.py"), "--device", device, "--data-dir", data_dir,
                   "--out", str(out), *extra]
        finished = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if finished.returncode != 0:
            raise LSTMMnistError(f"python train.py --device {device} {' '.join(extra)}".rstrip()
                                 + f" failed (exit status {finished.returncode}): {last_line(finished.stderr)}")
        lines = out.with_suffix(".metrics.jsonl").read_text().splitlines()
        test = json.loads(lines[-1])
    return {"device": device, "flags": extra, "seconds": seconds, "test_accuracy": test["accuracy"]}


def time_training(steps_of: dict, rounds: int, steps: int, device):
    """Each variant's warm-up time (allocator, kernels, lazy initialisation, compilation: two steps)
    and its seconds per step in each of ``rounds`` rounds, the variants interleaved. ``steps_of``:
    each variant's ``step_closure``. The CUDA graph is recorded before the rounds; if it cannot be,
    that variant is left out, its reason in ``left_out``, and the others are timed all the same."""
    warm_up, left_out = {}, {}
    for v, step in steps_of.items():
        start = time.perf_counter()
        try:
            time_steps(step, 2, device)
            first_two = time.perf_counter() - start
            if v == GRAPHED:  # the rest of its eager warm-up, then the step that records (and replays) the graph
                time_steps(step, cuda_graph.WARMUP_STEPS - 1, device)
        except cuda_graph.RecordingError as e:
            left_out[v] = f"could not be recorded as a CUDA graph: {e.reason}"
            print(f"benchmark: {v} left out: {left_out[v]}", file=sys.stderr, flush=True)
            continue
        warm_up[v] = first_two
    per_step = {v: [] for v in warm_up}
    for _ in tqdm(range(rounds), desc=f"timing on {device.type}", unit="round", leave=False, disable=None,
                  **bar_size()):
        for v in per_step:
            per_step[v].append(time_steps(steps_of[v], steps, device))
    return warm_up, per_step, left_out


def peak_memory_cuda(step: Callable[[], object], device: torch.device) -> float:
    """How far one training step (``step_closure``) raises the GPU memory in use (MB): the data and
    every model's weights and optimizer state, there before, are not counted."""
    synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    time_steps(step, 1, device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2**20


def benchmark(device: torch.device, batch_size: int, hidden_size: int, rounds: int, steps: int,
              eval_batch_size: int, memory: bool, variants: tuple[str, ...] = VARIANTS,
              eval_images: int = TEST_IMAGES) -> dict:
    torch.manual_seed(0)
    if device.type == "cuda":
        # cuDNN's LSTM would otherwise multiply in TF32 (10-bit mantissas) while F.linear and
        # torch.mm multiply in full float32 (PyTorch's defaults): compare at the same precision
        torch.backends.cudnn.allow_tf32 = False
    variants = variants_on(device, variants)
    base = LSTMClassifier(hidden_size=hidden_size).to(device)
    models = {v: build(v, base).to(device) for v in variants}
    optimizers = {v: torch.optim.Adam(m.parameters()) for v, m in models.items()}
    images = torch.rand(batch_size, 28, 28, device=device)
    labels = torch.randint(0, 10, (batch_size,), device=device)
    test_images = torch.rand(eval_images, 28, 28, device=device)  # timed, then scaled to 10,000
    max_difference = check_agreement(models, images, device)
    steps_of = {v: step_closure(models[v], optimizers[v], images, labels, graphed=v == GRAPHED) for v in variants}

    compile_seconds, per_step, left_out = time_training(steps_of, rounds, steps, device)
    variants = tuple(per_step)  # without any that could not run
    evaluation = {v: [] for v in variants}
    for _ in range(3):  # interleaved too: a machine shared with other work changes speed from minute to minute
        for v in variants:
            evaluation[v].append(time_evaluation(models[v], test_images, eval_batch_size, device))
    evaluation = {v: min(seconds) for v, seconds in evaluation.items()}

    rows = []
    fused = statistics.median(per_step["nn.LSTM"])  # the yardstick
    for v in variants:
        step = statistics.median(per_step[v])
        row = {
            "variant": v,
            "ms_per_step": 1000 * step,
            "seconds_per_epoch": step * math.ceil(TRAIN_IMAGES / batch_size),
            "images_per_second": batch_size / step,
            "ratio_to_nn_lstm": step / fused,
            "eval_10k_seconds": evaluation[v] * TEST_IMAGES / eval_images,
            "warm_up_seconds": compile_seconds[v],
            # a graph is one launch; a compiled step is not counted
            "ops_per_step": None if "compiled" in v or v == GRAPHED else count_ops(steps_of[v]),
        }
        if device.type == "cuda":
            if v != GRAPHED:  # a replay allocates nothing: its memory was taken when it was recorded
                row["peak_memory_mb"] = peak_memory_cuda(steps_of[v], device)
        elif memory and "compiled" not in v:  # a compiled probe would compile all over again
            row["peak_memory_mb"] = peak_memory_cpu(v, batch_size, hidden_size)
        rows.append(row)
    threads = counted(torch.get_num_threads(), "thread")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {threads}"
    result = {"device": name, "cpu": cpu_model(), "batch_size": batch_size, "hidden_size": hidden_size,
              "rounds": rounds, "steps_per_round": steps, "max_logit_difference": max_difference,
              "torch": str(torch.__version__), "rows": rows}
    if left_out:
        result["left_out"] = left_out
    if device.type == "cuda":
        result["tf32"] = torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32
    if device.type == "cpu":
        result |= cpu_notes(models[FAST] if FAST in variants else None, images)
    return result


def cpu_notes(fast, images) -> dict:
    """What the table says besides its rows on a CPU: the library of the default fast path's products, and
    the ops its step (``fast``, if it ran) launches on a GPU (counted on the meta device, where it can be)."""
    notes = {"fast_path_products": "oneDNN" if products.onednn_computes(images) else "MKL"}
    gpu_ops = count_gpu_path_ops(fast, len(images)) if fast is not None else None
    if gpu_ops is not None:
        notes["fast_path_gpu_ops_per_step"] = gpu_ops
    return notes


def format_table(result: dict) -> str:
    lines = [f"device: {result['device']} ({result.get('cpu', '?')}); batch {result['batch_size']}, "
             f"hidden {result['hidden_size']}; median of {counted(result['rounds'], 'round')} of "
             f"{counted(result['steps_per_round'], 'step')}; variants agree to {result['max_logit_difference']:.1e}"
             + (f"; the default fast path's products by {result['fast_path_products']}"
                if "fast_path_products" in result else ""),
             "| variant | ms/step | s/epoch | images/s | × nn.LSTM | eval 10k (s) | first 2 steps (s) "
             "| peak memory (MB) | ops/step |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        memory = f"{r['peak_memory_mb']:.0f}" if "peak_memory_mb" in r else "–"
        ops = "–" if r.get("ops_per_step") is None else str(r["ops_per_step"])
        lines.append(f"| {r['variant']} | {r['ms_per_step']:.1f} | {r['seconds_per_epoch']:.1f} | "
                     f"{r['images_per_second']:.0f} | {r['ratio_to_nn_lstm']:.2f} | {r['eval_10k_seconds']:.2f} | "
                     f"{r['warm_up_seconds']:.1f} | {memory} | {ops} |")
    for variant, reason in result.get("left_out", {}).items():
        lines.append(f"| {variant} | left out: {reason} |")
    if "fast_path_gpu_ops_per_step" in result:
        lines.append(f"\nOn a GPU the fast path launches {result['fast_path_gpu_ops_per_step']} ops per step "
                     "(counted on PyTorch's meta device, which takes the CUDA code path: tanh is one op there, "
                     "three on a CPU).")
    if result.get("tf32") is False:
        lines.append("\nAll variants multiply in float32 (cuDNN's TF32 turned off for nn.LSTM; \"peak memory\": "
                     "what one step adds on the GPU).")
    return "\n".join(lines)


MAX_THREADS_PER_CORE = 4  # more only slows PyTorch down, and enormous counts crash its thread pool


def thread_count(text: str) -> int:
    """--threads: 1 to a few per CPU core of this machine."""
    cores = os.cpu_count() or 1
    value = cli.whole_number(text, minimum=1)
    if value > MAX_THREADS_PER_CORE * cores:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_THREADS_PER_CORE * cores} ({MAX_THREADS_PER_CORE} per "
                                         f"CPU core; this machine has {cores}), got {value}")
    return value


ROUNDS, STEPS = 7, 10  # --rounds' and --steps' defaults; --smoke runs 1 of 1


def build_parser() -> cli.ArgumentParser:
    parser = cli.ArgumentParser(prog="python -m lstm_mnist.bench", description=cli.docstring(__doc__, __file__),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=("all", "cpu", "cuda"), default="all",
                        help="where to run (default: all: the CPU, and CUDA if present)")
    parser.add_argument("--batch-size", type=cli.batch_size, default=128, help="images per step (default: 128)")
    parser.add_argument("--hidden-size", type=cli.positive_int, default=128,
                        help="H (default: 128; refused if the models would not fit in memory)")
    parser.add_argument("--rounds", type=cli.positive_int, default=None, help=f"interleaved rounds (default: {ROUNDS})")
    parser.add_argument("--steps", type=cli.positive_int, default=None,
                        help=f"steps per variant per round (default: {STEPS})")
    parser.add_argument("--json", type=cli.output_file, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace the --json file if it exists")
    parser.add_argument("--threads", type=thread_count, default=None, metavar="N",
                        help="CPU threads for PyTorch, at most 4 per core (default: PyTorch's own choice, "
                             "usually the cores)")
    parser.add_argument("--smoke", action="store_true",
                        help="quick: 1 round of 1 step, evaluation of 1,000 images, no memory probe, "
                             "no compiled variant")
    parser.add_argument("--no-compile", action="store_true",
                        help="leave out the compiled variant (its compilation takes about a minute on a CPU)")
    parser.add_argument("--time-to-accuracy", type=cli.nonempty_path, metavar="DATA_DIR",
                        help="also time whole default train.py runs (plain, --compile, and on CUDA --cuda-graphs) on "
                             "the real MNIST in DATA_DIR, from process start to exit, with the test accuracy they "
                             "reach")
    return parser


def check_compilers(variants: tuple[str, ...], time_to_accuracy: Path | None, devices: list[torch.device]) -> None:
    """The C++ compiler torch.compile runs on a CPU, checked before the benchmark (``cli.check_compiler``): for
    the compiled variant, and for --time-to-accuracy's ``train.py --compile``."""
    if any("compiled" in v for v in variants):
        cli.check_compiler("the compiled variant", "pass --no-compile", devices)
    if time_to_accuracy:
        cli.check_compiler("--time-to-accuracy (it times train.py --compile)", "leave out --time-to-accuracy", devices)


def main() -> int:
    parser = build_parser()
    args = parser.parse_args()
    variants = VARIANTS
    given = [flag for flag, value in (("--rounds", args.rounds), ("--steps", args.steps)) if value is not None]
    if args.smoke and given:  # --smoke would run 1 of 1 whatever they said: refused, not ignored
        parser.error(f"{' and '.join(given)}: --smoke runs 1 round of 1 step; leave out one or the other")
    if args.smoke:
        args.rounds = args.steps = 1
    else:
        args.rounds = ROUNDS if args.rounds is None else args.rounds
        args.steps = STEPS if args.steps is None else args.steps
    if args.smoke or args.no_compile:
        variants = tuple(v for v in VARIANTS if "compiled" not in v)

    devices = [torch.device("cpu")] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append(torch.device("cuda"))
        elif args.device == "cuda":
            parser.error("--device cuda: CUDA is not available here; use --device cpu")
    # everything that can be checked is checked before the benchmark, which takes minutes
    check_compilers(variants, args.time_to_accuracy, devices)
    for device in devices:
        cli.check_model_size(ModelConfig(hidden_size=args.hidden_size), device,
                             copies=len(variants_on(device, variants)))
    inputs = []
    if args.time_to_accuracy:  # the folder must hold a readable MNIST before the benchmark runs, not after
        try:
            inputs = list(find_files(args.time_to_accuracy).values())
            load_mnist(args.time_to_accuracy)
        except DataError as e:
            raise DataError(f"--time-to-accuracy: {e}") from None
    if args.json:
        cli.check_output_path(args.json, args.overwrite, flag="--json", inputs=inputs,
                              if_exists="choose another --json, or pass --overwrite")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    results = []

    def keep(result: dict) -> None:  # the JSON is rewritten after each part, so a later failure loses nothing
        results.append(result)
        if args.json:
            write_json(args.json, results, replace=args.overwrite or len(results) > 1)  # after the first: its own

    for device in devices:
        result = benchmark(device, args.batch_size, args.hidden_size, args.rounds, args.steps,
                           eval_batch_size=1000, memory=not args.smoke, variants=variants,
                           eval_images=1000 if args.smoke else TEST_IMAGES)
        print(format_table(result), flush=True)
        keep(result)
    if args.time_to_accuracy:
        for device in devices:
            for extra in ([], ["--compile"], *([["--cuda-graphs"]] if device.type == "cuda" else [])):
                run = time_to_accuracy(device.type, str(args.time_to_accuracy), extra)
                print(f"python train.py --device {device.type} {' '.join(extra)}: {run['seconds']:.1f} s from "
                      f"process start to exit, test accuracy {100 * run['test_accuracy']:.2f}%", flush=True)
                keep({"time_to_accuracy": run})
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, "python -m lstm_mnist.bench"))
