"""Output and store paths: only a regular file is ever replaced (and only with --force), a
path ending in / or an existing directory is a directory, files get the umask's modes, a killed
export leaves nothing behind, and every unusable path is one line naming its option, exit 2."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from theoryscope.cli.main import main
from theoryscope.core.safe_write import write_output
from theoryscope.errors import ConfigError
from theoryscope.store import RunStore


@pytest.fixture()
def run_id(store_path) -> str:
    store = RunStore(store_path)
    run_id = store.create_run("expander", {"k": 3}, seed=0)
    store.append_series(run_id, {"step": np.arange(5), "loss": np.linspace(1, 0, 5)})
    store.finish_run(run_id, status="finished", summary={"steps": 5})
    return run_id


@contextlib.contextmanager
def _umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _one_line(capsys, option: str) -> str:
    """One ``error:`` line naming ``option`` (``out: ...``, or ``--out: ...`` in commands that
    print option names)."""
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    name = option.lstrip("-")
    assert err.startswith((f"error: {name}: ", f"error: --{name}: ")), err
    assert "internal error" not in err
    return err


# -- runs export --out ---------------------------------------------------------------------------
def test_existing_file_is_kept_unless_force(run_id, tmp_path, capsys):
    target = tmp_path / "mine.csv"
    target.write_text("precious\n")
    target.chmod(0o640)
    assert main(["runs", "export", run_id, "--out", str(target)]) == 2
    assert "--force" in _one_line(capsys, "--out")
    assert target.read_text() == "precious\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    with _umask(0o022):
        assert main(["runs", "export", run_id, "--out", str(target), "--force"]) == 0
    assert target.read_text().startswith("step,loss")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # the umask's mode, not 0600


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_get_the_umask_mode(run_id, tmp_path, capsys, mask, mode):
    with _umask(mask):
        assert main(["runs", "export", run_id, "--out", str(tmp_path / "x.json"),
                     "--format", "json"]) == 0  # fmt: skip
        assert main(["runs", "export", run_id, "--out", str(tmp_path / "new") + "/"]) == 0
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == mode
    (exported,) = (tmp_path / "new").iterdir()
    assert stat.S_IMODE(exported.stat().st_mode) == mode


def test_a_fifo_a_symlink_or_a_device_is_never_replaced(run_id, tmp_path, capsys):
    tmp_path = tmp_path / "victims"
    tmp_path.mkdir()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    real = tmp_path / "real.csv"
    real.write_text("keep\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    victims = [fifo, link]
    device = tmp_path / "null"
    try:  # a copy of /dev/null (root only): a device node must survive, --force or not
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        victims.append(device)
    except (PermissionError, OSError):
        pass
    for victim in victims:
        before = os.lstat(victim)
        for force in ([], ["--force"]):
            assert main(["runs", "export", run_id, "--out", str(victim), *force]) == 2
            err = _one_line(capsys, "--out")
            assert "only a regular file is ever replaced" in err
        after = os.lstat(victim)
        assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
        assert after.st_ino == before.st_ino
    assert real.read_text() == "keep\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["pipe", "real.csv", "link.csv", *(["null"] if device.exists() else [])]
    )


def test_trailing_slash_or_existing_directory_is_a_directory(run_id, tmp_path, capsys):
    missing = tmp_path / "not" / "yet"
    for fmt in ("csv", "json", "npz"):
        assert main(["runs", "export", run_id, "--format", fmt, "--out", f"{missing}/"]) == 0
    names = sorted(p.name for p in missing.iterdir())
    assert names == [f"expander-{run_id}.{fmt}" for fmt in ("csv", "json", "npz")]
    existing = tmp_path / "there"
    existing.mkdir()
    assert main(["runs", "export", run_id, "--out", str(existing)]) == 0
    assert [p.name for p in existing.iterdir()] == [f"expander-{run_id}.csv"]
    data = json.loads((missing / f"expander-{run_id}.json").read_text())
    assert data["series"]["step"] == [0, 1, 2, 3, 4]
    with np.load(missing / f"expander-{run_id}.npz") as npz:
        np.testing.assert_array_equal(npz["step"], np.arange(5))


def test_a_path_without_slash_is_a_file_and_not_overwritten_by_the_next_format(
    run_id, tmp_path, capsys
):
    out = tmp_path / "results"
    assert main(["runs", "export", run_id, "--format", "csv", "--out", str(out)]) == 0
    first = out.read_bytes()
    for fmt in ("json", "npz"):
        assert main(["runs", "export", run_id, "--format", fmt, "--out", str(out)]) == 2
        _one_line(capsys, "--out")
    assert out.read_bytes() == first


def test_no_temporary_file_survives_a_kill_or_an_error(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, signal
        from theoryscope.core.safe_write import write_output
        def write(fh):
            fh.write(b"x" * 100_000)
            fh.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        write_output({str(tmp_path / "out.csv")!r}, write)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert list(tmp_path.iterdir()) == []

    def fails(fh):
        fh.write(b"half")
        raise KeyboardInterrupt

    for force in (False, True):
        with pytest.raises(KeyboardInterrupt):
            write_output(tmp_path / "out.csv", fails, force=force)
        assert list(tmp_path.iterdir()) == []


def test_the_named_temporary_fallback_cleans_up_too(tmp_path, monkeypatch):
    """Where there is no O_TMPFILE, a hidden .part file is used and removed on any error."""
    import theoryscope.core.safe_write as sw

    monkeypatch.setattr(sw, "_open_unnamed", lambda directory: None)

    def fails(fh):
        fh.write(b"half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_output(tmp_path / "out.csv", fails)
    assert list(tmp_path.iterdir()) == []
    write_output(tmp_path / "out.csv", lambda fh: fh.write(b"a"))
    with pytest.raises(ConfigError, match="exists"):
        write_output(tmp_path / "out.csv", lambda fh: fh.write(b"b"))
    write_output(tmp_path / "out.csv", lambda fh: fh.write(b"c"), force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    assert (tmp_path / "out.csv").read_bytes() == b"c"


# -- a file where a directory is expected, a read-only directory -----------------------------
@pytest.fixture()
def a_file(tmp_path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a directory\n")
    return path


def test_store_under_a_file_names_store(a_file, capsys):
    assert main(["runs", "list", "--store", str(a_file / "runs.sqlite")]) == 2
    _one_line(capsys, "--store")
    assert main(["runs", "list", "--store", str(a_file.parent)]) == 2  # a directory
    assert "is a directory" in _one_line(capsys, "--store")
    fifo = a_file.parent / "fifo"
    os.mkfifo(fifo)
    for not_a_file in (fifo, "/dev/null"):  # SQLite on a device: a clear line, not its error
        assert main(["runs", "list", "--store", str(not_a_file)]) == 2
        assert "not a regular file" in _one_line(capsys, "--store")


def test_out_under_a_file_names_out(run_id, a_file, capsys):
    assert main(["runs", "export", run_id, "--out", str(a_file / "x.csv")]) == 2
    _one_line(capsys, "--out")
    assert main(["runs", "export", run_id, "--out", f"{a_file}/"]) == 2
    _one_line(capsys, "--out")
    assert a_file.read_text() == "not a directory\n"


def test_sweep_export_and_report_follow_the_same_rules(store_path, tmp_path, a_file, capsys):
    store = RunStore(store_path)
    spec = {"grid": [["gamma", [0.1]]], "seeds": [0], "mode": "sgd", "configs": [],
            "config_hashes": []}  # fmt: skip
    store.create_sweep("expander", spec, sweep_id="sw1")
    out = tmp_path / "rows.csv"
    out.write_text("keep\n")
    assert main(["sweep", "export", "sw1", "--out", str(out)]) == 2
    assert "--force" in _one_line(capsys, "--out")
    assert out.read_text() == "keep\n"
    assert main(["sweep", "export", "sw1", "--out", str(out), "--force"]) == 0
    capsys.readouterr()
    assert out.read_text().strip() == ""  # a sweep with no planned runs: no rows
    assert main(["sweep", "export", "sw1", "--out", str(a_file / "x.csv")]) == 2
    _one_line(capsys, "--out")
    assert main(["sweep", "export", "sw1", "--out", f"{tmp_path / 'd'}/", "--format", "json"]) == 0
    assert (tmp_path / "d" / "sw1.json").exists()


def _run_unprivileged(args: list[str], warm_store: Path) -> subprocess.CompletedProcess:
    """The CLI as a user without root's override of file modes (root: drop to nobody after
    importing everything the command needs, by running it once on a writable store)."""
    script = textwrap.dedent(
        f"""
        import contextlib, io, os, sys
        import theoryscope.cli.main as m
        args = {args!r}
        if os.geteuid() == 0:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                m.main([*args[:-1], {str(warm_store)!r}])
            os.setgid(65534)
            os.setuid(65534)
        sys.exit(m.main(args))
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_read_only_directory_names_the_option():
    base = Path(tempfile.mkdtemp(prefix="ts-ro-"))  # traversable by nobody (not under /root)
    try:
        base.chmod(0o755)
        ro = base / "ro"
        ro.mkdir()
        RunStore(ro / "runs.sqlite").create_run("expander", {"k": 1}, seed=0)
        ro.chmod(0o555)
        for args, option in (
            (["runs", "list", "--store", str(ro / "new.sqlite")], "--store"),
            (["runs", "delete", "nope", "--store", str(ro / "runs.sqlite")], "--store"),
        ):
            proc = _run_unprivileged(args, base / "warm" / "runs.sqlite")
            assert proc.returncode == 2, proc.stderr
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: {option}: "), proc.stderr
            assert "read-only" in lines[0]
    finally:
        (base / "ro").chmod(0o755)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_export_into_a_read_only_directory_names_out(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="ts-ro-"))
    try:
        base.chmod(0o755)
        store = base / "runs.sqlite"
        s = RunStore(store)
        run_id = s.create_run("expander", {"k": 1}, seed=0)
        s.finish_run(run_id, status="finished")
        ro = base / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        os.chmod(store, 0o666)
        for suffix in ("-wal", "-shm"):
            if Path(f"{store}{suffix}").exists():
                os.chmod(f"{store}{suffix}", 0o666)
        base.chmod(0o777)
        script_args = ["runs", "export", run_id, "--out", str(ro / "x.csv"), "--store", str(store)]
        proc = _run_unprivileged(script_args, base / "warm.sqlite")
        assert proc.returncode == 2, proc.stderr
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("error: out: ") and "ermission denied" in line
        assert list(ro.iterdir()) == []
    finally:
        (base / "ro").chmod(0o755)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_figure_out_under_a_file_names_out(a_file, store_path, capsys):
    """Experiment commands write figures through the same writer (plots.save_figure)."""
    assert main(["widenets", "propagate", "--out", str(a_file)]) == 2
    _one_line(capsys, "--out")
    assert main(["expander", "theory", "--figure", str(a_file / "theory.png")]) == 2
    capsys.readouterr()
    assert main(["expander", "theory", "--figure", str(a_file.parent / "theory.xyz")]) == 2
    assert "allowed: " in capsys.readouterr().err
    assert a_file.read_text() == "not a directory\n"
