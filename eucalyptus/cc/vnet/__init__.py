"""The cluster controller's instance network, in Eucalyptus' four network modes.

``modes`` (what each VNET_MODE builds, key validation), ``networks`` (VNET_SUBNET cut into
per-security-group networks), ``netns`` (the namespace: bridges, gateways, forwarding,
metadata DNAT), ``dhcp`` (dnsmasq with static leases by MAC), ``addresses`` (private IP and
MAC allocation), ``arpwatch`` (SYSTEM mode: addresses learned from ARP), ``metadata`` and
``metadata_tree`` (the 169.254.169.254 service), ``policy``/``firewall``/``nat`` (security
groups and public addresses), ``messages`` (internal API) and ``manager`` (all of it
together, as the CC runs it). Host operations go through ``eucalyptus.drivers.network``.
"""
