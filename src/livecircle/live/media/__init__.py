"""Media adapters: the embedded pyrtmp ingest and the nginx-rtmp hooks, plus HLS helpers."""
