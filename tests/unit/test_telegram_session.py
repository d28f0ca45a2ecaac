"""The Telegram client's HTTP session keeps requests' environment lookups (proxies, CA bundle) per host and request
options: the same answers as requests gives, without scanning the environment on every send."""

import pytest
import requests

from teleglas.deliver import telegram

URLS = ("https://api.telegram.org/bot1:x/sendMessage?chat_id=1", "http://127.0.0.1:8081/bot1:x/getMe")
OPTIONS = (({}, False, None, None), ({"https": "http://other.example:1"}, True, False, None), (None, False, None, None))


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/custom.pem")
    lookups: list[str] = []
    real = requests.sessions.get_environ_proxies
    monkeypatch.setattr(
        requests.sessions, "get_environ_proxies", lambda url, **kw: lookups.append(url) or real(url, **kw)
    )
    return lookups


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("options", OPTIONS)
def test_the_kept_lookup_answers_as_requests_does_and_looks_once(environment, url, options):
    expected = requests.Session().merge_environment_settings(url, *copied(options))
    assert expected["proxies"] != {} or "127.0.0.1" in url or options[0] is None  # the environment is in play
    kept = telegram._Session()
    first = kept.merge_environment_settings(url, *copied(options))
    first["proxies"]["http"] = "changed by the caller"  # what a caller does with it does not reach the kept one
    again = kept.merge_environment_settings(
        url.replace("bot1", "bot2"), *copied(options)
    )  # another path, the same host
    assert (
        first["verify"]
        == again["verify"]
        == expected["verify"]
        == ("/etc/ssl/certs/custom.pem" if options[2] is None else options[2])
    )
    assert again == expected
    assert len(environment) == 2  # requests' own lookup, then the kept session's one: not one a request


def copied(options: tuple) -> tuple:
    """requests adds the environment's proxies to the dict it is given (Session.request passes a fresh one)."""
    return (None if options[0] is None else dict(options[0]), *options[1:])
