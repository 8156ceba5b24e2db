"""The simulator's object ids: Stripe's shape (prefix + letters and digits), unguessable and unbiased."""

import collections
import string

from rxshop.stripe_sim.ids import new_id

ALPHABET = set(string.ascii_letters + string.digits)


def test_an_id_is_its_prefix_and_the_asked_number_of_letters_and_digits():
    for length in (1, 14, 24, 58):
        value = new_id("cs_test_", length)
        assert value.startswith("cs_test_")
        assert len(value) == len("cs_test_") + length
        assert set(value.removeprefix("cs_test_")) <= ALPHABET


def test_ids_do_not_repeat_and_every_character_is_about_as_likely():
    ids = [new_id("x_", 24) for _ in range(5_000)]
    assert len(set(ids)) == len(ids)
    counts = collections.Counter("".join(i[2:] for i in ids))
    assert set(counts) == ALPHABET
    expected = 5_000 * 24 / len(ALPHABET)  # ~1,935 each; a modulo bias would put 4 of them ~25 % higher
    assert all(abs(n - expected) < 0.15 * expected for n in counts.values()), counts.most_common(5)
