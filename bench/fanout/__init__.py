"""Room fan-out benchmark: livecircle against a batched Node ws peer and socket.io.

Run as ``python -m bench.fanout``; ``client`` is the load client, ``systems`` starts
the servers, ``run`` measures one of them. Peers live in bench/peers/.
"""
