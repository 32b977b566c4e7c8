import pytest

from bot.tracking.thinning import fit_block, thin_history

GITHUB_ISSUE_BODY_LIMIT = 65_536  # "body is too long (maximum is 65536 characters)"


@pytest.mark.parametrize(
    ("count", "keep", "expected"),
    [
        pytest.param(5, 5, [0, 1, 2, 3, 4], id="within-keep-unchanged"),
        pytest.param(10, 3, [0, 8, 9], id="few"),
        pytest.param(100, 2, [0, 99], id="baseline-and-latest"),
        pytest.param(100, 1, [99], id="only-the-latest"),
        pytest.param(30, 10, [0, 8, 16, 20, 22, 24, 26, 27, 28, 29], id="30-into-10"),
        pytest.param(100, 12, [0, 32, 48, 64, 80, 88, 92, 94, 96, 97, 98, 99], id="100-into-12"),
        pytest.param(
            100,
            20,
            [0, 16, 32, 48, 56, 64, 72, 76, 80, 84, 88, 90, 92, 93, 94, 95, 96, 97, 98, 99],
            id="100-into-20",
        ),
    ],
)
def test_thinning_keeps_the_baseline_and_the_latest_runs_densely(
    count: int, keep: int, expected: list[int]
) -> None:
    assert thin_history(list(range(count)), keep) == expected


def test_runs_are_placed_by_position_so_bursts_thin_first() -> None:
    minutes = [0, 1, 2, 3, 100, 101, 102, 200, 201]
    assert thin_history(minutes, 5, position=float) == [0, 100, 102, 200, 201]


@pytest.mark.parametrize("keep", [2, 10, 30])
def test_thinning_a_thinned_history_again_changes_nothing(keep: int) -> None:
    thinned = thin_history(list(range(200)), keep)
    assert thin_history(thinned, keep, position=float) == thinned


@pytest.mark.parametrize("keep", [3, 10, 30])
def test_each_new_run_pushes_exactly_one_older_run_out(keep: int) -> None:
    stored: list[int] = []
    for run in range(150):
        thinned = thin_history([*stored, run], keep, position=float)
        assert thinned[-1] == run
        assert len(set(stored) - set(thinned)) == (1 if len(stored) == keep else 0)
        stored = thinned
    assert stored[0] == 0


def test_a_history_keeps_at_least_one_run() -> None:
    with pytest.raises(ValueError, match="at least one run"):
        thin_history([1, 2], 0)


def _rows(n: int) -> str:
    """A fake block: 17 characters of heading and one 10-character row per run shown."""
    return "### Test status\n\n" + "".join(f"| run {i:03d}\n" for i in range(n))


async def _rendered_rows(n: int) -> str:
    return _rows(n)


@pytest.mark.parametrize(
    ("budget", "total", "expected_n"),
    [
        pytest.param(17 + 10 * 7, 10, 7, id="exactly-seven-rows"),
        pytest.param(17 + 10 * 7 + 9, 10, 7, id="one-short-of-eight"),
        pytest.param(10_000, 10, 10, id="everything-fits"),
        pytest.param(17 + 10, 1, 1, id="single-run"),
        pytest.param(5, 10, 1, id="nothing-fits-so-the-one-run-rendering-is-returned"),
    ],
)
async def test_fit_block_shows_the_most_history_that_fits(budget: int, total: int, expected_n: int) -> None:
    assert await fit_block(_rendered_rows, budget, total) == (_rows(expected_n), expected_n)


@pytest.mark.parametrize(
    ("budget", "total", "expected_calls"),
    [
        pytest.param(17 + 10 * 600, 1000, [500, 750, 625, 562, 593, 609, 601, 597, 599, 600], id="fits"),
        pytest.param(5, 10, [5, 2, 1], id="nothing-fits-and-one-run-is-not-rendered-twice"),
    ],
)
async def test_fit_block_renders_about_log2_total_times_and_none_twice(
    budget: int, total: int, expected_calls: list[int]
) -> None:
    calls: list[int] = []

    async def render(n: int) -> str:
        calls.append(n)
        return _rows(n)

    await fit_block(render, budget, total)
    assert calls == expected_calls


async def test_a_body_near_githubs_limit_keeps_the_human_text_and_thins_the_history() -> None:
    human_text = "h" * 63_000 + "\n"
    history = list(range(1, 101))

    async def body(n: int) -> str:
        runs = thin_history(history, n)
        table = "".join(
            f"| `{run:07x}` | 2025-08-12T10:{run % 60:02d}:00Z | 143 | 84 | 0 | 7 | 63.0% |\n" for run in runs
        )
        return human_text + "<!-- block -->\n" + table

    text, shown = await fit_block(body, GITHUB_ISSUE_BODY_LIMIT, len(history))
    row = len("| `0000001` | 2025-08-12T10:01:00Z | 143 | 84 | 0 | 7 | 63.0% |\n")
    assert shown == (GITHUB_ISSUE_BODY_LIMIT - len(human_text) - len("<!-- block -->\n")) // row == 39
    assert len(text) <= GITHUB_ISSUE_BODY_LIMIT < len(await body(shown + 1))
    assert text.startswith(human_text)
    assert "| `0000001` |" in text  # the baseline survives thinning


async def test_fit_block_needs_at_least_one_run() -> None:
    with pytest.raises(ValueError, match="total >= 1"):
        await fit_block(_rendered_rows, 100, 0)
