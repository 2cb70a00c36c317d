"""S3's own errors, with the statuses and extra fields (BucketName, Key, ...) S3 sends.

Each function returns a ``ServiceError`` to raise; ``fields`` become extra elements of the
``<Error>`` document after Code and Message.
"""
from __future__ import annotations

from eucalyptus.errors import ClientError, ServiceError


def s3_error(code: str, message: str, status: int = 400, headers: dict | None = None,
             **fields: object) -> ServiceError:
    error = ServiceError(code, message, status=status, headers=headers)
    error.sender_fault = status < 500
    error.fields = {k: str(v) for k, v in fields.items() if v is not None}
    return error


def no_such_bucket(name: str) -> ServiceError:
    return s3_error("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=name)


def no_such_key(key: str) -> ServiceError:
    return s3_error("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def no_such_version(key: str, version_id: str) -> ServiceError:
    return s3_error("NoSuchVersion", "The specified version does not exist.", 404, Key=key,
                    VersionId=version_id)


def no_such_upload(upload_id: str) -> ServiceError:
    return s3_error("NoSuchUpload", "The specified upload does not exist. The upload ID may be "
                    "invalid, or the upload may have been aborted or completed.", 404,
                    UploadId=upload_id)


def invalid_argument(message: str, name: str | None = None, value: object = None) -> ServiceError:
    return s3_error("InvalidArgument", message, 400, ArgumentName=name,
                    ArgumentValue=value if name else None)


def invalid_request(message: str) -> ServiceError:
    return s3_error("InvalidRequest", message, 400)


def precondition_failed(condition: str) -> ServiceError:
    return s3_error("PreconditionFailed", "At least one of the pre-conditions you specified "
                    "did not hold", 412, Condition=condition)


def invalid_range(size: int) -> ServiceError:
    return s3_error("InvalidRange", "The requested range is not satisfiable", 416,
                    headers={"Content-Range": f"bytes */{size}"}, ActualObjectSize=size)


def bad_digest(message: str = "The Content-MD5 you specified did not match what we "
               "received.") -> ServiceError:
    return s3_error("BadDigest", message, 400)


def invalid_digest() -> ServiceError:
    return s3_error("InvalidDigest", "The Content-MD5 you specified is not valid.", 400)


def malformed_xml() -> ClientError:
    return ClientError("MalformedXML", "The XML you provided was not well-formed or did not "
                       "validate against our published schema")


def not_modified(headers: dict[str, str]) -> ServiceError:
    """304: what a failed If-None-Match / If-Modified-Since on GET/HEAD answers."""
    error = s3_error("NotModified", "Not Modified", 304, headers=headers)
    error.empty_body = True
    return error
