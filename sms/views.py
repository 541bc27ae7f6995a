"""Twilio webhooks (signed requests only) and the staff simulator page."""

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sms.forms import SimulatorForm
from sms.replies import Reply
from sms.service import handle_inbound, record_delivery_status
from sms.twilio import is_signed_by_twilio, twiml


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    if not is_signed_by_twilio(request):
        return HttpResponseForbidden()
    reply = handle_inbound(
        sender=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        message_sid=request.POST.get("MessageSid", ""),
    )
    return HttpResponse(twiml(reply.text), content_type="text/xml; charset=utf-8")


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not is_signed_by_twilio(request):
        return HttpResponseForbidden()
    record_delivery_status(
        message_sid=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", "") or request.POST.get("SmsStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)


@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def simulator(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied
    reply: Reply | None = None
    form = SimulatorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reply = handle_inbound(
            sender=form.cleaned_data["sender"],
            body=form.cleaned_data["body"],
            message_sid=f"SIM{uuid.uuid4().hex}",
            simulated=True,
        )
        form = SimulatorForm(initial={"sender": form.cleaned_data["sender"]})
    return render(request, "sms/simulator.html", {"form": form, "reply": reply})
