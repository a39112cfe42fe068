"""Prometheus metrics shared by the app (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("livecircle_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("livecircle_http_request_seconds", "HTTP request latency", ["method", "route"])
WS_CONNECTIONS = Gauge("livecircle_ws_connections", "Open WebSocket connections")
WS_FRAMES = Counter("livecircle_ws_frames_total", "WebSocket frames written to clients")
HLS_VIEWERS = Gauge("livecircle_hls_viewers", "Active HLS playback sessions")
PUBLISHERS = Gauge("livecircle_rtmp_publishers", "Active RTMP publishers in this process")
