"""Chapter 1's module: the recorded optimiser choice and the sentences the chapter glues."""

from gancompanion.chapters import ch1


def test_the_recorded_optimiser_choice_is_the_first_candidate_at_the_level():
    from gancompanion.pipeline import scales

    record = ch1.OPTIMISER_CHOICE
    first = next(t for t in record["tried"] if t[3] <= record["level"])
    book = scales.TABLE["ch1.probe"]["book"]
    assert first[:3] == (book["probe_lr"], book["probe_betas"], book["probe_eps"])
    assert f"{first[0]:g}" in ch1.describe_choice()


def test_describe_falls_names_only_the_checkpoints_short_of_the_fall():
    assert ch1.describe_falls({1: 500.0, 10: 200.0}, {1: 1.0, 10: 1.0}, 100.0) == ""
    text = ch1.describe_falls({1: 500.0, 10: 20.0}, {1: 3.0, 10: 40.0}, 100.0)
    assert "20x after 10 epochs" in text and "40x" in text and "500x" not in text and "3x" not in text


def test_describe_spike_test_says_when_the_seed_does_not_test_the_explanation():
    assert ch1.describe_spike_test({"chosen": 2.0, "eps": 3.0}, 0.9, "eps").startswith("No run jumped")
    text = ch1.describe_spike_test({"chosen": 500.0, "eps": 200.0}, 0.9, "eps")
    assert "90% of its setting's ceiling" in text and "Raising eps did not prevent jumps" in text
