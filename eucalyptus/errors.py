"""Errors a service raises; the protocol layer turns them into AWS error documents.

Services never format errors: they raise one of these, and ``aws/protocol/errors.py`` writes
the EC2 ``Response/Errors/Error`` + ``RequestID``, the query ``ErrorResponse`` or the S3/JSON
error body with ``status``.

    ServiceError(code, message, status=400)          any AWS error by its code
    +-- ClientError                                  4xx, the caller's fault (sender)
    |   +-- InvalidAction                            unknown Action (400)
    |   +-- MissingParameter                         a required parameter is absent (400)
    |   +-- InvalidParameterValue                    a parameter has a bad value (400)
    |   +-- InvalidParameterCombination              parameters that exclude each other (400)
    |   +-- ValidationError                          query/json services' bad input (400)
    |   +-- MalformedQueryString / SerializationError unparseable request (400)
    |   +-- AuthError                                authentication failures
    |   |   +-- AuthFailure (401, EC2)  InvalidClientTokenId (403)  SignatureDoesNotMatch (403)
    |   |   +-- RequestExpired (400)  ExpiredToken (400)  IncompleteSignature (400)
    |   |   +-- MissingAuthenticationToken (403)
    |   +-- AccessDenied (403; EC2 names it UnauthorizedOperation)
    |   +-- NotFound (404 for IAM's NoSuchEntity)  EntityAlreadyExists (409)  DeleteConflict (409)
    |   +-- LimitExceeded (409)
    +-- ServerError                                  5xx, our fault (receiver)
        +-- InternalError (500)  ServiceUnavailable (503)

``code`` may be overridden per instance (``NotFound('NoSuchEntity', msg)``), so the tree stays
small while the wire carries any AWS code a service needs.
"""
from __future__ import annotations


class ServiceError(Exception):
    code = "InternalError"
    status = 400
    sender_fault = True

    def __init__(self, *args: str, status: int | None = None, headers: dict | None = None):
        # ServiceError(message) or ServiceError(code, message)
        if len(args) == 2:
            self.code, message = args
        elif len(args) == 1:
            message = args[0]
        else:
            message = ""
        self.message = message
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})
        super().__init__(f"{self.code}: {message}")


class ClientError(ServiceError):
    code = "InvalidRequest"
    status = 400


class InvalidAction(ClientError):
    code = "InvalidAction"


class MissingParameter(ClientError):
    code = "MissingParameter"


class InvalidParameterValue(ClientError):
    code = "InvalidParameterValue"


class InvalidParameterCombination(ClientError):
    code = "InvalidParameterCombination"


class ValidationError(ClientError):
    code = "ValidationError"


class MalformedQueryString(ClientError):
    code = "MalformedQueryString"


class SerializationError(ClientError):
    code = "SerializationException"


class AuthError(ClientError):
    code = "AuthFailure"
    status = 401


class AuthFailure(AuthError):
    code = "AuthFailure"
    status = 401


class InvalidClientTokenId(AuthError):
    code = "InvalidClientTokenId"
    status = 403


class SignatureDoesNotMatch(AuthError):
    code = "SignatureDoesNotMatch"
    status = 403


class RequestExpired(AuthError):
    code = "RequestExpired"
    status = 400


class ExpiredToken(AuthError):
    code = "ExpiredToken"
    status = 400


class IncompleteSignature(AuthError):
    code = "IncompleteSignature"
    status = 400


class MissingAuthenticationToken(AuthError):
    code = "MissingAuthenticationToken"
    status = 403


class AccessDenied(ClientError):
    code = "AccessDenied"
    status = 403


class NotFound(ClientError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(ClientError):
    code = "EntityAlreadyExists"
    status = 409


class DeleteConflict(ClientError):
    code = "DeleteConflict"
    status = 409


class LimitExceeded(ClientError):
    code = "LimitExceeded"
    status = 409


class ServerError(ServiceError):
    code = "InternalError"
    status = 500
    sender_fault = False


class InternalError(ServerError):
    code = "InternalError"


class ServiceUnavailable(ServerError):
    code = "ServiceUnavailable"
    status = 503
