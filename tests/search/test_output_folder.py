"""`output` takes a new or empty folder only: a run never overwrites files that are not its own, never
writes into the dataset, and a file in the way is one clear error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from zazu.cli import cli
from zazu.errors import ConfigError
from zazu.run_records import check_output_free


def test_a_new_or_empty_folder_is_free(tmp_path):
    check_output_free(str(tmp_path / "new"))
    check_output_free(str(tmp_path))  # empty


def test_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match=r"`output` names a file\. Expected a new or empty folder"):
        check_output_free(str(tmp_path / "afile"))


def test_a_folder_with_files_that_are_not_a_run_is_refused(tmp_path):
    (tmp_path / "report.html").write_text("mine")
    with pytest.raises(ConfigError, match="holds files that are not a Zazu run"):
        check_output_free(str(tmp_path))


@pytest.mark.parametrize("inside", [".", "runs/one"])
def test_a_folder_in_the_dataset_is_refused(tmp_path, inside):
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ConfigError, match="inside the dataset folder"):
        check_output_free(str(data / inside) if inside != "." else str(data), str(data))


def test_the_cli_refuses_before_anything_is_written(tmp_path, shapes_dataset):
    output = tmp_path / "mine"
    output.mkdir()
    (output / "leaderboard.csv").write_text("my own numbers")
    result = CliRunner().invoke(cli, ["search", "--data", str(shapes_dataset), "--output", str(output),
                                      "--models", "tiny_cnn", "--max-trials", "1", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert "holds files that are not a Zazu run" in result.output and "Traceback" not in result.output
    assert [p.name for p in output.iterdir()] == ["leaderboard.csv"]
    assert (output / "leaderboard.csv").read_text() == "my own numbers"
