"""REST endpoints of the approval chain: list and read requests, request a promotion by hand, approve or reject
the next step. Every write goes through the services, whose refusals the one exception handler answers."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from neolight.errors import BAD_REQUEST
from promotions.permissions import IsApprover
from promotions.selectors.requests import (
    request_detail,
    request_get,
    request_list,
    requests_signable_by,
)
from promotions.serializers import (
    NoteSerializer,
    RequestCreateSerializer,
    RequestDetailSerializer,
    RequestFilterSerializer,
    RequestSerializer,
)
from promotions.services.candidates import candidate_weighed
from promotions.services.requests import promotion_reject, promotion_request_create, promotion_sign

FORBIDDEN = OpenApiResponse(description="You may not do this: `detail` says why (e.g. not the next step's group).")
NOT_FOUND = OpenApiResponse(description="No such request.")
MAX_LISTED = 500


class RequestListApi(APIView):
    permission_classes = [*APIView.permission_classes, IsApprover]

    @extend_schema(operation_id="promotion_requests_list", parameters=[RequestFilterSerializer],
                   responses={200: RequestSerializer(many=True), 400: BAD_REQUEST, 403: FORBIDDEN})
    def get(self, request):
        """Promotion requests, newest first (at most 500), optionally of one `status`, or only those whose next
        step you may sign now (`signable=true`, soonest to expire first)."""
        query = RequestFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["signable"]:
            requests = requests_signable_by(request.user)[:MAX_LISTED]
        else:
            requests = request_list(user=request.user, status=query.validated_data.get("status"))[:MAX_LISTED]
        return Response(RequestSerializer(requests, many=True).data)

    @extend_schema(operation_id="promotion_requests_create", request=RequestCreateSerializer,
                   responses={201: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN})
    def post(self, request):
        """Requests the promotion of agent `agent` of cohort `cohort` by hand (ops and approval roles): its
        guard rails must all pass (400 naming each that failed) and it may have no other open request."""
        body = RequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        candidate = candidate_weighed(cohort_id=body.validated_data["cohort"], agent_index=body.validated_data["agent"])
        created = promotion_request_create(candidate=candidate, user=request.user)
        return Response(RequestDetailSerializer(request_detail(created)).data, status=status.HTTP_201_CREATED)


class RequestDetailApi(APIView):
    permission_classes = [*APIView.permission_classes, IsApprover]

    @extend_schema(operation_id="promotion_requests_detail",
                   responses={200: RequestDetailSerializer, 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request, request_id: int):
        """A request: its payload, guard-rail checks, risk metrics, chain state, signatures with their
        verification, and its deployment (null until one starts)."""
        return Response(RequestDetailSerializer(request_detail(request_get(user=request.user,
                                                                           request_id=request_id))).data)


class RequestApproveApi(APIView):
    @extend_schema(operation_id="promotion_requests_approve", request=NoteSerializer,
                   responses={200: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
    def post(self, request, request_id: int):
        """Approves the request's next step as you, with a `note` (required) and, best, the `payload_digest`
        you read; the last approval makes it approved and starts its deployment."""
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        signed = promotion_sign(request_id=request_id, user=request.user, **body.validated_data)
        return Response(RequestDetailSerializer(request_detail(signed)).data)


class RequestRejectApi(APIView):
    @extend_schema(operation_id="promotion_requests_reject", request=NoteSerializer,
                   responses={200: RequestDetailSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
    def post(self, request, request_id: int):
        """Rejects the request at its next step as you, with a `note` (required): the request ends."""
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rejected = promotion_reject(request_id=request_id, user=request.user, **body.validated_data)
        return Response(RequestDetailSerializer(request_detail(rejected)).data)
