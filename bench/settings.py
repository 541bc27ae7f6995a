"""The project's settings, with the peer's URLs mounted next to the project's."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
