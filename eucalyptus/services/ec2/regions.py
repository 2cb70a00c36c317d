"""DescribeRegions: a Eucalyptus cloud is one region, served by its Cloud Controller.

The region is named by the settings (``settings.region``, default ``eucalyptus``); its endpoint
is the compute service's URL as the caller reached it (scheme and Host of the request).
"""
from __future__ import annotations

from eucalyptus.aws import filters as filter_engine
from eucalyptus.aws.dispatch import operation
from eucalyptus.errors import InvalidParameterValue

DEFAULT_REGION = "eucalyptus"
DEFAULT_HOST = "127.0.0.1:8773"     # Eucalyptus' user API port, when a request has no Host
COMPUTE_PATH = "/services/compute"

REGION_FILTERS: filter_engine.FilterTable = {
    "endpoint": "Endpoint",
    "opt-in-status": "OptInStatus",
    "region-name": "RegionName",
}


def region_name(ctx) -> str:
    """The cloud's region name: the settings' region, else the request's, else the default."""
    return getattr(ctx.settings, "region", None) or ctx.region or DEFAULT_REGION


def compute_endpoint(ctx) -> str:
    """The compute service's URL as the caller sees it."""
    return f"{ctx.scheme or 'http'}://{ctx.host or DEFAULT_HOST}{COMPUTE_PATH}"


@operation
def describe_regions(ctx, region_names: list[str] | None = None,
                     filters: list[dict] | None = None, all_regions: bool | None = None,
                     **_) -> dict:
    """DescribeRegions; an unknown name in RegionNames is InvalidParameterValue."""
    filter_engine.validate(filters, REGION_FILTERS)
    name = region_name(ctx)
    for wanted in region_names or []:
        if wanted != name:
            raise InvalidParameterValue(f"Invalid region: {wanted}")
    regions = [{"RegionName": name, "Endpoint": compute_endpoint(ctx),
                "OptInStatus": "opt-in-not-required"}]
    return {"Regions": filter_engine.apply(regions, filters, REGION_FILTERS)}
