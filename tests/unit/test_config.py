from __future__ import annotations

import pickle

import pytest

from course_lib import config
from course_lib.errors import ConfigError, CourseError, ProvisionError, redact
from tests.conftest import FAKE_TOKEN


def test_secret_never_shows_its_value(fake_token: str) -> None:
    secret = config.token()
    assert secret is not None and secret.get() == fake_token
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>80}", str([secret])):
        assert fake_token not in text
        assert "***" in text


def test_secret_refuses_to_be_pickled(fake_token: str) -> None:
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(config.token())


def test_settings_repr_has_no_token(fake_token: str) -> None:
    s = config.Settings(target="doks", learner="ada")
    assert s.token is not None
    assert fake_token not in repr(s)
    assert s.has_token


def test_doks_without_token_is_a_clear_error(no_token: None) -> None:
    with pytest.raises(ConfigError, match="DIGITALOCEAN_TOKEN is not set") as err:
        _ = config.Settings(target="doks").token
    assert "read -s DIGITALOCEAN_TOKEN" in err.value.hint


@pytest.mark.parametrize("target", ["", "aws", "Sandbox", "kind"])
def test_unknown_target_names_the_choices(target: str) -> None:
    with pytest.raises(ConfigError) as err:
        config.Settings(target=target)  # type: ignore[arg-type]
    assert "sandbox, kubeconfig, doks" in str(err.value)


@pytest.mark.parametrize("name", ["Ada", "ada_lovelace", "-ada", "ada-", "a" * 21, ""])
def test_bad_learner_names_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="DNS-1123"):
        config.Settings(learner=name)


def test_resource_names_are_consistent_and_validated() -> None:
    s = config.Settings(learner="grace")
    assert s.resource_name("cluster") == "course-grace-cluster"
    with pytest.raises(ConfigError):
        s.resource_name("Bad_Suffix")
    assert s.labels == {"app.kubernetes.io/managed-by": "course-lib", "course-lib/run-id": s.run_id}


def test_negative_cost_limit_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_hourly_cost"):
        config.Settings(max_hourly_cost=-1)


def test_errors_scrub_the_token_from_message_hint_and_context(fake_token: str) -> None:
    err = ProvisionError(f"call failed with {fake_token}", hint=f"retry {fake_token}", header=f"Bearer {fake_token}")
    text = str(err)
    assert fake_token not in text
    assert text.count("***") == 3
    assert redact(f"x{FAKE_TOKEN}y") == "x***y"


def test_errors_survive_pickling_for_process_pools() -> None:
    err = ProvisionError("boom", hint="do this", status=429)
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, ProvisionError) and isinstance(back, CourseError)
    assert str(back) == str(err)
    assert back.context == {"status": 429}
