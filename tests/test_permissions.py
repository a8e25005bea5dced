"""A shared classroom machine: students are ordinary users, and files or folders may be closed to
them (chmod 000, a folder without x or r, a teacher's read-only clone, a shared sticky folder such
as /tmp). Every such case ends before any work in one plain line that names the file and the way
out, with the right exit status: never '[Errno 13] Permission denied: ...', never a traceback.

The tests run as root in CI, and root enters, lists and writes every folder: so the kernel's
refusals are simulated (``closed``, ``unlistable``) by making os.stat, os.open, os.listdir and the
like raise what they raise for a student; the cases that need a real ordinary user are skipped,
with the reason, when running as root."""

import errno
import os
import pathlib
import stat

import pytest

from lstm_mnist import cli, data, files
from lstm_mnist.errors import DataError

LOOKUPS = ("stat", "lstat", "open", "access")  # what looking at or opening a name calls
LISTINGS = ("listdir", "scandir")


def _as_path(path):
    try:
        return os.path.abspath(os.fsdecode(path))
    except TypeError:  # a file descriptor
        return None


@pytest.fixture
def refused(monkeypatch):
    """``refused.closed(folder)``: every name inside ``folder`` is refused as in a folder without x
    permission (the folder itself can still be looked at); ``refused.unlistable(folder)``: listing
    ``folder`` is refused, as without r permission."""
    closed, unlistable = [], []
    real = {name: getattr(os, name) for name in LOOKUPS + LISTINGS}

    def guard(name):
        def call(path=".", *args, **kwargs):
            where = _as_path(path)
            inside = where is not None and any(where.startswith(f + os.sep) for f in closed)
            listed = name in LISTINGS and where is not None and where in closed + unlistable
            if inside or listed:
                raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))
            return real[name](path, *args, **kwargs)
        return call

    for name in real:
        monkeypatch.setattr(os, name, guard(name))
        if hasattr(pathlib, "_NormalAccessor") and hasattr(pathlib._NormalAccessor, name):  # Python 3.10
            monkeypatch.setattr(pathlib._NormalAccessor, name, staticmethod(guard(name)))

    class Refused:
        @staticmethod
        def closed(folder):
            closed.append(os.path.abspath(folder))

        @staticmethod
        def unlistable(folder):
            unlistable.append(os.path.abspath(folder))

    return Refused


def one_line(result, prog, status=1):
    assert result.returncode == status, result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"{prog}: error: "), result.stderr
    assert "Errno" not in result.stderr and "Traceback" not in result.stderr
    return result.stderr


# --- reading: a data folder, an image folder, a file in a folder closed to the user -------------------


def test_a_data_folder_closed_to_the_user_says_so_and_what_to_do(tmp_path, saved, synthetic_dir, refused,
                                                                  run_in_process):
    """Before: 'evaluate.py: error: [Errno 13] Permission denied: 'm1/t10k-images-idx3-ubyte''."""
    refused.closed(synthetic_dir)
    err = one_line(run_in_process("evaluate.py", str(saved[0]), "--data-dir", str(synthetic_dir)), "evaluate.py")
    assert f"data folder {synthetic_dir}: cannot look inside it (Permission denied)" in err
    assert "copy it into a folder of yours and pass --data-dir there" in err


def test_a_closed_data_folder_in_the_current_folder_is_not_downloaded_into(tmp_path, saved, refused, run_in_process):
    (tmp_path / "data").mkdir()
    refused.closed(tmp_path / "data")
    err = one_line(run_in_process("evaluate.py", str(saved[0]), cwd=tmp_path), "evaluate.py")
    assert "data folder data: cannot look inside it (Permission denied)" in err and "download" not in err


def test_no_data_and_a_current_folder_the_user_cannot_write(tmp_path, monkeypatch):
    """Before: '[Errno 13] Permission denied: 'data'' (the mkdir of ./data was outside the one-line
    report of a failed download)."""
    def no_mkdir(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(pathlib.Path, "mkdir", no_mkdir)
    with pytest.raises(DataError) as caught:
        data.locate(None, pathlib.Path("data"))
    message = str(caught.value)
    assert "the download failed (data: Permission denied)" in message and "--data-dir FOLDER" in message
    assert "Errno" not in message and not (tmp_path / "data").exists()


def test_an_image_folder_that_cannot_be_listed(saved, refused, run_in_process):
    """Before: 'predict.py: error: [Errno 13] Permission denied: 'd1''."""
    ck, folder = saved
    refused.unlistable(folder)
    err = one_line(run_in_process("predict.py", str(ck), str(folder), "--out", "-"), "predict.py")
    assert f"{folder}: cannot list the images in it (Permission denied)" in err


@pytest.mark.parametrize("program", ["predict.py", "inspect_digit.py"])
def test_an_image_in_a_folder_closed_to_the_user_is_not_said_missing(saved, refused, run_in_process, program):
    """Before: 'image nx/test-7.png not found' and 'nx/test-7.png: no such file or folder': it is there."""
    ck, folder = saved
    refused.closed(folder)
    image = str(folder / "0.png")
    flags = ["--out", "-"] if program == "predict.py" else ["--image", image, "--no-figure"]
    result = run_in_process(program, str(ck), *([image] if program == "predict.py" else []), *flags)
    err = one_line(result, program)
    assert f"{image}: cannot be reached (Permission denied: a folder on its way is closed to you)" in err


def test_an_unforeseen_os_error_is_one_plain_line(capsys):
    def fails():
        raise PermissionError(errno.EACCES, "Permission denied", "nx/t.pt")

    assert cli.run(fails, "train.py") == 1
    assert capsys.readouterr().err == ("train.py: error: nx/t.pt: Permission denied; check its permissions, or use "
                                       "a file or folder of yours\n")


# --- writing: folders closed to the user, files another user owns, write-protected files ----------------


OUTPUTS = [
    ("train.py", lambda ck, folder, out: ["--epochs", "1", "--hidden-size", "8", "--out", str(out / "t.pt"),
                                         "--data-dir", str(folder / "none")], "--out"),  # refused before the data
    ("predict.py", lambda ck, folder, out: [str(ck), str(folder), "--out", str(out / "p.csv")], "--out"),
    ("evaluate.py", lambda ck, folder, out: [str(ck), "--plots", str(out / "plots")], "--plots"),
    ("inspect_digit.py", lambda ck, folder, out: [str(ck), "--image", str(folder / "0.png"), "--figure",
                                                 str(out / "x.png")], "--figure"),
]


@pytest.mark.parametrize("program, flags, flag", OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_an_output_folder_closed_to_the_user_is_a_usage_error(tmp_path, saved, refused, run_in_process, program,
                                                              flags, flag):
    """A folder with r and w but no x (chmod 666): before, '[Errno 13] Permission denied: 'nx/t.pt'', exit 1
    (train.py's after loading the data); now a usage error like a read-only folder's, with the way out."""
    ck, folder = saved
    out = tmp_path / "nx"
    out.mkdir()
    refused.closed(out)
    err = one_line(run_in_process(program, *flags(ck, folder, out)), program, status=2)
    assert f"cannot write in {out} (Permission denied); choose another {flag} in a folder you can write" in err


def test_resume_in_a_read_only_folder_names_resume_and_the_way_out(saved, monkeypatch, run_in_process):
    """Before: '--out rr/r.pt: cannot write in rr', naming a flag that was never given."""
    real = pathlib.Path.write_bytes

    def read_only(self, data):
        if self.name.startswith(".lstm-mnist-write-test"):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", read_only)
    ck = saved[0]
    err = one_line(run_in_process("train.py", "--resume", str(ck), "--epochs", "3"), "train.py", status=2)
    assert err.startswith(f"train.py: error: --resume {ck}: cannot write in {ck.parent} (Permission denied); ")
    assert "pass --out NEW.pt" in err


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A shared folder with the sticky bit (as /tmp), holding files of another user: this process is
    made to look like an ordinary user (uid 4242) to the checks, as a root process owns nothing there."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    monkeypatch.setattr(os, "geteuid", lambda: 4242)
    return folder


def test_a_file_of_another_user_in_a_shared_folder_is_refused_before_any_work(saved, shared, run_in_process):
    """Before: the work was done, then '[Errno 1] Operation not permitted: '.p.csv.lm1dzp8w.tmp' -> 'p.csv''
    (train.py: after the whole training)."""
    ck, folder = saved
    (shared / "p.csv").write_text("theirs\n")
    (shared / "t.pt").write_bytes(ck.read_bytes())
    err = one_line(run_in_process("predict.py", str(ck), str(folder), "--out", str(shared / "p.csv"), "--overwrite"),
                   "predict.py", status=2)
    assert "belongs to another user, in" in err and "a shared folder where only its owner may replace it" in err
    assert err.rstrip().endswith("; choose another --out (see --help)")  # a name of its own: the folder can be written
    err = one_line(run_in_process("train.py", "--out", str(shared / "t.pt"), "--overwrite", "--epochs", "1",
                                  "--data-dir", str(folder / "none")), "train.py", status=2)
    assert "belongs to another user" in err
    assert (shared / "p.csv").read_text() == "theirs\n"


def test_a_file_beside_the_checkpoint_that_another_user_owns(tmp_path, saved, shared, run_in_process):
    ck = saved[0]
    (shared / "t.pt").write_bytes(ck.read_bytes())
    (shared / "t.metrics.jsonl").write_text("")
    if os.getuid() != 0:
        pytest.skip("giving the checkpoint to the simulated user (uid 4242) needs root")
    os.chown(shared / "t.pt", 4242, -1)  # the checkpoint is the user's; the metrics beside it another's
    err = one_line(run_in_process("train.py", "--out", str(shared / "t.pt"), "--overwrite", "--epochs", "1",
                                  "--data-dir", str(tmp_path / "none")), "train.py", status=2)
    assert "t.metrics.jsonl, written beside it, belongs to another user" in err


def test_a_write_protected_file_is_not_replaced(saved, monkeypatch, run_in_process):
    """chmod a-w: before, --resume and --overwrite replaced it (by a rename, which its mode does not stop)."""
    ck = saved[0]
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: not (mode & os.W_OK and os.fspath(path) == str(ck))
                        and real(path, mode, **kw))
    err = one_line(run_in_process("train.py", "--resume", str(ck), "--epochs", "3"), "train.py", status=2)
    assert "is write-protected (no write permission for you; chmod u+w lets it be replaced)" in err


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    """A student's private predictions (chmod 600) came back readable by everyone (0644, the umask's)."""
    path = tmp_path / "p.csv"
    path.write_text("old\n")
    path.chmod(0o600)
    files.atomic_write(path, lambda f: f.write(b"new\n"))
    assert path.read_text() == "new\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = tmp_path / "q.csv"
    files.atomic_write(fresh, lambda f: f.write(b"new\n"))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~files.current_umask()


def test_a_lock_left_by_another_user_is_one_line(tmp_path, monkeypatch):
    """Before: '[Errno 13] Permission denied: '/tmp/shared/.y.pt.lock''."""
    real = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **kw: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied", os.fspath(path))) if str(path).endswith(".lock")
        else real(path, *a, **kw))
    with pytest.raises(files.LSTMMnistError, match=r"its lock .*\.y\.pt\.lock cannot be taken \(Permission denied\): "
                                                   "another user's run"):
        with files.exclusive(tmp_path / "y.pt"):
            pass


def test_stale_temporaries_another_user_left_are_left_to_them(tmp_path, monkeypatch):
    stale = tmp_path / ".y.pt.abcdefgh.tmp"
    stale.write_bytes(b"")

    def refuse(self, missing_ok=False):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(self))

    monkeypatch.setattr(pathlib.Path, "unlink", refuse)
    assert files.remove_stale_temporaries(tmp_path / "y.pt") == [] and stale.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="as root every folder can be entered, listed and written: the cases "
                                              "above simulate the refusals")
def test_real_refusals_as_an_ordinary_user(tmp_path, saved, synthetic_dir, run_in_process):
    ck, folder = saved
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0o666)
    try:
        assert "cannot write in" in one_line(run_in_process("predict.py", str(ck), str(folder), "--out",
                                                            str(closed / "p.csv")), "predict.py", status=2)
    finally:
        closed.chmod(0o755)


# --- the environment: a HOME the user cannot write --------------------------------------------------


def test_a_home_that_cannot_be_written_prints_no_matplotlib_warning(tmp_path, saved):
    """A shared account whose HOME is read-only (or HOME=/): matplotlib printed 'mkdir -p failed for path
    /.config/matplotlib' and 'Matplotlib created a temporary cache directory at /tmp/matplotlib-...' around
    the command's output. A HOME that is a file cannot be written even by root, so this runs anywhere."""
    from conftest import run_script

    ck, folder = saved
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "", "MPLCONFIGDIR": ""}
    result = run_script("inspect_digit.py", str(ck), "--image", str(folder / "0.png"), "--figure",
                        str(tmp_path / "t.png"), env=env, cwd=tmp_path)
    # nothing but the line that says the fixture's checkpoint is of a run stopped after epoch 1
    assert result.returncode == 0 and result.stderr.startswith(f"inspect_digit.py: {ck} is from an unfinished run")
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert (tmp_path / "t.png").stat().st_size > 0


def test_no_cache_folder_anywhere_is_one_line_with_the_way_out(tmp_path):
    """No writable HOME and no temporary folder either (simulated: as root every folder can be written):
    matplotlib's OSError is the figure's one-line error, naming MPLCONFIGDIR (--no-figure is train.py's and inspect_digit.py's way, evaluate.py's is no --plots)."""
    import subprocess
    import sys

    from conftest import ROOT

    home = tmp_path / "home-is-a-file"
    home.write_text("")
    program = ("import tempfile\n"
               "def refused(*args, **kwargs):\n"
               "    raise PermissionError(13, 'Permission denied')\n"
               "tempfile.mkdtemp = refused\n"
               "from lstm_mnist import figures\n"
               "from lstm_mnist.errors import LSTMMnistError\n"
               "try:\n"
               "    figures.new_figure(1, 1)\n"
               "except LSTMMnistError as e:\n"
               "    print(e)\n")
    env = os.environ | {"HOME": str(home), "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "", "MPLCONFIGDIR": "",
                        "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    [line] = result.stdout.splitlines()
    assert line.startswith("figures need a folder matplotlib can write its cache in (")
    assert line.endswith("; set MPLCONFIGDIR to one of yours, or leave the figures out")

@pytest.mark.parametrize("script", ["train.py", "evaluate.py", "predict.py", "inspect_digit.py"])
def test_a_clone_s_programs_run_under_python_isolated(tmp_path, script):
    """``python -I`` (isolated: what a careful teacher's launcher uses) and ``-P`` leave the script's folder
    off sys.path: before, 'ModuleNotFoundError: No module named 'lstm_mnist'' and a traceback."""
    import subprocess
    import sys

    from conftest import ROOT

    result = subprocess.run([sys.executable, "-I", str(ROOT / script), "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(f"usage: {script}")


# --- the installed commands name themselves ---------------------------------------------------------

INSTALLED = {"lstm-mnist-train": "lstm_mnist.commands.train", "lstm-mnist-evaluate": "lstm_mnist.commands.evaluate",
             "lstm-mnist-predict": "lstm_mnist.commands.predict", "lstm-mnist-inspect": "lstm_mnist.commands.inspect_digit",
             "lstm-mnist-web": "lstm_mnist.web"}


@pytest.mark.parametrize("name", INSTALLED)
def test_an_installed_command_s_help_names_the_commands_not_the_clone_s_scripts(name, monkeypatch, capsys):
    """A student with the package installed has no train.py: 'checkpoint written by train.py',
    'torchrun --nproc_per_node=2 train.py' (which fails there) were in the installed commands' --help."""
    import importlib
    import re
    import sys

    module = importlib.import_module(INSTALLED[name])
    monkeypatch.setattr(sys, "argv", [f"/venv/bin/{name}", "--help"])
    with pytest.raises(SystemExit) as caught:
        module.main()
    text = capsys.readouterr().out
    assert caught.value.code == 0 and text.startswith(f"usage: {name}")
    assert not re.search(r"(?<![\w/.-])(train|evaluate|predict|inspect_digit)\.py\b", text), text
    if name == "lstm-mnist-train":
        assert "torchrun --nproc_per_node=2 --no-python lstm-mnist-train " in text


def test_the_mistakes_figure_names_the_installed_inspect_command(monkeypatch):
    import sys

    from lstm_mnist import figures

    monkeypatch.setattr(sys, "argv", ["/venv/bin/lstm-mnist-evaluate"])
    assert figures.inspect_command() == "lstm-mnist-inspect"
    monkeypatch.setattr(sys, "argv", ["evaluate.py"])
    assert figures.inspect_command() == "inspect_digit.py"
