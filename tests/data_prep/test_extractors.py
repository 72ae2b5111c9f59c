import pytest

from data_prep.extractors import feature_config_from_dict, make_extractor
from data_prep.line_image import ColumnExtractor, LineConfig
from data_prep.log_mel import LogMelConfig, LogMelExtractor


@pytest.mark.parametrize("config, extractor", [(LogMelConfig(n_mels=40), LogMelExtractor),
                                               (LineConfig(height=24), ColumnExtractor)])
def test_config_json_gives_back_the_same_extractor(config, extractor):
    again = feature_config_from_dict(config.to_dict())
    assert again == config
    made = make_extractor(again)
    assert isinstance(made, extractor) and made.feature_dim == config.feature_dim


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown feature kind 'mfcc'.*columns.*log_mel"):
        feature_config_from_dict({"kind": "mfcc"})
    with pytest.raises(TypeError):
        make_extractor(object())
