"""The project's URLs plus the peer's (``bench.peer``), served together by the benchmark."""

from django.urls import path

from bench import peer
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("peer/nearest/", peer.PeerNearestView.as_view()),
    path("peer/services/", peer.PeerServiceList.as_view()),
    path("peer/sms/inbound/", peer.peer_sms),
]
