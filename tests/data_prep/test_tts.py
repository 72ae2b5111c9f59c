"""TTS engines: voice keys, and real renders with whichever engines this machine has."""
from __future__ import annotations

import os

import pytest
import soundfile as sf

from data_prep.tts import Prosody, Voice, installed_engines, render_to

ENGINES = installed_engines()


def test_voice_keys_round_trip():
    voice = Voice.parse("espeak-ng:en-gb+f3")
    assert (voice.engine, voice.name, voice.key) == ("espeak-ng", "en-gb+f3", "espeak-ng:en-gb+f3")
    with pytest.raises(ValueError, match="ENGINE:NAME"):
        Voice.parse("slt")


@pytest.mark.parametrize("engine", sorted(ENGINES) or [pytest.param("none", marks=pytest.mark.skip(
    reason="no TTS engine installed (scripts/install_synth_tools)"))])
def test_every_installed_engine_renders_speech_and_honours_the_rate(engine, tmp_path):
    tts = ENGINES[engine]
    voice = tts.voice_names()[0]
    try:
        durations = []
        for rate in (0.8, 1.25):
            path = render_to(tts, voice, "the quick brown fox jumps over the lazy dog", Prosody(rate=rate), str(tmp_path))
            audio, sample_rate = sf.read(path)
            os.unlink(path)
            assert audio.std() > 0.01  # not silence
            durations.append(len(audio) / sample_rate)
    finally:
        tts.close()
    assert 1.0 < durations[1] < durations[0] < 8.0  # a faster rate gives a shorter utterance
