"""allocator.py: glibc keeps the fast path's freed temporaries, so a training step touches no fresh pages."""

import os
import platform
import subprocess
import sys

import pytest

from conftest import ROOT
from lstm_mnist import allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# A fresh process: a few training steps of the fast path, then the minor page faults of 5 more per step.
FAULTS_PER_STEP = """
import resource, torch, torch.nn.functional as F
from lstm_mnist import LSTMClassifier, allocator
torch.manual_seed(0)
model = LSTMClassifier(); optimizer = torch.optim.Adam(model.parameters())
x, y = torch.rand(128, 28, 28), torch.randint(0, 10, (128,))
def step():
    loss = F.cross_entropy(model(x), y); optimizer.zero_grad(); loss.backward(); optimizer.step()
for _ in range(3): step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5): step()
print(allocator._applied, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


def faults_per_step(env: dict) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", **env}, timeout=300)
    applied, faults = out.stdout.split()
    return applied, float(faults)


@pytest.mark.skipif(not GLIBC, reason="allocator.py tunes glibc's malloc only")
def test_a_training_step_touches_no_fresh_pages_and_the_users_choice_is_kept():
    applied, kept = faults_per_step({})
    assert applied == "True" and kept < 1000  # measured 0 to 270
    # the user's own MALLOC_* setting is left alone (here glibc's default: blocks >= 128 KiB are mmapped)
    applied, default = faults_per_step({"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)})
    assert applied == "False" and default > 10 * kept + 1000  # measured 6,300 to 10,600 (25 MB of fresh pages)


def test_nothing_is_set_off_glibc(monkeypatch):
    monkeypatch.setattr(allocator, "_applied", None)
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.keep_freed_memory() is False
    assert allocator.keep_freed_memory() is False  # remembered: tried once per process
