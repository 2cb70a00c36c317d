"""Walrus component (``eucalyptus serve walrus``): object storage, the S3 API."""
