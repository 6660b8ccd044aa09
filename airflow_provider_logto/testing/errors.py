"""Logto's error shape, shared by the emulator's state (seeding raises it) and its HTTP apps (they render it)."""

from __future__ import annotations

from typing import Any


class LogtoApiError(ValueError):
    """A Logto ``RequestError``: status, ``code``, English ``message`` and optional ``data`` / ``details``.

    It is a ``ValueError`` so that bad input to the emulator's Python seeding API reads naturally in tests.
    """

    def __init__(self, status: int, code: str, message: str, *, data: Any = None,
                 details: str | None = None) -> None:
        explained = f"{message} ({details})" if details and details not in message else message
        super().__init__(f"{code}: {explained}")
        self.status = status
        self.code = code
        self.message = message
        self.data = data
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON body Logto's ``RequestError.toBody()`` sends: ``code``, then ``data`` and ``details`` when
        present, then ``message``."""
        body: dict[str, Any] = {"code": self.code}
        if self.data is not None:
            body["data"] = self.data
        if self.details is not None:
            body["details"] = self.details
        body["message"] = self.message
        return body


# code -> (HTTP status, English message template). Messages follow Logto's en phrases; clients must match on the
# code, never on the message (Logto translates it).
PHRASES: dict[str, tuple[int, str]] = {
    "auth.authorization_header_missing": (401, "Authorization header is missing."),
    "auth.authorization_token_type_not_supported": (401, "Authorization type is not supported."),
    "auth.unauthorized": (401, "Unauthorized. Please check credentials and its scope."),
    "auth.forbidden": (403, "Forbidden. Please check your user roles and permissions."),
    "auth.exceed_token_limit": (429, "Token limit exceeded. Please contact your administrator."),
    "guard.invalid_input": (400, "The request {type} is invalid."),
    "guard.invalid_pagination": (400, "The request pagination value is invalid."),
    "request.invalid_input": (400, "Input is invalid. {details}"),
    "entity.not_found": (404, "The resource does not exist."),
    "entity.not_exists": (404, "The {name} does not exist."),
    "entity.db_constraint_violated": (422, "Database constraint violated."),
    "entity.not_exists_with_id": (404, "The {name} with ID `{id}` does not exist."),
    "entity.unique_integrity_violation": (422, "The entity already exists. Please check the input and try again."),
    "entity.relation_foreign_key_not_found": (
        422, ("Cannot find one or more foreign keys. Please check the input and ensure that all referenced "
              "entities exist.")),
    "user.username_already_in_use": (422, "This username is already in use."),
    "user.email_already_in_use": (422, "This email is associated with an existing account."),
    "user.phone_already_in_use": (422, "This phone number is associated with an existing account."),
    "user.invalid_phone": (422, "Invalid phone number."),
    "session.invalid_credentials": (422, "Incorrect account or password. Please check your input."),
    "user.invalid_role_type": (422, "Invalid role type, can not assign machine-to-machine role to user."),
    "user.password_and_digest": (400, "You cannot set both plain text password and password digest."),
    "user.password_algorithm_required": (400, "Password algorithm is required."),
    "role.scope_exists": (422, "The scope id {scope_id} has already been added to this role"),
    "role.management_api_scopes_not_assignable_to_user_role": (
        400, "Cannot assign Management API scopes to a user role."),
    "role.user_exists": (422, "The user id {user_id} is already been added to this role"),
    "application.invalid_type": (422, "Only machine to machine applications can have associated roles."),
    "scope.name_with_space": (400, "The name of the scope cannot contain any spaces."),
    "resource.cannot_modify_management_api": (400, "Cannot modify Logto Management API."),
    "organization.require_membership": (422, "The user must be a member of the organization to proceed."),
    "organization.role_names_not_found": (
        422, "Invalid role names detected: {names}. Please create these roles first before proceeding."),
    "application.invalid_role_type": (422, "Can not assign user type role to machine to machine application."),
    "role.name_in_use": (422, "This role name {name} is already in use"),
    # routes/role.application.ts passes `userId` where the phrase wants `applicationId`; i18next keeps the
    # placeholder as it is
    "role.application_exists": (422, "The application id {{{{applicationId}}}} is already been added to this role"),
    "application.role_exists": (422, "The role id {role_id} is already been added to this application."),
    "scope.name_exists": (422, "The scope name {name} is already in use"),
    "resource.resource_identifier_in_use": (422, "The API identifier {indicator} is already in use"),
    "resource.cannot_delete_management_api": (400, "Cannot delete Logto management API."),
}


def api_error(code: str, *, status: int | None = None, data: Any = None, details: str | None = None,
              **params: Any) -> LogtoApiError:
    """A Logto error for ``code`` with its usual status (or ``status``) and message (``params`` fill it)."""
    usual, template = PHRASES[code]
    return LogtoApiError(status or usual, code, template.format(details=details or "", **params), data=data,
                         details=details)


class ConstraintViolation(ValueError):
    """A database constraint Logto's tables enforce (``foreign_key``, ``unique`` or ``check``).

    Routes turn it into the status and code Logto's error handlers give it: the organization routers map
    foreign keys and uniqueness to 422 (``routes/organization/utils.ts``); elsewhere ``koa-slonik-error-handler``
    maps foreign keys to 404, checks to 422, and an unnamed uniqueness violation falls through to a 500.
    """

    def __init__(self, kind: str, table: str) -> None:
        super().__init__(f"{kind} constraint violated on {table}")
        self.kind = kind
        self.table = table


class InternalServerError(LogtoApiError):
    """What Logto's ``koaErrorHandler`` answers for an error it does not know: 500 ``Internal server error.``."""

    def __init__(self, reason: str) -> None:
        super().__init__(500, "internal", "Internal server error.", details=reason)

    def body(self) -> dict[str, Any]:
        return {"message": self.message}
