"""scripts/bench_peer_handwriting.py: how the peer is driven and how its text is scored."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_peer_handwriting.py"
spec = importlib.util.spec_from_file_location("bench_peer_handwriting", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_typographic_punctuation_counts_as_the_ascii_the_references_use():
    assert bench.normalise("\u201cIt\u2019s 3\u20134,\u201d  she said \u2014 ok\n") == "\"It's 3-4,\" she said - ok"


def test_case_and_other_characters_are_kept():
    assert bench.normalise("Caf\u00e9 OK") == "Caf\u00e9 OK"


def test_the_peer_reads_every_file_in_order_and_a_failure_costs_only_its_line(tmp_path, capsys):
    fake = tmp_path / "tesseract"
    fake.write_text('#!/bin/sh\ncase "$1" in *bad*) echo "Error: cannot read $1" >&2; exit 1;; esac\n'
                    'echo "text of $(basename "$1") threads=$OMP_THREAD_LIMIT"\n')
    fake.chmod(0o755)
    paths = [str(tmp_path / name) for name in ("a.png", "bad.png", "c.png")]
    texts, seconds = bench.read_with_tesseract(str(fake), paths, jobs=2)
    assert [bench.normalise(t) for t in texts] == ["text of a.png threads=1", "", "text of c.png threads=1"]
    assert seconds > 0
    assert "bad.png: Error: cannot read" in capsys.readouterr().err
