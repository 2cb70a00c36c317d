"""Cloud Controller component (``eucalyptus serve clc``) and its cloud properties."""
