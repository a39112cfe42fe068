"""Real-time transport, domain-agnostic: WebSocket gateway, per-room hub with tick
batching, bounded per-connection queues, presence counts, broker backends.

Domains publish events to a channel (``room:{id}``) with ``Hub.publish``; ``main``
plugs each domain's socket ops into the ``Gateway``.
"""
