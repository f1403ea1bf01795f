"""Partner webhooks: endpoints, signing keys and the delivery log (`/partner/v1/webhooks`);
every log and manual re-sends for operators (`/admin/v1/webhooks`)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from app import auth
from app.api.common import OPERATOR, PARTNER, Blueprint
from app.api.webhooks.schemas import (
    DeliveriesQuerySchema,
    DeliveriesSchema,
    EndpointCreatedSchema,
    EndpointInSchema,
    EndpointPatchSchema,
    EndpointSchema,
    EndpointsSchema,
    PublicKeysSchema,
    ResentSchema,
    SecretSchema,
)
from app.runtime import runtime
from core.errors import NotFound
from core.identity import Partner
from events import endpoints, log
from events.delivery import public_keys

partner_blp = Blueprint("webhooks", __name__, url_prefix="/partner/v1/webhooks",
                        description="Partners register webhook endpoints and read what was "
                                    "sent to them (Standard Webhooks, signed)")
admin = Blueprint("webhooks_admin", __name__, url_prefix="/admin/v1/webhooks",
                  description="Operators read the delivery log and re-send")


@partner_blp.route("")
class Endpoints(MethodView):
    @partner_blp.response(200, EndpointsSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self):
        """Your endpoints (never their secrets)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return {"items": [endpoints.endpoint_view(e)
                              for e in endpoints.of_partner(uow.session, partner.id)]}

    @partner_blp.arguments(EndpointInSchema())
    @partner_blp.response(201, EndpointCreatedSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, body):
        """Register an endpoint for some event types; the answer carries its `whsec_` secret,
        shown this once."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            view, secret = endpoints.register(uow, runtime().keyring, partner.id,
                                              url=body["url"], event_types=body["event_types"],
                                              description=body["description"],
                                              now=runtime().clock.now())
        return {**view, "secret": secret}


@partner_blp.route("/keys")
class Keys(MethodView):
    @partner_blp.response(200, PublicKeysSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self):
        """The public keys that verify `v1a` (Ed25519) signatures: any one of them."""
        with runtime().uow() as uow:
            auth.partner(uow)
            return {"keys": public_keys(runtime().signer, uow.session, runtime().clock.now())}


@partner_blp.route("/<uuid:endpoint_id>")
class Endpoint(MethodView):
    @partner_blp.response(200, EndpointSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self, endpoint_id):
        """One of your endpoints."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return endpoints.endpoint_view(endpoints.get(uow.session, endpoint_id, partner.id))

    @partner_blp.arguments(EndpointPatchSchema())
    @partner_blp.response(200, EndpointSchema)
    @partner_blp.doc(security=PARTNER)
    def patch(self, body, endpoint_id):
        """Change the URL, event types or description, or switch it on (`active: true`
        forgets past failures) or off."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return endpoints.change(uow, endpoint_id, partner.id, now=runtime().clock.now(),
                                    **body)


@partner_blp.route("/<uuid:endpoint_id>/secret")
class Secret(MethodView):
    @partner_blp.response(200, SecretSchema)
    @partner_blp.doc(security=PARTNER)
    def post(self, endpoint_id):
        """A new `whsec_` secret, in force from the next attempt (the old one stops)."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return {"secret": endpoints.rotate_secret(uow, runtime().keyring, endpoint_id,
                                                      partner.id, runtime().clock.now())}


@partner_blp.route("/deliveries")
class PartnerDeliveries(MethodView):
    @partner_blp.arguments(DeliveriesQuerySchema(exclude=("client_id",)), location="query")
    @partner_blp.response(200, DeliveriesSchema)
    @partner_blp.doc(security=PARTNER)
    def get(self, query):
        """What was sent to your endpoints, newest first, with every attempt."""
        with runtime().uow() as uow:
            partner = auth.partner(uow)
            return {"items": log.deliveries(uow.session, partner_id=partner.id,
                                            endpoint_id=query.get("endpoint_id"),
                                            status=query.get("status"), limit=query["limit"])}


@admin.route("/deliveries")
class AdminDeliveries(MethodView):
    @admin.arguments(DeliveriesQuerySchema(), location="query")
    @admin.response(200, DeliveriesSchema)
    @admin.doc(security=OPERATOR)
    def get(self, query):
        """The delivery log, newest first, with every attempt (one partner's with client_id)."""
        with runtime().uow() as uow:
            auth.operator(uow, "admin", "auditor")
            partner_id = None
            if query.get("client_id"):
                partner_id = uow.session.scalar(select(Partner.id).where(
                    Partner.client_id == query["client_id"]))
                if partner_id is None:
                    raise NotFound("no such partner", detail_zh="没有该合作方")
            return {"items": log.deliveries(uow.session, partner_id=partner_id,
                                            endpoint_id=query.get("endpoint_id"),
                                            status=query.get("status"), limit=query["limit"])}


@admin.route("/deliveries/<uuid:delivery_id>/resend")
class Resend(MethodView):
    @admin.response(202, ResentSchema)
    @admin.doc(security=OPERATOR)
    def post(self, delivery_id):
        """Send a delivery once more (same webhook-id), by a worker, after any earlier event
        of the same resource at that endpoint."""
        with runtime().uow() as uow:
            auth.operator(uow, "admin")
            return log.resend(uow, delivery_id)
