"""``radgrpo rewards list``: every registered reward name in registry order, each with the options read from its
signature; ``--names`` prints the names only.

Run: HF_HUB_OFFLINE=1 python -m pytest -q tests/cli/test_rewards_list.py
"""

from radgrpo.cli.main import main
from radgrpo.rewards import list_rewards


def test_cli_list(capsys):
    assert main(["rewards", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out if line and not line.startswith(" ")][
        : len(list_rewards())
    ] == list_rewards()
    # each reward's options, read from its signature, under its line
    i = next(k for k, line in enumerate(out) if line.startswith("radgraph_f1 "))
    assert (
        out[i + 1].split(": ", 1)[1].startswith("level='complete', model='radgraph-xl'")
        and "batch_size=0" in out[i + 1]
    )
    assert main(["rewards", "list", "--names"]) == 0
    assert capsys.readouterr().out.split() == list_rewards()


def test_clinical_utility_options_are_listed(capsys):
    assert main(["rewards", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    i = next(k for k, line in enumerate(out) if line.startswith("clinical_utility "))
    assert "side=True" in out[i + 1] and "costs=None" in out[i + 1]
