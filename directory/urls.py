from django.urls import path
from rest_framework.routers import DefaultRouter

from directory import views, write_views

router = DefaultRouter()
router.register("services", views.ServiceViewSet, basename="service")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("topics", views.TopicViewSet, basename="topic")
router.register("languages", views.LanguageViewSet, basename="language")
router.register("proposals", write_views.ProposalViewSet, basename="proposal")
router.register("memberships", write_views.MembershipViewSet, basename="membership")

urlpatterns = [
    path("auth/token/", write_views.LoginView.as_view(), name="auth-token"),
    path("auth/logout/", write_views.LogoutView.as_view(), name="auth-logout"),
    path("about/", views.AboutView.as_view(), name="about"),
    path("regions/", views.RegionListView.as_view(), name="region-list"),
    path("nearest/", views.NearestView.as_view(), name="nearest"),
    path("postcodes/<str:country>/<str:postcode>/", views.PostcodeView.as_view(), name="postcode-detail"),
    *router.urls,
]
