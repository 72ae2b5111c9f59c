import numpy as np

from recognizer.pair_map import map_get, map_get_many, map_put, new_map, pair_map


def test_pairs_round_trip_and_misses():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 10**6, 5000)
    b = rng.integers(0, 100, 5000)
    pairs = dict(zip(zip(a.tolist(), b.tolist()), range(5000)))
    keys = np.array(list(pairs))
    m = pair_map(keys[:, 0], keys[:, 1], np.array(list(pairs.values())))
    assert len(m.key_a) >= 2 * len(pairs)
    np.testing.assert_array_equal(map_get_many(m, keys[:, 0], keys[:, 1]), list(pairs.values()))
    assert map_get(m, 10**6 + 1, 3) == -1
    assert map_get(m, keys[0, 0], 100) == -1


def test_put_replaces():
    m = new_map(4)
    map_put(m, 0, 1, 5)
    map_put(m, 0, 1, 7)
    map_put(m, 1, 0, 9)
    assert (map_get(m, 0, 1), map_get(m, 1, 0), map_get(m, 0, 0)) == (7, 9, -1)
