from datetime import timedelta

from graphs_testkit import at, postings

from graphs.trail import trail

TXNS = postings(
    [
        ("a", "b", 1000, at(0)),
        ("b", "c", 950, at(20)),
        ("c", "d", 900, at(40)),
        ("b", "e", 300, at(10)),
        ("c", "f", 100, at(100)),  # 60 h after reaching c: too late
        ("e", "a", 200, at(5)),  # before e received: not part of a forward trail
        ("z", "a", 50, at(-1)),
    ]
)


def pairs(paths: list) -> list[list[tuple[str, str]]]:
    return [[(h.source, h.target) for h in p] for p in paths]


def test_forward_trail_is_time_respecting_and_maximal() -> None:
    found = pairs(trail(TXNS, "a", start=at(-2)))
    assert found == [[("a", "b"), ("b", "c"), ("c", "d")], [("a", "b"), ("b", "e")]]


def test_backward_trail() -> None:
    found = pairs(trail(TXNS, "d", start=at(50), backward=True))
    assert found == [[("z", "a"), ("a", "b"), ("b", "c"), ("c", "d")]]


def test_limits() -> None:
    assert pairs(trail(TXNS, "a", start=at(-2), max_hops=2)) == [
        [("a", "b"), ("b", "c")],
        [("a", "b"), ("b", "e")],
    ]
    assert pairs(trail(TXNS, "a", start=at(-2), max_hop_delay=timedelta(hours=12))) == [
        [("a", "b"), ("b", "e")]
    ]
    assert trail(TXNS, "a", start=at(1)) == []
