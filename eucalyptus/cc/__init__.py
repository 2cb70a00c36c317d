"""Cluster Controller component (``eucalyptus serve cc``)."""
