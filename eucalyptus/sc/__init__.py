"""Storage Controller component (``eucalyptus serve sc``)."""
