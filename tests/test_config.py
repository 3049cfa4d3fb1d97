"""Configs: unknown keys and rejected values are ``ConfigError`` (a ``ValueError``). Every command turns them into
one line on stderr with exit code 2 instead of a traceback: tests/cli/test_main.py.

Run: pytest tests/test_config.py
"""

from dataclasses import dataclass

import pytest

from radgrpo.config import ConfigError, from_dict


@dataclass
class _Cfg:
    n: int = 1

    def __post_init__(self):
        if self.n < 1:
            raise ValueError("--n must be >= 1")


def test_from_dict_errors_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['m'\] for _Cfg; valid keys: \['n'\]"):
        from_dict(_Cfg, {"m": 2}, source="run.yaml")
    with pytest.raises(ValueError, match="--n must be >= 1"):  # still a ValueError for library callers
        from_dict(_Cfg, {"n": 0})
    assert from_dict(_Cfg, {"n": 3}).n == 3
