import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int


def test_env_bool_refuses_junk(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG")


def test_env_int_refuses_values_below_minimum(monkeypatch):
    monkeypatch.setenv("COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("COUNT", 5, minimum=1)


def test_env_int_reads_whole_numbers(monkeypatch):
    monkeypatch.setenv("COUNT", " 7 ")
    assert env_int("COUNT", 5) == 7
