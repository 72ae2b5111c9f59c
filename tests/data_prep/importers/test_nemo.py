"""NeMo JSON-lines import: whole files, offset pieces cut to new files, bad lines skipped."""
from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from conftest import write_sine

from data_prep.__main__ import main
from data_prep.manifest import read_manifest


def test_nemo_manifest_with_offsets(tmp_path, capsys):
    long = write_sine(tmp_path / "audio" / "long.wav", 2.0, 300.0)
    write_sine(tmp_path / "audio" / "short.wav", 0.5, 500.0)
    lines = [
        {"audio_filepath": "audio/short.wav", "text": "Whole File", "duration": 0.5, "lang": "en"},
        {"audio_filepath": str(long), "text": "piece", "duration": 0.6, "offset": 0.5},
        {"audio_filepath": "audio/none.wav", "text": "missing", "duration": 1.0},
        {"audio_filepath": "audio/long.wav", "text": "beyond", "duration": 1.0, "offset": 5.0},
    ]
    src = tmp_path / "train_manifest.json"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    out = tmp_path / "m" / "train.jsonl"
    assert main(["import", "nemo", str(src), "--out", str(out), "--no-progress", "--lowercase"]) == 0
    entries = read_manifest(out)
    assert [e.text for e in entries] == ["whole file", "piece"]
    assert entries[0].extra["lang"] == "en"
    piece = entries[1]
    assert piece.path.startswith(str(tmp_path / "m" / "train"))  # cut into the output's media folder
    original, rate = sf.read(long, dtype="float32")
    cut, cut_rate = sf.read(piece.path, dtype="float32")
    assert cut_rate == rate and len(cut) == round(0.6 * rate)
    assert np.allclose(cut, original[round(0.5 * rate): round(1.1 * rate)], atol=1e-4)
    assert abs(piece.duration - 0.6) < 1e-3
    err = capsys.readouterr().err
    for reason in ("missing audio", "segment outside its recording", "not valid JSON"):
        assert reason in err
