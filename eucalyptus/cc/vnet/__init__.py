"""The cluster controller's instance network (MANAGED-NOVLAN style, one bridge).

``netns`` (the cloud's namespace, bridge, gateway, metadata DNAT), ``dhcp`` (dnsmasq with static
leases by MAC), ``addresses`` (private IP and MAC allocation), ``metadata`` and
``metadata_tree`` (the 169.254.169.254 service), ``messages`` (internal API) and ``manager``
(all of it together, as the CC runs it). Host operations go through
``eucalyptus.drivers.network``.
"""
