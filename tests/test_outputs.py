"""Outputs: never a file the run reads, all of them or none, no half line in a log, no scratch left.

Library tests of :mod:`losscli.outputs` and :class:`losscli.io.TableWriter`, then the CLI:
every case where an output would replace a file the run reads asserts that file's bytes are
unchanged. Disk-full and unwritable-directory cases run the program under a file-size limit
(RLIMIT_FSIZE: a write past it is short, then EFBIG) or, where the machine allows it, in a
private mount namespace with a small or read-only tmpfs (real ENOSPC and EROFS).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess

import numpy as np
import pytest
from support import LOSSCLI, ROOT, SAMPLES, assert_bad_input, program_env, run

from losscli.errors import LossCliError
from losscli.io import FileError, TableWriter, read_table
from losscli.outputs import OutputClashError, OutputSet, check_outputs

PRED, TARGET = SAMPLES / "outliers_pred.csv", SAMPLES / "outliers_target.csv"
LOGITS, CLASS_IDS = SAMPLES / "multiclass_logits.csv", SAMPLES / "multiclass_labels.csv"


def write(folder, name, text):
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def leftovers(folder) -> list[str]:
    """Scratch and temporary files an interrupted or failed write could leave behind."""
    return sorted(name for name in os.listdir(folder) if name.endswith((".raw", ".tmp")))


# --- check_outputs -----------------------------------------------------------------------------

def test_an_output_reached_by_another_spelling_symlink_or_hard_link_is_the_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = write(tmp_path, "preds.csv", "a\n1\n")
    os.link(source, tmp_path / "hard.csv")
    os.symlink(source, tmp_path / "soft.csv")
    (tmp_path / "sub").mkdir()
    for alias in ("./sub/../preds.csv", "hard.csv", "soft.csv", str(source)):
        with pytest.raises(OutputClashError) as excinfo:
            check_outputs(["targets.csv", "preds.csv"], {"--log": alias})
        assert (excinfo.value.option, excinfo.value.output, excinfo.value.other) == ("--log", alias, "preds.csv")
        assert str(excinfo.value) == (f"--log {alias}: refusing to overwrite the input file preds.csv "
                                      "(write the output to another path)")


def test_a_symlinked_input_is_compared_by_what_it_points_at(tmp_path):
    source = write(tmp_path, "preds.csv", "a\n1\n")
    os.symlink(source, tmp_path / "link.csv")
    with pytest.raises(OutputClashError, match="the input file .*link.csv"):
        check_outputs([str(tmp_path / "link.csv")], {"--gradient": str(source)})


def test_an_output_that_does_not_exist_yet_compares_by_its_resolved_path(tmp_path):
    with pytest.raises(OutputClashError):
        check_outputs([str(tmp_path / "new.csv")], {"--per-sample": str(tmp_path / "." / "new.csv")})
    os.symlink(tmp_path / "new.csv", tmp_path / "dangling.csv")  # a link to a file yet to be written
    with pytest.raises(OutputClashError):
        check_outputs([str(tmp_path / "new.csv")], {"--per-sample": str(tmp_path / "dangling.csv")})


def test_two_outputs_that_are_one_file_clash(tmp_path):
    out = write(tmp_path, "out.csv", "")
    os.link(out, tmp_path / "same.csv")
    with pytest.raises(OutputClashError) as excinfo:
        check_outputs([], {"--per-sample": str(out), "--gradient": str(tmp_path / "same.csv")})
    assert str(excinfo.value) == (f"--per-sample and --gradient both write {out} (as {tmp_path / 'same.csv'}): "
                                  "give two different paths")
    assert excinfo.value.other_option == "--per-sample"


def test_distinct_paths_stdin_urls_stdout_and_unset_outputs_are_fine(tmp_path):
    source = write(tmp_path, "preds.csv", "a\n1\n")
    check_outputs([str(source), "-", "s3://bucket/preds.csv"],
                  {"--per-sample": str(tmp_path / "loss.csv"), "--gradient": None, "--out": "-"})


# --- TableWriter -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_blocks_appended_in_batches_are_one_table_with_the_scaled_block_scaled(tmp_path, name):
    path = str(tmp_path / name)
    loss, gradient = np.arange(5.0), np.arange(10.0).reshape(5, 2)
    writer = TableWriter(path)
    for rows in (slice(0, 2), slice(2, 2), slice(2, 5)):  # an empty batch too
        writer.append(loss=loss[rows], grad=gradient[rows])
    writer.finish({"grad": 0.5}, {"grad": ["grad_a", "grad_b"]})
    assert not os.path.exists(path)  # nothing in place before the commit
    writer.commit()
    table = read_table(path)
    assert table.columns == ("loss", "grad_a", "grad_b")
    np.testing.assert_array_equal(table.values, np.column_stack([loss, 0.5 * gradient]))
    assert leftovers(tmp_path) == []


def test_text_blocks_are_text_columns_and_default_names_count_from_one(tmp_path):
    path = tmp_path / "t.csv"
    writer = TableWriter(str(path))
    writer.append(id=np.array(["a", "b"], dtype=object), loss=np.array([[1.0, 2.0], [3.0, np.nan]]))
    writer.finish()
    writer.commit()
    assert path.read_text() == 'id,loss_1,loss_2\n"a",1,2\n"b",3,nan\n'  # the header unquoted


def test_npy_keeps_the_shape_of_one_block_and_refuses_text(tmp_path):
    cube = np.arange(24.0).reshape(4, 3, 2)
    writer = TableWriter(str(tmp_path / "g.npy"))
    writer.append(grad=cube[:1])
    writer.append(grad=cube[1:])
    writer.finish({"grad": -2.0})
    writer.commit()
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"), -2.0 * cube)
    writer = TableWriter(str(tmp_path / "ids.npy"))
    with pytest.raises(FileError, match="column id holds text: write a .csv or .parquet file, not .npy"):
        writer.append(id=np.array(["a"], dtype=object))
    writer.discard()
    assert sorted(os.listdir(tmp_path)) == ["g.npy"]


def test_a_discarded_table_leaves_the_old_file_and_no_scratch(tmp_path):
    old = write(tmp_path, "loss.csv", "old\n")
    writer = TableWriter(str(old))
    writer.append(loss=np.ones(3))
    writer.finish()
    assert len(leftovers(tmp_path)) == 1  # the finished file waits under a temporary name
    writer.discard()
    assert old.read_text() == "old\n" and leftovers(tmp_path) == []


# --- OutputSet ---------------------------------------------------------------------------------

def test_a_set_commits_its_tables_and_log_lines_together(tmp_path):
    loss, log = str(tmp_path / "loss.csv"), str(tmp_path / "runs.jsonl")
    with OutputSet({"--per-sample": loss, "--log": log, "--gradient": None}) as outputs:
        outputs.table(loss).append(loss=np.array([1.0, 2.0]))
        outputs.table(loss).finish()
        outputs.append_line(log, b'{"value": 1}\n')
        assert sorted(os.listdir(tmp_path)) != ["loss.csv", "runs.jsonl"]
        outputs.commit()
    assert sorted(os.listdir(tmp_path)) == ["loss.csv", "runs.jsonl"]
    assert (tmp_path / "runs.jsonl").read_text() == '{"value": 1}\n'


def test_a_failing_commit_takes_the_log_line_back_and_writes_no_table(tmp_path, monkeypatch):
    loss, log = tmp_path / "loss.csv", write(tmp_path, "runs.jsonl", '{"value": 0}\n')
    with pytest.raises(FileError, match="cannot write"), OutputSet({"--per-sample": str(loss),
                                                                    "--log": str(log)}) as outputs:
        outputs.table(str(loss)).append(loss=np.ones(2))
        outputs.table(str(loss)).finish()
        outputs.append_line(str(log), b'{"value": 1}\n')
        monkeypatch.setattr(os, "replace", lambda *_: (_ for _ in ()).throw(OSError(28, "No space left")))
        outputs.commit()
    assert log.read_text() == '{"value": 0}\n'
    assert sorted(os.listdir(tmp_path)) == ["runs.jsonl"]


def test_a_set_left_without_commit_writes_nothing(tmp_path):
    loss = str(tmp_path / "loss.parquet")
    with pytest.raises(LossCliError), OutputSet({"--per-sample": loss}) as outputs:
        outputs.table(loss).append(loss=np.ones(2))
        raise LossCliError("the run failed")
    assert os.listdir(tmp_path) == []


def test_undeclared_outputs_and_unwritable_places_are_refused_up_front(tmp_path):
    with pytest.raises(ValueError, match="not a declared output"):
        OutputSet({"--log": str(tmp_path / "a.jsonl")}).append_line(str(tmp_path / "b.jsonl"), b"x\n")
    with pytest.raises(FileError, match="is a directory"):
        OutputSet({"--log": str(tmp_path)})
    with pytest.raises(FileError, match="directory .*missing does not exist"):
        OutputSet({"--per-sample": str(tmp_path / "missing" / "loss.csv")})


# --- the CLI never writes over what it reads ----------------------------------------------------

def assert_refused(args, protected, *fragments):
    before = {path: path.read_bytes() for path in protected}
    assert_bad_input(run(*args), "refusing to overwrite the input file", *fragments)
    assert {path: path.read_bytes() for path in protected} == before


def test_log_onto_the_predictions_file_is_refused(tmp_path):
    pred = write(tmp_path, "pred.csv", PRED.read_bytes())
    assert_refused(("compute", "mse", pred, TARGET, "--log", pred), [pred], "--log")


def test_outputs_through_a_symlink_onto_an_input_are_refused(tmp_path):
    pred = write(tmp_path, "pred.csv", PRED.read_bytes())
    os.symlink(pred, tmp_path / "link.csv")
    for option in ("--per-sample", "--gradient", "--log"):
        assert_refused(("compute", "mse", tmp_path / "link.csv", TARGET, option, pred), [pred], option)
        assert_refused(("compute", "mse", pred, TARGET, option, tmp_path / "link.csv"), [pred], option)


def test_an_output_onto_the_group_by_file_is_refused(tmp_path):
    groups = write(tmp_path, "groups.csv", "segment\na\nb\na\nb\n")
    assert_refused(("compute", "mse", PRED, TARGET, "--group-by", f"{groups}:segment", "--per-sample", groups),
                   [groups], "--per-sample")


def test_an_output_onto_a_parameter_file_is_refused(tmp_path):
    class_weights = write(tmp_path, "cw.csv", "w\n1\n2\n0.5\n")
    assert_refused(("compute", "softmax_cross_entropy", LOGITS, CLASS_IDS, "-p", f"weight={class_weights}",
                    "--gradient", class_weights), [class_weights], "--gradient", "cw.csv")


def test_an_output_onto_a_member_of_a_glob_or_directory_is_refused(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    first, second = write(parts, "a.csv", "pred\n1.5\n2.5\n"), write(parts, "b.csv", "pred\n3.5\n4\n")
    assert_refused(("compute", "mse", parts / "*.csv", TARGET, "--per-sample", second), [first, second], "b.csv")
    assert_refused(("compute", "mse", parts, TARGET, "--log", first), [first, second], "a.csv")


@pytest.mark.slow
def test_an_output_onto_the_file_behind_stdin_is_refused(tmp_path):
    pred = write(tmp_path, "pred.csv", PRED.read_bytes())
    with open(pred, "rb") as stdin:
        result = subprocess.run([*LOSSCLI, "compute", "mse", "-", str(TARGET), "--log", str(pred)], stdin=stdin,
                                capture_output=True, text=True, env=program_env(), cwd=ROOT, timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"Error: --log {pred}: refusing to overwrite the input file stdin "
                             "(write the output to another path)\n")
    assert pred.read_bytes() == PRED.read_bytes()


# --- all outputs or none; no half line; no scratch ------------------------------------------------

def run_limited(args, file_size_limit: int, cwd) -> subprocess.CompletedProcess:
    """``python -m losscli ARGS`` unable to grow any file past ``file_size_limit`` bytes."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([*LOSSCLI, *map(str, args)], capture_output=True, text=True, env=program_env(),
                          cwd=cwd, timeout=120, preexec_fn=limit)


def one_error_line(result) -> str:
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr.strip()


@pytest.mark.slow
def test_a_log_that_cannot_grow_leaves_the_per_sample_file_unwritten(tmp_path):
    # The log is already past the limit: appending fails after the per-sample file (a few
    # dozen bytes) is ready. Before: --per-sample was written, then --log failed with exit 2.
    log = write(tmp_path, "runs.jsonl", "\n" * 5000)
    result = run_limited(["compute", "mse", PRED, TARGET, "--per-sample", "loss.csv", "--log", log], 4096, tmp_path)
    assert one_error_line(result) == f"Error: {log}: cannot write: File too large"
    assert sorted(os.listdir(tmp_path)) == ["runs.jsonl"] and log.read_text() == "\n" * 5000


@pytest.mark.slow
def test_a_short_write_to_the_log_is_truncated_back(tmp_path):
    # 10 bytes of room: the kernel writes 10 bytes of the line and stops.
    log = write(tmp_path, "runs.jsonl", "\n" * 4086)
    result = run_limited(["compute", "mse", PRED, TARGET, "--log", log], 4096, tmp_path)
    assert one_error_line(result).startswith(f"Error: {log}: cannot write: wrote 10 of ")
    assert log.read_text() == "\n" * 4086


@pytest.mark.slow
def test_a_full_disk_while_streaming_is_one_line_and_leaves_nothing(tmp_path):
    rows = 20000  # the per-sample scratch file outgrows the limit while batches stream in
    np.savetxt(tmp_path / "pred.csv", np.linspace(0, 1, rows), header="pred", comments="")
    np.savetxt(tmp_path / "target.csv", np.zeros(rows), header="target", comments="")
    result = run_limited(["compute", "mse", "pred.csv", "target.csv", "--per-sample", "loss.csv",
                          "--gradient", "grad.npy"], 100_000, tmp_path)
    assert one_error_line(result) in ("Error: loss.csv: cannot write: File too large",
                                      "Error: grad.npy: cannot write: File too large")
    assert sorted(os.listdir(tmp_path)) == ["pred.csv", "target.csv"]


def in_mount_namespace(tmp_path, mount_options: str, args) -> subprocess.CompletedProcess:
    """Run losscli with ``tmp_path/mnt`` a fresh tmpfs mounted with ``mount_options``, in a
    private user and mount namespace (nothing outside sees the mount); skip where not allowed."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1)")
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    probe = subprocess.run(["unshare", "-rm", "mount", "-t", "tmpfs", "tmpfs", str(mount_point)], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {probe.stderr.decode().strip()}")
    command = ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"',
               "sh", mount_options, str(mount_point), *LOSSCLI, *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, env=program_env(), cwd=tmp_path, timeout=120)


@pytest.mark.slow
def test_no_space_left_on_device_while_streaming(tmp_path):
    rows = 50000
    np.save(tmp_path / "pred.npy", np.linspace(0, 1, rows))
    np.save(tmp_path / "target.npy", np.zeros(rows))
    result = in_mount_namespace(tmp_path, "size=64k", ["compute", "mse", "pred.npy", "target.npy",
                                                       "--per-sample", "mnt/loss.csv"])
    assert one_error_line(result) == "Error: mnt/loss.csv: cannot write: No space left on device"


@pytest.mark.slow
def test_an_unwritable_output_directory_is_one_line(tmp_path):
    result = in_mount_namespace(tmp_path, "ro", ["compute", "mse", PRED, TARGET, "--gradient", "mnt/grad.csv"])
    assert one_error_line(result) == "Error: mnt/grad.csv: cannot write: Read-only file system"


def test_a_committed_run_has_every_output(tmp_path):
    log = tmp_path / "runs.jsonl"
    result = run("compute", "mse", PRED, TARGET, "--per-sample", tmp_path / "loss.csv",
                 "--gradient", tmp_path / "grad.csv", "--log", log, "-q")
    assert result.exit_code == 0
    # outliers example: residuals 0.5, 0.5, 0.5, -96 -> losses 0.25, 0.25, 0.25, 9216
    written = read_table(str(tmp_path / "loss.csv"))
    assert written.columns == ("row", "mse")
    np.testing.assert_array_equal(written.values, [[1, 0.25], [2, 0.25], [3, 0.25], [4, 9216]])
    assert json.loads(log.read_text())["value"] == 2304.1875
    assert leftovers(tmp_path) == []
