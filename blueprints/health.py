"""A bare liveness answer for load balancers and the benchmarks' baseline: /api/health.

No authentication and no database or Redis round trip: it says the process serves requests, nothing more. A
readiness check that probes the database would turn a database hiccup into every instance leaving the pool at once.
"""

from __future__ import annotations

from apiflask import APIBlueprint

bp = APIBlueprint("health", __name__, url_prefix="/api/health", tag="系统")


@bp.get("")
@bp.doc(summary="存活检查", description="无需登录，不访问数据库；负载均衡和基准测试用。")
def health():
    return {"status": "ok"}
