"""train.py across a run's life: the commands it prints run as printed, a resumed run goes on
from where it stood (its length, its data, its TensorBoard log), and the checkpoint it leaves
behind is read as what it is. (A single command's contract: test_train_contract.py.)"""

import json
import os
import shlex
import signal

import pytest

from conftest import ROOT, interrupt_the_test_pass, run_script, write_mnist
from lstm_mnist import checkpoint as ckpt
from lstm_mnist import training

TINY = ["--device", "cpu", "--hidden-size", "8", "--batch-size", "16", "--limit-train", "48", "--epochs", "1",
        "--validation-size", "100", "--no-figure"]


def printed_command(text: str, after: str) -> list[str]:
    """The command line printed after ``after`` ("resume with: "), split as a shell splits it."""
    line = next(line for line in text.splitlines() if after in line)
    return shlex.split(line.split(after, 1)[1])


def test_printed_commands_run_for_a_checkpoint_named_like_an_option(run_in_process, synthetic_dir, tmp_path):
    """--out=-x.pt: the resume and evaluate commands printed name it ./-x.pt, not as an option."""
    first = run_in_process("train.py", *TINY, "--epochs", "2", "--stop-after", "1", "--data-dir", str(synthetic_dir),
                           "--out=-x.pt", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    resume = printed_command(first.stdout, "resume with: ")
    assert resume[:3] == ["python", "train.py", "--resume"] and resume[3] == "./-x.pt"
    second = run_in_process(resume[1], *resume[2:], "--device", "cpu", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    evaluate = printed_command(second.stdout, "evaluate with: ")
    assert evaluate[2] == "./-x.pt"
    result = run_in_process(evaluate[1], *evaluate[2:], "--device", "cpu", cwd=tmp_path)
    assert result.returncode == 0 and "test accuracy:" in result.stdout, result.stderr


def test_an_extended_run_stopped_early_is_not_taken_for_finished(run_in_process, synthetic_dir, tmp_path):
    """A finished 1-epoch run, extended to 3 and stopped after 2: resumed with --epochs 2, its test
    evaluation at epoch 2 is left to do (the old test record is epoch 1's), not 'already trained'."""
    out, data = str(tmp_path / "run.pt"), ["--data-dir", str(synthetic_dir), "--device", "cpu"]
    assert run_in_process("train.py", *TINY, *data, "--out", out).returncode == 0
    extended = run_in_process("train.py", "--resume", out, "--epochs", "3", "--stop-after", "2", *data)
    assert extended.returncode == 0, extended.stderr
    assert not ckpt.finished(ckpt.load(out))
    resumed = run_in_process("train.py", "--resume", out, "--epochs", "2", *data)
    assert resumed.returncode == 0, resumed.stderr
    assert "the test evaluation is left" in resumed.stdout and "test accuracy:" in resumed.stdout
    tests = [m["epoch"] for m in ckpt.load(out)["metrics"] if m["event"] == "test"]
    assert tests == [1, 2] and ckpt.finished(ckpt.load(out))


def test_a_resume_fingerprints_its_data_once(run_in_process, synthetic_dir, tmp_path, monkeypatch):
    """The check that a resume reads its run's images, and the checkpoints it then saves, take the one
    fingerprint (about 0.1 s for MNIST's 55,000): it was computed twice, once for each."""
    from lstm_mnist.data import Split

    out, data = str(tmp_path / "run.pt"), ["--data-dir", str(synthetic_dir), "--device", "cpu"]
    assert run_in_process("train.py", *TINY, "--epochs", "2", "--stop-after", "1", *data, "--out", out).returncode == 0
    parts = []
    fingerprint = Split.fingerprint
    monkeypatch.setattr(Split, "fingerprint", lambda split: parts.append(len(split)) or fingerprint(split))
    resumed = run_in_process("train.py", "--resume", out, *data)
    assert resumed.returncode == 0 and "test accuracy:" in resumed.stdout, resumed.stderr
    assert parts == [48, 100]  # the training images (--limit-train 48), the validation ones: once each
    assert ckpt.load(out)["data"]["train"]["n"] == 48

def stop_inside_epoch_2(run_in_process, out, data, epochs: int, progress: dict) -> None:
    """A run of ``epochs`` stopped after epoch 1, its checkpoint then made what a stop ``progress["step"]``
    steps into epoch 2 leaves (the running totals of those steps)."""
    flags = ["--epochs", str(epochs), "--stop-after", "1", *data, "--out", str(out)]
    assert run_in_process("train.py", *TINY, *flags).returncode == 0
    stored = ckpt.load(out)
    stored["progress"] |= progress
    ckpt.save(out, stored)


def test_a_length_that_ends_inside_the_epoch_reached_is_refused(run_in_process, synthetic_dir, tmp_path):
    """Stopped 1 step into epoch 2, then resumed with --epochs 1: that step would be kept untold in a
    '1-epoch' run; it is refused like a length shorter than the epochs done."""
    out, data = tmp_path / "run.pt", ["--data-dir", str(synthetic_dir), "--device", "cpu"]
    stop_inside_epoch_2(run_in_process, out, data, epochs=2, progress={"step": 1, "seen": 16, "correct": 1,
                                                                        "loss_sum": 30.0})
    result = run_in_process("train.py", "--resume", str(out), "--epochs", "1", *data)
    assert result.returncode == 2 and "already trained 1 epoch and 1 step of the next, more than the 1 epoch asked" \
        in result.stderr, result.stderr


def test_tensorboard_shows_one_curve_after_a_kill_and_resume(run_in_process, synthetic_dir, tmp_path, monkeypatch):
    """A run killed after logging steps its last checkpoint does not hold logs them again when
    resumed: TensorBoard drops the first logs of those steps (purge_step), so each step has one point."""
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out, tb = tmp_path / "run.pt", str(tmp_path / "tb")
    common = ["--data-dir", str(synthetic_dir), "--device", "cpu", "--tensorboard", tb, "--log-every", "1"]
    real_learning_rate = training.learning_rate

    def killed_at_the_sixth_step(config, step, total_steps):  # 3 steps an epoch: 2 steps into epoch 2
        if step == 5:
            raise SystemExit(137)  # as SIGKILL ends it: nothing more is saved
        return real_learning_rate(config, step, total_steps)

    monkeypatch.setattr(training, "learning_rate", killed_at_the_sixth_step)
    assert run_in_process("train.py", *TINY, "--epochs", "2", *common, "--out", str(out)).returncode == 137
    assert ckpt.load(out)["progress"]["epoch"] == 1
    monkeypatch.setattr(training, "learning_rate", real_learning_rate)
    assert run_in_process("train.py", "--resume", str(out), *common).returncode == 0
    events = accumulator.EventAccumulator(tb)
    events.Reload()
    steps = [e.step for e in events.Scalars("train/running_loss")]
    assert steps == [1, 2, 3, 4, 5, 6], steps
    assert [e.step for e in events.Scalars("val/accuracy")] == [1, 2]


@pytest.mark.parametrize("other, said", [({"seed": 1}, "48 images both times, but not the same ones"),
                                         ({"n_train": 140}, "48 then, 40 now")])
def test_a_resume_on_other_images_is_refused(run_in_process, synthetic_dir, tmp_path, other, said):
    """Other MNIST files (or fewer) under the resumed run: refused, naming what differs, not trained
    on silently as if it were the same run (with fewer, not blamed on a --limit-train never given)."""
    out = tmp_path / "run.pt"
    assert run_in_process("train.py", *TINY, "--epochs", "2", "--stop-after", "1", "--data-dir", str(synthetic_dir),
                          "--out", str(out)).returncode == 0
    before = out.read_bytes()
    elsewhere = write_mnist(tmp_path / "other", **{"n_train": 5400} | other)
    result = run_in_process("train.py", "--resume", str(out), "--data-dir", str(elsewhere), "--device", "cpu")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"was trained on other training images than the data read now ({said}); resume with the data folder" \
        in result.stderr and out.read_bytes() == before
    assert ckpt.load(out)["data"]["train"]["n"] == 48
    again = run_in_process("train.py", "--resume", str(out), "--data-dir", str(synthetic_dir), "--device", "cpu")
    assert again.returncode == 0, again.stderr


def test_the_printed_resume_command_runs_as_the_run_ran(run_in_process, synthetic_dir, tmp_path):
    """The resume command keeps the flags of how the run ran (--log-every, --no-figure, --device...):
    pasted as printed, the resumed run logs at the same steps, and ends as a straight run does."""
    how = ["--log-every", "1", "--readable"]
    straight = tmp_path / "straight.pt"
    assert run_in_process("train.py", *TINY, "--epochs", "2", *how, "--data-dir", str(synthetic_dir), "--out",
                          str(straight)).returncode == 0
    first = run_in_process("train.py", *TINY, "--epochs", "2", "--stop-after", "1", *how, "--data-dir",
                           str(synthetic_dir), "--out", "run.pt", cwd=tmp_path)
    resume = printed_command(first.stdout, "resume with: ")
    assert resume[2:] == ["--resume", "run.pt", "--data-dir", str(synthetic_dir), "--device", "cpu", "--log-every", "1",
                          "--no-figure", "--readable"], resume
    assert run_in_process(resume[1], *resume[2:], cwd=tmp_path).returncode == 0
    assert not (tmp_path / "run.training.png").exists()
    logged = [[{k: v for k, v in m.items() if k != "seconds" and k != "images_per_second"}
               for m in ckpt.load(path)["metrics"]] for path in (straight, tmp_path / "run.pt")]
    assert logged[0] == logged[1] and sum(m["event"] == "log" for m in logged[0]) == 6


def test_a_folder_removed_under_the_run_is_said_to_be(run_in_process, synthetic_dir, tmp_path, monkeypatch):
    """The --out folder removed while the run goes on: one line naming the checkpoint and its folder,
    not '.run.pt.x8k2_a1q.tmp: No such file or directory' (the temporary it was being written to)."""
    import shutil

    folder = tmp_path / "runs"
    folder.mkdir()
    real_evaluate = training.evaluate

    def removed_meanwhile(model, split, *args):
        shutil.rmtree(folder, ignore_errors=True)
        return real_evaluate(model, split, *args)

    monkeypatch.setattr(training, "evaluate", removed_meanwhile)
    result = run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(folder / "run.pt"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"train.py: error: {folder / 'run.pt'}: cannot be written: its folder {folder} "
                                    "was removed or renamed while the run went on") and ".tmp" not in result.stderr


def test_another_ctrl_c_while_the_stopped_run_draws_keeps_the_resume_command(run_in_process, synthetic_dir,
                                                                             tmp_path, monkeypatch):
    """A stopped run draws its curves before it exits (seconds, matplotlib loading): an impatient
    Ctrl-C then lost the resume command, printed after the figure. It is printed first now."""
    from lstm_mnist.commands import train as train_command

    out = tmp_path / "run.pt"

    def ctrl_c_while_drawing(*args):
        raise KeyboardInterrupt

    interrupt_the_test_pass(monkeypatch)
    monkeypatch.setattr(train_command, "draw_training_figure", ctrl_c_while_drawing)
    result = run_in_process("train.py", *TINY, "--figure", "--data-dir", str(synthetic_dir), "--out", str(out))
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"train.py: interrupted; resume with: python train.py --resume {out} --data-dir {synthetic_dir} --device cpu"]


def ctrl_c_in_evaluation(monkeypatch, images: int):
    """Make training's evaluation of the split of ``images`` images send this process a SIGINT first, as a
    Ctrl-C there would (conftest.interrupt_the_test_pass raises instead). Returns the real ``evaluate``."""
    import signal

    real_evaluate = training.evaluate

    def ctrl_c_first(model, split, *args):
        if len(split) == images:
            os.kill(os.getpid(), signal.SIGINT)
        return real_evaluate(model, split, *args)

    monkeypatch.setattr(training, "evaluate", ctrl_c_first)
    return real_evaluate


@pytest.mark.parametrize("epochs", ["2", "1"])
def test_ctrl_c_in_the_validation_pass_stops_at_the_epoch_s_end(run_in_process, synthetic_dir, tmp_path,
                                                                monkeypatch, epochs):
    """Ctrl-C while an epoch's validation runs: the run stops with that epoch saved, not after one
    more training step (nor, after the last epoch, after the test pass it was asked to skip)."""
    out = tmp_path / "run.pt"
    real_evaluate = ctrl_c_in_evaluation(monkeypatch, 100)  # the validation split (test: 300)
    result = run_in_process("train.py", *TINY, "--epochs", epochs, "--data-dir", str(synthetic_dir), "--out", str(out))
    assert result.returncode == 130, result.stderr
    left = " (the test evaluation is left)" if epochs == "1" else ""
    assert result.stderr.startswith(f"train.py: stopped after epoch 1/{epochs}{left}; saved {out}; resume with: ")
    assert "SIGINT: stopping after this epoch's validation pass (press Ctrl-C again" in result.stdout
    assert ckpt.load(out)["progress"] | {"seconds": 0} == {"epoch": 1, "step": 0, "loss_sum": 0.0, "correct": 0,
                                                           "seen": 0, "seconds": 0}
    monkeypatch.setattr(training, "evaluate", real_evaluate)
    resumed = run_in_process("train.py", "--resume", str(out), "--data-dir", str(synthetic_dir), "--device", "cpu")
    assert resumed.returncode == 0 and ckpt.finished(ckpt.load(out)), resumed.stderr


def test_ctrl_c_in_the_test_pass_says_the_run_is_finishing_and_it_finishes(run_in_process, synthetic_dir, tmp_path,
                                                                            monkeypatch):
    """The training is done and the test pass takes a second: a first Ctrl-C there lets it end (then
    nothing is left to resume), and says so; it said 'stopping after this step', and then did not stop."""
    out = tmp_path / "run.pt"
    ctrl_c_in_evaluation(monkeypatch, 300)  # the test split (validation: 100)
    result = run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(out))
    assert result.returncode == 0 and "test accuracy: " in result.stdout, result.stderr
    assert ("SIGINT: the training is done: finishing its test evaluation, a second or so (press Ctrl-C again to "
            "quit at once)") in result.stdout and "stopping after this step" not in result.stdout
    assert ckpt.finished(ckpt.load(out))


def test_ctrl_c_while_the_data_loads_says_it_stops_before_the_training(run_in_process, synthetic_dir, tmp_path,
                                                                      monkeypatch):
    """Before the first step (the data loading) a first Ctrl-C stops before any training, and says that;
    it said 'stopping after this step', with no step to come."""
    import signal

    from lstm_mnist.commands import train as train_command

    real_load = train_command.load_mnist

    def ctrl_c_while_loading(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(train_command, "load_mnist", ctrl_c_while_loading)
    result = run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run.pt"))
    assert result.returncode == 130 and "stopped before training started" in result.stderr, result.stderr
    assert "SIGINT: stopping before the training starts (press Ctrl-C again" in result.stdout
    assert "stopping after this step" not in result.stdout


def test_ctrl_c_while_the_figure_is_drawn_says_the_run_is_saved(run_in_process, synthetic_dir, tmp_path, monkeypatch):
    """After the test pass the run is saved; a first Ctrl-C while the curves are drawn said the test
    evaluation was finishing. It says what is left: the report."""
    import signal

    from lstm_mnist.commands import train as train_command

    out = tmp_path / "run.pt"
    real_draw = train_command.draw_training_figure

    def ctrl_c_while_drawing(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return real_draw(*args)

    monkeypatch.setattr(train_command, "draw_training_figure", ctrl_c_while_drawing)
    result = run_in_process("train.py", *TINY, "--data-dir", str(synthetic_dir), "--out", str(out), "--figure")
    assert result.returncode == 0 and "test accuracy: " in result.stdout, result.stderr
    assert f"SIGINT: the run is saved in {out}: finishing its report (press Ctrl-C again" in result.stdout


@pytest.mark.parametrize("flags, said", [
    (["--augment"], "--augment differs from the checkpoint's run, trained without --augment"),
    (["--no-normalize"], "--no-normalize differs from the checkpoint's run, trained with --normalize"),
    (["--input-projection"], "--input-projection differs from the checkpoint's run, trained without --input-projection"),
    (["--clip-grad-norm", "1"], "--clip-grad-norm 1.0 differs from the checkpoint's run, trained without --clip-grad-norm"),
    (["--class-names", "a,b,c,d,e,f,g,h,i,j"], "--class-names a,b,c,d,e,f,g,h,i,j differs from the checkpoint's run, "
                                               "trained without --class-names (the digits 0 to 9)"),
    (["--hidden-size", "32"], "--hidden-size 32 differs from the checkpoint's 16"),
])
def test_a_setting_changed_on_resume_is_refused_in_the_flags_words(run_in_process, small_checkpoint, flags, said):
    """The refusal names both sides as flags, never Python's 'True differs from the checkpoint's False'
    or 'the checkpoint's None'."""
    result = run_in_process("train.py", "--resume", str(small_checkpoint), *flags)
    assert result.returncode == 2 and result.stderr == (
        f"train.py: error: {said}; a resumed run keeps its settings (only --epochs or --train-samples may change) "
        "(see --help)\n")


def test_the_resume_command_of_a_torchrun_run_is_a_torchrun_command(monkeypatch):
    """Stopped under torchrun with 2 processes: the way back is torchrun with 2 processes (and the
    run's flags), not 'python train.py', which would go on in one process: the same run to 1e-6 only."""
    from lstm_mnist import distributed
    from lstm_mnist.commands import train as train_command

    args = train_command.build_parser().parse_args(["--out", "run.pt", "--device", "cpu", "--data-dir", "m"])
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    assert train_command.again("train.py", args, "--resume", args.out) == \
        "torchrun --nproc_per_node=2 train.py --resume run.pt --data-dir m --device cpu"
    assert train_command.again("evaluate.py", args, args.out) == "python evaluate.py run.pt --data-dir m"


def test_evaluate_says_a_checkpoint_is_of_an_unfinished_run(run_in_process, synthetic_dir, tmp_path, small_checkpoint):
    """A stopped run's checkpoint evaluates (its weights are a model in training), and says so, with the
    way to go on; a finished run's says nothing of the kind."""
    out, data = tmp_path / "run.pt", ["--data-dir", str(synthetic_dir), "--device", "cpu"]
    assert run_in_process("train.py", *TINY, "--epochs", "3", "--stop-after", "1", *data, "--out", str(out)).returncode == 0
    result = run_in_process("evaluate.py", str(out), *data)
    assert result.returncode == 0 and "test accuracy:" in result.stdout, result.stderr
    assert (f"checkpoint: an unfinished run (stopped after epoch 1 of 3); python train.py --resume {out} --data-dir "
            f"{synthetic_dir} goes on with it\n") in result.stdout
    finished = run_in_process("evaluate.py", str(small_checkpoint), *data)
    assert finished.returncode == 0 and "unfinished" not in finished.stdout


def test_every_program_that_reads_an_unfinished_runs_checkpoint_says_so(run_in_process, synthetic_dir,
                                                                        tmp_path, small_checkpoint):
    """evaluate.py --json has the "unfinished" key (null for a finished run); predict.py, inspect_digit.py and
    the web page say it in one line on stderr (predict's stdout may be a CSV in a pipe), with the way to go on."""
    out, data = tmp_path / "run.pt", ["--data-dir", str(synthetic_dir)]
    assert run_in_process("train.py", *TINY, "--epochs", "3", "--stop-after", "1", *data, "--out", str(out)).returncode == 0
    reports = {}
    for name, path in (("stopped", out), ("finished", small_checkpoint)):
        result = run_in_process("evaluate.py", str(path), *data, "--device", "cpu", "--json")
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads(result.stdout)["unfinished"]
    assert reports == {"stopped": "stopped after epoch 1 of 3", "finished": None}
    digit = str(ROOT / "docs" / "digits" / "test-0.png")
    said = f"{out} is from an unfinished run (stopped after epoch 1 of 3); python train.py --resume {out}"
    predicted = run_in_process("predict.py", str(out), digit, "--out", "-", "--device", "cpu")
    assert predicted.returncode == 0 and predicted.stdout.startswith("file,prediction"), predicted.stderr
    assert f"predict.py: {said} goes on with it\n" in predicted.stderr
    inspected = run_in_process("inspect_digit.py", str(out), "--image", digit, "--no-figure", "--device", "cpu")
    assert inspected.returncode == 0, inspected.stderr
    assert f"inspect_digit.py: {said} goes on with it\n" in inspected.stderr
    web = run_script("-m", "lstm_mnist.web", str(out), "--digits", digit, "--out", str(tmp_path / "site"), *data,
                     cwd=tmp_path)
    assert web.returncode == 0, web.stderr
    assert f"python -m lstm_mnist.web: {said} --data-dir {synthetic_dir} goes on with it\n" in web.stderr
    for result in (run_in_process("predict.py", str(small_checkpoint), digit, "--out", "-", "--device", "cpu"),
                   run_in_process("inspect_digit.py", str(small_checkpoint), "--image", digit, "--no-figure")):
        assert result.returncode == 0 and "unfinished" not in result.stderr, result.stderr


def test_a_train_samples_length_that_ends_before_the_step_reached_is_refused(run_in_process, synthetic_dir, tmp_path):
    """Stopped 2 steps into epoch 2 (3 steps an epoch), resumed with --train-samples 80 (4 steps: 1 in
    epoch 2): it went on as if that epoch had ended, with its 2 steps; refused now, as --epochs is."""
    out, data = tmp_path / "run.pt", ["--data-dir", str(synthetic_dir), "--device", "cpu"]
    stop_inside_epoch_2(run_in_process, out, data, epochs=3, progress={"step": 2, "seen": 32, "correct": 3,
                                                                        "loss_sum": 70.0})
    result = run_in_process("train.py", "--resume", str(out), "--train-samples", "80", *data)
    assert result.returncode == 2, result.stderr
    assert "has already trained 1 epoch and 2 steps of the next, more than the 4 steps (1 in epoch 2) asked for" \
        in result.stderr
    assert run_in_process("train.py", "--resume", str(out), "--train-samples", "96", *data).returncode == 0  # 5 steps


def test_a_resume_into_another_file_stopped_before_saving_offers_its_source(run_in_process, synthetic_dir, tmp_path,
                                                                           monkeypatch):
    """--resume a.pt --out b.pt --overwrite, stopped while the data loads: b.pt is still an older run's
    file; the way back is a.pt into b.pt again, never '--resume b.pt' (that other run)."""
    from lstm_mnist.commands import train as train_command

    a, b, data = tmp_path / "a.pt", tmp_path / "b.pt", ["--data-dir", str(synthetic_dir), "--device", "cpu"]
    assert run_in_process("train.py", *TINY, "--epochs", "2", "--stop-after", "1", *data, "--out", str(a)).returncode == 0
    assert run_in_process("train.py", *TINY, "--seed", "5", *data, "--out", str(b)).returncode == 0
    older, minute_ago = b.read_bytes(), b.stat().st_mtime - 60
    os.utime(b, (minute_ago, minute_ago))  # written before this run, whatever the clock's resolution

    def ctrl_c_while_loading(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "load_mnist", ctrl_c_while_loading)
    result = run_in_process("train.py", "--resume", str(a), "--out", str(b), "--overwrite", *data)
    assert result.returncode == 130 and b.read_bytes() == older
    assert result.stderr == (f"train.py: interrupted; resume with: python train.py --resume {a} --out {b} --overwrite "
                             f"--data-dir {synthetic_dir} --device cpu\n")


@pytest.mark.parametrize("record, said", [({"train": {"n": 48}}, "data.train.sha256 is missing"),
                                          ({"validation": "x"}, "data.validation is a str, expected a dict"),
                                          ({"train": {"n": 48, "sha256": "abc"}}, "data.train.sha256 is 'abc'")])
def test_a_damaged_record_of_the_images_trained_on_is_one_line(run_in_process, small_checkpoint, synthetic_dir,
                                                               tmp_path, record, said):
    """An edited 'data' record is caught by the schema check, as one line (it was a KeyError in the
    resume's comparison)."""
    stored = ckpt.load(small_checkpoint)
    stored["data"] = record
    ckpt.save(tmp_path / "edited.pt", stored)
    result = run_in_process("train.py", "--resume", str(tmp_path / "edited.pt"), "--epochs", "3", "--device", "cpu",
                            "--data-dir", str(synthetic_dir))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and said in result.stderr, result.stderr


@pytest.mark.parametrize("rank", [0, 1])
def test_a_first_signal_is_reported_by_the_first_process_only(rank, monkeypatch, capsys):
    """Under torchrun every process gets the Ctrl-C: each printed 'SIGINT: stopping after this step',
    once per process; all of them stop, and the first says so."""
    monkeypatch.setattr(training.distributed, "rank", lambda: rank)
    with training.StopSignals() as stop:
        stop._handle(signal.SIGINT, None)
    assert stop.requested
    assert ("SIGINT: stopping before the training starts" in capsys.readouterr().out) is (rank == 0)


def test_a_signal_the_run_was_started_ignoring_stays_ignored(capsys):
    """`python train.py &` in a shell script starts with Ctrl-C ignored (it is meant for the script in
    the foreground); training used to catch it anyway and stop the run. SIGTERM (kill PID) still stops it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with training.StopSignals() as stop:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) == stop._handle
            os.kill(os.getpid(), signal.SIGINT)
            assert not stop.requested
            stop._handle(signal.SIGTERM, None)
            said = capsys.readouterr().out
            assert stop.requested and "SIGTERM: stopping before the training starts" in said
            assert "(send SIGTERM again to quit at once)" in said and "Ctrl-C" not in said  # Ctrl-C would do nothing
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, previous)
