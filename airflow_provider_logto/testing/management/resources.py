"""API resources and their scopes: ``routes/resource.ts``, ``routes/resource.scope.ts``."""

from __future__ import annotations

import re

from airflow_provider_logto.testing.errors import api_error
from airflow_provider_logto.testing.http import Request, Response
from airflow_provider_logto.testing.management.guard import (
    Field,
    guard_body,
    guard_query,
    page_of,
    query_flag,
    require_changes,
    searched,
)
from airflow_provider_logto.testing.management.routes import Routes
from airflow_provider_logto.testing.state import TenantState

_LIST_RESOURCES = (Field("includeScopes", "string"),)
_CREATE_RESOURCE = (
    Field("name", "string", required=True, min_length=1), Field("indicator", "string", required=True, min_length=1),
    Field("accessTokenTtl", "number"),
)
_UPDATE_RESOURCE = (Field("name", "string", min_length=1), Field("accessTokenTtl", "number"))
_SCOPE_NAME = Field("name", "string", min_length=1, max_length=256)
_SCOPE_DESCRIPTION = Field("description", "string", nullable=True)


def routes(state: TenantState) -> Routes:
    r = Routes()

    def modifiable(resource_id: str) -> None:
        state.get("resources", resource_id)
        if state.is_management_resource(resource_id):
            raise api_error("resource.cannot_modify_management_api")

    def list_resources(request: Request) -> Response:
        resources = list(state.resources.values())
        guard_query(request, _LIST_RESOURCES)  # a repeated includeScopes is an array: refused
        if query_flag(request.query, "includeScopes"):
            resources = [{**r, "scopes": state.resource_scopes(r["id"])} for r in resources]
        return page_of(resources, request, optional=True)

    def create_resource(request: Request) -> Response:
        body = guard_body(request, _CREATE_RESOURCE)
        resource = state.create_resource(body["name"], body["indicator"], body.get("accessTokenTtl", 3600))
        return Response.json(201, {**resource, "scopes": []})

    def get_resource(request: Request, resource_id: str) -> Response:
        return Response.json(200, state.get("resources", resource_id))

    def update_resource(request: Request, resource_id: str) -> Response:
        body = guard_body(request, _UPDATE_RESOURCE)
        modifiable(resource_id)
        require_changes(body)
        resource = state.resources[resource_id]
        resource.update(body)
        return Response.json(200, resource)

    def set_default(request: Request, resource_id: str) -> Response:
        is_default = guard_body(request, (Field("isDefault", "boolean", required=True),))["isDefault"]
        return Response.json(200, state.set_default_resource(resource_id, is_default))

    def delete_resource(request: Request, resource_id: str) -> Response:
        state.get("resources", resource_id)
        if state.is_management_resource(resource_id):
            raise api_error("resource.cannot_delete_management_api")
        state.delete_resource(resource_id)
        return Response.empty(204)

    def list_scopes(request: Request, resource_id: str) -> Response:
        scopes = state.resource_scopes(resource_id)  # no existence check: an unknown resource has no scopes
        return page_of(searched(request, scopes, ("id", "name", "description")), request)

    def create_scope(request: Request, resource_id: str) -> Response:
        body = guard_body(request, (Field("name", "string", required=True, min_length=1, max_length=256),
                                    _SCOPE_DESCRIPTION))
        if re.search(r"\s", body["name"]):
            raise api_error("scope.name_with_space")
        modifiable(resource_id)
        return Response.json(201, state.create_scope(resource_id, body["name"], body.get("description")))

    def update_scope(request: Request, resource_id: str, scope_id: str) -> Response:
        body = guard_body(request, (_SCOPE_NAME, _SCOPE_DESCRIPTION))
        modifiable(resource_id)
        name = body.get("name")
        if name:
            if re.search(r"\s", name):
                raise api_error("scope.name_with_space")
            if any(s["name"] == name and s["id"] != scope_id for s in state.resource_scopes(resource_id)):
                raise api_error("scope.name_exists", name=name)
        require_changes(body)
        scope = state.scopes.get(scope_id)
        if scope is None:
            raise api_error("entity.not_exists", name="scope")
        scope.update(body)
        return Response.json(200, scope)

    def delete_scope(request: Request, resource_id: str, scope_id: str) -> Response:
        modifiable(resource_id)
        if scope_id not in state.scopes:
            raise api_error("entity.not_found")
        state.delete_scope(scope_id)
        return Response.empty(204)

    r.add("GET", "/resources", list_resources)
    r.add("POST", "/resources", create_resource)
    r.add("GET", "/resources/{resource_id}", get_resource)
    r.add("PATCH", "/resources/{resource_id}", update_resource)
    r.add("PATCH", "/resources/{resource_id}/is-default", set_default)
    r.add("DELETE", "/resources/{resource_id}", delete_resource)
    r.add("GET", "/resources/{resource_id}/scopes", list_scopes)
    r.add("POST", "/resources/{resource_id}/scopes", create_scope)
    r.add("PATCH", "/resources/{resource_id}/scopes/{scope_id}", update_scope)
    r.add("DELETE", "/resources/{resource_id}/scopes/{scope_id}", delete_scope)
    return r
