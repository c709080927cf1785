import pytest

from hafm.data.splits import select, song_of, split_train_val


@pytest.mark.parametrize("name, song", [("bwv253", "bwv253"), ("bwv112.5_t+2", "bwv112.5"),
                                        ("bwv112.5_t-3_x1.1_piano", "bwv112.5"), ("bwv1.6_x0.9", "bwv1.6"),
                                        ("Artist_Name - Song", "Artist_Name - Song")])
def test_song_of_strips_only_rendering_suffixes(name, song):
    assert song_of(name) == song


def test_renderings_of_one_chorale_fall_on_the_same_side():
    names = [f"bwv{i}{suffix}" for i in range(60) for suffix in ("", "_t+2", "_x1.1_organ")]
    train, val = split_train_val(names, 0.2, seed=0)
    val_songs = {song_of(n) for n in val}
    assert val_songs and not val_songs & {song_of(n) for n in train}
    assert all(f"{song}_t+2" in val for song in val_songs)


def test_select_parts_partition_the_tracks():
    class Track:
        def __init__(self, name):
            self.name = name

    tracks = [Track(f"song{i}") for i in range(40)]
    fit, val = select(tracks, "fit"), select(tracks, "validation")
    assert len(fit) + len(val) == 40 and not {t.name for t in fit} & {t.name for t in val}
    assert select(tracks, "all") == tracks
    with pytest.raises(ValueError):
        select(tracks, "test")
