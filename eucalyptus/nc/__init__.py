"""Node Controller component (``eucalyptus serve nc``)."""
