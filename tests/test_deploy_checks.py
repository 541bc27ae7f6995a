import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


def test_the_deploy_checks_pass_with_production_settings(settings):
    settings.SECURE_SSL_REDIRECT = True
    call_command("check", deploy=True, fail_level="WARNING")


def test_the_deploy_checks_catch_a_missing_https_redirect(settings):
    settings.SECURE_SSL_REDIRECT = False
    with pytest.raises(SystemCheckError, match="SECURE_SSL_REDIRECT"):
        call_command("check", deploy=True, fail_level="WARNING")
