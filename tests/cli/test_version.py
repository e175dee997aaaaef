"""``swirl --version`` names the installed package's version and starts nothing."""

from importlib.metadata import version

from typer.testing import CliRunner

from swirl_wm.cli.main import app


def test_version_prints_the_installed_version_and_exits() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"swirl-wm {version('swirl-wm')}\n"
    listed = CliRunner().invoke(app, ["--help"])
    assert listed.exit_code == 0 and "--version" in listed.output and "train" in listed.output
    assert CliRunner().invoke(app, ["--version", "train", "missing.yaml"]).exit_code == 0  # eager: nothing runs
