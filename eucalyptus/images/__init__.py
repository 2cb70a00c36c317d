"""Machine images: the EC2/Eucalyptus bundle format and the cloud's certificate.

``certificates`` holds the cloud's X.509 certificate and key (made at ``eucalyptus init``),
``manifest`` the bundle manifest (XML, signature), ``bundle`` turns an image file into
encrypted parts plus a manifest, ``unbundle`` gives the original bytes back, ``transfer``
moves bundles to and from Walrus. ``starter`` builds the starter image's files.
"""
