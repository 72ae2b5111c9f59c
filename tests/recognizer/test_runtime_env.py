"""The process environment: XLA flags only where they exist, never over the user's; the map-limit warning."""
from __future__ import annotations

from recognizer.runtime_env import (MAP_LIMIT_ADVISED, XLA_FEWER_MAPPINGS, configure, configure_training,
                                    map_limit_warning, xla_flags)


def _names(flags: str) -> set[str]:
    return {item.lstrip("-").split("=")[0] for item in flags.split()}


def test_flags_are_added_on_a_verified_tensorflow_only():
    added = xla_flags("", "2.21.0")
    assert _names(added) == {name for name, _ in XLA_FEWER_MAPPINGS}
    assert xla_flags("", "2.16.1") == ""  # an unknown flag would abort XLA
    assert xla_flags("--xla_dump_to=/tmp/x", None) == "--xla_dump_to=/tmp/x"


def test_the_users_own_flags_are_kept_and_win():
    flags = xla_flags("--xla_cpu_use_fusion_emitters=true --xla_dump_to=/tmp/x", "2.21.3")
    assert "--xla_cpu_use_fusion_emitters=true" in flags and "--xla_dump_to=/tmp/x" in flags
    assert "--xla_cpu_use_fusion_emitters=false" not in flags
    assert "--xla_cpu_parallel_codegen_split_count=1" in flags


def test_training_flags_come_once_and_the_environment_keeps_its_own(monkeypatch):
    env = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    monkeypatch.setattr("recognizer.runtime_env.tensorflow_version", lambda: "2.21.0")
    configure(env)
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "0" and env["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert "XLA_FLAGS" not in env  # inference keeps XLA's defaults
    configure_training(env)
    configure_training(env)  # twice (a re-import) adds nothing twice
    assert sorted(_names(env["XLA_FLAGS"])) == sorted(name for name, _ in XLA_FEWER_MAPPINGS)
    assert len(env["XLA_FLAGS"].split()) == len(XLA_FEWER_MAPPINGS)


def test_map_limit_warning_names_the_limit_and_the_fix(tmp_path):
    limit = tmp_path / "max_map_count"
    limit.write_text("65530\n")
    warning = map_limit_warning(str(limit))
    assert "65530" in warning and f"vm.max_map_count={MAP_LIMIT_ADVISED}" in warning and "\n" not in warning
    limit.write_text(f"{MAP_LIMIT_ADVISED}\n")
    assert map_limit_warning(str(limit)) is None
    assert map_limit_warning(str(tmp_path / "absent")) is None
