"""The HSDS 3.0 API, mounted at /hsds/ (paths as in the HSDS API reference, without trailing slashes)."""

from django.urls import path

from directory import hsds_views as views

urlpatterns = [
    path("", views.HsdsRootView.as_view(), name="hsds-root"),
    path("profile/", views.HsdsProfileView.as_view(), name="hsds-profile"),
    path("services", views.ServiceListView.as_view(), name="hsds-service-list"),
    path("services/<str:id>", views.ServiceDetailView.as_view(), name="hsds-service-detail"),
    path("organizations", views.OrganizationListView.as_view(), name="hsds-organization-list"),
    path("organizations/<str:id>", views.OrganizationDetailView.as_view(), name="hsds-organization-detail"),
    path("service_at_locations", views.ServiceAtLocationListView.as_view(), name="hsds-service-at-location-list"),
    path(
        "service_at_locations/<str:id>",
        views.ServiceAtLocationDetailView.as_view(),
        name="hsds-service-at-location-detail",
    ),
    path("taxonomies", views.TaxonomyListView.as_view(), name="hsds-taxonomy-list"),
    path("taxonomies/<str:id>", views.TaxonomyDetailView.as_view(), name="hsds-taxonomy-detail"),
    path("taxonomy_terms", views.TaxonomyTermListView.as_view(), name="hsds-taxonomy-term-list"),
    path("taxonomy_terms/<str:id>", views.TaxonomyTermDetailView.as_view(), name="hsds-taxonomy-term-detail"),
]
