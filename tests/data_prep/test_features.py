import numpy as np

from data_prep.features import FeatureSeq


def test_position_maps_frames_to_source_units():
    seq = FeatureSeq(np.zeros((10, 4), np.float32), step=0.01, offset=0.5, unit="s")
    assert len(seq) == 10
    assert seq.position(0) == 0.5 and seq.position(2.5) == 0.525
