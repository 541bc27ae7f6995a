"""The write API: maintainers propose, moderators review. Every change goes through ``directory.changes``.

Scoping: a maintainer reaches only their organisations' listings through these paths; any other listing
answers 404, as if it did not exist. Writes need ``If-Match`` with the ETag of the version edited.
"""

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from knox.models import AuthToken
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from directory import changes
from directory.accounts import second_factor_ok
from directory.audit import acting_as
from directory.exception_handler import REVIEW_REFUSAL_CODES
from directory.history import service_history
from directory.models import (
    Membership,
    Organization,
    OrganizationKind,
    Proposal,
    ProposalAction,
    ProposalState,
    Service,
)
from directory.permissions import IsModerator, is_moderator, may_edit, organizations_of, proposals_of, services_of
from directory.validators import is_digits
from directory.versions import etag, expected_version
from directory.write_serializers import (
    MODERATOR_SERVICE_FIELDS,
    EvidenceInput,
    HistoryEntrySerializer,
    LoginInput,
    MembershipInput,
    OrganizationInput,
    ProposalSerializer,
    RejectInput,
    ServiceInput,
    TokenSerializer,
)

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version you edited, from its GET or your last write, e.g. "3"',
)
# Listings are read in a language (?lang=); writes and history are not.
NO_LANG = OpenApiParameter("lang", exclude=True)


def _sent_header(name: str, description: str, *statuses: int) -> OpenApiParameter:
    """A header the answers with ``statuses`` always carry."""
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=list(statuses), description=description
    )


PROPOSAL_AT = _sent_header("Location", "The stored proposal's address: GET it to follow its review", 202)
STILL_CURRENT = _sent_header(
    "ETag", "The record's ETag, still current: a proposal leaves the public record as it is", 202
)
NEW_VERSION = _sent_header("ETag", "The new version's ETag, for the next If-Match", 200, 201)
REFUSED_BODY = inline_serializer("Refused", {"detail": serializers.CharField()})
# Its id and its snapshot (changes.organization_snapshot).
CREATED_ORGANIZATION = inline_serializer(
    "CreatedOrganization",
    {
        "id": serializers.IntegerField(),
        **{
            name: serializers.ChoiceField(choices=OrganizationKind.choices)
            if name == "kind"
            else serializers.CharField()
            for name in changes.ORGANIZATION_FIELDS
        },
    },
)
RESTORED_BODY = inline_serializer(
    "Restored", {"id": serializers.IntegerField(), "archived_at": serializers.DateTimeField(allow_null=True)}
)
# A review that cannot be made (exception_handler: ReviewConflict, NotPending).
CONFLICT_BODY = inline_serializer(
    "ReviewConflict",
    {
        "detail": serializers.CharField(),
        "code": serializers.ChoiceField(
            choices=REVIEW_REFUSAL_CODES,
            help_text="conflict: the record changed since the proposal was made; not_pending: it was already decided",
        ),
    },
)
# The statuses every operation can answer (400, 401/403, 404, 412/428, 429, 503) are documented by
# directory.exception_handler.ErrorDocumentingSchema.
PROPOSED = OpenApiResponse(ProposalSerializer, description="Stored as a proposal; the public listing is unchanged")


def record_id(raw: str) -> int:
    """An id from the address; anything but digits names no record (404, never a 500)."""
    if not is_digits(raw) or len(raw) > 18:
        raise NotFound("No such record.")
    return int(raw)


def proposal_response(proposal: Proposal, version: int | None) -> Response:
    response = Response(ProposalSerializer(proposal).data, status=status.HTTP_202_ACCEPTED)
    response["Location"] = reverse("proposal-detail", kwargs={"pk": proposal.pk})
    if version is not None:
        response["ETag"] = etag(version)
    return response


def _validated_service(request: Request, *, service: Service | None, partial: bool) -> Any:
    """The proposed version: a PATCH on top of the current draft, a PUT or POST whole.

    Fields only moderators set keep their current value when a maintainer replaces the listing.
    """
    base = changes.current_draft(service) if service is not None else {}
    moderator = is_moderator(request.user)
    context = {
        "request": request,
        "base": base,
        "moderator": moderator,
        "organization_id": service.organization_id if service else None,
    }
    data = request.data
    if service is not None and isinstance(data, dict) and "organization" not in data and not partial:
        data = {**data, "organization": service.organization_id}
    only = [key for key in data if key in ServiceInput().fields] if partial and isinstance(data, dict) else None
    serializer = ServiceInput(data=data, context=context, only=only)
    serializer.is_valid(raise_exception=True)
    if partial:
        return {**base, **serializer.validated_data}
    kept = {field: base[field] for field in MODERATOR_SERVICE_FIELDS if field in base and not moderator}
    return {**serializer.validated_data, **kept}


class TokenChallengeMixin(generics.GenericAPIView[Any]):
    """JSON bodies only; a write refused for want of credentials asks for a user token, not a partner key."""

    parser_classes = [JSONParser]

    def get_authenticate_header(self, request: Request) -> str:
        return "Token" if request.method not in SAFE_METHODS else str(super().get_authenticate_header(request))


class ServiceWriteMixin(TokenChallengeMixin):
    """Create, replace, update and archive listings; their history; restoring an archived one."""

    def _own_service(self, *, editing: bool) -> Service:
        if not self.request.user.is_authenticated:
            raise AuthenticationFailed("Sign in: send Authorization: Token <token>.")
        service = services_of(self.request.user).filter(pk=record_id(self.kwargs["pk"])).first()
        if service is None:
            raise NotFound("No such listing among the ones you maintain.")
        if editing and not may_edit(self.request.user, service.organization_id):
            raise PermissionDenied("Viewers read listings; only maintainers propose changes.")
        return service

    @extend_schema(parameters=[NO_LANG, PROPOSAL_AT], request=ServiceInput, responses={202: PROPOSED})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Propose a new listing; it appears in no public answer until a moderator approves it."""
        data = _validated_service(request, service=None, partial=False)
        if not may_edit(request.user, data["organization"]):
            raise PermissionDenied("You do not maintain this organisation.")
        organization = Organization.objects.get(pk=data["organization"])
        return proposal_response(changes.propose_new_service(request.user, organization, data), None)

    @extend_schema(
        parameters=[IF_MATCH, NO_LANG, PROPOSAL_AT, STILL_CURRENT], request=ServiceInput, responses={202: PROPOSED}
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Propose a replacement of the listing (every field; omitted ones take their defaults)."""
        return self._propose_update(partial=False)

    @extend_schema(
        parameters=[IF_MATCH, NO_LANG, PROPOSAL_AT, STILL_CURRENT], request=ServiceInput, responses={202: PROPOSED}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Propose a change of the fields given; a nested list (channels, coverage…) is replaced whole."""
        return self._propose_update(partial=True)

    def _propose_update(self, *, partial: bool) -> Response:
        service = self._own_service(editing=True)
        version = expected_version(self.request)
        data = _validated_service(self.request, service=service, partial=partial)
        proposal = changes.propose_service_change(self.request.user, service, data, version)
        return proposal_response(proposal, proposal.base_version)

    @extend_schema(parameters=[IF_MATCH, NO_LANG, PROPOSAL_AT, STILL_CURRENT], request=None, responses={202: PROPOSED})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Propose archiving the listing: once approved it leaves every public answer; its rows stay."""
        service = self._own_service(editing=True)
        version = expected_version(request)
        proposal = changes.propose_service_change(request.user, service, {}, version, ProposalAction.ARCHIVE)
        return proposal_response(proposal, proposal.base_version)

    @extend_schema(parameters=[IF_MATCH, NO_LANG, PROPOSAL_AT, STILL_CURRENT], request=None, responses={202: PROPOSED})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """Say the listing is still correct, unchanged; a moderator verifies it like any proposal."""
        service = self._own_service(editing=True)
        proposal = changes.propose_confirmation(request.user, service, expected_version(request))
        return proposal_response(proposal, proposal.base_version)

    @extend_schema(
        parameters=[IF_MATCH, NO_LANG, NEW_VERSION],
        request=None,
        responses={200: OpenApiResponse(RESTORED_BODY, description="Restored: back in public answers")},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsModerator])
    def restore(self, request: Request, pk: str) -> Response:
        """Bring an archived listing back into public answers (moderators)."""
        service = get_object_or_404(Service, pk=record_id(pk))
        restored = changes.restore(request.user, service, expected_version(request))
        return Response({"id": restored.pk, "archived_at": None}, headers={"ETag": etag(restored.version)})

    @extend_schema(
        parameters=[
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
            NO_LANG,
        ],
        responses={200: HistoryEntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get"], permission_classes=[IsAuthenticated], filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        """Every change to the listing and its parts, newest first: who, when, and each field before/after."""
        service = self._own_service(editing=False)
        entries = service_history(service)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(HistoryEntrySerializer(page, many=True).data)


class OrganizationWriteMixin(TokenChallengeMixin):
    @extend_schema(
        parameters=[NEW_VERSION],
        request=OrganizationInput,
        responses={201: OpenApiResponse(CREATED_ORGANIZATION, description="Created")},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create an organisation (moderators)."""
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators create organisations.")
        serializer = OrganizationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic(), acting_as(request.user, "created the organisation"):
            organization = Organization.objects.create(**serializer.validated_data)
        return Response(
            {"id": organization.pk, **changes.organization_snapshot(organization)},
            status=status.HTTP_201_CREATED,
            headers={"ETag": etag(organization.version)},
        )

    @extend_schema(
        parameters=[IF_MATCH, PROPOSAL_AT, STILL_CURRENT], request=OrganizationInput, responses={202: PROPOSED}
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._propose(partial=False)

    @extend_schema(
        parameters=[IF_MATCH, PROPOSAL_AT, STILL_CURRENT], request=OrganizationInput, responses={202: PROPOSED}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._propose(partial=True)

    def _propose(self, *, partial: bool) -> Response:
        if not self.request.user.is_authenticated:
            raise AuthenticationFailed("Sign in: send Authorization: Token <token>.")
        organization = organizations_of(self.request.user).filter(pk=record_id(self.kwargs["pk"])).first()
        if organization is None:
            raise NotFound("No such organisation among the ones you maintain.")
        if not may_edit(self.request.user, organization.pk):
            raise PermissionDenied("Viewers read; only maintainers propose changes.")
        version = expected_version(self.request)
        serializer = OrganizationInput(
            data=self.request.data, partial=partial, context={"organization_id": organization.pk}
        )
        serializer.is_valid(raise_exception=True)
        data = {**changes.organization_snapshot(organization), **serializer.validated_data}
        proposal = changes.propose_organization_change(self.request.user, organization, data, version)
        return proposal_response(proposal, proposal.base_version)


class ProposalViewSet(viewsets.ReadOnlyModelViewSet[Proposal]):
    """Proposals: a maintainer sees their organisations' ones; moderators see all (the review queue)."""

    parser_classes = [JSONParser]
    serializer_class = ProposalSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = None

    def get_queryset(self) -> QuerySet[Proposal]:
        queryset = proposals_of(self.request.user).select_related("author", "decided_by", "service", "organization")
        state = self.request.query_params.get("state")
        if state:
            if state not in ProposalState.values:
                raise serializers.ValidationError({"state": [f"Must be one of: {', '.join(ProposalState.values)}."]})
            queryset = queryset.filter(state=state)
        service = self.request.query_params.get("service")
        if service:
            if not is_digits(service):
                raise serializers.ValidationError({"service": ["Must be a listing id."]})
            queryset = queryset.filter(service_id=int(service))
        return queryset.order_by("created_at", "id")

    @extend_schema(
        parameters=[
            OpenApiParameter("state", OpenApiTypes.STR, enum=ProposalState.values, description="pending: the queue"),
            OpenApiParameter("service", OpenApiTypes.INT),
        ],
        responses={200: ProposalSerializer(many=True)},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Oldest first; ``state=pending`` is the review queue."""
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: ProposalSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        request=EvidenceInput,
        responses={
            200: ProposalSerializer,
            409: OpenApiResponse(CONFLICT_BODY, description="Already decided, or the listing changed since"),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsModerator])
    def approve(self, request: Request, pk: str) -> Response:
        """Apply the proposal, verified with evidence (moderators other than its author)."""
        evidence = EvidenceInput(data=request.data)
        evidence.is_valid(raise_exception=True)
        proposal = changes.approve(request.user, self.get_object(), **evidence.validated_data)
        return Response(ProposalSerializer(proposal).data)

    @extend_schema(
        request=RejectInput,
        responses={
            200: ProposalSerializer,
            409: OpenApiResponse(CONFLICT_BODY, description="Already decided"),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsModerator])
    def reject(self, request: Request, pk: str) -> Response:
        """Refuse the proposal with a reason its author will see (moderators)."""
        body = RejectInput(data=request.data)
        body.is_valid(raise_exception=True)
        proposal = changes.reject(request.user, self.get_object(), body.validated_data["reason"])
        return Response(ProposalSerializer(proposal).data)

    @extend_schema(
        request=None,
        responses={
            200: ProposalSerializer,
            409: OpenApiResponse(CONFLICT_BODY, description="Already decided"),
        },
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        """Take back your own pending proposal."""
        proposal = self.get_object()
        if proposal.author_id != request.user.pk:
            raise PermissionDenied("Only its author can withdraw a proposal.")
        return Response(ProposalSerializer(changes.withdraw(request.user, proposal)).data)


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    user: Any = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "organization", "role", "created_at"]
        read_only_fields = fields


class MembershipViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[Membership]
):
    """Who maintains which organisation. Everyone sees their own; moderators see and manage all."""

    parser_classes = [JSONParser]
    serializer_class = MembershipSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = None

    def get_queryset(self) -> QuerySet[Membership]:
        queryset = Membership.objects.select_related("user").order_by("organization", "user__username")
        if getattr(self, "swagger_fake_view", False) or not self.request.user.is_authenticated:
            return queryset.none()
        return queryset if is_moderator(self.request.user) else queryset.filter(user=self.request.user)

    @extend_schema(
        request=MembershipInput,
        responses={201: MembershipSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Make a user a maintainer (or viewer) of an organisation (moderators)."""
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators manage memberships.")
        body = MembershipInput(data=request.data)
        body.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=body.validated_data["user"]).first()
        if user is None:
            raise serializers.ValidationError({"user": ["No such user."]})
        with transaction.atomic(), acting_as(request.user, "granted membership"):
            membership, _ = Membership.objects.update_or_create(
                user=user,
                organization=body.validated_data["organization"],
                defaults={"role": body.validated_data["role"]},
            )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not is_moderator(request.user):
            raise PermissionDenied("Only moderators manage memberships.")
        membership = self.get_object()
        with transaction.atomic(), acting_as(request.user, "revoked membership"):
            membership.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginView(APIView):
    """Exchange a username and password for an API token (hashed at rest, expiring, revocable)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    def get_authenticate_header(self, request: Request) -> str:
        return "Token"

    @extend_schema(
        request=LoginInput,
        responses={
            200: TokenSerializer,
            401: OpenApiResponse(REFUSED_BODY, description="Wrong username, password or one-time code"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = LoginInput(data=request.data)
        body.is_valid(raise_exception=True)
        code = body.validated_data.pop("otp_token", "")
        user = authenticate(request._request, **body.validated_data)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Wrong username or password.")
        if is_moderator(user) and not second_factor_ok(user, code):
            # A moderator's token can redirect every texter: the password alone is not enough.
            raise AuthenticationFailed("Moderators also send otp_token, the code from their authenticator app.")
        instance, token = AuthToken.objects.create(user=user)
        return Response(TokenSerializer({"token": token, "expiry": instance.expiry}).data)


class LogoutView(KnoxLogoutView):
    """Revoke the token this request is signed with."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, format: Any = None) -> Response:
        return super().post(request, format)
