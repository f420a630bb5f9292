"""Shell completion completes loss names (also in comma lists) and the parameters of the losses
already on the command line (click's bash protocol, as the installed completion script uses it)."""

from __future__ import annotations

import pytest
from support import program_env, run_program


def complete(line: str) -> list[str]:
    words = line.split()
    index = len(words) if line.endswith(" ") else len(words) - 1
    env = program_env(_LOSSCLI_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(index))
    completed = run_program(env=env)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split()


@pytest.mark.slow
def test_loss_names_and_aliases_complete():
    assert complete("losscli compute hu") == ["huber", "huber_loss"]
    assert complete("losscli compute mse,ma") == ["mse,mae", "mse,mape"]


@pytest.mark.slow
def test_parameters_of_the_given_losses_complete():
    assert complete("losscli compute huber a.csv b.csv -p d") == ["delta="]
    assert complete("losscli compute focal,bce a.csv b.csv -p ") == ["alpha=", "gamma=", "focal.eps=",
                                                                       "bce.eps="]
    assert complete("losscli compare mse huber a.csv b.csv -p ") == ["delta="]
