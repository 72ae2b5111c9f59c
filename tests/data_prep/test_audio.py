
import numpy as np
import pytest
import soundfile as sf

from data_prep.audio import AUDIO_EXTENSIONS, audio_duration, load_audio, save_audio
from data_prep.errors import InputError
from data_prep.paths import shared_data_dir

SR = 16000


def tone(rate: int, seconds: float = 0.5) -> np.ndarray:
    """The same band-limited signal sampled at any rate."""
    t = np.arange(int(round(rate * seconds))) / rate
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1000 * t) * np.sin(2 * np.pi * 3 * t)
    return y.astype(np.float32)


def rms(a, b):
    n = min(len(a), len(b))
    return float(np.sqrt(np.mean((a[:n] - b[:n]) ** 2)))


def mp3_writable(tmp_path) -> bool:
    try:
        sf.write(str(tmp_path / "probe.mp3"), np.zeros(1600, np.float32), SR)
        return True
    except Exception:
        return False


@pytest.mark.parametrize("ext,tol", [(".wav", 1e-4), (".flac", 1e-4), (".ogg", 0.02), (".mp3", 0.02)])
def test_formats_load_the_same_waveform(tmp_path, ext, tol):
    if ext == ".mp3" and not mp3_writable(tmp_path):
        pytest.skip("this libsndfile cannot write mp3")
    x = tone(SR)
    path = tmp_path / f"x{ext}"
    sf.write(str(path), x, SR)
    y = load_audio(path, SR)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(x)) <= (1152 if ext == ".mp3" else 0)
    assert rms(x, y) < tol
    assert ext in AUDIO_EXTENSIONS


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "PCM_U8"])
def test_sample_formats(tmp_path, subtype):
    x = tone(SR)
    path = tmp_path / "x.wav"
    sf.write(str(path), x, SR, subtype=subtype)
    assert rms(x, load_audio(path, SR)) < 0.01


def test_channels_are_averaged_and_range_kept(tmp_path):
    x = tone(SR)
    path = tmp_path / "st.wav"
    sf.write(str(path), np.stack([1.2 * x, 0.8 * x, x], axis=1), SR, subtype="FLOAT")
    y = load_audio(path, SR)
    assert y.shape == x.shape and rms(x, y) < 1e-6
    loud = tmp_path / "loud.wav"
    sf.write(str(loud), np.stack([4 * x, 4 * x], axis=1), SR, subtype="FLOAT")
    y = load_audio(loud, SR)
    assert y.min() >= -1.0 and y.max() <= 1.0


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_resampling_keeps_the_signal(tmp_path, rate):
    path = tmp_path / "r.flac"
    sf.write(str(path), tone(rate), rate)
    y = load_audio(path, SR)
    assert abs(len(y) - SR // 2) <= 1
    core = slice(400, len(y) - 400)  # resampler edges
    assert rms(tone(SR)[core], y[core]) < 0.01


def test_audio_duration(tmp_path):
    path = tmp_path / "d.ogg"
    sf.write(str(path), tone(22050, 1.25), 22050)
    assert audio_duration(path) == pytest.approx(1.25, abs=1e-3)


def test_save_audio_round_trip(tmp_path):
    x = tone(SR)
    path = tmp_path / "sub" / "s.wav"
    save_audio(path, x, SR)
    assert sf.info(str(path)).subtype == "PCM_16"
    assert rms(x, load_audio(path, SR)) < 1e-4


def assert_input_error(path, problem):
    with pytest.raises(InputError) as caught:
        load_audio(path, SR)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in caught.value.problem
    assert "\n" not in str(caught.value)


def test_missing_and_empty(tmp_path):
    assert_input_error(tmp_path / "nope.wav", "file not found")
    (tmp_path / "empty.wav").write_bytes(b"")
    assert_input_error(tmp_path / "empty.wav", "empty file")
    with pytest.raises(InputError, match="file not found"):
        audio_duration(tmp_path / "nope.wav")


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not audio at all\n")
    assert_input_error(path, "not a readable audio file (")
    with pytest.raises(InputError, match="not a readable audio file"):
        audio_duration(path)


def test_header_only_wav(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(str(path), tone(SR), SR)
    path.write_bytes(path.read_bytes()[:30])
    assert_input_error(path, "not a readable audio file")


def test_zero_length_audio(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros(0, np.float32), SR)
    assert_input_error(path, "no audio samples")


def test_wav_cut_in_the_middle_is_reported_as_truncated(tmp_path):
    x = tone(SR)
    path = tmp_path / "cut.wav"
    sf.write(str(path), x, SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    promised, present = 2 * len(x), len(data) // 2 - 44  # 16-bit samples after a 44-byte header
    assert_input_error(path, f"truncated wav (header promises {promised} bytes of audio, file holds {present})")


def test_wav_with_chunks_after_the_data_or_a_streamed_size_is_not_truncated(tmp_path):
    x = tone(SR)
    path = tmp_path / "whole.wav"
    sf.write(str(path), x, SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data) + b"LIST\x04\x00\x00\x00abcd")  # metadata after the audio
    assert len(load_audio(path, SR)) == len(x)
    at = data.index(b"data") + 4
    data[at:at + 4] = b"\xff\xff\xff\xff"  # size never filled in by a streaming writer
    path.write_bytes(bytes(data))
    assert abs(len(load_audio(path, SR)) - len(x)) < 2


def test_flac_cut_in_the_middle_is_partial_or_input_error(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(str(path), tone(SR), SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    try:
        y = load_audio(path, SR)
    except InputError as error:
        assert str(error).startswith(f"{path}: not a readable audio file")
    else:
        assert 0 < len(y) <= SR // 2


def test_real_recording():
    folder = shared_data_dir() / "fsdd" / "recordings"
    files = sorted(folder.glob("*.wav"))[:1] if folder.is_dir() else []
    if not files:
        pytest.skip(f"no FSDD recordings under {folder}")
    rate = sf.info(str(files[0])).samplerate
    y = load_audio(files[0], SR)
    assert y.dtype == np.float32 and 0 < np.abs(y).max() <= 1.0
    assert len(y) == pytest.approx(audio_duration(files[0]) * SR, abs=2)
    assert rate > 0
