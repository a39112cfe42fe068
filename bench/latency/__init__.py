"""Glass-to-glass latency of HLS playback: livecircle (embedded, nginx adapters) vs stock nginx-rtmp.

Run ``python -m bench.latency --seconds 20 --json`` from the repository root. One encoder with a
burnt-in wall clock per setup, the same hls.js page (default config) for all, in headless Chromium.
"""
