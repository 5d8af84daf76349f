"""Property-based fuzzing of every CLI command's options (hypothesis).

The commands are discovered by walking the click tree that typer builds from
``theoryscope.cli.main.app`` (every group attached), so a command added or derived later is
fuzzed too. Each example runs one command in this process with a tiny baseline (so a run that
passes validation stays cheap) and one to three options replaced by hostile values: huge
integers, ``1e9``, negatives, NaN, inf, empty strings, unicode (also non-UTF-8 argv bytes as
lone surrogates), very long strings, and paths (a file where a directory is expected, a
device, a FIFO, a missing directory, a trailing slash).

Properties, for every example:
- the exit code is 0, 2, 3 or 130 (finished, bad input, diverged, interrupted);
- no ``Traceback`` and no ``internal error`` in the output;
- exit 2 is one ``error: ...`` line and stores nothing (no new run, no new sweep).

Bounded: ``max_examples`` per command (10; ``THEORYSCOPE_FUZZ_EXAMPLES=30`` for a thorough
pass), no shrinking, derandomized (the same examples in every run, so CI is stable), an 8 GiB
address-space cap (a value that makes a command allocate
terabytes fails instead of exhausting the machine) and a per-example time limit.

Defects found in modules this suite does not own are pinned as strict xfails in
:data:`KNOWN_DEFECTS` (and kept out of the random examples), so that they show in every run and
turn into a failure (XPASS) when fixed.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from theoryscope.cli import main as cli_main  # noqa: E402

ALLOWED_EXIT = {0, 2, 3, 130}
MAX_EXAMPLES = int(os.environ.get("THEORYSCOPE_FUZZ_EXAMPLES", "10"))
SECONDS_PER_EXAMPLE = 60  # a hang, not a slow compile on a loaded machine
ADDRESS_SPACE = 8 * 2**30

#: Commands never fuzzed: ``serve`` blocks serving HTTP (fuzzed by the web tests).
SKIP = {("serve",)}


def _options(config_cls: Any, values: dict[str, Any]) -> list[str]:
    """Command-line options that set ``values`` (fields by their option, inputs by theirs)."""
    from theoryscope.cli.derive import options_for

    return options_for(config_cls, values)


def _tiny_preset(experiment: Any, command: str = "run") -> dict[str, Any]:
    """The ``tiny`` preset as a command runs it: the preset ``tiny-<command>`` where one is
    declared (a command whose mode needs other sizes), else ``tiny`` without the fields the
    command fixes and without those its fixed mode does not use (the fields' ``modes``)."""
    presets = {p.name: dict(p.values) for p in experiment.presets}
    if f"tiny-{command}" in presets:
        return presets[f"tiny-{command}"]
    tiny = presets.get("tiny", {})
    fixed = experiment.commands.get(command, {})
    mode = fixed.get("mode")
    specs = {spec.name: spec for spec in experiment.config.fields()}
    return {
        k: v for k, v in tiny.items()
        if k not in fixed and not (mode and k in specs and specs[k].modes
                                   and mode not in specs[k].modes)
    }  # fmt: skip


def tiny_baselines() -> dict[tuple[str, ...], list[str]]:
    """A cheap valid baseline per command, derived from the declarations: each experiment's
    ``tiny`` preset for its runs, theory and sweep, each study's declared ``tiny`` parameters.
    Commands with neither (a study that declares no tiny parameters) are not fuzzed."""
    from theoryscope.protocol import all_experiments

    out: dict[tuple[str, ...], list[str]] = {}
    for exp in all_experiments():
        if exp.config is None:
            continue
        tiny = _tiny_preset(exp)
        for command in ["run", *exp.commands]:
            values = _tiny_preset(exp, command)
            out[(exp.name, command)] = [*_options(exp.config, values), "--no-figure", "--json"]
        out[(exp.name, "theory")] = [*_options(exp.config, tiny), "--json"]
        out[(exp.name, "presets")] = ["--json"]
        for study in exp.studies:
            if study.tiny is not None:
                out[(exp.name, study.name)] = [*_options(study.params, dict(study.tiny)),
                                               "--no-figure", "--json"]  # fmt: skip
        settings = {k: v for k, v in tiny.items() if k not in exp.hooks.sweep_settings}
        out[("sweep", exp.name)] = ["--executor", "serial", "--quiet", "--json", "--seeds", "0",
                                    *_options(exp.config, settings)]  # fmt: skip
    return out


TINY = tiny_baselines()


def _never() -> dict[tuple[str, ...], dict[str, set[str]]]:
    """Values an option must never take: a real process pool or cluster is slow (the serial
    executor is fuzzed instead), and a preset other than ``tiny`` is a real (long) run."""
    from theoryscope.protocol import all_experiments

    out: dict[tuple[str, ...], dict[str, set[str]]] = {}
    for exp in all_experiments():
        presets = {p.name for p in exp.presets} - {"tiny"}
        for command in ["run", "theory", *exp.commands]:
            out[(exp.name, command)] = {"--preset": presets}
        out[("sweep", exp.name)] = {"--executor": {"local", "dask"},
                                    "--preset": {p.name for p in exp.sweeps}}  # fmt: skip
    return out


NEVER = _never()

#: Options not fuzzed in a command because a valid value is merely slow, not wrong.
SLOW_OPTIONS: dict[tuple[str, ...], set[str]] = {}

#: Every run the fuzz starts is refused before it starts if its declared estimate exceeds this
#: (set only while an example runs: see :func:`run_example`).
MAX_SECONDS = "20"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError, OverflowError):
        return None


def _at_least(bound: float) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        value = _number(text)
        return value is not None and value >= bound  # NaN: False

    return check


def _unwritable_dir(text: str) -> bool:
    """An --out the sandbox makes unusable as a directory (a file, FIFO, link, device, a name
    longer than a filesystem allows)."""
    parts = text.replace("\\", "/").split("/")
    return (
        any(p in {"a_file", "a_fifo", "a_link"} for p in parts)
        or text.startswith("/dev/")
        or any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts)
    )


@dataclass(frozen=True)
class Known:
    """A defect in a module this suite does not own: the inputs that trigger it, an example
    (strict xfail below) and the reason, naming the module that must fix it."""

    applies: Callable[[tuple[str, ...]], bool]
    options: str | tuple[str, ...]
    matches: Callable[[str], bool]
    example: tuple[str, ...]
    reason: str


KNOWN_DEFECTS: list[Known] = []  # none open: every pinned defect was fixed


# -- the command tree ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One option (``opts``) or argument (``opts == ()``) of a command."""

    name: str
    opts: tuple[str, ...]
    secondary: tuple[str, ...]
    is_flag: bool
    multiple: bool

    @property
    def is_argument(self) -> bool:
        return not self.opts


def command_tree() -> dict[tuple[str, ...], list[Param]]:
    """Every leaf command (path of names) with its parameters, from the click tree."""
    root = typer.main.get_command(cli_main.build_app())
    out: dict[tuple[str, ...], list[Param]] = {}

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):  # a group (typer vendors click: match by shape)
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, (*path, name))
            return
        params = []
        for p in cmd.params:
            if p.param_type_name == "argument":
                params.append(Param(p.name, (), (), False, False))
            elif p.param_type_name == "option" and "--help" not in p.opts:
                params.append(
                    Param(p.name, tuple(p.opts), tuple(p.secondary_opts), bool(p.is_flag),
                          bool(p.multiple))
                )  # fmt: skip
        out[path] = params

    walk(root, ())
    return out


COMMANDS = command_tree()
FUZZED = sorted(path for path in COMMANDS if path not in SKIP)


# -- hostile values ------------------------------------------------------------------------------
HOSTILE_NUMBERS = [
    str(10**30), str(-(10**30)), str(2**63), str(-(2**63) - 1), str(2**31), "1e9", "1e308",
    "-1e308", "1e-320", "-1", "-0", "0", "-0.0", "nan", "NaN", "-nan", "inf", "-inf",
    "Infinity", "1e999", "0x10", "1_000", "0b1", "1.5", "+2", " 3 ", "1,2,3", "1,,2", ",",
    "1;2", "1-", "-", "0-9999999999999", "3-1", "٣", "１", "²",
]  # fmt: skip
HOSTILE_TEXT = [
    "", " ", "\t", "é", "日本語", "\u200b", "\udcff", "a\udcfeb", "x" * 5000, "1" * 5000,
    "9" * 400, "-" * 3, "--json", "--help", "a=b", "=", "gamma=", "=1", "alpha=1,0:",
    "gamma=nan", "k=1e30", "steps=-1", "None", "null", "true", "{}", "[]", "'", '"', "%s", "$HOME",
    "../x", "run;rm", "\n", "a\nb",
]  # fmt: skip
PLAUSIBLE = ["1", "2", "3", "0.5", "0.1", "1e-3", "relu", "tanh", "csv", "json", "npz", "gd",
             "flow", "sgd", "sign", "0-1"]  # fmt: skip


@dataclass
class Sandbox:
    """The working directory and store of one command's fuzzing, with paths worth trying."""

    root: Path
    store: Path
    run_id: str | None
    sweep_id: str | None

    def paths(self) -> list[str]:
        r = self.root
        return [
            "", ".", "new_dir/", "new/nested/dir/", "a_file", "a_file/", "a_file/x.png",
            "a_fifo", "a_link", "existing_dir", "x.xyz", "x" * 300, "ü/ñ.png", "\udcff",
            str(r / "a_file" / "deeper"), str(r / "new_abs") + "/", "/dev/null",
        ]  # fmt: skip

    def ids(self) -> list[str]:
        return [i for i in (self.run_id, self.sweep_id) if i] + ["nope", "", "\udcff", "x" * 500]


def _value_strategy(param: Param, box: Sandbox) -> st.SearchStrategy[str]:
    pathish = param.name in {"out", "figure", "store_path", "store"} or param.name.endswith("path")
    pools: list[st.SearchStrategy[str]] = [
        st.sampled_from(HOSTILE_NUMBERS),
        st.sampled_from(HOSTILE_TEXT),
        st.sampled_from(PLAUSIBLE),
        st.integers(min_value=10**12, max_value=10**40).map(str),
        st.integers(min_value=-(10**40), max_value=0).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.text(
            alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
            max_size=12,
        ),
    ]
    if pathish:
        pools.insert(0, st.sampled_from(box.paths()))
    if param.is_argument:
        pools.insert(0, st.sampled_from(box.ids()))
    return st.one_of(*pools)


def _argv_strategy(path: tuple[str, ...], box: Sandbox) -> st.SearchStrategy[list[str]]:
    params = COMMANDS[path]
    slow = SLOW_OPTIONS.get(path, set())
    options = [p for p in params if not p.is_argument and not set(p.opts) & slow]
    arguments = [p for p in params if p.is_argument]
    never = NEVER.get(path, {})

    @st.composite
    def build(draw: Any) -> list[str]:
        argv = [*path]
        for arg in arguments:
            argv.append(draw(_value_strategy(arg, box)))
        argv += TINY.get(path, [])
        if not options:
            return argv
        chosen = draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True))
        for opt in chosen:
            if opt.is_flag:
                argv.append(draw(st.sampled_from(list(opt.opts + opt.secondary))))
                continue
            value = draw(_value_strategy(opt, box))
            if value in never.get(opt.opts[0], ()):
                value = "serial" if opt.opts[0] == "--executor" else "nope"
            argv += [opt.opts[0], value]
        return argv

    return build()


# -- running one example -------------------------------------------------------------------------
class _TooSlow(BaseException):
    """Raised by the alarm when one example runs past its time limit."""


@contextlib.contextmanager
def _limits() -> Iterator[None]:
    """The address-space cap and the per-example alarm (restored afterwards)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(ADDRESS_SPACE, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))

    def alarm(signum: int, frame: Any) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _count(store: Path, table: str) -> int:
    if not store.exists():
        return 0
    with contextlib.closing(sqlite3.connect(store)) as conn:
        try:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        except sqlite3.Error:
            return 0


@dataclass
class Result:
    argv: list[str]
    code: int | str
    out: str
    err: str
    new_runs: int
    new_sweeps: int


def run_example(argv: list[str], box: Sandbox, seconds: float = SECONDS_PER_EXAMPLE) -> Result:
    """Run ``theoryscope <argv>`` in this process inside ``box`` and capture everything."""
    runs, sweeps = _count(box.store, "runs"), _count(box.store, "sweeps")
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(box.root)
    previous_limit = os.environ.get("THEORYSCOPE_MAX_SECONDS")
    os.environ["THEORYSCOPE_MAX_SECONDS"] = MAX_SECONDS
    code: int | str
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                code = cli_main.main([*argv, *_store_args(argv, box)])
            except _TooSlow:
                code = f"took over {seconds} s"
            except SystemExit as exit_:
                code = f"SystemExit({exit_.code})"
            except BaseException as exc:  # noqa: BLE001 - anything escaping main is the finding
                code = f"raised {type(exc).__name__}: {exc}"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        os.chdir(cwd)
        if previous_limit is None:
            os.environ.pop("THEORYSCOPE_MAX_SECONDS", None)
        else:
            os.environ["THEORYSCOPE_MAX_SECONDS"] = previous_limit
    return Result(
        argv, code, out.getvalue(), err.getvalue(),
        _count(box.store, "runs") - runs, _count(box.store, "sweeps") - sweeps,
    )  # fmt: skip


def _store_args(argv: list[str], box: Sandbox) -> list[str]:
    """``--store`` pointing into the sandbox unless the example fuzzes it (or has none)."""
    has_store = any(p.opts and p.opts[0] == "--store" for p in COMMANDS.get(_path_of(argv), []))
    if not has_store or "--store" in argv:
        return []
    return ["--store", str(box.store)]


def _path_of(argv: list[str]) -> tuple[str, ...]:
    for n in (2, 1):
        if tuple(argv[:n]) in COMMANDS:
            return tuple(argv[:n])
    return tuple(argv[:2])


def violations(r: Result) -> list[str]:
    """What is wrong with one example's outcome (empty: nothing)."""
    found = []
    text = r.out + r.err
    if r.code not in ALLOWED_EXIT:
        found.append(f"exit code {r.code!r}")
    if "Traceback" in text:
        found.append("a traceback")
    if "internal error" in text:
        found.append("internal error")
    if r.code == 2:
        lines = r.err.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: "):
            found.append(f"exit 2 without one error line: {r.err.strip()[:200]!r}")
        if r.new_runs > 0 or r.new_sweeps > 0:
            found.append(f"exit 2 but stored {r.new_runs} run(s), {r.new_sweeps} sweep(s)")
    return found


def describe(r: Result, found: list[str]) -> str:
    shown = [a if len(a) < 60 else a[:20] + f"...({len(a)} chars)" for a in r.argv]
    return f"theoryscope {' '.join(map(repr, shown))}: {'; '.join(found)}\n{r.err[-800:]}"


# -- sandboxes -----------------------------------------------------------------------------------
def make_sandbox(root: Path) -> Sandbox:
    """A directory with a file, a FIFO, a symlink and a directory to aim paths at, and a store
    holding one finished run and one finished sweep (so ids and exports have something)."""
    import numpy as np

    from theoryscope.store import RunStore

    root.mkdir(parents=True, exist_ok=True)
    (root / "a_file").write_text("keep me\n")
    os.mkfifo(root / "a_fifo")
    (root / "a_link").symlink_to(root / "a_file")
    (root / "existing_dir").mkdir()
    store_path = root / "runs.sqlite"
    store = RunStore(store_path)
    run_id = store.create_run("expander", {"k": 8}, seed=0)
    store.append_series(run_id, {"step": np.arange(3), "loss": np.array([1.0, np.nan, 0.5])})
    store.finish_run(run_id, status="finished", summary={"steps": 3})
    sweep_id = store.create_sweep(
        "expander",
        {"grid": [["gamma", [0.1]]], "seeds": [0], "mode": "sgd", "configs": [],
         "config_hashes": []},
    )  # fmt: skip
    return Sandbox(root, store_path, run_id, sweep_id)


def _option_values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == option]


def _is_known(path: tuple[str, ...], argv: list[str]) -> bool:
    """Whether ``argv`` triggers a defect pinned in :data:`KNOWN_DEFECTS`."""
    return any(
        k.applies(path)
        and any(
            k.matches(v)
            for option in ((k.options,) if isinstance(k.options, str) else k.options)
            for v in _option_values(argv, option)
        )
        for k in KNOWN_DEFECTS
    )


# -- the tests -----------------------------------------------------------------------------------
def test_every_command_is_discovered():
    """The tree walk finds every group's commands (so new ones are fuzzed without listing)."""
    from theoryscope.protocol import all_experiments

    groups = {path[0] for path in COMMANDS}
    declared = {e.name for e in all_experiments() if e.config is not None}  # others have no CLI
    assert {"runs", "sweep", "report"} | declared <= groups
    assert ("runs", "export") in COMMANDS and ("widenets", "lazy") in COMMANDS
    experiments = {e.name for e in all_experiments()}
    missing = [
        p
        for p in FUZZED
        if p not in TINY and (p[0] in experiments or (p[0] == "sweep" and p[1] in experiments))
    ]
    assert not missing, f"declare a tiny preset (runs) or Study.tiny (studies) for {missing}"


@pytest.mark.parametrize("path", FUZZED, ids=[" ".join(p) for p in FUZZED])
def test_fuzz_command_options(path, tmp_path_factory):
    box = make_sandbox(tmp_path_factory.mktemp("fuzz-" + "-".join(path)))
    failures: list[str] = []

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(argv=_argv_strategy(path, box))
    def fuzz(argv: list[str]) -> None:
        if _is_known(path, argv):
            return
        result = run_example(argv, box)
        found = violations(result)
        if found:
            failures.append(describe(result, found))

    with _limits():
        fuzz()
    assert not failures, f"{len(failures)} failing input(s):\n" + "\n".join(failures[:5])


@pytest.mark.parametrize(
    "known",
    [pytest.param(k, marks=pytest.mark.xfail(strict=True, reason=k.reason), id=" ".join(
        a if len(a) < 20 else a[:8] + "..." for a in k.example)) for k in KNOWN_DEFECTS],
)  # fmt: skip
def test_known_defect(known, tmp_path):
    """Each pinned defect, run once: fails now (xfail); passes (XPASS, an error) once fixed."""
    box = make_sandbox(tmp_path / "box")
    path = _path_of(list(known.example))
    assert known.applies(path)
    with _limits():
        result = run_example(list(known.example), box, seconds=5)
    found = violations(result)
    assert not found, describe(result, found)
